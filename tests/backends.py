"""Which database the suite runs on, and what a missing service means.

``make test`` runs on SQLite: each test gets a copy of one migrated file. ``make
test-postgres`` sets ``TEST_DATABASE=postgresql`` and runs the tests marked ``db`` (every
test that touches the database: conftest marks those using the ``database_url`` fixture,
and the modules that start servers mark themselves): each pytest-xdist worker then has one
PostgreSQL database, migrated once, and each test gets it emptied and seeded again
(``DELETE``, then the rows the migrated database started with, copied back, and the
sequences set back). The
servers the tests start (``servers.running_server``, ``servers.serving``) get a fresh
PostgreSQL database of their own. Tests that are about SQLite itself (its pragmas, its
files, its way of migrating) carry ``@pytest.mark.sqlite_only(reason)`` and are skipped
there, with that reason.

A test that needs a service the machine lacks (PostgreSQL, Redis, Chromium) is skipped
with the reason, unless ``TEST_REQUIRE_SERVICES=1`` (which ``.ci/run`` sets): then it
fails, because in CI a skipped test is a test that did not run.

Both variables are read once, at import, and neither starts with ``PARLEY_`` (the tests
clear those from the environment).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, NoReturn

import pytest

if TYPE_CHECKING:
    import psycopg

DATABASE_ENV = "TEST_DATABASE"
STRICT_ENV = "TEST_REQUIRE_SERVICES"
BACKEND = os.environ.get(DATABASE_ENV, "sqlite").strip().lower() or "sqlite"
STRICT = os.environ.get(STRICT_ENV, "").strip().lower() in {"1", "true", "yes", "on"}

if BACKEND not in {"sqlite", "postgresql"}:
    raise RuntimeError(f"{DATABASE_ENV} must be sqlite or postgresql, not {BACKEND!r}")


def on_postgres() -> bool:
    """Whether the tests that follow the backend run on PostgreSQL (make test-postgres)."""
    return BACKEND == "postgresql"


_current: list[str] = []  # the PostgreSQL database of the running test, if any


def current_database() -> str | None:
    """The running test's PostgreSQL database (make test-postgres), else None: what
    ``support.base_config`` gives apps a test makes itself (a second worker, say), so they
    share the test's database as they share its SQLite file on the other backend."""
    return _current[-1] if _current else None


@contextmanager
def using(url: str) -> Iterator[None]:
    _current.append(url)
    try:
        yield
    finally:
        _current.remove(url)


def unavailable(reason: str) -> NoReturn:
    """Skip the calling test for a missing service, or fail it where every part must be
    there (``TEST_REQUIRE_SERVICES=1``, CI)."""
    if STRICT:
        pytest.fail(f"{reason} ({STRICT_ENV} is set: this test must run, not be skipped)")
    pytest.skip(reason)


def require_postgres() -> None:
    """Skip (or fail, in CI) the calling test unless the test PostgreSQL server answers."""
    from servers import postgres_unavailable

    reason = postgres_unavailable()
    if reason:
        unavailable(reason)


class PostgresWorkerDatabase:
    """One migrated PostgreSQL database for one pytest-xdist worker, reset for each test.

    ``reset`` is what a fresh SQLite copy is on the other backend: the tables as
    ``migrate`` left them (the default site and the demo page), the sequences where they
    were. Connections a previous test left open are ended first, so nothing it held can
    block the reset; a test that migrated the database elsewhere (a downgrade that
    did not come back) gets a new database.
    """

    def __init__(self, worker: str, migrate: Callable[[str], None]) -> None:
        self.worker = worker
        self.name = self.url = ""
        self._migrate = migrate  # upgrade() and seed the database at a URL
        self._tables: list[str] = []
        self._rows: dict[str, bytes] = {}
        self._sequences: dict[str, int | None] = {}
        self._revision = ""
        self._conn: psycopg.Connection[Any] | None = None

    # -- set-up --------------------------------------------------------------------------

    def create(self) -> None:
        """A new database, migrated and seeded, and what it holds kept for ``reset``."""
        import psycopg
        from psycopg import sql
        from servers import POSTGRES_ADMIN, POSTGRES_HOST

        self.name = f"parley_test_{self.worker}_{secrets.token_hex(4)}"
        self.url = f"{POSTGRES_HOST}/{self.name}"
        self._rows, self._sequences = {}, {}
        with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as admin:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.name)))
        self._migrate(self.url)
        self._conn = psycopg.connect(self._libpq(), autocommit=True)
        self._snapshot()

    def drop(self) -> None:
        import psycopg
        from psycopg import sql
        from servers import POSTGRES_ADMIN

        if self._conn is not None:
            self._conn.close()
            self._conn = None
        with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(self.name))
            )

    def _libpq(self) -> str:
        return self.url.replace("postgresql+psycopg://", "postgresql://", 1)

    def _connection(self) -> psycopg.Connection[Any]:
        assert self._conn is not None, "create() first"
        return self._conn

    def _snapshot(self) -> None:
        conn = self._connection()
        self._tables = [
            str(name)
            for (name,) in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                "AND tablename <> 'alembic_version' ORDER BY tablename"
            )
        ]
        for table in self._tables:
            with conn.cursor().copy(f'COPY "{table}" TO STDOUT') as copy:
                data = b"".join(bytes(chunk) for chunk in copy)
            if data:
                self._rows[table] = data
        self._sequences = {
            str(name): (int(value) if value is not None else None)
            for name, value in conn.execute(
                "SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = 'public'"
            )
        }
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        self._revision = str(row[0]) if row else ""

    # -- per test ------------------------------------------------------------------------

    @staticmethod
    @contextmanager
    def connections_closed_after() -> Iterator[None]:
        """Close, at the end of the block, every connection an engine opened in it: apps a
        test made and did not dispose of would otherwise be closed by the garbage collector
        during a later test, with a ResourceWarning (an error in this suite)."""
        import weakref

        import sqlalchemy as sa
        from sqlalchemy.engine import Engine

        opened: list[weakref.ref[Any]] = []

        def record(dbapi_connection: Any, _record: Any) -> None:
            opened.append(weakref.ref(dbapi_connection))

        sa.event.listen(Engine, "connect", record)
        try:
            yield
        finally:
            sa.event.remove(Engine, "connect", record)
            for ref in opened:
                connection = ref()
                if connection is not None and not connection.closed:
                    connection.close()

    def reset(self) -> str:
        """The database as migrated, for the next test; returns its URL."""
        import psycopg

        conn = self._connection()
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        try:
            row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        except psycopg.Error:
            row = None
        if row is None or str(row[0]) != self._revision:
            self.drop()
            self.create()
            return self.url
        with conn.transaction():
            # DELETE, not TRUNCATE: the tables are small, and TRUNCATE syncs new files to
            # disk for every table (ten times slower here). Foreign keys are not checked
            # (replica role): every table is emptied, and the rows go back in any order.
            conn.execute("SET LOCAL session_replication_role = replica")
            for table in self._tables:
                conn.execute(f'DELETE FROM "{table}"')
            for table, data in self._rows.items():
                with conn.cursor().copy(f'COPY "{table}" FROM STDIN') as copy:
                    copy.write(data)
            for sequence, value in self._sequences.items():
                conn.execute("SELECT setval(%s, %s, %s)", (sequence, value or 1, value is not None))
        return self.url
