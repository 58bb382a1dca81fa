"""Stored XSS: our payloads in every field, rendered in every mode, must stay inert.

Payloads go in through the API (as the host page's origin, and with no
Origin at all), in the comment text, the author's name and website, the
page's title and address, and the page id. They are then rendered in script
mode (shadow DOM in the host page: sanitising is the only protection there),
in iframe mode, and on the standalone page. The test fails if any script
runs (a hooked alert/confirm/prompt/print, a ``window.__xss`` flag, a CSP
violation report, a dialog), if the page navigates, if a request leaves for a
host that is neither the service nor the host page (each is aborted and
recorded), or if the DOM still holds something sanitising must remove.
"""

from __future__ import annotations

import html
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from harness import (
    COMMENT_FORM,
    MODERATED_SITE,
    Browsing,
    FormClock,
    comments_box,
    expect,
    fill_comment,
    wait_mounted,
)
from payloads import (
    DOM_AUDIT,
    INIT_SCRIPT,
    NAMES,
    PAGE_ID_PAYLOAD,
    TEXT,
    TITLES,
    WEBSITES,
    url_payloads,
)

from service.comments.policy import count_links
from service.rules.sanitize import render_comment

pytestmark = [pytest.mark.browser, pytest.mark.slow]

WHAT = ("text", "name", "website")


def _post(service, page: str, body: dict[str, Any], *, origin: str | None) -> tuple[int, Any]:
    query = urllib.parse.urlencode({"site": "default", "page": page})
    body = {**body, "form_token": service.form_token()}  # as the widget's form sends it
    return service.call("POST", f"/api/v1/comments?{query}", body, origin=origin)


def seed(service, pid: str) -> dict[str, int]:
    """Post every payload; returns how many comments each kind left on the page."""
    bodies: list[tuple[str, dict[str, Any], str | None]] = []
    for n, text in enumerate(TEXT):
        # Half as the host page's origin, half as a non-browser client.
        body = {"name": f"Text {n}", "email": "x@example.org", "text": text}
        bodies.append(("text", body, "host" if n % 2 else None))
    for n, name in enumerate(NAMES):
        body = {"name": name, "email": "x@example.org", "text": f"Name payload {n}."}
        bodies.append(("name", body, "host"))
    for n, website in enumerate(WEBSITES):
        body = {
            "name": f"Website {n}",
            "email": "x@example.org",
            "text": f"Website payload {n}.",
            "website": website,
        }
        bodies.append(("website", body, "host"))

    def send(item: tuple[str, dict[str, Any], str | None]) -> tuple[str, int]:
        kind, body, origin = item
        status, data = _post(service, pid, body, origin=origin)
        assert status in (201, 422), (status, data, body)
        return kind, status

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(send, bodies))
    kept = {kind: sum(1 for k, s in results if k == kind and s == 201) for kind in WHAT}
    assert kept["text"] >= len(TEXT) - 3, "the service refused most payloads: nothing was tested"
    return kept


def seed_pages(service, page_id, host_origin: str) -> list[str]:
    """Pages whose title and address are payloads (believed from the allowed origin)."""
    pages = []
    for n, (title, url) in enumerate(zip(TITLES, url_payloads(host_origin), strict=True)):
        pid = page_id(f"title-{n}")
        status, data = _post(
            service,
            pid,
            {
                "name": "Titled",
                "email": "t@example.org",
                "text": "On a page with a hostile title.",
                "title": title,
                "url": url,
            },
            origin="host",
        )
        assert status == 201, (status, data)
        assert service.thread(pid)["page"]["title"], "the title payload was not kept"
        pages.append(pid)
    # The first one is a TV series with votes: its title goes into JSON-LD.
    service.flask("page", "set", "default", pages[0], "--type", "TVSeries")
    service.vote(pages[0], 4)
    service.vote(pages[0], 5)
    # A page id that is a payload.
    status, data = _post(
        service,
        PAGE_ID_PAYLOAD,
        {"name": "Page id", "email": "p@example.org", "text": "On a hostile page id."},
        origin="host",
    )
    assert status == 201, (status, data)
    service.vote(PAGE_ID_PAYLOAD, 3)
    return pages


