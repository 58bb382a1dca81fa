"""The files Parley keeps on disk are its owner's alone: 0600 files, a 0700 instance folder.

The SQLite database with its ``-wal`` and ``-shm``, and the development key files, hold
every comment, encrypted email and key; another account on the machine must not read
them. New files are created owner-only (SQLite gives ``-wal`` and ``-shm`` the database
file's mode), and existing ones are tightened at start-up and on each new connection.
Imports nothing of the service: the database set-up uses it too.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

OWNER_FILE = 0o600
OWNER_FOLDER = 0o700
SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")


def owner_only(path: Path) -> bool:
    """Take group and other permissions off ``path`` if it has any; False if it is missing.

    Raises ``OSError`` when the mode cannot be changed (another owner, a read-only mount).
    """
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return False
    if mode & 0o077:
        os.chmod(path, mode & 0o700)
    return True


def sqlite_file(uri: str, instance_path: Path) -> Path | None:
    """The database file a SQLite URL names (a relative one in the instance folder, as
    Flask-SQLAlchemy reads it); None for other backends and memory databases."""
    try:
        url = make_url(uri)
    except ArgumentError:  # not a URL at all: the engine will say so
        return None
    if url.get_backend_name() != "sqlite":
        return None
    name = url.database or ""
    if not name or name == ":memory:" or name.startswith("file:") or url.query.get("mode"):
        return None
    return instance_path / name  # an absolute name stays itself


def database_files(path: Path) -> list[Path]:
    """The database file and the files SQLite keeps beside it."""
    return [path, *(path.with_name(path.name + suffix) for suffix in SQLITE_COMPANIONS)]
