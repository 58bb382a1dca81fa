"""What every source format reads into: one ``SourceComment`` per comment, in a stream.

Each format's reader (``wordpress``, ``disqus``, ``isso``, ``remark42``, ``commento``) yields
these and raises ``FileRefused`` on anything it cannot read; the importer (``importer``)
validates the whole stream before it writes. Pages are keyed the way the embed keys them by
default: the path of the page's URL (docs/embedding.md, ``data-page``), after the owner's
prefix rewrites (``--map-prefix OLD=NEW``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, cast
from urllib.parse import urlsplit

from service.data.bounds import PAGE_KEY_MAX, SOURCE_ID_MAX
from service.rules.errors import DomainError
from service.transfer.notes import Note


class FileRefused(DomainError):
    """The file cannot be imported: nothing is stored, and the message says why.

    Raised with a note's code and values (``notes.TEXTS``): ``note`` is what a job keeps,
    and the message is the note, which reads in the language of the answer that shows it.
    """

    def __init__(self, code: str, **values: Any) -> None:
        self.note = Note(code, values)
        message = cast(str, self.note)  # text when str() is taken, as a lazy string is
        super().__init__("validation_failed", message, {"file": message})


@dataclass(frozen=True)
class SourceComment:
    """One comment as its source has it. ``text`` is markdown, or HTML when ``html`` (turned
    into markdown by ``markdown`` when written, not while the file is validated);
    ``status`` is one of Parley's statuses."""

    source_id: str
    page_url: str  # the page's URL or path in the source (before any prefix rewrite)
    page_title: str | None
    parent_id: str | None
    author: str
    email: str
    website: str | None
    text: str
    created: datetime
    status: str
    likes: int = 0
    address: str | None = None  # the client address the source kept (anonymised on the way in)
    edited: datetime | None = None
    html: bool = False
    page_closed: bool = False  # the source's thread takes no more comments (a page made closed)

    @property
    def markdown(self) -> str:
        """The text as markdown."""
        return from_html(self.text) if self.html else self.text


@dataclass(frozen=True)
class Skip:
    """An entry that is not imported, and why (a code of ``notes.SKIPPED``): counted."""

    reason: str


Entry = SourceComment | Skip


class Reader(Protocol):
    """A source format: ``read(path)`` yields every comment (or skip), in the file's order."""

    def __call__(self, path: Path) -> Iterator[Entry]: ...


def from_html(html: str) -> str:
    """A markdown source for an HTML body: links, emphasis, lists, quotes and code kept, the
    rest as its text; characters markdown would read as syntax are escaped."""
    if not html.strip():
        return ""
    # Imported here: markdownify brings BeautifulSoup (several MB), which only imports need,
    # never a server worker.
    from markdownify import markdownify

    text = markdownify(html, heading_style="ATX", bullets="-", strip=["img", "script", "style"])
    return text.strip()


def checked_id(value: object, what: str = "comment") -> str:
    """A source id as text; refused if missing or too long to be an id."""
    text = str(value).strip() if value is not None else ""
    if not text or len(text) > SOURCE_ID_MAX:
        raise FileRefused("no_post_id" if what == "post" else "no_id", id=repr(text[:40]))
    return text


def utc(moment: datetime) -> datetime:
    """Naive UTC, as every time is stored (times without a zone are taken as UTC)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.replace(tzinfo=None)


def iso_time(value: object, source_id: str) -> datetime:
    """An ISO 8601 time ("2021-03-12T11:21:56Z", with or without fractions or a zone), of
    the comment ``source_id``."""
    text = str(value or "").strip()
    try:
        return utc(datetime.fromisoformat(text.replace("Z", "+00:00").replace(" ", "T", 1)))
    except ValueError:
        raise FileRefused("bad_date", id=source_id, text=repr(text[:40])) from None


def parse_prefixes(values: list[str] | tuple[str, ...]) -> list[tuple[str, str]]:
    """``OLD=NEW`` rewrites as pairs; refused when one has no ``=`` or no OLD."""
    pairs: list[tuple[str, str]] = []
    for value in values:
        old, sep, new = value.partition("=")
        if not sep or not old:
            raise FileRefused("bad_rewrite", value=repr(value))
        pairs.append((old, new))
    return pairs


def page_key(url: str, prefixes: list[tuple[str, str]]) -> str:
    """The page id a source URL lands on: the first matching prefix rewritten, then the
    path, as the embed's default ``data-page`` (``location.pathname``) has it.

    A URL whose path is only "/" keeps its query (WordPress without pretty permalinks:
    ``/?p=12``), so posts do not all land on one page. A rewrite to something that is not
    a URL (``https://old.example/post/=post-``) is kept as written.
    """
    for old, new in prefixes:
        if url.startswith(old):
            url = new + url[len(old) :]
            break
    parts = urlsplit(url)
    if parts.scheme in ("http", "https") or url.startswith("/"):
        key = parts.path or "/"
        if key == "/" and parts.query:
            key += "?" + parts.query
    else:
        key = url
    key = key.strip()
    if not key or len(key) > PAGE_KEY_MAX:
        raise FileRefused("bad_page_url", url=repr(url[:80]))
    return key
