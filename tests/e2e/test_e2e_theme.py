"""The site's "Theme" setting in a real browser: a site set to dark shows a dark widget to a
reader whose browser prefers light, in script and iframe mode, and a host page's own
``data-theme`` still wins."""

from __future__ import annotations

import pytest
from harness import comments_box, wait_mounted
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.slow]

DARK_SITE = "night-reviews"


@pytest.fixture(scope="module")
def dark_site(service, host):
    service.flask("site", "add", DARK_SITE, "--name", "Night reviews", "--origin", host.origin)
    service.flask("site", "set", DARK_SITE, "--theme", "dark")
    return DARK_SITE


def background(locator) -> tuple[int, int, int]:
    """The widget root's background as RGB (its custom properties decide it)."""
    text = locator.evaluate("e => getComputedStyle(e).backgroundColor")
    parts = text[text.index("(") + 1 : text.index(")")].split(",")
    return tuple(int(float(p)) for p in parts[:3])  # type: ignore[return-value]


def is_dark(rgb: tuple[int, int, int]) -> bool:
    return sum(rgb) < 3 * 100


def test_a_dark_site_is_dark_in_script_mode_unless_the_host_asks(
    contexts, host, service, page_id, dark_site
):
    browsing = contexts("light reader", color_scheme="light")
    page = browsing.new_page()
    pid = page_id()
    service.post_comment(pid, site=dark_site, name="Owl", text="Read at night.")
    page.goto(host.article("dark-site", pid, site=dark_site, rating=False))
    box = comments_box(page)
    wait_mounted(box, ".parley-comment")
    root = box.locator(".parley").first
    expect(root).to_have_attribute("data-theme", "dark")
    assert is_dark(background(root)), background(root)

    page.goto(
        host.article("dark-site-light-host", pid, site=dark_site, rating=False, theme="light")
    )
    box = comments_box(page)
    wait_mounted(box, ".parley-comment")
    root = box.locator(".parley").first
    expect(root).to_have_attribute("data-theme", "light")
    assert not is_dark(background(root)), background(root)
    browsing.assert_clean()


def test_a_dark_site_is_dark_in_iframe_mode(contexts, host, service, page_id, dark_site):
    browsing = contexts("light reader, iframe", color_scheme="light")
    page = browsing.new_page()
    pid = page_id()
    service.post_comment(pid, site=dark_site, name="Owl", text="Framed at night.")
    page.goto(host.article("dark-site-frame", pid, site=dark_site, mode="iframe", rating=False))
    frame = page.frame_locator("iframe").first
    main = frame.locator("main.parley")
    expect(main).to_have_attribute("data-theme", "dark")
    expect(frame.locator(".parley-comment").first).to_be_visible()
    assert is_dark(background(main)), background(main)
