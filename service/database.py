"""Database engine set-up shared by every backend.

SQLite is the embedded default and gets the settings that let several worker
processes write to one file: WAL, a busy timeout, foreign keys, and write
transactions that take the write lock at ``BEGIN`` (``BEGIN IMMEDIATE``) so a
read-then-write transaction never fails at once with "database is locked".
pysqlite's own transaction handling is switched off so the ``BEGIN`` that
SQLAlchemy emits is ours (SQLAlchemy's documented recipe).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

BUSY_TIMEOUT_MS = 10_000

_write_intent: ContextVar[bool] = ContextVar("parley_write_intent", default=False)


@contextmanager
def writing() -> Iterator[None]:
    """Mark the transactions begun inside this block as writes (SQLite: IMMEDIATE)."""
    token = _write_intent.set(True)
    try:
        yield
    finally:
        _write_intent.reset(token)


def set_write_intent(value: bool) -> Any:
    """Set the write intent for the current context; returns a token for ``reset``."""
    return _write_intent.set(value)


def reset_write_intent(token: Any) -> None:
    _write_intent.reset(token)


@event.listens_for(Engine, "connect")
def _on_connect(dbapi_connection: Any, _record: Any) -> None:
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
    cursor = dbapi_connection.cursor()
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
    """Engine options for a database URL."""
    if uri.startswith("sqlite"):
        return {"connect_args": {"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False}}
    return {"pool_pre_ping": True}
