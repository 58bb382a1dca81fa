"""Isso: its SQLite database file (``threads``: id, uri, title; ``comments``: tid, id,
parent, created, modified, mode, remote_addr, text, author, email, website, likes...;
docs/imports.md has the mapping).

The file is opened read-only (``mode=ro``, ``query_only``) with ``trusted_schema`` off, so
a crafted file cannot be written, and its triggers (which run on writes only) never run.
With no journal or WAL file beside it, it is opened ``immutable`` too: nothing is created
next to it (a WAL-mode file would get ``-wal`` and ``-shm`` files). Its ``comments`` and
``threads`` must be plain tables: a view or a generated column would run the file's own
SQL as it is read (functions ``trusted_schema`` still allows, a recursive query that never
ends), so the file is refused before it is read. Isso keeps the markdown its readers wrote,
so texts are taken as they are.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

from service.transfer.sources import Entry, FileRefused, SourceComment, checked_id, utc

FORMAT = "isso"
# mode: 1 accepted, 2 waiting for moderation, 4 deleted (kept because it has replies).
STATUSES = {1: "approved", 2: "pending", 4: "deleted"}
QUERY = (
    "SELECT c.id, c.parent, c.created, c.modified, c.mode, c.remote_addr, c.text, c.author, "
    "c.email, c.website, c.likes, t.uri, t.title "
    "FROM comments AS c JOIN threads AS t ON t.id = c.tid ORDER BY c.id"
)


def connect(path: Path) -> sqlite3.Connection:
    """The database, read-only, its schema not trusted; refused if it is not SQLite."""
    path = path.resolve()
    beside = (path.with_name(path.name + end) for end in ("-wal", "-journal"))
    uri = f"file:{quote(str(path))}?mode=ro" + (
        "" if any(map(Path.exists, beside)) else "&immutable=1"
    )
    try:
        connection = sqlite3.connect(uri, uri=True)
        connection.execute("PRAGMA trusted_schema = OFF")
        connection.execute("PRAGMA query_only = ON")
        connection.execute("SELECT count(*) FROM sqlite_master").fetchone()
        connection.row_factory = sqlite3.Row
    except sqlite3.DatabaseError as error:
        raise FileRefused("not_database", label=FORMAT, error=str(error)) from None
    return connection


def _plain_tables(connection: sqlite3.Connection) -> None:
    """Refuse a ``comments`` or ``threads`` that is not a plain table (a view, a virtual
    table) or that has generated columns: reading it would run SQL the file brings."""
    kinds = {str(row[1]).lower(): str(row[2]) for row in connection.execute("PRAGMA table_list")}
    for name in ("comments", "threads"):
        kind = kinds.get(name, "table")  # a missing table: the query says so
        if kind != "table":
            what = {"view": "a view", "virtual": "a virtual table"}.get(kind, f"a {kind} table")
            raise FileRefused("no_tables", label=FORMAT, error=f"{name} is {what}, not a table")
        columns = connection.execute(f"PRAGMA table_xinfo({name})").fetchall()
        generated = [str(column[1]) for column in columns if column[6] in (2, 3)]
        if generated:
            error = f"{name} has generated columns: {', '.join(generated)}"
            raise FileRefused("no_tables", label=FORMAT, error=error)


def _time(value: object, source_id: str) -> datetime:
    try:
        return utc(datetime.fromtimestamp(float(value), UTC))  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        raise FileRefused("bad_time", id=source_id) from None


def read(path: Path) -> Iterator[Entry]:
    """Every comment, oldest id first."""
    connection = connect(path)
    try:
        try:
            _plain_tables(connection)
            rows = connection.execute(QUERY)
        except sqlite3.DatabaseError as error:
            raise FileRefused("no_tables", label=FORMAT, error=str(error)) from None
        for row in rows:
            source_id = checked_id(row["id"])
            status = STATUSES.get(row["mode"])
            if status is None:
                raise FileRefused("unknown_mode", id=source_id, mode=repr(row["mode"]))
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
        raise FileRefused("unreadable_database", error=str(error)) from None
    finally:
        connection.close()
