"""Turn a comment's markdown source into safe HTML.

This is the only module that imports bleach. Comments are rendered once, at write
time: markdown-it (raw HTML off) builds the HTML, then a bleach allow-list cleans
it and linkifies bare URLs, so whatever markdown-it emits is still checked.
"""

from __future__ import annotations

import html
import re
import threading
from collections.abc import Sequence
from functools import partial
from urllib.parse import urlsplit

import bleach
from bleach.linkifier import LinkifyFilter
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict

ALLOWED_TAGS: frozenset[str] = frozenset(
    {"p", "br", "em", "strong", "code", "pre", "blockquote", "ul", "ol", "li", "a"}
)
# rel is set by _link_policy on every link; markdown cannot produce it from input.
ALLOWED_ATTRIBUTES: dict[str, frozenset[str]] = {
    "a": frozenset({"href", "title", "rel"}),
    "ol": frozenset({"start"}),
}
ALLOWED_PROTOCOLS: frozenset[str] = frozenset({"http", "https", "mailto"})

LINK_REL = "nofollow ugc noopener"
MAX_DEPTH = 8  # deepest blockquote/list nesting kept; deeper containers are flattened

# markdown-it stops parsing (and drops the rest) at this depth, which also bounds
# its recursion; it only matters for input far deeper than MAX_DEPTH.
_MAX_NESTING = 40

# Whitespace, controls and backticks that browsers ignore or strip inside a URL
# scheme (mirrors bleach's own normalisation).
_URL_JUNK = re.compile(r"[`\x00-\x20\x7f-\xa0\s]+")

_SURROGATE = re.compile("[\ud800-\udfff]")

# A bare URL the linkifier turns into a link: http:// or https:// and a dotted host, or a
# host starting with "www." (linked as http://). Not inside a word, an address or after
# another scheme ("javascript://x.example"), never with user info ("https://a.example@b"),
# and not counting trailing punctuation or a ")" the URL did not open: the sentence's.
_TRAILING = r".,:;!?'*_~\u2019\u201d\u00bb"  # ’ ” »
_PATH_CHAR = r"[^\s()<>\[\]{}|\\^`\"]"
_URL = re.compile(
    rf"""(?<![\w@./:+-])
    (?:https?://|www\.)
    [\w-]+(?:\.[\w-]+)+                             # host
    (?::[0-9]{{1,5}})?                               # port
    (?![\w@:-]|\.[\w-])                             # the whole host, or no link
    (?:[/?\#](?:{_PATH_CHAR}|\({_PATH_CHAR}*\))*)?   # path, query, fragment
    (?<![{_TRAILING}])""",
    re.IGNORECASE | re.VERBOSE,
)

_CONTAINERS = {
    "blockquote_open": "blockquote_close",
    "bullet_list_open": "bullet_list_close",
    "ordered_list_open": "ordered_list_close",
    "list_item_open": "list_item_close",
}
_CLOSERS = frozenset(_CONTAINERS.values())


def _build_markdown() -> MarkdownIt:
    """CommonMark with raw HTML off and everything a comment should not carry disabled."""
    md = MarkdownIt(
        "commonmark",
        {"html": False, "breaks": True, "linkify": False, "maxNesting": _MAX_NESTING},
    )
    # Headings and rules would let commenters restyle the host page; without these
    # rules their source ("# x", "---") shows as plain text.
    md.disable(["heading", "lheading", "hr", "table", "html_block", "html_inline"])
    md.add_render_rule("image", _image_as_link)
    return md


