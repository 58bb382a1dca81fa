"""Database engine set-up shared by every backend, and write transactions.

SQLite is the embedded default and gets the settings that let several worker
processes write to one file: WAL, a busy timeout, foreign keys, and write
transactions that take the write lock at ``BEGIN`` (``BEGIN IMMEDIATE``) so a
read-then-write transaction never fails at once with "database is locked".
pysqlite's own transaction handling is switched off so the ``BEGIN`` that
SQLAlchemy emits is ours (SQLAlchemy's documented recipe).

Every other transaction is a read (a deferred ``BEGIN``): a request reads and parses its
body and does its lookups first, then writes inside ``writing()``, so the write lock is
held for the write alone and never while a client is sending or receiving.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

from service import files
from service.extensions import db

BUSY_TIMEOUT_MS = 10_000
# Client-server databases: a connection per thread that runs a request (gthread and waitress
# run 8 per process: cli.server.THREADS), a few more for bursts, and bounded waits.
POOL_SIZE = 10
POOL_OVERFLOW = 5
POOL_TIMEOUT = 10  # seconds a request waits for a pooled connection
CONNECT_TIMEOUT = 5  # seconds to open a connection

_write_intent: ContextVar[bool] = ContextVar("parley_write_intent", default=False)


@contextmanager
def writing() -> Iterator[None]:
    """A write transaction for the block (SQLite: ``BEGIN IMMEDIATE``, the write lock).

    On SQLite a read transaction still open from lookups before it is ended first: SQLite
    cannot turn a read into a write once another connection has written meanwhile
    ("database is locked" at once, whatever the busy timeout). What those lookups loaded is
    kept as it was read, not read again: the block writes counters as SQL expressions
    (``n = n + 1``), never from values read before. The caller commits inside the block.
    """
    session = db.session()
    if session.in_transaction():
        if session.new or session.dirty or session.deleted:
            session.commit()
        elif session.get_bind().dialect.name == "sqlite":
            commit_keeping_loaded()
        # Elsewhere (PostgreSQL, read committed) the lookups' transaction simply goes on as
        # the write's: it holds no lock, and each statement reads what is committed. Ending
        # it would cost a round trip, and a checkout and its ping for the write.
    token = _write_intent.set(True)
    try:
        yield
    finally:
        _write_intent.reset(token)


def commit_keeping_loaded() -> None:
    """Commit, leaving what the session loaded or wrote as it is rather than expired, for a
    request that answers with what it just stored (no reload of each row it shows)."""
    session = db.session()
    keep = session.expire_on_commit
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = keep


def _owner_only(cursor: sqlite3.Cursor) -> None:
    """The database file and its -wal and -shm readable by the owner only (docs/security.md).

    SQLite creates the file with the process's umask and gives -wal and -shm the database
    file's mode, so tightening the file before WAL is switched on covers all three. Start-up
    refuses files it cannot tighten; here a failure is left to that check.
    """
    for _seq, name, filename in cursor.execute("PRAGMA database_list").fetchall():
        if name == "main" and filename:
            for path in files.database_files(Path(filename)):
                with suppress(OSError):
                    files.owner_only(path)


@event.listens_for(Engine, "connect")
def _on_connect(dbapi_connection: Any, _record: Any) -> None:
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
    cursor = dbapi_connection.cursor()
    _owner_only(cursor)
    cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.close()


@event.listens_for(Engine, "begin")
def _on_begin(conn: Connection) -> None:
    if conn.dialect.name != "sqlite":
        return
    conn.exec_driver_sql("BEGIN IMMEDIATE" if _write_intent.get() else "BEGIN")


def engine_options(uri: str) -> dict[str, Any]:
    """Engine options for a database URL.

    Errors never carry a statement's parameters (names, texts, hashes): they are logged.
    """
    if uri.startswith("sqlite"):
        return {
            "connect_args": {"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
            "hide_parameters": True,
        }
    options: dict[str, Any] = {
        # A pool per process. Each checkout first pings its connection, so connections the
        # server dropped (a restart, a fail-over, pg_terminate_backend) are replaced, not
        # handed to a request: after an outage the service recovers without a restart, and
        # meanwhile requests answer 503 with Retry-After (web.errors).
        "pool_pre_ping": True,
        "pool_size": POOL_SIZE,
        "max_overflow": POOL_OVERFLOW,
        "pool_timeout": POOL_TIMEOUT,  # a checkout waiting longer is a 503, not a hang
        "hide_parameters": True,
    }
    if uri.startswith("postgresql"):
        # libpq waits for an unreachable host as long as TCP does: fail fast instead (503).
        options["connect_args"] = {"connect_timeout": CONNECT_TIMEOUT}
    return options
