"""Isso: its SQLite database file (``threads``: id, uri, title; ``comments``: tid, id,
parent, created, modified, mode, remote_addr, text, author, email, website, likes...;
docs/imports.md has the mapping).

The file is opened read-only (``mode=ro``) with ``trusted_schema`` off, so a crafted file
can neither be written nor run its own SQL functions through views or triggers. Isso keeps
the markdown its readers wrote, so texts are taken as they are.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

from service.transfer.sources import Entry, FileRefused, SourceComment, checked_id, utc

LABEL = "an Isso database"
# mode: 1 accepted, 2 waiting for moderation, 4 deleted (kept because it has replies).
STATUSES = {1: "approved", 2: "pending", 4: "deleted"}
QUERY = (
    "SELECT c.id, c.parent, c.created, c.modified, c.mode, c.remote_addr, c.text, c.author, "
    "c.email, c.website, c.likes, t.uri, t.title "
    "FROM comments AS c JOIN threads AS t ON t.id = c.tid ORDER BY c.id"
)


def connect(path: Path) -> sqlite3.Connection:
    """The database, read-only, its schema not trusted; refused if it is not SQLite."""
    uri = f"file:{quote(str(path.resolve()))}?mode=ro"
    try:
        connection = sqlite3.connect(uri, uri=True)
        connection.execute("PRAGMA trusted_schema = OFF")
        connection.execute("PRAGMA query_only = ON")
        connection.execute("SELECT count(*) FROM sqlite_master").fetchone()
        connection.row_factory = sqlite3.Row
    except sqlite3.DatabaseError as error:
        raise FileRefused(f"This is not {LABEL}: {error}.") from None
    return connection


def _time(value: object, source_id: str) -> datetime:
    try:
        return utc(datetime.fromtimestamp(float(value), UTC))  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        raise FileRefused(f"Comment {source_id} has a time that cannot be read.") from None


def read(path: Path) -> Iterator[Entry]:
    """Every comment, oldest id first."""
    connection = connect(path)
    try:
        try:
            rows = connection.execute(QUERY)
        except sqlite3.DatabaseError as error:
            raise FileRefused(
                f"This is not {LABEL}: {error} (it needs Isso's comments and threads tables)."
            ) from None
        for row in rows:
            source_id = checked_id(row["id"])
            status = STATUSES.get(row["mode"])
            if status is None:
                raise FileRefused(f"Comment {source_id} has an unknown mode {row['mode']!r}.")
            yield SourceComment(
                source_id=source_id,
                page_url=str(row["uri"] or ""),
                page_title=str(row["title"]) if row["title"] else None,
                parent_id=str(row["parent"]) if row["parent"] is not None else None,
                author=str(row["author"] or ""),
                email=str(row["email"] or ""),
                website=str(row["website"]) if row["website"] else None,
                text=str(row["text"] or ""),
                created=_time(row["created"], source_id),
                status=status,
                likes=max(int(row["likes"] or 0), 0),
                address=str(row["remote_addr"]) if row["remote_addr"] else None,
                edited=_time(row["modified"], source_id) if row["modified"] else None,
            )
    except sqlite3.DatabaseError as error:
        raise FileRefused(f"The database could not be read to its end: {error}.") from None
    finally:
        connection.close()
