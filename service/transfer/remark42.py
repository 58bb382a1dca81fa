"""Remark42: its backup file (``backup`` command or the admin's export), one JSON object
per line: first ``{"version": 1, "users": [...], "posts": [...]}``, then one comment per
line with ``id``, ``pid`` (its parent, "" at the top), ``text`` (HTML), ``orig`` (the
markdown written), ``user`` (``name``, ``ip``, ...), ``locator`` (``site``, ``url``),
``score``, ``time``, ``delete`` and ``title``; docs/imports.md has the mapping.

Remark42 keeps a keyed hash of each address, not the address: those are dropped (only a
real address is anonymised and kept). Gzipped backups are read as they are.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from service.transfer.sources import (
    Entry,
    FileRefused,
    SourceComment,
    checked_id,
    iso_time,
)

FORMAT = "remark42"


def _open(path: Path) -> IO[bytes]:
    with path.open("rb") as probe:
        gzipped = probe.read(2) == b"\x1f\x8b"
    return gzip.open(path, "rb") if gzipped else path.open("rb")  # type: ignore[return-value]


def _record(line: bytes, number: int) -> dict[str, Any]:
    try:
        record = json.loads(line)
    except (ValueError, UnicodeDecodeError):
        raise FileRefused("line_not_json", line=number, label=FORMAT) from None
    if not isinstance(record, dict):
        raise FileRefused("line_not_object", line=number, label=FORMAT)
    return record


def _comment(record: dict[str, Any], number: int) -> SourceComment:
    source_id = checked_id(record.get("id"))
    locator = record.get("locator")
    user = record.get("user")
    if not isinstance(locator, dict) or not isinstance(user, dict) or not locator.get("url"):
        raise FileRefused("not_remark42_comment", line=number)
    markdown = record.get("orig")
    score = record.get("score")
    return SourceComment(
        source_id=source_id,
        page_url=str(locator["url"]),
        page_title=str(record["title"]) if record.get("title") else None,
        parent_id=str(record["pid"]) if record.get("pid") else None,
        author=str(user.get("name") or ""),
        email=str(user.get("email") or ""),
        website=None,
        text=str(markdown) if markdown else str(record.get("text") or ""),
        html=not markdown,
        created=iso_time(record.get("time"), source_id),
        status="deleted" if record.get("delete") else "approved",
        likes=score if isinstance(score, int) and score > 0 else 0,
        address=str(user.get("ip") or "") or None,
    )


def read(path: Path) -> Iterator[Entry]:
    """Every comment line after the version line, in the file's order."""
    try:
        with _open(path) as stream:
            first = True
            for number, line in enumerate(stream, start=1):
                if not line.strip():
                    continue
                record = _record(line, number)
                if first:
                    if "version" not in record:
                        raise FileRefused("no_version_line", label=FORMAT)
                    first = False
                    continue
                yield _comment(record, number)
            if first:
                raise FileRefused("no_lines", label=FORMAT)
    except (OSError, EOFError) as error:  # a damaged or cut gzip stream
        raise FileRefused("unreadable", error=str(error)) from None
