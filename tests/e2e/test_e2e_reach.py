"""What a reader must be able to reach: every reply, every comment, a permalink;
and what a host page with a strict CSP (as docs/embedding.md gives it) still gets."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

import pytest
from harness import (
    COMMENT_FORM,
    action,
    click_star,
    comment,
    comments_box,
    expect,
    rating_box,
    wait_mounted,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

REPLIES = 7  # more than PARLEY_REPLIES_PER_PARENT (5): the fragment shows some of them
TOP_LEVEL = 103  # more than the 100 top-level comments a fragment holds
MORE = re.compile(r"more|older|next|show|load", re.IGNORECASE)


def seed_many(service, pid: str, count: int, **fields) -> list[int]:
    def post(n: int) -> int:
        return service.post_comment(pid, text=f"Comment number {n}.", **fields)["comment"]["id"]

    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(post, range(count)))


def click_more(scope, limit: int = 5) -> int:
    """Click whatever offers more comments or replies (a button or link) until none is left."""
    clicks = 0
    for _ in range(limit):
        more = (
            scope.locator(".parley-more button, .parley-more a, button.parley-more, a.parley-more")
            .or_(scope.get_by_role("button", name=MORE))
            .or_(scope.get_by_role("link", name=MORE))
        )
        if not more.count():
            break
        more.first.click()
        clicks += 1
    return clicks


def test_every_reply_can_be_reached_in_the_widget(browsing, host, service, page_id):
    pid = page_id()
    parent = service.post_comment(pid, name="Popular", text="Reply to me.")["comment"]["id"]
    replies = seed_many(service, pid, REPLIES, parent=parent)
    page = browsing.new_page()
    page.goto(host.article("replies", pid, rating=False))
    box = comments_box(page)
    wait_mounted(box, ".parley-thread")
    shown = box.locator(f"article#c{parent} > .parley-replies > article.parley-comment")
    expect(shown.first).to_be_visible()
    if shown.count() < REPLIES:
        more = box.locator(f"article#c{parent} > .parley-more")
        expect(more).to_be_visible()
        assert click_more(box.locator(f"article#c{parent}")), (
            f"{shown.count()} of {REPLIES} replies are shown and {more.inner_text()!r} "
            "offers no way to the rest (no button or link)"
        )
    expect(shown, f"only some of the {REPLIES} replies can be reached").to_have_count(REPLIES)
    for reply in replies:
        expect(comment(box, reply)).to_be_visible()
    browsing.assert_clean()


def test_every_reply_can_be_reached_without_javascript(contexts, service, page_id):
    browsing = contexts("no-js", java_script_enabled=False)
    pid = page_id()
    parent = service.post_comment(pid, name="Popular", text="Reply to me.")["comment"]["id"]
    seed_many(service, pid, REPLIES, parent=parent)
    page = browsing.new_page()
    page.goto(service.thread_url(pid))
    seen = set()
    for _ in range(4):
        seen |= {m for m in re.findall(r"Comment number (\d+)\.", page.content())}
        if len(seen) == REPLIES:
            break
        if not click_more(page, limit=1):
            break
    assert len(seen) == REPLIES, f"the standalone page reaches {len(seen)} of {REPLIES} replies"
    browsing.assert_clean()


def test_every_top_level_comment_can_be_reached_in_the_widget(browsing, host, service, page_id):
    pid = page_id()
    ids = seed_many(service, pid, TOP_LEVEL)
    page = browsing.new_page()
    page.goto(host.article("many", pid, rating=False))
    box = comments_box(page)
    wait_mounted(box, ".parley-thread")
    expect(box.locator(".parley-count")).to_have_text(f"{TOP_LEVEL} comments")
    top = box.locator(".parley-thread > article.parley-comment")
    expect(top.first).to_be_visible()
    if top.count() < TOP_LEVEL:
        assert click_more(box.locator(".parley-thread")), (
            f"{top.count()} of {TOP_LEVEL} comments are shown, with no way to the rest"
        )
    expect(top, f"only some of the {TOP_LEVEL} comments can be reached").to_have_count(TOP_LEVEL)
    shown = sorted(int(i[1:]) for i in top.evaluate_all("els => els.map(e => e.id)"))
    assert shown == sorted(ids)  # seeded concurrently: ids are not in posting order
    browsing.assert_clean()


def test_a_permalink_loads_the_thread_at_once_and_shows_the_comment(
    browsing, host, service, page_id
):
    pid = page_id()
    ids = seed_many(service, pid, 12)
    target = ids[9]
    url = host.write(
        "permalink",
        f'<main><h1>Long article</h1><div style="height: 5000px"></div>'
        f'<div data-parley="comments" data-site="default" data-page="{pid}"></div></main>',
    )
    page = browsing.new_page()
    page.goto(f"{url}#c{target}")
    box = comments_box(page)
    reached = comment(box, target)
    expect(reached).to_have_class(re.compile(r"\bparley-target\b"))
    expect(reached).to_be_in_viewport(timeout=3_000)
    browsing.assert_clean()


def test_a_host_page_with_the_documented_csp_works_without_violations(
    contexts, host, service, page_id
):
    """docs/embedding.md: script-src, connect-src, style-src, img-src and frame-src BASE
    are all a host page must allow; no 'unsafe-inline', no 'unsafe-eval'."""
    pid, framed_pid = page_id("script"), page_id("frame")
    liked = service.post_comment(pid, name="Liked", text="Like me.")["comment"]["id"]
    service.post_comment(framed_pid, name="Framed", text="In a frame.")
    base = service.origin
    csp = (
        f"default-src 'self'; script-src 'self' {base}; connect-src 'self' {base}; "
        f"style-src 'self' {base}; img-src 'self' {base}; frame-src {base}; "
        "object-src 'none'; base-uri 'none'"
    )
    (host.folder / "host.css").write_text("body { font: 16px Georgia, serif; margin: 2em; }")
    head = (
        f'<meta http-equiv="Content-Security-Policy" content="{csp}">'
        '<link rel="stylesheet" href="host.css">'
    )

    def page_with(body: str, name: str) -> str:
        return host.write(name, body, css="", head=head)

    browsing = contexts("csp")
    browsing.context.add_init_script(
        "window.__csp = [];"
        "document.addEventListener('securitypolicyviolation', (e) => window.__csp.push("
        "e.violatedDirective + ' ' + e.blockedURI + ' ' + (e.sample || '')), true);"
    )
    page = browsing.new_page()
    page.goto(
        page_with(
            f'<main><div data-parley="rating" data-site="default" data-page="{pid}"></div>'
            f'<div data-parley="comments" data-site="default" data-page="{pid}"></div>'
            f'<p><span data-parley="count" data-site="default" data-page="{pid}"></span></p>'
            "</main>",
            "csp-script",
        )
    )
    box = comments_box(page)
    form = wait_mounted(box, COMMENT_FORM)
    expect(page.locator('[data-parley="count"]')).to_have_text("1 comment")
    avatar = box.locator("img.parley-avatar").first
    expect(avatar).to_be_visible()
    assert avatar.evaluate("img => img.complete && img.naturalWidth > 0"), "the avatar is blocked"
    background = box.locator("button[type=submit]").evaluate(
        "el => getComputedStyle(el).backgroundColor"
    )
    assert background not in ("rgba(0, 0, 0, 0)", "rgb(239, 239, 239)"), "widget.css is blocked"
    with page.expect_response(lambda r: "/api/v1/form-token" in r.url) as token:
        form.locator('[name="text"]').click()  # the form fetches its time token
    assert token.value.ok
    action(box, liked, "like").click()
    expect(action(box, liked, "like")).to_have_attribute("aria-pressed", "true")
    rating = rating_box(page)
    wait_mounted(rating, ".parley-rating")
    click_star(rating, 4)
    expect(rating.locator(".parley-yours")).to_have_text("Your rating: 4")
    violations = page.evaluate("window.__csp")

    framed = browsing.new_page()
    framed.goto(
        page_with(
            f'<main><div data-parley="comments" data-mode="iframe" data-site="default" '
            f'data-page="{framed_pid}"></div></main>',
            "csp-iframe",
        )
    )
    frame = framed.frame_locator('[data-parley="comments"] iframe')
    expect(frame.locator(".parley-body", has_text="In a frame.")).to_be_visible()
    framed.wait_for_function(
        "() => document.querySelector('[data-parley] iframe').style.height !== '600px'"
    )
    violations += framed.evaluate("window.__csp")
    violations += frame.locator("html").evaluate("() => window.__csp")
    assert not violations, f"CSP violations: {violations}"
    browsing.assert_clean()
