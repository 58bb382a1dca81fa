"""Script mode: the loader mounts the widgets in shadow roots on a page of another site.

Everything here goes through the widget as a reader would use it (Playwright's
CSS locators pierce the open shadow roots); the JSON API is only used to check
what the service stored, or to prepare a thread.
"""

from __future__ import annotations

import re
import urllib.parse

import pytest
from harness import (
    COMMENT_FORM,
    HOSTILE_CSS,
    MODERATED_SITE,
    FormClock,
    action,
    click_star,
    comment,
    comments_box,
    computed,
    expect,
    fill_comment,
    rating_box,
    save_screenshot,
    wait_mounted,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LIGHT_FG = "rgb(31, 35, 40)"  # --parley-fg, light theme
RED = "rgb(255, 0, 0)"
MODERATION = re.compile("moderat", re.IGNORECASE)


def no_cookies_sent(browsing) -> None:
    """The loader works without cookies: no request to the service carries one."""
    carrying = [
        f"{r.method} {r.url}"
        for r in browsing.watch.service_requests()
        if "cookie" in r.all_headers()
    ]
    assert not carrying, f"requests to the service sent cookies: {carrying}"


def test_post_reply_edit_and_delete_through_the_widget(browsing, host, service, page_id):
    pid = page_id()
    url = host.article("flow", pid, css=HOSTILE_CSS, title="An E2E article")
    page = browsing.new_page()
    clock = FormClock(page)
    page.goto(url)
    box = comments_box(page)
    form = wait_mounted(box, COMMENT_FORM)
    expect(box.locator(".parley-empty")).to_be_visible()

    # Post.
    fill_comment(
        form,
        text="First! *Markdown* works.",
        name="Ada Lovelace",
        email="ada@example.org",
        website="https://ada.example",
    )
    clock.wait(page)
    form.get_by_role("button", name="Post Comment").click()
    posted = box.locator("article.parley-comment", has_text="First!")
    expect(posted).to_be_visible()
    expect(posted.locator(".parley-body em")).to_have_text("Markdown")
    expect(posted.locator(".parley-author")).to_have_text("Ada Lovelace")
    expect(posted.locator("a.parley-author")).to_have_attribute("href", "https://ada.example")
    expect(form.locator('.parley-flash[role="status"]')).to_be_visible()
    expect(form.locator('[name="text"]')).to_have_value("")
    thread = service.thread(pid)
    assert [c["author"] for c in thread["comments"]] == ["Ada Lovelace"]
    parent_id = thread["comments"][0]["id"]
    # The page's title and address come from the host page (an allowed origin).
    assert thread["page"]["title"] == "An E2E article"
    assert thread["page"]["url"] == url
    expect(box.locator(".parley-count")).to_have_text("1 comment")

    # Reply: the form moves under the comment and says whom it answers; Cancel
    # takes it back.
    action(box, parent_id, "reply").click()
    expect(form.locator("h2")).to_contain_text("Reply to Ada Lovelace")
    expect(comment(box, parent_id).locator(COMMENT_FORM)).to_be_visible()
    form.locator('h2 [data-action="cancel"]').click()
    expect(form.locator("h2")).to_have_text("Leave a Reply")
    expect(comment(box, parent_id).locator(COMMENT_FORM)).to_have_count(0)
    action(box, parent_id, "reply").click()
    expect(comment(box, parent_id).locator(COMMENT_FORM)).to_be_visible()
    fill_comment(form, text="A reply to myself.")

    # While the reply's form token ages: edit the parent within the window.
    action(box, parent_id, "edit").click()
    editor = comment(box, parent_id).locator("form.parley-edit textarea")
    expect(editor).to_have_value("First! *Markdown* works.")
    editor.fill("First! **Edited** markdown works.")
    comment(box, parent_id).get_by_role("button", name="Save").click()
    body = box.locator(f"article#c{parent_id} > .parley-body")
    expect(body.locator("strong")).to_have_text("Edited")
    expect(comment(box, parent_id).locator("form.parley-edit")).to_have_count(0)
    stored = service.thread(pid)["comments"][0]
    assert "<strong>Edited</strong>" in stored["html"] and stored["edited"]
    expect(form.locator('[name="text"]')).to_have_value("A reply to myself.")

    clock.wait(page)
    form.get_by_role("button", name="Post Comment").click()
    reply = box.locator(f"article#c{parent_id} .parley-replies article.parley-comment")
    expect(reply).to_have_count(1)
    expect(reply.locator(".parley-body")).to_have_text("A reply to myself.")
    replies = service.thread(pid)["comments"][0]["replies"]
    assert [r["parent"] for r in replies] == [parent_id]
    reply_id = replies[0]["id"]
    expect(form.locator("h2")).to_have_text("Leave a Reply")  # back at the bottom
    expect(body).to_contain_text("Edited")  # the refreshed thread has the edit
    expect(action(box, reply_id, "edit")).to_be_visible()

    # Delete the parent: it has a reply, so a placeholder stays and the reply with it.
    action(box, parent_id, "delete").click()
    expect(comment(box, parent_id).locator(".parley-placeholder")).to_be_visible()
    expect(box.locator(f"article#c{parent_id} > .parley-body")).to_have_count(0)
    expect(comment(box, reply_id)).to_be_visible()
    assert any("Delete" in d for d in browsing.watch.dialogs), "no confirmation was asked"
    # Then the reply: gone.
    action(box, reply_id, "delete").click()
    expect(comment(box, reply_id)).to_have_count(0)
    left = service.thread(pid)
    assert all(c["deleted"] for c in left["comments"]), left
    assert "Ada Lovelace" not in str(left)

    no_cookies_sent(browsing)
    browsing.assert_clean()


def test_like_and_unlike_a_comment(browsing, contexts, host, service, page_id):
    pid = page_id()
    liked = service.post_comment(pid, name="Liked", text="Like me.")["comment"]["id"]
    service.post_comment(pid, name="Other", text="Not me.")
    url = host.article("like", pid, rating=False)
    page = browsing.new_page()
    page.goto(url)
    box = comments_box(page)
    wait_mounted(box, COMMENT_FORM)
    expect(action(box, liked, "edit")).to_have_count(0)  # not this reader's comment

    like = action(box, liked, "like")
    expect(like).to_be_visible()
    expect(like).to_have_attribute("aria-pressed", "false")
    expect(like.locator(".parley-like-n")).to_have_text("0")
    like.click()
    expect(like).to_have_attribute("aria-pressed", "true")
    expect(like.locator(".parley-like-n")).to_have_text("1")
    assert [c["likes"] for c in service.thread(pid)["comments"]] == [1, 0]

    # Another reader sees one like, not pressed, and adds theirs.
    other = contexts("other-reader").new_page()
    other.goto(url)
    other_box = comments_box(other)
    wait_mounted(other_box, COMMENT_FORM)
    other_like = action(other_box, liked, "like")
    expect(other_like.locator(".parley-like-n")).to_have_text("1")
    expect(other_like).to_have_attribute("aria-pressed", "false")
    other_like.click()
    expect(other_like.locator(".parley-like-n")).to_have_text("2")

    # Unlike: the count is the service's, with the other reader's like in it.
    like.click()
    expect(like).to_have_attribute("aria-pressed", "false")
    expect(like.locator(".parley-like-n")).to_have_text("1")
    assert [c["likes"] for c in service.thread(pid)["comments"]] == [1, 0]

    # Like again and reload: the button is pressed and its count agrees.
    like.click()
    expect(like).to_have_attribute("aria-pressed", "true")
    expect(like.locator(".parley-like-n")).to_have_text("2")
    page.reload()
    box = comments_box(page)
    wait_mounted(box, COMMENT_FORM)
    like = action(box, liked, "like")
    expect(like).to_have_attribute("aria-pressed", "true")
    expect(like.locator(".parley-like-n")).to_have_text("2")
    no_cookies_sent(browsing)
    browsing.assert_clean()


def test_the_authors_edit_and_links_survive_a_reload_until_the_window_closes(
    browsing, host, service, page_id
):
    pid = page_id()
    page = browsing.new_page()
    page.clock.install()  # the browser's clock, to reach the end of the edit window
    clock = FormClock(page)
    page.goto(host.article("edit-reload", pid, rating=False))
    box = comments_box(page)
    form = wait_mounted(box, COMMENT_FORM)
    fill_comment(form, text="Before the edit.", name="Ada", email="ada@example.org")
    clock.wait(page)
    form.get_by_role("button", name="Post Comment").click()
    posted = box.locator("article.parley-comment", has_text="Before the edit.")
    expect(posted).to_be_visible()
    comment_id = int((posted.get_attribute("id") or "c0")[1:])
    action(box, comment_id, "edit").click()
    comment(box, comment_id).locator("form.parley-edit textarea").fill("After the edit.")
    comment(box, comment_id).get_by_role("button", name="Save").click()
    expect(comment(box, comment_id).locator(".parley-body")).to_have_text("After the edit.")

    page.reload()
    box = comments_box(page)
    wait_mounted(box, COMMENT_FORM)
    expect(action(box, comment_id, "edit")).to_be_visible()
    expect(action(box, comment_id, "delete")).to_be_visible()
    # The author must see the edit, not the text from before it (a cached fragment).
    expect(comment(box, comment_id).locator(".parley-body")).to_have_text("After the edit.")
    expect(comment(box, comment_id).locator(".parley-edited")).to_be_visible()

    # When the site's edit window closes, Edit and Delete go.
    window = int(box.locator(".parley-thread").get_attribute("data-edit-window") or "0")
    assert window > 0
    page.clock.fast_forward(window * 1000 + 1000)
    expect(action(box, comment_id, "edit")).to_have_count(0)
    expect(action(box, comment_id, "delete")).to_have_count(0)
    browsing.assert_clean()


def test_rate_change_the_vote_and_retract_it(browsing, contexts, host, service, page_id):
    pid = page_id()
    url = host.article("rate", pid, css=HOSTILE_CSS, comments=False)
    page = browsing.new_page()
    page.goto(url)
    box = rating_box(page)
    wait_mounted(box, ".parley-rating")
    expect(box.locator(".parley-first")).to_have_text("Be the first one!")
    expect(box.locator(".parley-yours")).to_have_count(0)

    click_star(box, 4)
    expect(box.locator(".parley-yours")).to_have_text("Your rating: 4")
    expect(box.locator(".parley-average")).to_have_text("4.0")
    expect(box.locator(".parley-rating-count")).to_contain_text("1 rating")
    expect(box.locator('input.parley-star-input[value="4"]')).to_be_checked()
    summary = service.ratings(pid)
    assert (summary["count"], summary["average"]) == (1, 4.0)

    # Change the vote: still one vote.
    click_star(box, 2)
    expect(box.locator(".parley-yours")).to_have_text("Your rating: 2")
    expect(box.locator(".parley-average")).to_have_text("2.0")
    expect(box.locator(".parley-rating-count")).to_contain_text("1 rating")
    summary = service.ratings(pid)
    assert (summary["count"], summary["average"]) == (1, 2.0)

    # Someone else votes 5. A new reader (fragments are public and may be cached
    # for 30 s, so a fresh browser) sees both votes and no "your rating".
    service.vote(pid, 5)
    other = contexts("other-reader").new_page()
    other.goto(url)
    other_box = rating_box(other)
    wait_mounted(other_box, ".parley-rating")
    expect(other_box.locator(".parley-average")).to_have_text("3.5")
    expect(other_box.locator(".parley-rating-count")).to_contain_text("2 ratings")
    expect(other_box.locator(".parley-yours")).to_have_count(0)
    expect(other_box.locator("input.parley-star-input:checked")).to_have_count(0)

    # After a reload our own vote is still marked (it comes as JSON, not in the fragment).
    page.reload()
    box = rating_box(page)
    wait_mounted(box, ".parley-rating")
    expect(box.locator(".parley-yours")).to_have_text("Your rating: 2")
    expect(box.locator('input.parley-star-input[value="2"]')).to_be_checked()

    # Retract.
    box.get_by_role("button", name="Remove my rating").click()
    expect(box.locator(".parley-yours")).to_have_count(0)
    expect(box.locator(".parley-average")).to_have_text("5.0")
    expect(box.locator(".parley-rating-count")).to_contain_text("1 rating")
    expect(box.locator("input.parley-star-input:checked")).to_have_count(0)
    summary = service.ratings(pid)
    assert (summary["count"], summary["average"]) == (1, 5.0)

    # One visitor key for the reader, issued once, sent as a header.
    assert len(browsing.watch.service_requests("POST", "/api/v1/visitors")) == 1
    votes = browsing.watch.service_requests("PUT", "/api/v1/ratings")
    assert votes and all("x-parley-visitor" in r.all_headers() for r in votes)
    no_cookies_sent(browsing)
    browsing.assert_clean()


def test_validation_errors_show_beside_the_fields_and_keep_the_text(
    browsing, host, service, page_id
):
    pid = page_id()
    page = browsing.new_page()
    clock = FormClock(page)
    page.goto(host.article("validation", pid, rating=False))
    box = comments_box(page)
    form = wait_mounted(box, COMMENT_FORM)
    typed = "A long, carefully typed comment that must not be lost."
    fill_comment(form, text=typed, name="Ada", email="not-an-email", website="javascript:alert(1)")
    # Invalid fields are refused before the form's time token is looked at: no wait yet.
    form.get_by_role("button", name="Post Comment").click()

    for name in ("email", "website"):
        field = form.locator(f'[name="{name}"]')
        expect(field).to_have_attribute("aria-invalid", "true")
        described = field.get_attribute("aria-describedby")
        error = form.locator(f".parley-field.parley-invalid #{described}")
        expect(error).to_be_visible()
        expect(error).not_to_be_empty()
    expect(form.locator('[name="name"]')).not_to_have_attribute("aria-invalid", "true")
    expect(form.locator('.parley-flash[role="alert"]')).to_be_visible()
    expect(form.locator('[name="text"]')).to_have_value(typed)
    expect(form.locator('[name="name"]')).to_have_value("Ada")
    assert service.thread(pid)["comments"] == []

    # Empty required fields: errors beside those, the rest kept.
    fill_comment(form, name="", email="ada@example.org", website="")
    form.get_by_role("button", name="Post Comment").click()
    expect(form.locator('[name="name"]')).to_have_attribute("aria-invalid", "true")
    expect(form.locator('[name="email"]')).not_to_have_attribute("aria-invalid", "true")
    expect(form.locator(".parley-error-text")).to_have_count(1)
    expect(form.locator('[name="text"]')).to_have_value(typed)

    # Fixed: it posts, and the errors go.
    fill_comment(form, name="Ada")
    clock.wait(page)
    form.get_by_role("button", name="Post Comment").click()
    expect(box.locator("article.parley-comment .parley-body")).to_have_text(typed)
    expect(form.locator(".parley-error-text")).to_have_count(0)
    expect(form.locator("[aria-invalid]")).to_have_count(0)
    assert len(service.thread(pid)["comments"]) == 1
    browsing.assert_clean()


def test_the_authors_pending_comment_shows_as_awaiting_moderation(
    browsing, contexts, host, service, page_id
):
    pid = page_id()
    url = host.article("moderated", pid, site=MODERATED_SITE, rating=False)
    page = browsing.new_page()
    clock = FormClock(page)
    page.goto(url)
    box = comments_box(page)
    form = wait_mounted(box, COMMENT_FORM)
    fill_comment(form, text="Held for review.", name="Grace", email="grace@example.org")
    clock.wait(page)
    form.get_by_role("button", name="Post Comment").click()

    mine = box.locator("article.parley-comment", has_text="Held for review.")
    expect(mine).to_be_visible()
    expect(mine.locator(".parley-pending")).to_have_text(MODERATION)
    expect(form.locator('.parley-flash[role="status"]')).to_have_text(MODERATION)
    assert service.thread(pid, site=MODERATED_SITE)["comments"] == []

    # Still shown to its author after a reload; not to anyone else.
    page.reload()
    box = comments_box(page)
    wait_mounted(box, COMMENT_FORM)
    mine = box.locator("article.parley-comment", has_text="Held for review.")
    expect(mine.locator(".parley-pending")).to_be_visible()
    other = contexts("other-reader").new_page()
    other.goto(url)
    other_box = comments_box(other)
    wait_mounted(other_box, COMMENT_FORM)
    expect(other_box.locator(".parley-empty")).to_be_visible()
    expect(other_box.locator("article.parley-comment")).to_have_count(0)

    # Approved: a new reader sees it (fragments may be cached for 30 s: a fresh browser).
    comment_id = re.sub(r"\D", "", mine.get_attribute("id") or "")
    service.flask("comment", "moderate", comment_id, "approve")
    assert len(service.thread(pid, site=MODERATED_SITE)["comments"]) == 1
    third = contexts("after-approval").new_page()
    third.goto(url)
    third_box = comments_box(third)
    wait_mounted(third_box, COMMENT_FORM)
    expect(third_box.locator(".parley-body")).to_have_text("Held for review.")
    expect(third_box.locator(".parley-pending")).to_have_count(0)
    browsing.assert_clean()


def test_counts_on_a_listing_page_come_from_one_request(browsing, host, service, page_id):
    pages = {label: page_id(label) for label in ("a", "b", "c", "d")}
    for n in range(2):
        service.post_comment(pages["a"], text=f"Comment {n}")
    service.post_comment(pages["c"])
    service.post_comment(pages["d"])
    service.vote(pages["d"], 4)
    service.vote(pages["d"], 5)
    items = "\n".join(
        f'<li><a href="#">Article {label}</a> '
        f'<span data-parley="count" data-site="default" data-page="{pid}"'
        f"{' data-show=' + chr(34) + 'rating' + chr(34) if label == 'd' else ''}>"
        f"comments</span></li>"
        for label, pid in pages.items()
    )
    # The same page again (in German), and a widget far below the fold.
    body = (
        f"<main><h1>Listing</h1><ul>{items}</ul>"
        f'<p>Again: <span data-parley="count" data-site="default" data-page="{pages["a"]}" '
        'data-lang="de"></span></p>'
        f'<div style="height: 6000px"></div>'
        f'<div data-parley="comments" data-site="default" data-page="{pages["a"]}"></div></main>'
    )
    page = browsing.new_page()
    page.goto(host.write("listing", body))
    counts = page.locator('[data-parley="count"]')
    expect(counts.nth(0)).to_have_text("2 comments")
    expect(counts.nth(1)).to_have_text("0 comments")
    expect(counts.nth(2)).to_have_text("1 comment")
    expect(counts.nth(3)).to_have_text(re.compile(r"^1 comment · ★\s4\.5$"))
    expect(counts.nth(4)).to_have_text("2 Kommentare")

    # Five placeholders, four pages: one cacheable GET names them all.
    requests = browsing.watch.service_requests("GET", "/api/v1/counts")
    assert len(requests) == 1, [r.url for r in requests]
    asked = urllib.parse.parse_qs(urllib.parse.urlsplit(requests[0].url).query)
    assert sorted(asked["page"]) == sorted(pages.values())
    assert asked["site"] == ["default"]
    assert not browsing.watch.service_requests("POST", "/api/v1/counts")

    # The thread far below is fetched only when the reader scrolls near it.
    page.wait_for_timeout(300)
    assert not browsing.watch.service_requests("GET", "/widget/comments")
    box = comments_box(page)
    wait_mounted(box, ".parley-thread")
    expect(box.locator("article.parley-comment")).to_have_count(2)
    assert len(browsing.watch.service_requests("GET", "/widget/comments")) == 1
    assert len(browsing.watch.service_requests("GET", "/api/v1/counts")) == 1
    browsing.assert_clean()


def test_counts_for_more_pages_than_a_get_takes_come_by_post(browsing, host, service, page_id):
    pages = [page_id(f"many-{n}") for n in range(25)]
    service.post_comment(pages[24], text="The last one has a comment.")
    items = "".join(
        f'<li><span data-parley="count" data-site="default" data-page="{pid}"></span></li>'
        for pid in pages
    )
    page = browsing.new_page()
    page.goto(host.write("long-listing", f"<main><ul>{items}</ul></main>"))
    counts = page.locator('[data-parley="count"]')
    expect(counts.nth(24)).to_have_text("1 comment")
    expect(counts.nth(0)).to_have_text("0 comments")
    requests = browsing.watch.service_requests("POST", "/api/v1/counts")
    assert len(requests) == 1, [r.url for r in requests]
    assert sorted(requests[0].post_data_json["pages"]) == sorted(pages)
    assert not browsing.watch.service_requests("GET", "/api/v1/counts")
    browsing.assert_clean()


def test_the_host_pages_css_does_not_reach_the_widget(browsing, host, service, page_id):
    pid = page_id()
    service.post_comment(pid, name="Styled", text="Plain text, in the widget's own style.")
    page = browsing.new_page()
    page.goto(host.article("hostile", pid, css=HOSTILE_CSS))
    box = comments_box(page)
    form = wait_mounted(box, COMMENT_FORM)
    wait_mounted(rating_box(page), ".parley-rating")

    # The hostile rules do apply to the host page itself...
    host_heading = computed(page.locator("h1"), "color", "font-size", "text-transform")
    assert host_heading == {"color": RED, "font-size": "40px", "text-transform": "uppercase"}

    # ...but not inside the widget.
    body = box.locator(".parley-body p")
    expect(body).to_be_visible()
    style = computed(
        body,
        "color",
        "font-size",
        "font-family",
        "font-style",
        "text-transform",
        "letter-spacing",
        "word-spacing",
        "text-align",
        "text-shadow",
        "white-space",
        "line-height",
    )
    leaks = {
        "color": style["color"] != LIGHT_FG,
        "font-size": style["font-size"] != "16px",
        "font-family": "fantasy" in style["font-family"] or "Comic" in style["font-family"],
        "font-style": style["font-style"] != "normal",
        "text-transform": style["text-transform"] != "none",
        "letter-spacing": style["letter-spacing"] not in ("normal", "0px"),
        "word-spacing": style["word-spacing"] not in ("normal", "0px"),
        "text-align": style["text-align"] not in ("start", "left"),
        "text-shadow": style["text-shadow"] != "none",
        "white-space": style["white-space"] not in ("normal",),
        "line-height": style["line-height"] == "120px",
    }
    assert not [k for k, leaked in leaks.items() if leaked], f"host styles leaked in: {style}"
    controls = [
        form.locator('[name="text"]'),
        form.locator('[name="name"]'),
        form.locator("button[type=submit]"),
        rating_box(page).locator(".parley-star"),
    ]
    for control in controls:
        expect(control.first).to_be_visible()
        size = control.first.bounding_box()
        assert size and size["width"] > 10 and size["height"] > 10, (control, size)
    save_screenshot(page, "script-mode-on-a-hostile-page", full_page=True)
    browsing.assert_clean()
