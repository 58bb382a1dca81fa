"""Tests for service.sanitize: markdown rendering and the HTML allow-list behind it."""

from __future__ import annotations

import html
import re
from concurrent.futures import ThreadPoolExecutor
from html.parser import HTMLParser

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.rules.sanitize import (
    ALLOWED_ATTRIBUTES,
    ALLOWED_PROTOCOLS,
    ALLOWED_TAGS,
    MAX_DEPTH,
    render_comment,
    render_markdown,
    render_plain,
)

NESTING_TAGS = {"blockquote", "ul", "ol"}


class _Collector(HTMLParser):
    """Records every tag, attribute and markup construct in a rendered comment."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.starts: list[tuple[str, dict[str, str | None]]] = []
        self.ends: list[str] = []
        self.other: list[str] = []
        self.depth = self.max_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.starts.append((tag, dict(attrs)))
        if tag in NESTING_TAGS:
            self.depth += 1
            self.max_depth = max(self.max_depth, self.depth)

    def handle_endtag(self, tag: str) -> None:
        self.ends.append(tag)
        if tag in NESTING_TAGS:
            self.depth -= 1

    def handle_comment(self, data: str) -> None:
        self.other.append(f"comment {data!r}")

    def handle_decl(self, decl: str) -> None:
        self.other.append(f"decl {decl!r}")

    def handle_pi(self, data: str) -> None:
        self.other.append(f"pi {data!r}")

    def unknown_decl(self, data: str) -> None:
        self.other.append(f"unknown {data!r}")


def parse(markup: str) -> _Collector:
    collector = _Collector()
    collector.feed(markup)
    collector.close()
    return collector


def links(markup: str) -> list[dict[str, str | None]]:
    return [attrs for tag, attrs in parse(markup).starts if tag == "a"]


def href_is_safe(href: str) -> bool:
    """Independent oracle: absolute http(s)/mailto only, however the scheme is disguised."""
    normalized = re.sub(r"[\x00-\x20\x7f-\xa0\s`]+", "", html.unescape(href)).lower()
    scheme, colon, _ = normalized.partition(":")
    return bool(colon) and scheme in ALLOWED_PROTOCOLS


def assert_safe(markup: str) -> None:
    doc = parse(markup)
    assert doc.other == []
    for tag, attrs in doc.starts:
        assert tag in ALLOWED_TAGS, markup
        assert set(attrs) <= ALLOWED_ATTRIBUTES.get(tag, frozenset()), markup
        if tag == "a":
            assert href_is_safe(attrs.get("href") or ""), markup
            assert set((attrs.get("rel") or "").split()) >= {"nofollow", "ugc", "noopener"}
        if tag == "ol" and "start" in attrs:
            assert (attrs["start"] or "").isdigit(), markup
    assert set(doc.ends) <= ALLOWED_TAGS, markup
    assert markup == markup.strip()


# --- everyday markdown -------------------------------------------------------------


def test_emphasis_and_strong_become_em_and_strong() -> None:
    assert render_comment("*soft* and **loud**") == (
        "<p><em>soft</em> and <strong>loud</strong></p>"
    )


def test_inline_code_is_escaped_inside_code() -> None:
    assert render_comment("use `<b>` here") == "<p>use <code>&lt;b&gt;</code> here</p>"


def test_fenced_code_block_drops_the_language_class() -> None:
    out = render_comment("```python\nprint('<hi>')\n```")
    assert out == "<pre><code>print('&lt;hi&gt;')\n</code></pre>"


def test_indented_code_block_becomes_pre() -> None:
    assert render_comment("    x = 1") == "<pre><code>x = 1\n</code></pre>"


def test_urls_inside_code_are_not_linkified() -> None:
    assert "<a" not in render_comment("`https://example.com`\n\n    https://example.com")


def test_quote_becomes_blockquote() -> None:
    assert render_comment("> wise words") == "<blockquote>\n<p>wise words</p>\n</blockquote>"


def test_lists_become_ul_and_ol_and_keep_their_start_number() -> None:
    out = render_comment("- a\n- b\n\n3. c\n4. d")
    assert out == (
        '<ul>\n<li>a</li>\n<li>b</li>\n</ul>\n<ol start="3">\n<li>c</li>\n<li>d</li>\n</ol>'
    )


def test_single_newline_becomes_a_line_break() -> None:
    assert render_comment("one\ntwo\n\nthree") == "<p>one<br>\ntwo</p>\n<p>three</p>"


def test_output_is_stripped_and_deterministic() -> None:
    source = "\n\n  hello https://example.com  \n\n"
    assert render_comment(source) == render_comment(source)
    assert render_comment(source) == render_comment(source).strip()


def test_empty_input_renders_empty_string() -> None:
    assert render_comment("") == ""
    assert render_comment("   \n\n ") == ""


# --- links ---------------------------------------------------------------------------


def test_markdown_link_gets_nofollow_ugc_noopener() -> None:
    assert render_comment("[docs](https://example.com/a?b=1&c=2)") == (
        '<p><a href="https://example.com/a?b=1&amp;c=2" rel="nofollow ugc noopener">docs</a></p>'
    )


def test_autolink_in_angle_brackets_becomes_a_link() -> None:
    assert links(render_comment("<http://example.com>")) == [
        {"href": "http://example.com", "rel": "nofollow ugc noopener"}
    ]


def test_bare_url_in_text_is_linkified_with_rel() -> None:
    out = render_comment("see https://example.com/page now")
    assert out == (
        '<p>see <a href="https://example.com/page" rel="nofollow ugc noopener">'
        "https://example.com/page</a> now</p>"
    )


def test_mailto_link_is_kept() -> None:
    assert links(render_comment("[me](mailto:me@example.com)"))[0]["href"] == (
        "mailto:me@example.com"
    )


@pytest.mark.parametrize("target", ["/path", "../up", "#top", "//evil.example/x", "page.html"])
def test_relative_and_protocol_relative_links_keep_only_their_text(target: str) -> None:
    assert render_comment(f"[label]({target})") == "<p>label</p>"


def test_link_title_with_quotes_stays_inside_the_attribute() -> None:
    out = render_comment('[a](http://x.example "say \\"hi\\" it\'s <b>")')
    assert links(out) == [
        {
            "href": "http://x.example",
            "title": 'say "hi" it\'s <b>',
            "rel": "nofollow ugc noopener",
        }
    ]
    assert_safe(out)


def test_attribute_breakout_in_link_target_does_not_add_attributes() -> None:
    out = render_comment('[x](http://a.com" onmouseover="alert(1))')
    assert links(out) == [{"href": "http://a.com", "rel": "nofollow ugc noopener"}]
    assert "onmouseover=&quot;alert(1))" in out
    assert_safe(out)


def test_empty_link_text_shows_the_url_so_the_link_is_visible() -> None:
    assert render_comment("[](https://example.com)") == (
        '<p><a href="https://example.com" rel="nofollow ugc noopener">https://example.com</a></p>'
    )


@pytest.mark.parametrize(
    "source",
    [
        "[x](javascript:alert(1))",
        "[x](JaVaScRiPt:alert(1))",
        "[x](  javascript:alert(1))",
        "[x](&#106;avascript:alert(1))",
        "[x](javascript&#58;alert(1))",
        "[x](javascript&colon;alert(1))",
        "[x](jav&#x09;ascript:alert(1))",
        "[x](<java\tscript:alert(1)>)",
        "[x](<java\nscript:alert(1)>)",
        "[x](\x01javascript:alert(1))",
        "<javascript:alert(1)>",
        "[x](vbscript:msgbox(1))",
        "[x](VBScript:msgbox(1))",
        "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
        "[x](data:image/png;base64,iVBORw0KGgo=)",
        "![x](javascript:alert(1))",
        "![x](data:image/svg+xml;base64,PHN2Zz4=)",
        "javascript:alert(1)",
        "[x][r]\n\n[r]: javascript:alert(1)",
    ],
)
def test_dangerous_link_schemes_are_neutralised(source: str) -> None:
    out = render_comment(source)
    assert all(href_is_safe(attrs.get("href") or "") for attrs in links(out)), out
    assert "<a" not in out
    assert_safe(out)


# --- things comments may not contain -------------------------------------------------


def test_script_tag_is_shown_as_text_not_run() -> None:
    assert render_comment("<script>alert(1)</script>") == (
        "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>"
    )


def test_raw_html_is_escaped_as_text() -> None:
    assert render_comment("<b>x</b>") == "<p>&lt;b&gt;x&lt;/b&gt;</p>"


def test_html_block_with_event_handler_is_escaped() -> None:
    out = render_comment('<img src=x onerror="alert(1)">\n\n<div style="x">hi</div>')
    assert "<img" not in out and "<div" not in out
    assert_safe(out)


def test_image_is_rendered_as_a_link_not_an_img() -> None:
    assert render_comment("![cat](https://example.com/cat.png)") == (
        '<p><a href="https://example.com/cat.png" rel="nofollow ugc noopener">cat</a></p>'
    )


def test_headings_are_not_rendered_as_h_tags() -> None:
    out = render_comment("# Title\n\nSub\n===\n\nOther\n---")
    assert not re.search(r"<h\d", out)
    assert "# Title" in out
    assert_safe(out)


def test_horizontal_rules_are_not_rendered() -> None:
    assert "<hr" not in render_comment("a\n\n***\n\n___")


def test_tables_are_not_rendered() -> None:
    assert "<table" not in render_comment("| a | b |\n|---|---|\n| 1 | 2 |")


def test_nul_and_lone_surrogates_do_not_crash() -> None:
    assert render_comment("a\x00b") == "<p>a\ufffdb</p>"
    assert render_comment("a\ud800b") == "<p>a\ufffdb</p>"


# --- bounds ---------------------------------------------------------------------------


def test_quotes_nested_deeper_than_the_limit_are_flattened_but_keep_their_text() -> None:
    out = render_comment("> " * (MAX_DEPTH + 5) + "deep")
    assert out.count("<blockquote>") == MAX_DEPTH
    assert parse(out).max_depth == MAX_DEPTH
    assert "deep" in out


def test_lists_nested_deeper_than_the_limit_are_flattened_but_keep_their_text() -> None:
    source = "".join(f"{'  ' * i}- item{i}\n" for i in range(MAX_DEPTH + 4))
    out = render_comment(source)
    assert parse(out).max_depth == MAX_DEPTH
    assert all(f"item{i}" in out for i in range(MAX_DEPTH + 4))
    assert_safe(out)


@pytest.mark.parametrize(
    "source",
    [
        "*" * 10_000,
        "[" * 10_000,
        ">" * 10_000,
        "> " * 5_000,
        "- " * 5_000,
        "1. " * 3_333,
        "`" * 10_000,
        "_" * 10_000,
        "<" * 10_000,
        "*a" * 5_000,
        "[a](" * 2_500,
        "![" * 5_000,
        "> - " * 2_500,
        "\x00" * 10_000,
        "http://a.example " * 500,
    ],
)
def test_pathological_input_returns_bounded_html(source: str) -> None:
    out = render_comment(source)
    assert parse(out).max_depth <= MAX_DEPTH
    assert len(out) < 20 * len(source)
    assert_safe(out)


def test_rendering_is_safe_to_share_between_threads() -> None:
    sources = [f"**{i}** https://example.com/{i}\n> q" for i in range(40)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        assert list(pool.map(render_comment, sources)) == [render_comment(s) for s in sources]


# --- property: whatever comes in, only the allow-list goes out -----------------------

FRAGMENTS = [
    "<script>", "</script>", "<img src=x onerror=", "<svg", "<math", "<a href=", "<iframe",
    "<!--", "-->", "<![CDATA[", "<?", "style=", "on", "onerror", "=", '"', "'", "`",
    "javascript:", "JaVaScRiPt:", "vbscript:", "data:", "data:image/png;base64,", "mailto:",
    "http://", "https://", "//", "example.com", "&#", "&#x09;", "&#106;", "&colon;", "&quot;",
    "&lt;", ";", "[", "]", "(", ")", "](", "![", ">", "> ", "- ", "1. ", "*", "**", "_",
    "#", "    ", "```", "~~~", "\n", "\n\n", "\t", " ", "\x00", "\x01", "\\", ":", "|",
]  # fmt: skip

hostile_text = st.lists(
    st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=4)), max_size=40
).map("".join)


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(st.one_of(hostile_text, st.text()))
def test_any_input_renders_only_allowed_tags_attributes_and_schemes(source: str) -> None:
    assert_safe(render_comment(source))


# Prose and its near misses: every character the plain-text path accepts, and the ones
# that make markdown or the linkifier act (list markers, indentation, domains, entities).
_PROSE = st.lists(
    st.sampled_from(
        [*"aZéßжاது9 ,;:?!'\"()-.\n", "  ", "\n\n", "x.com", "1. ", "- ", "&", "*", "_", "\t"]
    ),
    max_size=40,
).map("".join)


@pytest.mark.slow
@settings(max_examples=2000, deadline=None)
@given(_PROSE)
def test_plain_prose_renders_as_markdown_would(source: str) -> None:
    plain = render_plain(source)
    if plain is not None:
        assert plain == render_markdown(source)


@pytest.mark.parametrize(
    "source",
    [
        "A short remark.",
        'He said "hi", and it\'s fine: really (mostly) - yes?',
        "First line\nsecond line\n\n\nA new paragraph.",
        "Ünïcödé and 3 numbers.",
    ],
)
def test_plain_prose_takes_the_short_path_to_the_same_html(source: str) -> None:
    assert render_plain(source) is not None
    assert render_plain(source) == render_markdown(source) == render_comment(source)


@pytest.mark.parametrize(
    "source",
    ["x.com is a domain", "1. a list", "- a list", "    code", "a  \nb", "*em*", "a & b", ""],
)
def test_anything_but_plain_prose_is_parsed(source: str) -> None:
    assert render_plain(source) is None
