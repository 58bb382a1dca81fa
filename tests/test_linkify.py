"""Bare URLs in comments become links: http(s) URLs and www. hosts, with the rel every
link gets, never inside code or an existing link, and without the sentence's punctuation.
The plain-prose path gives the same HTML as the full one, and the link limit counts a
linkified URL as it counts a written link."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.comments.policy import count_links
from service.rules.sanitize import LINK_REL, render_comment, render_markdown, render_plain


class _Links(HTMLParser):
    """Every <a> of some HTML: its attributes and its text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[dict[str, str | None], str]] = []
        self._open: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.found.append((dict(attrs), ""))
            self._open = []

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._open.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._open is not None:
            attrs, _ = self.found[-1]
            self.found[-1] = (attrs, "".join(self._open))
            self._open = None


def links(source: str) -> list[tuple[str | None, str]]:
    """The (href, text) of every link in the rendered comment; each has the fixed rel."""
    parser = _Links()
    parser.feed(render_comment(source))
    parser.close()
    for attrs, _ in parser.found:
        assert attrs.get("rel") == "nofollow ugc noopener"
        assert set(attrs) <= {"href", "rel", "title"}
    return [(attrs.get("href"), text) for attrs, text in parser.found]


def test_rel_is_exactly_the_one_written_links_get() -> None:
    assert LINK_REL == "nofollow ugc noopener"
    assert render_comment("see https://example.com/page now") == (
        '<p>see <a href="https://example.com/page" rel="nofollow ugc noopener">'
        "https://example.com/page</a> now</p>"
    )


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("https://example.com", [("https://example.com", "https://example.com")]),
        ("http://example.com/a?b=1&c=2#top", [("http://example.com/a?b=1&c=2#top",) * 2]),
        ("HTTPS://Example.com/x", [("HTTPS://Example.com/x",) * 2]),
        ("at http://127.0.0.1:8080/status", [("http://127.0.0.1:8080/status",) * 2]),
        ("go to www.example.org today", [("http://www.example.org", "www.example.org")]),
        ("www.example.org/a/b?c", [("http://www.example.org/a/b?c", "www.example.org/a/b?c")]),
        ("two: https://a.example and https://b.example", [
            ("https://a.example", "https://a.example"),
            ("https://b.example", "https://b.example"),
        ]),
        ("> quoted https://example.com", [("https://example.com",) * 2]),
        ("- listed www.example.com", [("http://www.example.com", "www.example.com")]),
        ("**https://example.com**", [("https://example.com",) * 2]),
    ],
)  # fmt: skip
def test_bare_urls_and_www_hosts_become_links(source: str, expected: list[tuple[str, str]]) -> None:
    assert links(source) == expected


@pytest.mark.parametrize(
    ("source", "url", "after"),
    [
        ("Read https://example.com/page.", "https://example.com/page", "."),
        ("Read https://example.com.", "https://example.com", "."),
        ("Really? https://example.com/a...", "https://example.com/a", "..."),
        ("Is it https://example.com/a?", "https://example.com/a", "?"),
        ("Wow https://example.com/a!", "https://example.com/a", "!"),
        ("first https://example.com/a, then", "https://example.com/a", ", then"),
        ("see https://example.com/a; or", "https://example.com/a", "; or"),
        ("said 'https://example.com/a'", "https://example.com/a", "'"),
        ("said \u201chttps://example.com/a\u201d", "https://example.com/a", "\u201d"),
        ("(see https://example.com/a)", "https://example.com/a", ")"),
        ("(see www.example.com/a).", "www.example.com/a", ")."),
        ("(https://w.example/wiki/Pi_(letter))", "https://w.example/wiki/Pi_(letter)", ")"),
        ("https://w.example/wiki/Pi_(letter).", "https://w.example/wiki/Pi_(letter)", "."),
        ("(a https://w.example/f(x)_(y)?q=(1))", "https://w.example/f(x)_(y)?q=(1)", ")"),
        ("https://example.com/a.b/c.html.", "https://example.com/a.b/c.html", "."),
    ],
)  # fmt: skip
def test_trailing_punctuation_and_an_unopened_parenthesis_stay_outside(
    source: str, url: str, after: str
) -> None:
    ((href, text),) = links(source)
    assert text == url
    assert href == (url if "://" in url else f"http://{url}")
    assert render_comment(source).endswith(f"{url}</a>{after}</p>")


