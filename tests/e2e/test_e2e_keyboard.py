"""Every flow by keyboard alone, in a real browser (docs/accessibility.md, "Keyboard").

The tests press keys only (Tab, Shift+Tab, arrows, Enter, Space, typing): no clicks, no
element focused by script. After each action the focus is checked: it is never left on
<body> (which would send a keyboard or screen reader user back to the top of the host
page), and it is where the next step starts (the new comment, the vote, the message).
"""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

import pytest
from harness import (
    COMMENT_FORM,
    MODERATED_SITE,
    FormClock,
    comments_box,
    expect,
    rating_box,
    wait_mounted,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# The element that has the focus, through open shadow roots: what a screen reader is on.
FOCUSED = """() => {
    let el = document.activeElement;
    while (el && el.shadowRoot && el.shadowRoot.activeElement) el = el.shadowRoot.activeElement;
    if (!el) return {tag: "none"};
    const comment = el.closest(".parley-comment");
    return {
        tag: el.tagName.toLowerCase(),
        id: el.id || "",
        cls: typeof el.className === "string" ? el.className : "",
        name: el.getAttribute("name") || "",
        value: "value" in el ? String(el.value) : "",
        checked: !!el.checked,
        action: el.dataset ? el.dataset.action || "" : "",
        role: el.getAttribute("role") || "",
        comment: comment ? comment.id : "",
        text: (el.textContent || "").trim().slice(0, 80),
    };
}"""


def focused(target: Any) -> dict[str, Any]:
    """What has the focus in a page or a frame; never <body>."""
    found: dict[str, Any] = target.evaluate(FOCUSED)
    assert found["tag"] not in ("body", "html", "none"), "the focus fell back to <body>"
    return found


def press_until(page: Any, check: Any, *, key: str = "Tab", target: Any = None, limit: int = 60):
    """Press ``key`` until the focused element passes ``check``; returns it."""
    seen = []
    for _ in range(limit):
        page.keyboard.press(key)
        now = (target or page).evaluate(FOCUSED)
        if check(now):
            return now
        seen.append(f"{now['tag']}.{now['cls']}[{now['action'] or now['name']}]")
    raise AssertionError(f"never reached by {key}: {seen}")


def star(value: int):
    return lambda f: "parley-star-input" in f["cls"] and f["value"] == str(value)


def visitor_key(page: Any, site: str = "default") -> str:
    """The visitor key the loader keeps in the host page's storage."""
    stored = page.evaluate(
        "() => Object.entries(localStorage).filter(([k]) => k.startsWith('parley:'))"
    )
    assert len(stored) == 1, stored
    return str(json.loads(stored[0][1])["-" + site])


def my_rating(service: Any, pid: str, key: str) -> dict[str, Any]:
    query = urllib.parse.urlencode({"site": "default", "page": pid})
    status, data = service.call(
        "GET", f"/api/v1/ratings?{query}", origin=None, headers={"X-Parley-Visitor": key}
    )
    assert status == 200, (status, data)
    return dict(data)


def test_rating_by_keyboard_arrows_choose_and_enter_or_space_casts(
    browsing, host, service, page_id
):
    pid = page_id()
    page = browsing.new_page()
    page.goto(host.article("keys-rate", pid, comments=False))
    box = rating_box(page)
    wait_mounted(box, ".parley-rating")
    votes = lambda: browsing.watch.service_requests("PUT", "/api/v1/ratings")  # noqa: E731

    # Tab reaches the first star (nothing chosen yet); the arrows only move the choice.
    press_until(page, star(1))
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    now = focused(page)
    assert star(4)(now) and now["checked"], now
    page.wait_for_timeout(300)  # a vote would be on its way by now
    assert votes() == [], "an arrow key cast a vote"
    expect(box.locator(".parley-yours")).to_have_count(0)
    expect(box.locator('button[value="rate"]')).to_be_hidden()  # not needed with the script

    # Enter casts the chosen star: one vote of 4; the focus stays on it.
    page.keyboard.press("Enter")
    expect(box.locator(".parley-yours")).to_have_text("Your rating: 4")
    expect(box.locator(".parley-rating-count")).to_contain_text("1 rating")
    assert len(votes()) == 1
    assert star(4)(focused(page))
    key = visitor_key(page)
    mine = my_rating(service, pid, key)
    assert (mine["count"], mine["average"], mine["yours"]) == (1, 4.0, 4), mine

    # Space on a star casts it too (still one vote, changed).
    page.keyboard.press("ArrowLeft")
    assert len(votes()) == 1
    page.keyboard.press("Space")
    expect(box.locator(".parley-yours")).to_have_text("Your rating: 3")
    assert star(3)(focused(page))
    mine = my_rating(service, pid, key)
    assert (mine["count"], mine["average"], mine["yours"]) == (1, 3.0, 3), mine

    # "Remove my rating" by keyboard: the focus goes back to the stars.
    press_until(page, lambda f: f["action"] == "retract")
    page.keyboard.press("Enter")
    expect(box.locator(".parley-yours")).to_have_count(0)
    assert star(1)(focused(page))
    assert my_rating(service, pid, key)["count"] == 0
    browsing.assert_clean()


def test_a_click_on_a_star_casts_the_vote_at_once(browsing, host, service, page_id):
    pid = page_id()
    page = browsing.new_page()
    page.goto(host.article("click-rate", pid, comments=False))
    box = rating_box(page)
    wait_mounted(box, ".parley-rating")
    star_id = box.locator('input.parley-star-input[value="5"]').get_attribute("id")
    box.locator(f'label[for="{star_id}"]').click()  # no "Rate" press after it
    expect(box.locator(".parley-yours")).to_have_text("Your rating: 5")
    assert star(5)(focused(page))
    assert service.ratings(pid)["count"] == 1
    browsing.assert_clean()


def test_rating_by_keyboard_on_the_standalone_page(browsing, service, page_id):
    pid = page_id()
    page = browsing.new_page()
    page.goto(service.thread_url(pid))
    press_until(page, star(1))
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    page.wait_for_timeout(300)
    assert browsing.watch.service_requests("POST", "/thread/rate") == []
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.locator("#rating .parley-flash[role=status]")).to_be_visible()
    summary = service.ratings(pid)
    assert (summary["count"], summary["average"]) == (1, 4.0), summary
    # The page opens at the rating box, which has the focus.
    assert focused(page)["id"] == "rating"
    browsing.assert_clean()