class Guard:
    """Hooks, flags, navigations and aborted foreign requests for one context."""

    def __init__(self, browsing: Browsing) -> None:
        self.browsing = browsing
        self.aborted: list[str] = []
        self.navigations: list[str] = []
        allowed = set(browsing.watch.allowed_hosts)

        def foreign(url: str) -> bool:
            parts = urllib.parse.urlsplit(url)
            return parts.scheme in ("http", "https", "ws", "wss") and parts.netloc not in allowed

        def abort(route: Any) -> None:
            self.aborted.append(f"{route.request.method} {route.request.url}")
            route.abort()

        browsing.context.add_init_script(INIT_SCRIPT)
        browsing.context.route(foreign, abort)

    def open(self, url: str) -> Any:
        page = self.browsing.new_page()
        page.goto(url)
        page.on(
            "framenavigated",
            lambda frame: self.navigations.append(frame.url) if frame == page.main_frame else None,
        )
        return page

    def check(self, page: Any, label: str) -> list[str]:
        """Everything that went wrong on this page, in every frame."""
        page.mouse.move(200, 300)
        page.mouse.move(500, 700)
        page.wait_for_timeout(300)  # a refresh, a late onerror, a lazy image
        origins = [self.browsing.service.origin, self.browsing.host.origin]
        found = []
        for frame in page.frames:
            if frame.is_detached():
                continue
            try:
                flag, hits = frame.evaluate("[window.__xss, window.__xssHits || []]")
                audit = frame.evaluate(DOM_AUDIT, origins)
            except Exception as error:  # noqa: BLE001 - a frame that went away
                found.append(f"{label}: frame {frame.url} could not be checked: {error}")
                continue
            where = f"{label} ({'main' if frame == page.main_frame else frame.url[:80]})"
            if flag is not None:
                found.append(f"{where}: window.__xss = {flag!r}")
            found += [f"{where}: {hit}" for hit in hits]
            found += [f"{where}: DOM: {item}" for item in audit]
        found += [f"{label}: navigated to {url}" for url in self.navigations]
        found += [f"{label}: request to another host: {r}" for r in self.aborted]
        self.navigations.clear()
        self.aborted.clear()
        return found


