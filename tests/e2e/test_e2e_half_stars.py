"""The readers' average drawn as half stars in a real browser: the half star is filled on
its start side only (the left in English, the right in Arabic), in the theme's star colour
(light and dark), in script mode and on the no-JS standalone page; screen readers get the
exact value once, and axe finds nothing serious in the box."""

from __future__ import annotations

import re
import struct
import zlib
from typing import Any

import pytest
from harness import expect, rating_box, wait_mounted
from test_e2e_a11y import check

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# 4, 4 and 3: 3.67, shown as 3.7, three stars and a half.
VOTES = (4, 4, 3)
ROW = ["full", "full", "full", "half", "empty"]
STAR = {"light": "rgb(240, 163, 10)", "dark": "rgb(251, 191, 36)"}  # --parley-star

MEASURE = """(el) => {
  const box = el.getBoundingClientRect();
  const fill = getComputedStyle(el, "::after");
  return {
    width: box.width,
    fill_width: parseFloat(fill.width),
    left: parseFloat(fill.left),
    right: parseFloat(fill.right),
    fill: fill.color,
    empty: getComputedStyle(el).color,
    direction: getComputedStyle(el).direction,
  };
}"""


def seed(service: Any, pid: str) -> None:
    for value in VOTES:
        service.vote(pid, value)


def rgb_rows(png: bytes) -> list[list[tuple[int, int, int]]]:
    """The pixels of an 8-bit, non-interlaced RGB or RGBA PNG (what Chromium writes)."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", b""
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos : pos + 4])
        kind, data = png[pos + 4 : pos + 8], png[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = data
        elif kind == b"IDAT":
            idat += data
        pos += 12 + length
    width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert depth == 8 and interlace == 0 and color in (2, 6), (depth, color, interlace)
    size = 4 if color == 6 else 3
    raw, stride = zlib.decompress(idat), width * size
    rows: list[list[tuple[int, int, int]]] = []
    previous = bytearray(stride)
    for y in range(height):
        kind, line = (
            raw[y * (stride + 1)],
            bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)]),
        )
        for i in range(stride):
            a = line[i - size] if i >= size else 0
            b, c = previous[i], previous[i - size] if i >= size else 0
            if kind == 1:
                line[i] = (line[i] + a) & 255
            elif kind == 2:
                line[i] = (line[i] + b) & 255
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(
            [(line[x * size], line[x * size + 1], line[x * size + 2]) for x in range(width)]
        )
        previous = line
    return rows


def golden(pixel: tuple[int, int, int]) -> bool:
    """A pixel of the filled star's colour or outline (amber, light or dark theme)."""
    r, g, b = pixel
    return r - b > 110 and g - b > 60 and r > 150


def golden_share(star: Any) -> tuple[float, float]:
    """How much of the left and the right 40% of the star's picture is amber."""
    rows = rgb_rows(star.screenshot(animations="disabled"))
    width = len(rows[0])
    band = max(1, int(width * 0.4))
    left = sum(golden(row[x]) for row in rows for x in range(band))
    right = sum(golden(row[x]) for row in rows for x in range(width - band, width))
    total = band * len(rows)
    return left / total, right / total


def check_row(rating: Any, *, rtl: bool, theme: str = "light") -> None:
    row = wait_mounted(rating, ".parley-average-stars")
    fills = row.locator(".parley-average-star").evaluate_all(
        "(stars) => stars.map((s) => s.className.replace(/.*-/, ''))"
    )
    assert fills == ROW
    half = row.locator(".parley-average-star-half")
    seen = half.evaluate(MEASURE)
    assert seen["direction"] == ("rtl" if rtl else "ltr")
    assert seen["width"] > 8, seen
    assert seen["fill_width"] == pytest.approx(seen["width"] / 2, abs=1), seen
    start, end = ("right", "left") if rtl else ("left", "right")
    assert seen[start] == pytest.approx(0, abs=0.5), seen  # the fill sits on the start side
    assert seen[end] == pytest.approx(seen["width"] / 2, abs=1), seen
    assert seen["fill"] == STAR[theme] and seen["empty"] != seen["fill"], seen
    full = row.locator(".parley-average-star-full").first.evaluate(MEASURE)
    empty = row.locator(".parley-average-star-empty").evaluate(MEASURE)
    assert full["fill_width"] == pytest.approx(full["width"], abs=1), full
    assert empty["fill_width"] == 0, empty
    # Drawn: amber on the start half of the half star only.
    left, right = golden_share(half)
    filled, bare = (right, left) if rtl else (left, right)
    assert filled > 0.08 and bare < 0.01, (left, right)
    # Hidden from screen readers, which hear the exact value once, in words.
    assert row.get_attribute("aria-hidden") == "true"
    title = rating.locator(".parley-user-rating h2").first
    expect(title.locator(".parley-average")).to_have_attribute("aria-hidden", "true")
    expect(title.locator(".parley-average")).to_be_visible()


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_a_half_star_fills_its_left_half(contexts, host, service, page_id, theme):
    pid = page_id()
    seed(service, pid)
    browsing = contexts(theme, color_scheme=theme)
    page = browsing.new_page()
    page.goto(host.article(f"half-stars-{theme}", pid, comments=False))
    rating = rating_box(page)
    check_row(rating, rtl=False, theme=theme)
    name = rating.locator(".parley-user-rating h2").first
    expect(name).to_have_accessible_name(
        re.compile(r"^User Rating: Average rating: 3\.7 out of 5 · 3 ratings$")
    )
    check(page, f"the rating box with half stars ({theme})")
    browsing.assert_clean()


def test_an_arabic_half_star_fills_its_right_half(browsing, host, service, page_id):
    pid = page_id()
    seed(service, pid)
    body = (
        '<main><h1>Host</h1><div data-parley="rating" data-site="default" '
        f'data-page="{pid}" data-lang="ar"></div></main>'
    )
    page = browsing.new_page()
    page.goto(host.write("half-stars-arabic", body))
    rating = rating_box(page)
    check_row(rating, rtl=True)
    expect(rating.locator(".parley-rating").first).to_contain_text("3.7")
    check(page, "the Arabic rating box with half stars")
    browsing.assert_clean()


def test_the_no_js_standalone_page_draws_the_half_star(contexts, service, page_id):
    pid = page_id()
    seed(service, pid)
    browsing = contexts("no-js", java_script_enabled=False)
    page = browsing.new_page()
    page.goto(service.thread_url(pid))
    check_row(page.locator("#rating"), rtl=False)
    browsing.assert_clean()