def test_post_reply_like_edit_and_delete_by_keyboard(browsing, host, service, page_id):
    pid = page_id()
    earlier = service.post_comment(pid, name="Earlier", text="An earlier comment.")
    earlier_id = earlier["comment"]["id"]
    page = browsing.new_page()
    clock = FormClock(page)
    page.goto(host.article("keys-post", pid, rating=False))
    box = comments_box(page)
    form = wait_mounted(box, COMMENT_FORM)
    live = form.locator(".parley-js-flash")
    expect(live).to_have_attribute("role", "status")  # in place before anything is said
    expect(live).to_have_text("")

    # The skip link comes first and leads to the form.
    first = press_until(page, lambda f: f["tag"] == "a")
    assert "parley-skip" in first["cls"], first
    expect(box.locator(".parley-skip")).to_be_visible()  # shown while it has the focus
    page.keyboard.press("Enter")
    assert focused(page)["name"] == "text"

    # A refused post: the message line says why, the first wrong field has the focus.
    press_until(page, lambda f: f["tag"] == "button" and "Post" in f["text"])
    page.keyboard.press("Enter")
    expect(live).not_to_have_text("")
    expect(live).to_have_attribute("role", "alert")
    assert focused(page)["name"] == "text"

    # Post: the new comment gets the focus, the message line says it is online.
    page.keyboard.type("Typed, not clicked.")
    for name, value in (("name", "Ada"), ("email", "ada@example.org")):
        page.keyboard.press("Tab")
        assert focused(page)["name"] == name
        page.keyboard.type(value)
    press_until(page, lambda f: f["tag"] == "button" and "Post" in f["text"])
    clock.wait(page)
    page.keyboard.press("Enter")
    mine = box.locator("article.parley-comment", has_text="Typed, not clicked.")
    expect(mine).to_be_visible()
    expect(live).to_have_attribute("role", "status")
    expect(live).not_to_have_text("")
    mine_id = mine.get_attribute("id")
    assert focused(page)["id"] == mine_id

    # Reply: the form comes under the comment with the focus in it; Cancel goes back.
    reply_to_earlier = lambda f: f["action"] == "reply" and f["comment"] == f"c{earlier_id}"  # noqa: E731
    press_until(page, reply_to_earlier, key="Shift+Tab")
    page.keyboard.press("Enter")
    assert focused(page)["name"] == "text"
    press_until(page, lambda f: f["action"] == "cancel", key="Shift+Tab", limit=5)
    page.keyboard.press("Enter")
    assert reply_to_earlier(focused(page))
    page.keyboard.press("Enter")
    assert focused(page)["name"] == "text"
    page.keyboard.type("A reply by keyboard.")
    press_until(page, lambda f: f["tag"] == "button" and "Post" in f["text"])
    clock.wait(page)
    page.keyboard.press("Enter")
    reply = box.locator(f"#c{earlier_id} .parley-replies article.parley-comment")
    expect(reply).to_have_count(1)
    assert focused(page)["id"] == reply.get_attribute("id")

    # Like (Space), and the focus stays on the button.
    press_until(
        page, lambda f: f["action"] == "like" and f["comment"] == f"c{earlier_id}", key="Shift+Tab"
    )
    page.keyboard.press("Space")
    like = box.locator(f'#c{earlier_id} > .parley-actions > [data-action="like"]')
    expect(like).to_have_attribute("aria-pressed", "true")
    assert focused(page)["action"] == "like"

    # Edit: the text area has the focus; after saving, the comment has it.
    press_until(page, lambda f: f["action"] == "edit" and f["comment"] == mine_id)
    page.keyboard.press("Enter")
    assert focused(page)["tag"] == "textarea"
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.type("Edited by keyboard.")
    page.keyboard.press("Tab")
    assert focused(page)["text"] == "Save"
    page.keyboard.press("Enter")
    expect(box.locator(f"#{mine_id} > .parley-body")).to_have_text("Edited by keyboard.")
    assert focused(page)["id"] == mine_id

    # Delete (the confirmation is accepted): the focus goes to the thread's count.
    press_until(page, lambda f: f["action"] == "delete" and f["comment"] == mine_id)
    page.keyboard.press("Enter")
    expect(box.locator(f"#{mine_id}")).to_have_count(0)
    assert "parley-count" in focused(page)["cls"]
    shown = [c["id"] for c in service.thread(pid)["comments"]]
    assert shown == [earlier_id], shown  # the reply is inside it; ours is gone
    browsing.assert_clean()


