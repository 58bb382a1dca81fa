"""The site's "Theme" setting: light or dark wherever the reader sees the widgets, unless the
host page (script mode) or the iframe's ``theme`` asks otherwise; "auto" follows the reader."""

from __future__ import annotations

import re

import pytest

PAGE = "/themed-article"
ROOT = re.compile(r'<(?:div|main) class="parley[^"]*"[^>]*>')


def set_theme(app, theme: str) -> None:
    done = app.test_cli_runner().invoke(args=["site", "set", "default", "--theme", theme])
    assert done.exit_code == 0, done.output


def root_of(html: str) -> str:
    found = ROOT.search(html)
    assert found, html[:500]
    return found.group(0)


@pytest.mark.parametrize("path", ["/widget/comments", "/widget/rating"])
@pytest.mark.parametrize("theme", ["light", "dark"])
def test_a_site_theme_marks_the_fragments(app, client, path, theme):
    before = client.get(path, query_string={"site": "default", "page": PAGE})
    assert "data-theme" not in root_of(before.get_data(as_text=True))  # "auto" by default
    set_theme(app, theme)
    # The setting renews the cached fragment at once (it is part of the site's version).
    after = client.get(path, query_string={"site": "default", "page": PAGE})
    assert f'data-theme="{theme}"' in root_of(after.get_data(as_text=True))
    assert after.headers["ETag"] != before.headers["ETag"]


def test_auto_leaves_the_choice_to_the_reader(app, client):
    set_theme(app, "dark")
    set_theme(app, "auto")
    answer = client.get("/widget/comments", query_string={"site": "default", "page": PAGE})
    assert "data-theme" not in root_of(answer.get_data(as_text=True))


def test_the_standalone_page_follows_the_site_unless_the_frame_asks(app, client):
    set_theme(app, "dark")
    page = client.get("/thread", query_string={"site": "default", "page": PAGE})
    assert 'data-theme="dark"' in root_of(page.get_data(as_text=True))
    framed = client.get(
        "/thread", query_string={"site": "default", "page": PAGE, "frame": "1", "theme": "light"}
    )
    assert 'data-theme="light"' in root_of(framed.get_data(as_text=True))
    auto = client.get("/thread", query_string={"site": "default", "page": PAGE, "theme": "auto"})
    assert "data-theme" not in root_of(auto.get_data(as_text=True))
    # Anything else is not a theme: the site's setting stands, and nothing is echoed.
    odd = client.get("/thread", query_string={"site": "default", "page": PAGE, "theme": '"><b>x'})
    html = odd.get_data(as_text=True)
    assert 'data-theme="dark"' in root_of(html) and "<b>x" not in html
