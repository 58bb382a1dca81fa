"""Languages in the browser: the loader sends `lang`, the widget speaks it and writes in its
direction (Arabic right to left), counts use the language's plural forms, and the server's
absolute dates become relative ones ("2 hours ago") in the widget's language."""

from __future__ import annotations

import re
import urllib.parse
from pathlib import Path

import pytest
from harness import COMMENT_FORM, comments_box, computed, expect, wait_mounted

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ARABIC = re.compile("[\u0600-\u06ff]")


def placeholders(page_id: str, lang: str | None) -> str:
    attrs = f'data-site="default" data-page="{page_id}"'
    if lang:
        attrs += f' data-lang="{lang}"'
    return (
        f'<main><h1>Host</h1><p>Count: <span data-parley="count" {attrs}></span></p>'
        f'<div data-parley="comments" {attrs}></div></main>'
    )


def reads_sent_lang(browsing, lang: str, page_lang: str = "en") -> None:
    """Every fragment and API read the loader made carried ``lang``: the placeholder's, or
    for counts (numbers only: one request for every placeholder) the host page's."""
    reads = [
        r
        for r in browsing.watch.service_requests()
        if urllib.parse.urlsplit(r.url).path.startswith(("/widget/", "/api/v1/"))
    ]
    assert reads
    for request in reads:
        parts = urllib.parse.urlsplit(request.url)
        wanted = page_lang if parts.path == "/api/v1/counts" else lang
        query = urllib.parse.parse_qs(parts.query)
        assert query.get("lang") == [wanted], f"{request.method} {request.url}"


def test_an_arabic_widget_reads_right_to_left(browsing, host, service, page_id):
    pid = page_id()
    service.post_comment(pid, name="Ada", text="First comment")
    url = host.write("arabic", placeholders(pid, "ar"))
    page = browsing.new_page()
    page.goto(url)
    box = comments_box(page)
    form = wait_mounted(box, COMMENT_FORM)
    root = box.locator(".parley").first
    assert computed(root, "direction") == {"direction": "rtl"}
    assert root.get_attribute("lang") == "ar"
    expect(box.locator(".parley-count")).to_have_text("تعليق واحد")
    assert ARABIC.search(form.locator("h2").inner_text())
    # The layout mirrors: the avatar's gutter is on the right of the comment's text.
    avatar = box.locator(".parley-avatar").first.bounding_box()
    text = box.locator(".parley-body").first.bounding_box()
    assert avatar and text and avatar["x"] > text["x"] + text["width"] / 2, (avatar, text)
    # The server's absolute date, made relative in Arabic; the absolute one is its title.
    time = box.locator("time").first
    expect(time).to_have_text(ARABIC)
    assert time.get_attribute("title")
    expect(page.locator('[data-parley="count"]')).to_have_text("تعليق واحد")
    reads_sent_lang(browsing, "ar")
    browsing.assert_clean()


def test_a_german_widget_counts_in_german(browsing, host, service, page_id):
    pid = page_id()
    for n in range(2):
        service.post_comment(pid, name=f"Reader {n}", text=f"Comment {n}")
    url = host.write("german", placeholders(pid, "de"))
    page = browsing.new_page()
    page.goto(url)
    box = comments_box(page)
    wait_mounted(box, COMMENT_FORM)
    expect(box.locator(".parley-count")).to_have_text("2 Kommentare")
    expect(page.locator('[data-parley="count"]')).to_have_text("2 Kommentare")
    assert computed(box.locator(".parley").first, "direction") == {"direction": "ltr"}
    expect(box.locator("time").first).to_have_text(re.compile(r"^(jetzt|vor \d+ \w+)$"))
    reads_sent_lang(browsing, "de")
    browsing.assert_clean()


def test_without_data_lang_the_host_page_language_is_sent(browsing, host, service, page_id):
    pid = page_id()
    service.post_comment(pid, name="Ana", text="Hola")
    url = host.write("spanish", placeholders(pid, None))
    path = Path(host.folder) / url.rsplit("/", 1)[1]
    path.write_text(path.read_text().replace('<html lang="en">', '<html lang="es-MX">'))
    page = browsing.new_page()
    page.goto(url)
    box = comments_box(page)
    wait_mounted(box, COMMENT_FORM)
    expect(box.locator(".parley-count")).to_have_text("1 comentario")
    expect(page.locator('[data-parley="count"]')).to_have_text("1 comentario")
    reads_sent_lang(browsing, "es-MX", "es-MX")
    browsing.assert_clean()


def test_the_admin_views_in_arabic_mirror_their_layout(contexts, service, page_id):
    """An Arabic browser: the admin pages speak Arabic, right to left, and their layout
    mirrors (admin.css uses logical properties only: start and end, never left and right)."""
    email = f"rtl-{page_id('x')[-6:]}@example.org"
    password = "a long owner password for rtl"
    service.flask("create-admin", email, "--site", "default", "--password", password)
    browsing = contexts("arabic admin", locale="ar", viewport={"width": 1280, "height": 800})
    page = browsing.new_page()
    page.goto(f"{service.origin}/admin/login")
    page.locator("#email").fill(email)
    page.locator("#password").fill(password)
    with page.expect_navigation():
        page.locator('form button[type="submit"]').click()
    expect(page).to_have_url(f"{service.origin}/admin/")
    html = page.locator("html")
    assert html.get_attribute("lang") == "ar" and html.get_attribute("dir") == "rtl"
    assert computed(page.locator("body"), "direction") == {"direction": "rtl"}
    size = page.viewport_size
    assert size is not None
    width = size["width"]
    # The skip link waits at the start of the line: the right in Arabic.
    skip = page.locator(".admin-skip").bounding_box()
    assert skip and skip["x"] + skip["width"] > width * 0.75, skip
    # "Log out" is pushed to the end of the header's line: the left edge in Arabic.
    header = page.locator(".admin-header").bounding_box()
    logout = page.locator(".admin-logout").bounding_box()
    assert header and logout and logout["x"] < header["x"] + 40, (header, logout)
    page.goto(f"{service.origin}/admin/sites")
    assert computed(page.locator(".admin-table th"), "text-align") == {"text-align": "start"}
    cell = page.locator(".admin-table th").first.bounding_box()
    text = page.locator(".admin-table th").first.evaluate(
        "el => { const r = document.createRange(); r.selectNodeContents(el);"
        " const b = r.getBoundingClientRect(); return {x: b.x, width: b.width}; }"
    )
    assert cell and text["x"] + text["width"] > cell["x"] + cell["width"] - 16, (cell, text)
    browsing.assert_clean()