def test_rate_and_post_by_keyboard_in_iframe_mode(browsing, host, service, page_id):
    pid = page_id()
    page = browsing.new_page()
    clock = FormClock(page)
    page.goto(host.article("keys-frame", pid, mode="iframe", rating=False))
    element = page.locator('[data-parley="comments"] iframe')
    frame_locator = page.frame_locator('[data-parley="comments"] iframe')
    expect(frame_locator.locator("main.parley-js")).to_have_count(1)  # enhanced
    clock.restart()  # the framed page's form carries its time token in its HTML
    frame = element.element_handle().content_frame()
    assert frame is not None

    first = press_until(page, lambda f: f["tag"] == "a", target=frame)
    assert "parley-skip" in first["cls"], first
    press_until(page, star(1), target=frame)
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Enter")
    expect(frame_locator.locator(".parley-yours")).to_have_text("Your rating: 2")
    assert star(2)(focused(frame))
    summary = service.ratings(pid)
    assert (summary["count"], summary["average"]) == (1, 2.0), summary

    press_until(page, lambda f: f["name"] == "text", target=frame)
    page.keyboard.type("Framed, typed.")
    for value in ("Ada", "ada@example.org"):
        page.keyboard.press("Tab")
        page.keyboard.type(value)
    press_until(page, lambda f: f["tag"] == "button" and "Post" in f["text"], target=frame)
    clock.wait(page)
    page.keyboard.press("Enter")
    mine = frame_locator.locator("article.parley-comment", has_text="Framed, typed.")
    expect(mine).to_be_visible()
    assert focused(frame)["id"] == mine.get_attribute("id")
    browsing.assert_clean()


