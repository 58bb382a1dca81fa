"""The standalone page without JavaScript: plain forms, post/redirect/get."""

from __future__ import annotations

import re

import pytest
from harness import FormClock, click_star, expect, fill_comment

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_comment_reply_and_rate_without_javascript(contexts, service, page_id):
    browsing = contexts("no-js", java_script_enabled=False)
    pid = page_id("nojs")
    thread_url = service.thread_url(pid)
    page = browsing.new_page()
    clock = FormClock(page)
    page.goto(thread_url)
    clock.restart()
    form = page.locator("form#reply")
    expect(form.locator("h2")).to_have_text("Leave a Reply")
    expect(page.locator(".parley-empty")).to_be_visible()
    typed = "Typed without any script running."
    fill_comment(
        form,
        text=typed,
        name="Nojs Reader",
        email="reader@example.org",
        website="https://reader.example",
    )

    # While the form's time token ages, rate in a second tab (the same cookies):
    # vote, change the vote, remove it.
    other = browsing.new_page()
    other.goto(thread_url)
    rating = other.locator("#rating")
    expect(rating.locator(".parley-first")).to_be_visible()
    click_star(rating, 3)
    other.wait_for_url(re.compile(r"#rating$"))
    rating = other.locator("#rating")
    expect(rating.locator('.parley-flash[role="status"]')).to_be_visible()
    expect(rating.locator(".parley-average")).to_have_text("3.0")
    expect(rating.locator(".parley-rating-count")).to_contain_text("1 rating")
    expect(rating.locator('input.parley-star-input[value="3"]')).to_be_checked()
    click_star(rating, 5)
    expect(rating.locator(".parley-average")).to_have_text("5.0")
    expect(rating.locator(".parley-rating-count")).to_contain_text("1 rating")
    expect(rating.locator('input.parley-star-input[value="5"]')).to_be_checked()
    summary = service.ratings(pid)
    assert (summary["count"], summary["average"]) == (1, 5.0)
    rating.get_by_role("button", name="Remove my rating").click()
    expect(other.locator("#rating .parley-first")).to_be_visible()
    assert service.ratings(pid)["count"] == 0

    # Send: redirected to the thread, at the new comment.
    clock.wait(page)
    form.get_by_role("button", name="Post Comment").click()
    page.wait_for_url(re.compile(r"/thread\?.*#c\d+$"))
    posted = page.locator("article.parley-comment", has_text=typed)
    expect(posted).to_be_visible()
    expect(posted.locator("a.parley-author")).to_have_text("Nojs Reader")
    expect(page.locator('.parley-flash[role="status"]')).to_be_visible()
    comment_id = service.thread(pid)["comments"][0]["id"]
    assert page.url.endswith(f"#c{comment_id}")

    # Reply through the comment's Reply link.
    page.locator(f'article#c{comment_id} > .parley-actions > [data-action="reply"]').click()
    clock.restart()
    form = page.locator("form#reply")
    expect(form.locator("h2")).to_contain_text(f"Reply to comment #{comment_id}")
    fill_comment(form, text="And a reply, also without script.", name="Nojs", email="n@example.org")

    # Meanwhile, in the other tab, a failed post: errors beside the fields, text kept.
    other.goto(thread_url)
    other_form = other.locator("form#reply")
    fill_comment(other_form, text="Not lost.", name="Nojs Reader", email="not-an-email")
    other_form.get_by_role("button", name="Post Comment").click()
    other_form = other.locator("form#reply")
    email = other_form.locator('[name="email"]')
    expect(email).to_have_attribute("aria-invalid", "true")
    expect(other_form.locator(f"#{email.get_attribute('aria-describedby')}")).to_be_visible()
    expect(other_form.locator('[name="text"]')).to_have_value("Not lost.")
    expect(other_form.locator('[name="name"]')).to_have_value("Nojs Reader")

    clock.wait(page)
    form.get_by_role("button", name="Post Comment").click()
    page.wait_for_url(re.compile(r"#c\d+$"))
    expect(page.locator(f"article#c{comment_id} .parley-replies .parley-body")).to_have_text(
        "And a reply, also without script."
    )
    thread = service.thread(pid)["comments"]
    assert [(c["author"], [r["author"] for r in c["replies"]]) for c in thread] == [
        ("Nojs Reader", ["Nojs"])
    ]
    browsing.assert_clean()
