"""Live threads: what others change shows without a reload, in script and iframe mode.

The host page asks for the shortest polling interval the loader accepts (``data-live``).
Someone else's comment is approved, edited and deleted and someone else votes, through
the service, while the reader is writing a reply and has a comment of their own awaiting
moderation: each change shows within an interval, and the reply being written and the
reader's own comment stay as they were. The polls are conditional (304 while nothing
changed), carry nothing personal, and stop while the page is hidden.

Headless Chromium reports every page as visible, so the tests hide a page as the page
itself sees it: ``document.visibilityState`` says "hidden" and a ``visibilitychange``
event is dispatched (then "visible" again).

Chromium hands an answer it revalidated (the service's 304) to the page, and to
Playwright's response event, as the 200 it had kept; the status the service sent is read
from the DevTools protocol's raw answer (``Wire``).
"""

from __future__ import annotations

import re
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from harness import (
    COMMENT_FORM,
    MODERATED_SITE,
    FormClock,
    action,
    comment,
    comments_box,
    expect,
    fill_comment,
    rating_box,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LIVE = 5  # seconds between polls: the shortest the loader accepts
CHANGE_SHOWN = (2 * LIVE + 5) * 1000  # ms: a poll, its answer and a margin on a busy machine
IFRAME = '[data-parley="comments"] iframe'
PENDING = re.compile("moderat", re.IGNORECASE)
VISIBILITY = """(state) => {
    for (const [name, value] of [["visibilityState", state], ["hidden", state === "hidden"]]) {
        Object.defineProperty(document, name, { configurable: true, get: () => value });
    }
    document.dispatchEvent(new Event("visibilitychange"));
}"""


def path_of(url: str) -> str:
    return urllib.parse.urlsplit(url).path


@dataclass
class Polls:
    """The widget's public reads (``/widget/...``) a page made, with their headers."""

    seen: list[tuple[float, str, dict[str, str]]] = field(default_factory=list)

    def record(self, request: Any) -> None:
        if path_of(request.url).startswith("/widget/"):
            self.seen.append((time.monotonic(), path_of(request.url), request.all_headers()))

    def since(self, moment: float) -> list[str]:
        return [path for at, path, _ in self.seen if at >= moment]


class Wire:
    """What the service answered, status by status, to one page's or frame's requests."""

    def __init__(self, context: Any, target: Any) -> None:
        self.urls: dict[str, str] = {}
        self.answers: dict[str, tuple[float, int]] = {}
        session = context.new_cdp_session(target)
        session.on("Network.requestWillBeSent", self._request)
        session.on("Network.responseReceivedExtraInfo", self._answer)
        session.send("Network.enable")

    def _request(self, event: dict[str, Any]) -> None:
        self.urls[event["requestId"]] = event["request"]["url"]

    def _answer(self, event: dict[str, Any]) -> None:
        self.answers[event["requestId"]] = (time.monotonic(), event["statusCode"])

    def statuses(self, path: str, since: float = 0.0) -> list[int]:
        """The statuses of the answers to ``path`` since a moment, in order."""
        found = sorted(
            (at, status)
            for request_id, (at, status) in self.answers.items()
            if at >= since and path_of(self.urls.get(request_id, "")) == path
        )
        return [status for _, status in found]


def until(page: Any, condition: Callable[[], bool], timeout: float) -> None:
    """Let the page run until ``condition`` holds (events reach Python meanwhile)."""
    deadline = time.monotonic() + timeout / 1000
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        page.wait_for_timeout(100)


def set_visibility(target: Any, state: str) -> None:
    """The page (or frame) as a background tab ("hidden") or a shown one sees itself."""
    target.evaluate(VISIBILITY, state)


def live_page(host: Any, name: str, pid: str, *, iframe: bool) -> str:
    attrs = f'data-site="{MODERATED_SITE}" data-page="{pid}" data-live="{LIVE}"'
    if iframe:
        widgets = f'<div data-parley="comments" data-mode="iframe" {attrs}></div>'
    else:
        widgets = (
            f'<div data-parley="rating" {attrs}></div>\n<div data-parley="comments" {attrs}></div>'
        )
    return host.write(name, f"<main><h1>A live article</h1>\n{widgets}\n</main>")


def by_author(service: Any, method: str, posted: dict[str, Any], body: Any = None) -> None:
    """An edit or a deletion by the comment's author (their edit token), outside the page."""
    status, data = service.call(
        method,
        f"/api/v1/comments/{posted['comment']['id']}?site={MODERATED_SITE}",
        body,
        headers={"X-Parley-Edit-Token": posted["edit_token"]},
    )
    assert status == (204 if method == "DELETE" else 200), (status, data)


@pytest.mark.parametrize("mode", ["script", "iframe"])
def test_changes_by_others_show_without_a_reload(browsing, host, service, page_id, mode):
    iframe = mode == "iframe"
    pid = page_id(mode)
    earlier = service.post_comment(pid, site=MODERATED_SITE, name="Earlier", text="Reply to me.")
    other = service.post_comment(pid, site=MODERATED_SITE, name="Other", text="Someone else.")
    service.flask("comment", "moderate", str(earlier["comment"]["id"]), "approve")

    page = browsing.new_page()
    polls = Polls()
    page.on("request", polls.record)
    clock = FormClock(page)
    page.goto(live_page(host, f"live-{mode}", pid, iframe=iframe))
    if iframe:
        root = page.frame_locator(IFRAME).locator("main.parley")
        rating = root.locator(".parley-rating")
        expect(root.locator(COMMENT_FORM)).to_be_visible()
        clock.restart()  # the framed page's form carries its time token
        polling: Any = page.frame(url=re.compile(r"/thread\?"))  # the frame's loader polls
        assert polling is not None
    else:
        root = comments_box(page)
        rating = rating_box(page).locator(".parley-rating")
        polling = page
    wire = Wire(browsing.context, polling)
    attached = time.monotonic()
    thread = root.locator(".parley-thread")
    expect(comment(thread, earlier["comment"]["id"])).to_be_visible()
    expect(thread.locator("article.parley-comment")).to_have_count(1)
    expect(rating.locator(".parley-first")).to_be_visible()

    # The reader's own comment awaits moderation; then they start a reply.
    form = root.locator(COMMENT_FORM)
    fill_comment(form, text="My own, held.", name="Reader", email="reader@example.org")
    clock.wait(page)
    form.get_by_role("button", name="Post Comment").click()
    mine = thread.locator("article.parley-comment", has_text="My own, held.")
    expect(mine.locator(".parley-pending")).to_have_text(PENDING)
    action(thread, earlier["comment"]["id"], "reply").click()
    reply_form = comment(thread, earlier["comment"]["id"]).locator(COMMENT_FORM)
    text = reply_form.locator('[name="text"]')
    text.fill("Half a reply, still being written")
    text.evaluate("el => el.setSelectionRange(5, 10)")

    def reader_undisturbed() -> None:
        expect(text).to_have_value("Half a reply, still being written")
        assert text.evaluate(
            "el => el.getRootNode().activeElement === el && [el.selectionStart, el.selectionEnd]"
        ) == [5, 10]
        expect(reply_form.locator('[name="parent"]')).to_have_value(str(earlier["comment"]["id"]))
        expect(mine.locator(".parley-pending")).to_have_text(PENDING)

    # Approved by a moderator, edited and then deleted by its author, a vote: each shows.
    other_comment = comment(thread, other["comment"]["id"])
    service.flask("comment", "moderate", str(other["comment"]["id"]), "approve")
    expect(other_comment.locator(".parley-body")).to_have_text(
        "Someone else.", timeout=CHANGE_SHOWN
    )
    expect(thread.locator(".parley-count")).to_have_text("2 comments")
    reader_undisturbed()

    by_author(service, "PATCH", other, {"text": "Someone else, edited."})
    expect(other_comment.locator(".parley-body")).to_have_text(
        "Someone else, edited.", timeout=CHANGE_SHOWN
    )
    expect(other_comment.locator(".parley-edited")).to_be_visible()
    reader_undisturbed()

    service.vote(pid, 4, site=MODERATED_SITE)
    expect(rating.locator(".parley-average")).to_have_text("4.0", timeout=CHANGE_SHOWN)
    expect(rating.locator(".parley-rating-count")).to_contain_text("1 rating")
    reader_undisturbed()

    by_author(service, "DELETE", other)
    expect(other_comment).to_have_count(0, timeout=CHANGE_SHOWN)
    expect(thread.locator(".parley-count")).to_have_text("1 comment")
    reader_undisturbed()

    # Nothing changes: the next polls of both fragments are answered 304 and leave what is
    # shown alone (the same elements, not copies).
    page.wait_for_timeout(500)  # the poll that showed the deletion has had its answers
    quiet = time.monotonic()
    thread.evaluate("el => { el.unchanged = true; }")
    rating.evaluate("el => { el.unchanged = true; }")
    until(
        page,
        lambda: all(wire.statuses(p, quiet) for p in ("/widget/comments", "/widget/rating")),
        CHANGE_SHOWN,
    )
    assert wire.statuses("/widget/comments", quiet)[:1] == [304]
    assert wire.statuses("/widget/rating", quiet)[:1] == [304]
    assert thread.evaluate("el => el.unchanged") and rating.evaluate("el => el.unchanged")
    reader_undisturbed()

    # Hidden: no requests at all, and a change waits; visible again: asked for at once.
    set_visibility(polling, "hidden")
    page.wait_for_timeout(500)  # a poll already under way may finish
    hidden_at = time.monotonic()
    asked = len(browsing.watch.service_requests())
    service.vote(pid, 2, site=MODERATED_SITE)
    page.wait_for_timeout(LIVE * 1000 + 1500)
    assert len(browsing.watch.service_requests()) == asked
    assert polls.since(hidden_at) == []
    expect(rating.locator(".parley-average")).to_have_text("4.0")
    shown_at = time.monotonic()
    set_visibility(polling, "visible")
    expect(rating.locator(".parley-average")).to_have_text("3.0", timeout=LIVE * 1000 - 1000)
    assert time.monotonic() - shown_at < LIVE
    reader_undisturbed()

    # Every poll was a public read: a GET without cookies or a visitor key, that reached the
    # service (never an answer the browser kept), answered from the shared cache (200 with
    # what changed, else 304); the live code loaded once.
    for _, path, headers in polls.seen:
        assert "cookie" not in headers and "x-parley-visitor" not in headers, (path, headers)

    def all_reached_the_service() -> bool:
        return all(
            polls.since(attached).count(path) == len(wire.statuses(path))
            for path in ("/widget/comments", "/widget/rating")
        )

    until(page, all_reached_the_service, 3000)
    answered = wire.statuses("/widget/comments") + wire.statuses("/widget/rating")
    assert set(answered) == {200, 304}, answered
    assert answered.count(304) >= 2, answered
    chunks = [r for r in browsing.watch.service_requests("GET") if "/embed/live." in r.url]
    assert len(chunks) == 1, [r.url for r in chunks]
    browsing.assert_clean()


def test_each_widget_polls_as_its_page_says(browsing, host, service, page_id):
    """``data-live="off"`` never polls; an interval under the floor polls every 5 s, and
    every poll reaches the service, for a reader who never wrote anything too (the loader
    asks past the browser's cache for a minute after the reader's own writes anyway)."""
    pid = page_id()
    service.post_comment(pid, name="Earlier", text="Before the page was opened.")
    page = browsing.new_page()
    polls = Polls()
    page.on("request", polls.record)
    page.goto(
        host.write(
            "live-options",
            f'<main><div data-parley="rating" data-page="{pid}" data-live="1"></div>'
            f'<div data-parley="comments" data-page="{pid}" data-live="off"></div></main>',
        )
    )
    wire = Wire(browsing.context, page)
    attached = time.monotonic()
    thread = comments_box(page).locator(".parley-thread")
    rating = rating_box(page).locator(".parley-rating")
    expect(thread.locator("article.parley-comment")).to_have_count(1)
    expect(rating.locator(".parley-first")).to_be_visible()
    service.post_comment(pid, name="Later", text="Not shown until a reload.")
    service.vote(pid, 5)
    expect(rating.locator(".parley-average")).to_have_text("5.0", timeout=CHANGE_SHOWN)
    page.wait_for_timeout(LIVE * 1000 + 1000)  # another poll of the rating
    expect(thread.locator("article.parley-comment")).to_have_count(1)
    assert polls.since(0).count("/widget/comments") == 1  # the widget's own load
    times = [at for at, path, _ in polls.seen if path == "/widget/rating"]
    assert len(times) >= 3, times  # the load and two polls
    gaps = [later - earlier for earlier, later in zip(times[1:], times[2:], strict=False)]
    assert all(gap > LIVE - 0.5 for gap in gaps), gaps
    until(
        page,
        lambda: (
            polls.since(attached).count("/widget/rating") == len(wire.statuses("/widget/rating"))
        ),
        3000,
    )
    assert wire.statuses("/widget/rating")[-1] == 304  # nothing changed since the vote showed
    browsing.assert_clean()