def test_the_standalone_page_skip_link_and_refused_post_by_keyboard(browsing, service, page_id):
    pid = page_id()
    page = browsing.new_page()
    page.goto(service.thread_url(pid))
    first = press_until(page, lambda f: f["tag"] == "a")
    assert "parley-skip" in first["cls"], first
    page.keyboard.press("Enter")
    assert focused(page)["name"] == "text"
    press_until(page, lambda f: f["tag"] == "button" and "Post" in f["text"])
    with page.expect_navigation():
        page.keyboard.press("Enter")
    # The page again, refused: the first wrong field has the focus and says why.
    now = focused(page)
    assert now["name"] == "text", now
    described = page.locator("#text").get_attribute("aria-describedby")
    expect(page.locator(f"#{described}")).not_to_be_empty()
    browsing.assert_clean()


def test_moderating_the_queue_by_keyboard(contexts, service, page_id):
    email = f"keys-{page_id('x')[-6:]}@example.org"
    password = "a long moderator password"
    service.flask("create-admin", email, "--site", MODERATED_SITE, "--role", "moderator",
                  "--password", password)  # fmt: skip
    pid = page_id()
    held = [
        service.post_comment(pid, site=MODERATED_SITE, text=f"Held {n}.")["comment"]["id"]
        for n in range(3)
    ]
    browsing = contexts("moderator")
    page = browsing.new_page()
    page.goto(f"{service.origin}/admin/login")
    press_until(page, lambda f: f["name"] == "email")
    page.keyboard.type(email)
    page.keyboard.press("Tab")
    page.keyboard.type(password)
    with page.expect_navigation():
        page.keyboard.press("Enter")

    # The skip link, then to the queue through the menu.
    first = press_until(page, lambda f: f["tag"] == "a")
    assert "admin-skip" in first["cls"], first
    press_until(page, lambda f: f["text"] == "Queue")
    with page.expect_navigation():
        page.keyboard.press("Enter")

    for comment_id, action in zip(held, ("Approve", "Spam", "Delete"), strict=True):
        press_until(page, lambda f, c=comment_id: f["id"] == f"pick-{c}")
        page.keyboard.press("Space")
        press_until(page, lambda f, a=action: f["text"] == a, key="Shift+Tab")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        # What was done is read out and has the focus; the row has left the queue.
        now = focused(page)
        assert "admin-flash" in now["cls"] and now["role"] == "status", now
        assert action.lower() in now["text"], now
        expect(page.locator(f"#q{comment_id}")).to_have_count(0)
    public = service.thread(pid, site=MODERATED_SITE)["comments"]
    assert [c["id"] for c in public] == [held[0]], public
    browsing.assert_clean()


def test_a_refused_admin_form_opens_on_its_first_wrong_field(contexts, service, page_id):
    """Site settings sent by keyboard with a bad origin: the page comes back with the focus
    in that field (not on <body>, not on the message at the top), its message read with it."""
    email = f"form-{page_id('x')[-6:]}@example.org"
    password = "a long owner password"
    service.flask("create-admin", email, "--site", MODERATED_SITE, "--password", password)
    browsing = contexts("owner")
    page = browsing.new_page()
    page.goto(f"{service.origin}/admin/login")
    press_until(page, lambda f: f["name"] == "email")
    page.keyboard.type(email)
    page.keyboard.press("Tab")
    page.keyboard.type(password)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.goto(f"{service.origin}/admin/sites/{MODERATED_SITE}")
    press_until(page, lambda f: f["id"] == "origins")
    page.keyboard.press("ControlOrMeta+A")
    page.keyboard.type("ftp://files.example")
    press_until(page, lambda f: f["text"] == "Save settings")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    now = focused(page)
    assert now["id"] == "origins", now
    field = page.locator("#origins")
    assert field.get_attribute("aria-invalid") == "true"
    described = (field.get_attribute("aria-describedby") or "").split()
    assert "origins-error" in described, described
    expect(page.locator("#origins-error")).to_contain_text("not an origin")
    assert page.locator("[autofocus]").count() == 1
    browsing.assert_clean()
