"""Several gunicorn workers writing one SQLite file at once.

The failure modes these guard against are the peers': a poster given someone
else's comment (and its edit token) when the new row is read back by "latest
id", "database is locked" when a read-then-write transaction upgrades its lock,
and a duplicate page when two first posts race.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from servers import (
    Server,
    double_delete_scenario,
    first_posts_scenario,
    posters_scenario,
    replies_scenario,
    running_server,
    votes_scenario,
)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.db,
    pytest.mark.sqlite_only("workers sharing one SQLite file; test_postgres.py races them too"),
]


@pytest.fixture(scope="module")
def gunicorn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(tmp_path_factory.mktemp("gunicorn-sqlite"), workers=4) as running:
        yield running


@pytest.fixture
def server(gunicorn: Server) -> Server:
    """The module's server; each test looks only at what the server logs during it."""
    gunicorn.checkpoint()
    return gunicorn


def _sqlite_path(server: Server) -> Path:
    return Path(server.database_url.removeprefix("sqlite:///"))


def test_server_runs_on_the_sqlite_file_in_wal_mode(server: Server) -> None:
    with sqlite3.connect(_sqlite_path(server)) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("SELECT key FROM site").fetchall() == [("default",)]


def test_concurrent_posters_each_get_their_own_comment(server: Server) -> None:
    posters_scenario(server, threads=8, posts=15, page="/load")
    server.assert_no_problems()


def test_concurrent_replies_all_land_under_their_parent(server: Server) -> None:
    replies_scenario(server, threads=8, replies=5, page="/replies")
    server.assert_no_problems()


def test_concurrent_first_posts_create_the_page_once(server: Server) -> None:
    def page_count(key: str) -> int:
        with sqlite3.connect(_sqlite_path(server)) as conn:
            return int(
                conn.execute("SELECT count(*) FROM page WHERE key = ?", (key,)).fetchone()[0]
            )

    first_posts_scenario(server, threads=8, rounds=4, page_count=page_count)
    server.assert_no_problems()


def test_concurrent_likes_and_votes_count_once_per_visitor(server: Server) -> None:
    votes_scenario(server, visitors=10, per_visitor=3, rounds=2)
    server.assert_no_problems()


def test_a_delete_sent_several_times_at_once_counts_once(server: Server) -> None:
    double_delete_scenario(server, clicks=6, rounds=3)
    server.assert_no_problems()


def test_writes_wait_for_a_reader_holding_a_snapshot(server: Server) -> None:
    """A long read transaction elsewhere (WAL) never blocks or fails a post."""
    with sqlite3.connect(_sqlite_path(server), isolation_level=None) as conn:
        conn.execute("BEGIN")
        before = conn.execute("SELECT count(*) FROM comment").fetchone()[0]
        reply = server.request(
            "POST",
            "/api/v1/comments?site=default&page=/reader",
            {"name": "Writer", "email": "w@example.org", "text": "while someone reads"},
        )
        assert reply.status == 201, reply
        # The reader's snapshot is stable: it does not see the new row.
        assert conn.execute("SELECT count(*) FROM comment").fetchone()[0] == before
        conn.execute("COMMIT")
        assert conn.execute("SELECT count(*) FROM comment").fetchone()[0] == before + 1


def test_a_held_write_lock_makes_posts_wait_not_fail(server: Server) -> None:
    """Another writer holding the lock briefly: posts wait for the busy timeout."""
    import threading
    import time

    conn = sqlite3.connect(_sqlite_path(server), isolation_level=None, check_same_thread=False)
    try:
        conn.execute("BEGIN IMMEDIATE")
        release = threading.Timer(0.5, lambda: conn.execute("COMMIT"))
        release.start()
        started = time.monotonic()
        reply = server.request(
            "POST",
            "/api/v1/comments?site=default&page=/locked",
            {"name": "Writer", "email": "w@example.org", "text": "waited for the lock"},
        )
        waited = time.monotonic() - started
        release.join()
    finally:
        conn.close()
    assert reply.status == 201, reply
    assert waited >= 0.4, "the post did not wait for the other writer"
