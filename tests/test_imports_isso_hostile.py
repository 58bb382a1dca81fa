"""A hostile Isso database: SQL of its own in views, generated columns or triggers never runs,
and the file (and its folder) is left exactly as it was (decision 81).

A view or a generated column would run as the file is read, even with ``trusted_schema``
off (built-in functions are allowed there, and a recursive view may never end), so such a
file is refused before anything is read. Triggers run on writes only, which a read-only
connection never makes: the file is read, and they do not fire.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskCliRunner

from service.data import Comment, ImportedComment, Page
from service.extensions import db

THREADS = "CREATE TABLE threads (id INTEGER PRIMARY KEY, uri VARCHAR(256) UNIQUE, title VARCHAR);"
COLUMNS = (
    "tid, id, parent, created, modified, mode, remote_addr, text, author, email, website, likes"
)
ROWS = (
    "INSERT INTO threads VALUES (1, '/posts/hello/', 'Hello');"
    "INSERT INTO {table} ({columns}) VALUES "
    "(1, 1, NULL, 1704711600, NULL, 1, NULL, 'Plain text.', 'Ida', NULL, NULL, 0);"
)
COMMENTS = f"CREATE TABLE comments ({COLUMNS.replace(' id,', ' id INTEGER PRIMARY KEY,')});"

# Each file keeps its comments in a plain table somewhere, so what refuses it is the view or
# the generated column, not a missing table.
REFUSED = {
    # The brief's case: a function the file names but a plain connection does not have.
    "a view calling a function": (
        THREADS
        + COMMENTS.replace("comments", "stored")
        + ROWS.format(table="stored", columns=COLUMNS)
        + f"CREATE VIEW Comments AS SELECT {COLUMNS.replace('text', 'parley_evil(text) AS text')}"
        " FROM stored;",
        "comments is a view, not a table",  # named in any case, as SQLite does
    ),
    # Endless with ORDER BY were it read (bounded here, so a broken importer still stops).
    "a recursive view": (
        COMMENTS
        + "CREATE TABLE stored (id INTEGER PRIMARY KEY, uri, title);"
        + ROWS.format(table="comments", columns=COLUMNS).replace("threads", "stored")
        + "CREATE VIEW threads AS WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1"
        " FROM n WHERE x < 1000000) SELECT 1 AS id, '/posts/' || x AS uri, NULL AS title FROM n;",
        "threads is a view, not a table",
    ),
    # A built-in function trusted_schema allows: 50 MB of text from a few bytes of file.
    "a generated column": (
        THREADS
        + COMMENTS.replace("text,", "source,").replace(
            "likes", "likes, text AS (printf('%.*c', 50000000, 'x'))"
        )
        + ROWS.format(table="comments", columns=COLUMNS.replace("text,", "source,")),
        "comments has generated columns: text",
    ),
}
# Triggers on every write, each trying to write elsewhere.
TRIGGERS = (
    THREADS
    + COMMENTS
    + "CREATE TABLE log (what);"
    + "".join(
        f"CREATE TRIGGER on_{event.lower()}_{table} AFTER {event} ON {table} "
        f"BEGIN INSERT INTO log VALUES ('{event} {table}'); END;"
        for event in ("INSERT", "UPDATE", "DELETE")
        for table in ("comments", "threads")
    )
    + ROWS.format(table="comments", columns=COLUMNS)
    + "DELETE FROM log;"
)


def build(folder: Path, script: str, *, wal: bool = False) -> Path:
    """The file, alone in a folder of its own."""
    folder = folder / "isso"
    folder.mkdir()
    path = folder / "comments.db"
    connection = sqlite3.connect(path)
    connection.executescript(script)
    if wal:
        connection.execute("PRAGMA journal_mode = WAL")
    connection.commit()
    connection.close()
    assert sorted(p.name for p in folder.iterdir()) == ["comments.db"]
    return path


def state(path: Path) -> tuple[bytes, int, list[str]]:
    """The file's bytes and modification time, and what its folder holds."""
    return path.read_bytes(), path.stat().st_mtime_ns, sorted(p.name for p in path.parent.iterdir())


def imported(app: Flask) -> int:
    with app.app_context():
        return int(db.session.scalar(sa.select(sa.func.count()).select_from(ImportedComment)) or 0)


def counts(app: Flask) -> list[int]:
    with app.app_context():
        return [
            int(db.session.scalar(sa.select(sa.func.count()).select_from(model)) or 0)
            for model in (Comment, ImportedComment, Page)
        ]


def run(runner: FlaskCliRunner, path: Path):
    return runner.invoke(args=["import", "isso", str(path), "--site", "default"])


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_sql_the_file_would_run_as_it_is_read_is_refused_and_nothing_is_written(
    app, runner, tmp_path, case
) -> None:
    script, says = REFUSED[case]
    path = build(tmp_path, script)
    before, rows = state(path), counts(app)
    result = run(runner, path)
    assert result.exit_code == 1, result.output
    assert result.output.startswith("Error: Nothing was imported: This is not an Isso database: ")
    assert says in result.output and "Traceback" not in result.output
    assert state(path) == before
    assert counts(app) == rows


@pytest.mark.parametrize("wal", [False, True], ids=["rollback journal", "wal"])
def test_triggers_never_fire_and_the_file_and_its_folder_stay_as_they_were(
    app, runner, tmp_path, wal
) -> None:
    path = build(tmp_path, TRIGGERS, wal=wal)
    before = state(path)
    result = run(runner, path)
    assert result.exit_code == 0, result.output
    assert imported(app) == 1
    # No -wal, -shm or -journal beside it either (a WAL-mode file is opened immutable).
    assert state(path) == before
    # Read back without a write of our own: the triggers' table is still empty.
    connection = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True)
    try:
        assert connection.execute("SELECT count(*) FROM log").fetchone() == (0,)
    finally:
        connection.close()