def _image_as_link(
    self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    """Render ![alt](src) as a link to src: embedded images would allow tracking pixels."""
    src = escapeHtml(str(tokens[idx].attrGet("src") or ""))
    alt = escapeHtml(self.renderInlineAsText(tokens[idx].children or [], options, env))
    return f'<a href="{src}">{alt or src}</a>'


_MD = _build_markdown()


def is_allowed_url(href: str) -> bool:
    """True if href is an absolute http(s) URL with a host, or a mailto: address.

    Relative and protocol-relative URLs are refused: a comment is shown on many
    pages, so a relative link has no single meaning.
    """
    normalized = _URL_JUNK.sub("", html.unescape(href)).lower()
    try:
        parts = urlsplit(normalized)
    except ValueError:
        return False
    if parts.scheme not in ALLOWED_PROTOCOLS:
        return False
    if parts.scheme == "mailto":
        return bool(parts.path)
    return bool(parts.netloc)


def _link_policy(attrs: dict[object, str], new: bool = False) -> dict[object, str] | None:
    """Linkify callback: keep safe links with a fixed rel; unlink the rest (text stays).

    A link the linkifier made (``new``) gets the href markdown gives ``<URL>``:
    percent-encoded, its host in IDNA form.
    """
    href = attrs.get((None, "href"))
    if href and new:
        href = attrs[(None, "href")] = _MD.normalizeLink(href)
    if not href or not is_allowed_url(href):
        return None
    if not attrs.get("_text", "").strip():
        attrs["_text"] = href  # an empty link would be invisible yet clickable
    attrs[(None, "rel")] = LINK_REL
    attrs.pop((None, "target"), None)
    return attrs


def _flatten_deep(tokens: Sequence[Token]) -> list[Token]:
    """Drop blockquote/list wrappers nested deeper than MAX_DEPTH, keeping their content."""
    out: list[Token] = []
    kept: list[bool] = []  # one entry per open container: was its wrapper kept?
    depth = dropped = 0
    for tok in tokens:
        if tok.type in _CONTAINERS:
            if tok.type == "list_item_open":
                keep = kept[-1] if kept else True  # an item goes with its list
            else:
                keep = depth < MAX_DEPTH
                depth += keep
            kept.append(keep)
            dropped += not keep
        elif tok.type in _CLOSERS:
            keep = kept.pop() if kept else True
            dropped -= not keep
            if keep and tok.type != "list_item_close":
                depth -= 1
        else:
            keep = True
            if dropped and tok.type.startswith("paragraph_"):
                tok.hidden = False  # tight-list items lose their <li>; keep them apart
        if keep:
            out.append(tok)
    return out


_local = threading.local()


def _cleaner() -> bleach.Cleaner:
    """Per-thread Cleaner: bleach's html5lib parser keeps state and is not thread-safe."""
    cleaner: bleach.Cleaner | None = getattr(_local, "cleaner", None)
    if cleaner is None:
        cleaner = bleach.Cleaner(
            tags=ALLOWED_TAGS,
            attributes=ALLOWED_ATTRIBUTES,
            protocols=ALLOWED_PROTOCOLS,
            # Escape, never strip: stripping would keep the text of a removed element.
            strip=False,
            strip_comments=True,
            filters=[
                partial(
                    LinkifyFilter,
                    callbacks=[_link_policy],
                    skip_tags={"pre", "code"},
                    parse_email=False,
                    url_re=_URL,
                )
            ],
        )
        _local.cleaner = cleaner
    return cleaner


def render_comment(text: str) -> str:
    """Render a comment's markdown source to safe HTML (called once, at write time)."""
    plain = render_plain(text)
    return plain if plain is not None else render_markdown(text)


# Plain prose: each line starts with a letter or an opening quote or bracket and holds only
# letters, digits, single spaces between words, and punctuation that neither markdown nor
# the linkifier reads (a full stop only where no word follows it at once, so no "www.x.com";
# no "/", so no "https://"). Most comments are this, and the allow-list has nothing to
# remove from it.
_PLAIN = re.compile(
    r"(?:(?:[^\W\d_]|[\"'(])(?:[^\W_]|[ ,;:?!'\"()-]|\.(?![^\W_]))*(?<! )(?:\n+|\Z))+"
)
_PARAGRAPHS = re.compile(r"\n{2,}")


def render_plain(text: str) -> str | None:
    """The HTML ``render_markdown`` makes of plain prose, without parsing it; None when
    the text is not plain prose (tests/test_sanitize.py holds the two to the same output)."""
    if not _PLAIN.fullmatch(text):
        return None
    paragraphs = _PARAGRAPHS.split(text.strip("\n").replace('"', "&quot;"))
    return "\n".join(f"<p>{part.replace(chr(10), '<br>' + chr(10))}</p>" for part in paragraphs)


def render_markdown(text: str) -> str:
    """Render a comment's markdown source to safe HTML: markdown-it, then the allow-list."""
    # Lone surrogates would make the stored HTML unencodable as UTF-8.
    text = _SURROGATE.sub("\ufffd", text)
    env: EnvType = {}
    tokens = _flatten_deep(_MD.parse(text, env))
    rendered = _MD.renderer.render(tokens, _MD.options, env)
    return str(_cleaner().clean(rendered)).strip()