@pytest.mark.parametrize(
    "source",
    [
        "example.com",
        "x.com is a domain, file.py a file",
        "wwwx.example.com",
        "http://localhost:8000/",
        "ftp://example.com/file",
        "mailto:me@example.com",
        "me@example.com",
        "https://user:secret@example.com/",
        "https://example.com@evil.example/",
        "www.example.com@evil.example",
        "nohttps://example.com",
        "javascript:alert(1)",
        "javascript://example.com/%0Aalert(1)",
        "javascript://www.example.com/%0Aalert(1)",
        "javascript:https://example.com",
        "JaVaScRiPt:alert(document.domain)",
        "data:text/html;base64,PHNjcmlwdD4=",
        "vbscript:msgbox(1)",
    ],
)
def test_other_schemes_bare_domains_and_user_info_are_never_linked(source: str) -> None:
    assert links(source) == []


@pytest.mark.parametrize(
    "source",
    [
        "`https://example.com`",
        "use `curl www.example.com/x` here",
        "```\nhttps://example.com/a\nwww.example.com\n```",
        "~~~python\nurl = 'https://example.com'\n~~~",
        "    https://example.com/indented",
        "> ```\n> https://example.com\n> ```",
    ],
)
def test_urls_in_code_are_left_alone(source: str) -> None:
    html = render_comment(source)
    assert "<a" not in html
    assert "example.com" in html


def test_existing_links_are_not_linked_twice_and_keep_their_attributes() -> None:
    assert render_comment("[https://a.example](https://b.example/x)") == (
        '<p><a href="https://b.example/x" rel="nofollow ugc noopener">https://a.example</a></p>'
    )
    assert render_comment('[docs](https://example.com/a "The docs") or www.example.org') == (
        '<p><a href="https://example.com/a" title="The docs" rel="nofollow ugc noopener">'
        'docs</a> or <a href="http://www.example.org" rel="nofollow ugc noopener">'
        "www.example.org</a></p>"
    )
    assert links("<https://example.com/a>") == [("https://example.com/a",) * 2]
    assert links("[see www.example.com](https://example.com)") == [
        ("https://example.com", "see www.example.com")
    ]


def test_a_bare_url_gets_the_href_an_autolink_gets() -> None:
    for url in ["https://例え.jp/ä?q=ü", "https://example.com/a%20b", "https://example.com/a&b"]:
        ((bare, text),) = links(f"x {url} y")
        assert text == url
        assert [bare] == [href for href, _ in links(f"x <{url}> y")]
    assert links("https://例え.jp/ä") == [("https://xn--r8jz45g.jp/%C3%A4", "https://例え.jp/ä")]


def test_urls_are_split_at_markup_and_escaped() -> None:
    html = render_comment('see https://example.com/a"onmouseover=alert(1) and <b>')
    assert links('see https://example.com/a"onmouseover=alert(1)') == [
        ("https://example.com/a", "https://example.com/a")
    ]
    assert "onmouseover=alert(1) and &lt;b&gt;" in html.replace("&quot;", "")


# --- the link limit ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "bare"),
    [
        ("[a](https://a.example)", "https://a.example"),
        ("<https://a.example/x>", "www.a.example/x"),
        ("[a](https://a.example) [b](https://b.example)", "https://a.example www.b.example"),
    ],
)
def test_the_link_limit_counts_a_bare_url_as_a_written_link(written: str, bare: str) -> None:
    assert count_links(render_comment(written)) == count_links(render_comment(bare)) >= 1


def test_the_link_limit_counts_neither_code_nor_plain_domains() -> None:
    assert count_links(render_comment("`https://a.example` and a.example")) == 0


# --- the plain-prose path ------------------------------------------------------------------

_WITH_URLS = st.lists(
    st.sampled_from(
        [
            *"aZé9 ,;:?!'\"()-.\n",
            "\n\n",
            "https://",
            "http://",
            "www.",
            "javascript:",
            "example.com",
            "x.org",
            "/",
            "/path",
            "?q=1",
            "&",
            "#",
            "_",
            "*",
            "`",
            "@",
            ":8080",
            "(a)",
            "- ",
        ]
    ),
    max_size=30,
).map("".join)


@pytest.mark.slow
@settings(max_examples=1500, deadline=None)
@given(_WITH_URLS)
def test_plain_prose_renders_as_the_full_path_would_with_urls_around(source: str) -> None:
    plain = render_plain(source)
    if plain is not None:
        assert plain == render_markdown(source)
        assert "<a" not in render_markdown(source)
    assert render_comment(source) == render_markdown(source)


@pytest.mark.parametrize(
    "source",
    ["See https://example.com now", "go to www.example.com", "http://a.example", "www.x.org"],
)
def test_text_with_a_url_takes_the_full_path(source: str) -> None:
    assert render_plain(source) is None
    assert "<a " in render_comment(source)


@pytest.mark.parametrize("source", ["Plain words, nothing else.", "Ends with a colon: yes"])
def test_plain_prose_stays_on_the_short_path(source: str) -> None:
    assert render_plain(source) == render_markdown(source) == render_comment(source)
