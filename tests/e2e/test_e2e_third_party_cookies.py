"""With third-party cookies blocked the widgets still post, like and rate.

Chromium runs with ``--test-third-party-cookie-phaseout`` (the switch that
turns on the phase-out's blocking). The test first checks the premise: the
service's own framed page has no access to its cookies. The loader keeps its
visitor key and edit tokens in the host page's storage and sends them as
headers, so no request to the service needs (or carries) a cookie, even when
the browser holds the service's first-party cookies from a top-level visit.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from harness import (
    CHROMIUM,
    COMMENT_FORM,
    LAUNCH_ARGS,
    NO_THIRD_PARTY_COOKIES,
    FormClock,
    action,
    click_star,
    comments_box,
    expect,
    fill_comment,
    rating_box,
    wait_mounted,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

IFRAME = '[data-parley="comments"] iframe'


@pytest.fixture(scope="module")
def cookieless_browser(playwright_driver: Any) -> Iterator[Any]:
    browser = playwright_driver.chromium.launch(
        executable_path=str(CHROMIUM), args=[*LAUNCH_ARGS, NO_THIRD_PARTY_COOKIES]
    )
    yield browser
    browser.close()


def test_post_like_and_rate_with_third_party_cookies_blocked(
    contexts, cookieless_browser, host, service, page_id
):
    browsing = contexts("3pc-blocked", on=cookieless_browser)
    script_pid, frame_pid = page_id("script"), page_id("frame")
    liked = service.post_comment(script_pid, name="Liked", text="Like me.")["comment"]["id"]
    frame_liked = service.post_comment(frame_pid, name="Liked", text="Me too.")["comment"]["id"]

    # A top-level visit to the service: the browser now holds its first-party
    # cookies (the standalone page's session and visitor cookies).
    first = browsing.new_page()
    first.goto(service.thread_url(page_id("first-party")))
    click_star(first.locator("#rating"), 3)
    expect(first.locator("#rating .parley-average")).to_have_text("3.0")
    held = {c["name"] for c in browsing.context.cookies(service.origin)}
    assert "parley_visitor_default" in held, held  # one visitor cookie per site
    control = browsing.watch.service_requests("GET", "/thread")
    assert any("cookie" in r.all_headers() for r in control), "the cookie check sees nothing"
    first.close()

    # Script mode and iframe mode side by side, so one wait serves both forms.
    script = browsing.new_page()
    script_clock = FormClock(script)
    script.goto(host.article("3pc-script", script_pid))
    framed = browsing.new_page()
    framed_clock = FormClock(framed)
    framed.goto(host.article("3pc-frame", frame_pid, mode="iframe", rating=False))
    frame = framed.frame_locator(IFRAME)
    frame_form = frame.locator(COMMENT_FORM)
    expect(frame_form).to_be_visible()
    framed_clock.restart()

    # The premise: the service's framed page gets no cookie access.
    frame_doc = framed.frame_locator(IFRAME).locator("html")
    assert frame_doc.evaluate("() => document.hasStorageAccess()") is False
    assert frame_doc.evaluate("() => document.cookie") == ""

    box = comments_box(script)
    form = wait_mounted(box, COMMENT_FORM)
    fill_comment(form, text="Posted without cookies.", name="Ada", email="ada@example.org")
    fill_comment(frame_form, text="Framed, without cookies.", name="Ada", email="ada@example.org")

    # Like and rate in both while the forms' tokens age.
    like = action(box, liked, "like")
    like.click()
    expect(like).to_have_attribute("aria-pressed", "true")
    rating = rating_box(script)
    wait_mounted(rating, ".parley-rating")
    click_star(rating, 5)
    expect(rating.locator(".parley-yours")).to_have_text("Your rating: 5")
    frame_like = frame.locator(f'article#c{frame_liked} > .parley-actions > [data-action="like"]')
    frame_like.click()
    expect(frame_like).to_have_attribute("aria-pressed", "true")
    click_star(frame.locator("#rating"), 2)
    expect(frame.locator("#rating .parley-yours")).to_have_text("Your rating: 2")

    script_clock.wait(script)
    framed_clock.wait(framed)
    form.get_by_role("button", name="Post Comment").click()
    frame_form.get_by_role("button", name="Post Comment").click()
    expect(box.locator(".parley-body", has_text="Posted without cookies.")).to_be_visible()
    expect(frame.locator(".parley-body", has_text="Framed, without cookies.")).to_be_visible()

    # The service stored all of it.
    script_thread = service.thread(script_pid)["comments"]
    assert [c["author"] for c in script_thread] == ["Liked", "Ada"]
    assert script_thread[0]["likes"] == 1
    frame_thread = service.thread(frame_pid)["comments"]
    assert [c["author"] for c in frame_thread] == ["Liked", "Ada"]
    assert frame_thread[0]["likes"] == 1
    assert service.ratings(script_pid)["average"] == 5.0
    assert service.ratings(frame_pid)["average"] == 2.0
    # And the author can still edit: the edit token is in the host page's storage.
    own = box.locator("article.parley-comment", has_text="Posted without cookies.")
    expect(own.locator(':scope > .parley-actions > [data-action="edit"]')).to_be_visible()

    widget_requests = browsing.watch.service_requests(pages=(script, framed))
    assert len(widget_requests) > 20
    sent = [f"{r.method} {r.url}" for r in widget_requests if "cookie" in r.all_headers()]
    assert not sent, f"requests to the service carried cookies: {sent}"
    browsing.assert_clean()
