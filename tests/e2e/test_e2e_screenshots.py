"""Screenshots of the widgets in light and dark, for people and for the README.

Every screenshot goes to ``test-artifacts/screenshots/``. The two README images
(``docs/screenshots/widget-light.png`` and ``widget-dark.png``) are written
only on request (``PARLEY_UPDATE_SCREENSHOTS=1``), once everything in the test
has passed: an ordinary run leaves the tree as it was.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from harness import ROOT, comments_box, expect, rating_box, save_screenshot, wait_mounted

pytestmark = [pytest.mark.browser, pytest.mark.slow]

README_SHOTS = ROOT / "docs" / "screenshots"
WIDTH = 900
LIGHT_BG, DARK_BG = "rgb(255, 255, 255)", "rgb(22, 24, 29)"  # --parley-bg

SHOWCASE_CSS = f"""
body {{ margin: 0; background: #f4f1ea; font: 17px/1.6 Georgia, serif; color: #2b2b2b; }}
body.dark {{ background: #0b0d10; color: #d6d6d6; }}
main {{ width: {WIDTH}px; margin: 0 auto; padding: 24px 0; }}
h1 {{ font-size: 28px; margin: 0 0 16px; }}
[data-parley] {{ display: block; margin: 0 0 24px; }}
"""


def seed_showcase(service, pid: str) -> None:
    first = service.post_comment(
        pid,
        name="Mira Okafor",
        email="mira@example.org",
        website="https://mira.example",
        text="The tram scenes between Maren and Pell are the best writing of the season. "
        "*Episode 9* alone is worth the whole run.",
    )
    service.post_comment(
        pid,
        name="Noor Halloway",
        email="noor@example.org",
        text="Agreed, and the glass harmonica cue still gives me chills. "
        "The middle stretch drags, though.",
        parent=first["comment"]["id"],
    )
    service.post_comment(
        pid,
        name="Tobiah R.",
        email="tobiah@example.org",
        text="Came for the world-building, stayed for the **cracked lens**. "
        "Wish the finale had one more episode.",
    )
    for value in (5, 4, 4, 5, 3, 4):
        service.vote(pid, value)
    service.flask_many(
        ["page", "score", "default", pid, "Starlight Weekly", "7.4", "--scale", "10"],
        ["page", "score", "default", pid, "The Frame Review", "8.2", "--scale", "10"],
    )


def showcase(contexts, host, pid: str, *, dark: bool, theme_attribute: bool = False):
    """Open the showcase page; returns the page and the clip around the two widgets."""
    browsing = contexts(
        "dark" if dark else "light",
        color_scheme="light" if theme_attribute or not dark else "dark",
        viewport={"width": WIDTH + 100, "height": 1600},
        device_scale_factor=1,
    )
    page = browsing.new_page()
    page.goto(
        host.article(
            f"showcase-{'dark' if dark else 'light'}{'-attr' if theme_attribute else ''}",
            pid,
            css=SHOWCASE_CSS,
            title="Glass Orchard review",
            theme="dark" if theme_attribute else None,
            body_attrs=' class="dark"' if dark else "",
        )
    )
    rating, comments = rating_box(page), comments_box(page)
    wait_mounted(rating, ".parley-editorial")
    wait_mounted(comments, ".parley-replies .parley-comment")
    expect(rating.locator(".parley-average").first).to_have_text("4.2")
    expect(comments.locator(".parley-thread > article.parley-comment")).to_have_count(2)
    avatars = comments.locator("img.parley-avatar")
    expect(avatars).to_have_count(3)
    page.wait_for_function(
        "els => els.every((img) => img.complete && img.naturalWidth > 0)",
        arg=avatars.element_handles(),
    )
    top = rating.bounding_box()
    thread = comments.locator(".parley-thread").bounding_box()
    assert top and thread
    margin = 16
    clip = {
        "x": top["x"] - margin,
        "y": top["y"] - margin,
        "width": WIDTH + 2 * margin,
        "height": thread["y"] + thread["height"] - top["y"] + 2 * margin,
    }
    return browsing, page, clip


def background(page, selector: str) -> str:
    return (
        page.locator(selector)
        .locator(".parley")
        .first.evaluate("el => getComputedStyle(el).backgroundColor")
    )


def test_screenshots_of_the_widgets_in_light_and_dark(contexts, host, service, page_id):
    pid = page_id("showcase")
    seed_showcase(service, pid)

    light, page, clip = showcase(contexts, host, pid, dark=False)
    assert background(page, '[data-parley="comments"]') == LIGHT_BG
    light_shot = save_screenshot(page, "widget-light", clip=clip, animations="disabled")
    save_screenshot(page, "host-page-light", full_page=True)
    light.assert_clean()

    dark, page, clip = showcase(contexts, host, pid, dark=True)
    assert background(page, '[data-parley="comments"]') == DARK_BG
    assert background(page, '[data-parley="rating"]') == DARK_BG
    dark_shot = save_screenshot(page, "widget-dark", clip=clip, animations="disabled")
    save_screenshot(page, "host-page-dark", full_page=True)
    dark.assert_clean()

    # data-theme="dark" on the placeholder wins over a light preference.
    forced, page, clip = showcase(contexts, host, pid, dark=True, theme_attribute=True)
    assert background(page, '[data-parley="comments"]') == DARK_BG
    save_screenshot(page, "widget-dark-by-attribute", clip=clip, animations="disabled")
    forced.assert_clean()

    for shot in (light_shot, dark_shot):
        assert shot.stat().st_size < 400_000, f"{shot} is too big for the README"
    if os.environ.get("PARLEY_UPDATE_SCREENSHOTS") != "1":
        return
    README_SHOTS.mkdir(parents=True, exist_ok=True)
    for shot in (light_shot, dark_shot):
        target: Path = README_SHOTS / shot.name
        target.write_bytes(shot.read_bytes())