def test_stored_payloads_stay_inert_in_every_mode(contexts, host, service, page_id):
    pid = page_id("xss")
    kept = seed(service, pid)
    titled = seed_pages(service, page_id, host.origin)
    comments_shown = sum(kept.values())
    browsing = contexts("xss")
    guard = Guard(browsing)
    problems: list[str] = []

    # Script mode: every payload page's rating box and thread in shadow roots.
    placeholders = []
    for page in (pid, *titled, PAGE_ID_PAYLOAD):
        for kind in ("rating", "comments"):
            placeholders.append(
                f'<div data-parley="{kind}" data-site="default" data-page="{_attr(page)}"></div>'
            )
    script_url = host.write(
        "xss-script", "<main><h1>XSS, script mode</h1>" + "\n".join(placeholders) + "</main>"
    )
    page = guard.open(script_url)
    for n in range(page.locator('[data-parley="comments"]').count()):
        box = page.locator('[data-parley="comments"]').nth(n)
        wait_mounted(box, ".parley-thread", timeout=15_000)
    for n in range(page.locator('[data-parley="rating"]').count()):
        wait_mounted(page.locator('[data-parley="rating"]').nth(n), ".parley-rating")
    box = comments_box(page)
    expect(box.locator(":scope .parley-thread > article.parley-comment")).to_have_count(
        comments_shown
    )
    expect(box.locator(".parley-body", has_text="{{7*7}}").first).to_be_visible()
    expect(box.locator(".parley-body", has_text="${7*7}").first).to_be_visible()
    # The reply form's heading shows a hostile author name as text.
    named = box.locator("article.parley-comment", has_text="Name payload 0.")
    named.locator(':scope > .parley-actions > [data-action="reply"]').click()
    expect(box.locator("form.parley-form h2")).to_contain_text("Reply to <img")
    assert page.locator("head script[type='application/ld+json']").count() >= 1, "no JSON-LD"
    problems += guard.check(page, "script mode")

    # Iframe mode.
    frames = "\n".join(
        f'<div data-parley="comments" data-mode="iframe" data-site="default" '
        f'data-page="{_attr(p)}"></div>'
        for p in (pid, titled[0], PAGE_ID_PAYLOAD)
    )
    page = guard.open(host.write("xss-iframe", f"<main><h1>XSS, iframe mode</h1>{frames}</main>"))
    first = page.frame_locator('[data-parley="comments"] iframe').first
    expect(first.locator(".parley-thread > article.parley-comment")).to_have_count(comments_shown)
    for n in range(page.locator('[data-parley="comments"] iframe').count()):
        page.locator('[data-parley="comments"] iframe').nth(n).scroll_into_view_if_needed()
        frame = page.frame_locator('[data-parley="comments"] iframe').nth(n)
        expect(frame.locator(".parley-thread")).to_be_visible()
    problems += guard.check(page, "iframe mode")

    # The standalone page, top-level (it shows the page's title and address).
    for target in (pid, *titled, PAGE_ID_PAYLOAD):
        page = guard.open(service.thread_url(target))
        expect(page.locator("form#reply")).to_be_visible()
        if target == titled[1]:
            expect(page.locator("main.parley-standalone h1")).to_contain_text('"><img')
        problems += guard.check(page, f"standalone {target[:40]}")
        page.close()

    assert not problems, "\n".join(problems)
    browsing.assert_clean(dialogs_ok=False)


def within_the_link_limit(paragraphs, limit: int = 10):
    """Paragraphs while the comment's links (bare URLs count: they are linked) stay within
    the service's link limit (PARLEY_MAX_LINKS): a post with more is refused, not held."""
    kept: list[str] = []
    for paragraph in paragraphs:
        if count_links(render_comment("\n\n".join([*kept, paragraph]))) <= limit:
            kept.append(paragraph)
    return kept


def test_payloads_in_the_authors_own_pending_comment_stay_inert(contexts, host, service, page_id):
    """The author's pending comment is built by the loader from JSON, not from a fragment."""
    pid = page_id("xss-pending")
    browsing = contexts("xss-pending")
    guard = Guard(browsing)
    url = host.article("xss-pending", pid, site=MODERATED_SITE, rating=False)
    page = guard.open(url)
    clock = FormClock(page)
    box = comments_box(page)
    form = wait_mounted(box, COMMENT_FORM)
    text = "\n\n".join(within_the_link_limit(p for p in TEXT if len(p) < 400))
    assert len(text) < 10_000
    fill_comment(
        form,
        text=text,
        name='<img src=x onerror="window.__xss=1">',
        email="pending@example.org",
        website='https://x.example/"onmouseover="window.__xss=2',
    )
    clock.wait(page)
    form.get_by_role("button", name="Post Comment").click()
    mine = box.locator("article.parley-comment", has=page.locator(".parley-pending"))
    expect(mine).to_have_count(1)
    expect(mine.locator(".parley-author")).to_have_text('<img src=x onerror="window.__xss=1">')
    problems = guard.check(page, "pending, just posted")
    page.reload()
    guard.navigations.clear()  # our own reload
    wait_mounted(comments_box(page), ".parley-pending")
    problems += guard.check(page, "pending, after a reload")
    assert not problems, "\n".join(problems)
    browsing.assert_clean(dialogs_ok=False)


def _attr(value: str) -> str:
    return html.escape(value, quote=True)
