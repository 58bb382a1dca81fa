"""Iframe mode: the placeholder gets the standalone page in an iframe that sizes itself."""

from __future__ import annotations

import pytest
from harness import (
    COMMENT_FORM,
    HOSTILE_CSS,
    FormClock,
    click_star,
    expect,
    fill_comment,
    save_screenshot,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

IFRAME = '[data-parley="comments"] iframe'


def iframe_height(page) -> float:
    box = page.locator(IFRAME).bounding_box()
    assert box is not None
    return float(box["height"])


def wait_sized(page, other_than: float) -> float:
    """Wait until the iframe's height is set by the framed page (and differs from before)."""
    page.wait_for_function(
        """([selector, before]) => {
            const frame = document.querySelector(selector);
            const h = frame && frame.getBoundingClientRect().height;
            return h && Math.abs(h - before) > 1;
        }""",
        arg=[IFRAME, other_than],
    )
    return iframe_height(page)


def assert_fits(page) -> None:
    """The framed document fits its iframe: nothing cut off, no inner scrolling."""
    frame = page.frame_locator(IFRAME)
    content = frame.locator("html").evaluate("el => el.scrollHeight")
    assert content <= iframe_height(page) + 2, (content, iframe_height(page))


def test_post_like_and_rate_in_an_iframe_that_sizes_itself(browsing, host, service, page_id):
    pid = page_id()
    seeded = service.post_comment(pid, name="Earlier", text="An earlier comment.")
    seeded_id = seeded["comment"]["id"]
    url = host.article("iframe", pid, mode="iframe", rating=False, css=HOSTILE_CSS)
    page = browsing.new_page()
    clock = FormClock(page)
    page.goto(url)
    expect(page.locator(IFRAME)).to_be_visible()
    frame = page.frame_locator(IFRAME)
    form = frame.locator(COMMENT_FORM)
    expect(form).to_be_visible()
    clock.restart()  # the framed page's form carries its time token in its HTML
    expect(frame.locator("main.parley")).to_have_attribute("data-parley-frame", "1")
    before = wait_sized(page, other_than=600)  # 600px: the loader's starting height
    assert_fits(page)

    # Like the earlier comment.
    like = frame.locator(f'article#c{seeded_id} > .parley-actions > [data-action="like"]')
    expect(like).to_be_visible()
    like.click()
    expect(like).to_have_attribute("aria-pressed", "true")
    expect(like.locator(".parley-like-n")).to_have_text("1")
    assert service.thread(pid)["comments"][0]["likes"] == 1

    # Post: the framed page writes through the JSON API, and the iframe grows.
    fill_comment(
        form,
        text="Posted from inside the frame.\n\nWith a second paragraph.",
        name="Framed Fan",
        email="fan@example.org",
    )
    clock.wait(page)
    form.get_by_role("button", name="Post Comment").click()
    posted = frame.locator("article.parley-comment", has_text="Posted from inside the frame.")
    expect(posted).to_be_visible()
    expect(posted.locator(".parley-author")).to_have_text("Framed Fan")
    after = wait_sized(page, other_than=before)
    assert after > before, (before, after)
    assert_fits(page)
    thread = service.thread(pid)
    assert [c["author"] for c in thread["comments"]] == ["Earlier", "Framed Fan"]
    posts = browsing.watch.service_requests("POST", "/api/v1/comments")
    assert len(posts) == 1
    assert posts[0].all_headers().get("origin") == service.origin
    assert not browsing.watch.service_requests("POST", "/thread")
    assert page.url == url  # the host page never navigated

    # Rate inside the frame.
    rating = frame.locator("#rating")
    click_star(rating, 4)
    expect(rating.locator(".parley-yours")).to_have_text("Your rating: 4")
    expect(rating.locator(".parley-average")).to_have_text("4.0")
    summary = service.ratings(pid)
    assert (summary["count"], summary["average"], summary["yours"]) == (1, 4.0, None)
    assert not browsing.watch.service_requests("POST", "/thread/rate")
    click_star(rating, 2)
    expect(rating.locator(".parley-yours")).to_have_text("Your rating: 2")
    assert (service.ratings(pid)["count"], service.ratings(pid)["average"]) == (1, 2.0)
    save_screenshot(page.locator(IFRAME), "iframe-mode-light")
    browsing.assert_clean()


def test_iframe_mode_follows_the_theme_attribute(contexts, host, service, page_id):
    pid = page_id()
    service.post_comment(pid, name="Night Owl", text="Reading in the dark.")
    browsing = contexts("dark", color_scheme="light")
    page = browsing.new_page()
    page.goto(host.article("iframe-dark", pid, mode="iframe", rating=False, theme="dark"))
    frame = page.frame_locator(IFRAME)
    expect(frame.locator("article.parley-comment")).to_be_visible()
    expect(frame.locator("body")).to_have_attribute("data-theme", "dark")
    background = frame.locator("main.parley").evaluate("el => getComputedStyle(el).backgroundColor")
    assert background == "rgb(22, 24, 29)", background  # --parley-bg, dark theme
    wait_sized(page, other_than=600)
    save_screenshot(page.locator(IFRAME), "iframe-mode-dark")
    browsing.assert_clean()
