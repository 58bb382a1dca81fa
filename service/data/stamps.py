"""What a public answer depends on: the versions of its site and pages (``versions``), and
where each page stands with its closing time, which passes without any write.

A page whose ``comments_close_at`` has passed shows a notice instead of the reply form,
though nothing was written and its version is the same. The stamp therefore also holds each
page's closing phase, read with the versions in the same query: an answer made while the
page was open is never served once it is closed (its key and ``ETag`` hold the phase, and
the front of the cache compares stamps whole). ``CLOSING`` covers the last ``CLOSING_SOON``
seconds, longer than a shared answer may be reused, so the web layer can keep answers of a
closing page from being reused past the closing time (docs/decisions.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from service.data.models import utcnow

OPEN, CLOSING, CLOSED = 0, 1, 2
CLOSING_SOON = 60  # seconds; more than web.cache's max-age and stale-while-revalidate


@dataclass(frozen=True)
class Stamp:
    """The versions a public answer about some pages of a site depends on.

    ``pages`` holds, for each page key asked for, in order, the page's id and version, or
    None where nobody wrote on that page yet; ``closing``, in the same order, where each
    stands with its closing time (``OPEN``: none, or not soon; ``CLOSING``; ``CLOSED``).
    """

    site_id: int
    site_version: int
    pages: tuple[tuple[str, tuple[int, int] | None], ...]
    closing: tuple[int, ...] = ()


def closing_phase(closes: datetime | str | None, now: datetime) -> int:
    """Where a page stands with its closing time at ``now`` (SQLite's driver reads it as
    text, PostgreSQL's as a naive UTC time, as every time is stored)."""
    if closes is None:
        return OPEN
    when = datetime.fromisoformat(closes) if isinstance(closes, str) else closes
    left = (when - now).total_seconds()
    return CLOSED if left <= 0 else CLOSING if left <= CLOSING_SOON else OPEN


def stamp_of(rows: Sequence[Any], page_keys: Sequence[str]) -> Stamp | None:
    """The stamp from the stamp query's rows, each (site id, site version, page key, page id,
    page version, closing time), the page's columns null when it does not exist; None when
    there is no such site."""
    if not rows:
        return None
    now = utcnow()
    found = {row[2]: (tuple(row[3:5]), row[5]) for row in rows if row[2] is not None}
    pages = tuple((key, found[key][0] if key in found else None) for key in page_keys)
    closing = tuple(
        closing_phase(found[key][1], now) if key in found else OPEN for key in page_keys
    )
    return Stamp(rows[0][0], rows[0][1], pages, closing)
