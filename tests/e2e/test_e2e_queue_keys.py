"""The moderation queue in a real browser: its keyboard shortcuts (j/k move the focus from
row to row, a approves, and nothing fires while typing in a field), and "select all" then a
bulk action, with the script and without it."""

from __future__ import annotations

import secrets
import urllib.parse
from typing import Any

import pytest
from harness import MODERATED_SITE, expect

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PASSWORD = "a long moderator password"
# The element with the focus: which row it is in, and whether its focus ring shows.
FOCUS = """() => {
    const el = document.activeElement;
    const style = getComputedStyle(el);
    return {
        tag: el.tagName.toLowerCase(),
        id: el.id || "",
        row: el.closest("tr[data-row]") ? el.closest("tr[data-row]").id : "",
        ring: el.matches(":focus-visible") && style.outlineStyle !== "none"
            && parseFloat(style.outlineWidth) >= 2,
        value: "value" in el ? String(el.value) : "",
    };
}"""


def moderator(service: Any) -> str:
    email = f"keys-{secrets.token_hex(3)}@example.org"
    service.flask("create-admin", email, "--site", MODERATED_SITE, "--role", "moderator",
                  "--password", PASSWORD)  # fmt: skip
    return email


def log_in(page: Any, service: Any, email: str) -> None:
    page.goto(f"{service.origin}/admin/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page).to_have_url(f"{service.origin}/admin/")


def held(service: Any, pid: str, count: int) -> list[int]:
    """Comments held on their own page (oldest first): the queue shows the newest first."""
    return [
        service.post_comment(pid, site=MODERATED_SITE, text=f"Held {n} on {pid}.")["comment"]["id"]
        for n in range(count)
    ]


def queue_url(service: Any, pid: str, **extra: str) -> str:
    query = {"site": MODERATED_SITE, "page": pid, **extra}
    return f"{service.origin}/admin/queue?" + urllib.parse.urlencode(query)


def test_shortcuts_move_through_the_queue_and_approve_without_a_mouse(contexts, service, page_id):
    pid = page_id()
    ids = held(service, pid, 3)
    newest, middle, oldest = ids[::-1]
    browsing = contexts("moderator")
    page = browsing.new_page()
    log_in(page, service, moderator(service))
    page.goto(queue_url(service, pid))
    help_block = page.locator("#queue-keys")
    expect(help_block).to_be_visible()  # the keys are listed on the page
    expect(help_block).to_contain_text("Approve")

    page.keyboard.press("j")
    now = page.evaluate(FOCUS)
    assert (now["tag"], now["id"], now["ring"]) == ("tr", f"q{newest}", True), now
    page.keyboard.press("j")
    page.keyboard.press("j")
    assert page.evaluate(FOCUS)["id"] == f"q{oldest}"
    page.keyboard.press("j")  # the last row keeps the focus
    assert page.evaluate(FOCUS)["id"] == f"q{oldest}"
    page.keyboard.press("k")
    now = page.evaluate(FOCUS)
    assert (now["id"], now["ring"]) == (f"q{middle}", True), now

    # Typing in a field is typing: no key acts there.
    search = page.get_by_label("Text", exact=True)
    search.focus()
    page.keyboard.type("jasd")
    assert page.evaluate(FOCUS)["value"] == "jasd"
    expect(page).to_have_url(queue_url(service, pid))
    expect(page.locator("tr[data-row]")).to_have_count(3)

    # Back to the rows: "a" approves the one with the focus (no box is checked).
    page.locator(f"#pick-{middle}").focus()
    with page.expect_navigation():
        page.keyboard.press("a")
    flash = page.locator(".admin-flash")
    expect(flash).to_contain_text("1 comment: approve.")
    expect(flash).to_be_focused()
    expect(page.locator(f"#q{middle}")).to_have_count(0)
    expect(page.locator("tr[data-row]")).to_have_count(2)
    public = service.thread(pid, site=MODERATED_SITE)["comments"]
    assert [c["id"] for c in public] == [middle], public

    # From the message, "j" goes to the first row again; "x" checks it, "s" acts on it.
    page.keyboard.press("j")
    assert page.evaluate(FOCUS)["id"] == f"q{newest}"
    page.keyboard.press("x")
    expect(page.locator(f"#pick-{newest}")).to_be_checked()
    with page.expect_navigation():
        page.keyboard.press("s")
    expect(page.locator(".admin-flash")).to_contain_text("1 comment: spam.")
    expect(page.locator("tr[data-row]")).to_have_count(1)
    expect(page.locator(f"#q{oldest}")).to_have_count(1)
    browsing.assert_clean()


def test_select_all_then_spam_with_the_script(contexts, service, page_id):
    pid = page_id()
    ids = held(service, pid, 3)
    browsing = contexts("moderator")
    page = browsing.new_page()
    log_in(page, service, moderator(service))
    page.goto(queue_url(service, pid))
    expect(page.locator("#pick-all-link")).to_be_hidden()  # the box replaces the link
    select_all = page.get_by_label("Select every comment on this page")
    select_all.check()
    for comment_id in ids:
        expect(page.locator(f"#pick-{comment_id}")).to_be_checked()
    page.locator(f"#pick-{ids[0]}").uncheck()
    assert page.evaluate("document.getElementById('pick-all').indeterminate") is True
    select_all.check()
    with page.expect_navigation():
        page.get_by_role("button", name="Spam", exact=True).click()
    expect(page.locator(".admin-flash")).to_contain_text("3 comments: spam.")
    expect(page.locator("tr[data-row]")).to_have_count(0)
    page.goto(queue_url(service, pid, status="spam"))
    expect(page.locator("tr[data-row]")).to_have_count(3)
    browsing.assert_clean()


def test_select_all_then_spam_without_javascript(contexts, service, page_id):
    pid = page_id()
    ids = held(service, pid, 3)
    browsing = contexts("no script", java_script_enabled=False)
    page = browsing.new_page()
    log_in(page, service, moderator(service))
    page.goto(queue_url(service, pid))
    expect(page.locator("#queue-keys")).to_be_hidden()  # no keys without the script
    with page.expect_navigation():
        page.get_by_role("link", name="Select all on this page").click()
    for comment_id in ids:
        expect(page.locator(f"#pick-{comment_id}")).to_be_checked()
    with page.expect_navigation():
        page.get_by_role("button", name="Spam", exact=True).click()
    expect(page.locator(".admin-flash")).to_contain_text("3 comments: spam.")
    expect(page.locator("tr[data-row]")).to_have_count(0)
    browsing.assert_clean()
