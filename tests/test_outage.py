"""PostgreSQL going away under load, and coming back, on a real gunicorn server.

The server runs the production configuration (gthread workers) on a database of its own.
Readers and posters keep it busy while the test ends every connection to that database
(``pg_terminate_backend``), first once in a while (a restart, a fail-over), then with new
connections refused too (``ALLOW_CONNECTIONS false``: the database is down). Throughout,
every answer is the real one or 503 with ``Retry-After``, never a 500 nor a dropped
connection; once the database is back, the same workers answer again (the pool's
pre-ping replaces dead connections), without a restart.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from backends import require_postgres
from servers import (
    POSTGRES_ADMIN,
    Reply,
    Server,
    collect_thread,
    comments_path,
    postgres_database,
    running_server,
)
from support import comment_body

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

GUNICORN_CONFIG = ("-c", "python:service.cli.gunicorn_config")
PAGE = "/outage"
CLIENTS = 6


@dataclass
class Answer:
    at: float
    kind: str  # read, post, health
    status: int  # 0: no HTTP answer at all
    retry_after: str | None
    body: bytes = b""


@dataclass
class Load:
    """Clients sending reads, posts and health checks until stopped; every answer kept."""

    server: Server
    answers: list[Answer] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    posted: list[int] = field(default_factory=list)

    def _one(self, who: int, n: int) -> None:
        kind = ("read", "read", "post", "health")[(who + n) % 4]
        try:
            if kind == "read":
                reply = self.server.request("GET", comments_path(PAGE), timeout=20)
            elif kind == "post":
                body = comment_body(text=f"under load {who}-{n}", email=f"load{who}@example.org")
                reply = self.server.request("POST", comments_path(PAGE), body, timeout=20)
            else:
                reply = self.server.request("GET", "/healthz", timeout=20)
        except OSError as exc:
            reply = Reply(0, {}, repr(exc).encode())
        answer = Answer(
            time.monotonic(), kind, reply.status, reply.headers.get("Retry-After"), reply.body
        )
        with self.lock:
            self.answers.append(answer)
            if reply.status == 201:
                self.posted.append(int(reply.json["comment"]["id"]))

    def _client(self, who: int) -> None:
        n = 0
        while not self.stop.is_set():
            self._one(who, n)
            n += 1

    @contextmanager
    def running(self) -> Iterator[None]:
        threads = [threading.Thread(target=self._client, args=(i,)) for i in range(CLIENTS)]
        for thread in threads:
            thread.start()
        try:
            yield
        finally:
            self.stop.set()
            for thread in threads:
                thread.join(30)

    def since(self, moment: float) -> list[Answer]:
        with self.lock:
            return [a for a in self.answers if a.at >= moment]


def database_name(server: Server) -> str:
    return server.database_url.rsplit("/", 1)[1]


def admin_sql(statement: str, *params: object) -> None:
    import psycopg

    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as admin:
        admin.execute(statement, params or None)


def terminate(name: str) -> None:
    admin_sql(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE datname = %s AND pid <> pg_backend_pid()",
        name,
    )


def allow_connections(name: str, allowed: bool) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as admin:
        admin.execute(
            sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS {}").format(
                sql.Identifier(name), sql.SQL("true" if allowed else "false")
            )
        )


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    require_postgres()
    with postgres_database("parley_outage") as url:
        try:
            with running_server(tmp_path, url, workers=2, options=GUNICORN_CONFIG) as running:
                yield running
        finally:
            allow_connections(url.rsplit("/", 1)[1], True)  # DROP ... WITH (FORCE) needs it


def problems(answers: list[Answer]) -> list[str]:
    """Answers that are neither the real one nor a 503 with Retry-After."""
    wrong = []
    for a in answers:
        if a.status in (200, 201):
            continue
        if a.status == 503 and a.retry_after:
            continue
        wrong.append(f"{a.kind} {a.status} {a.body[:200]!r}")
    return wrong


def test_dropped_and_refused_connections_answer_503_and_the_service_recovers(
    server: Server,
) -> None:
    name = database_name(server)
    first = server.request("POST", comments_path(PAGE), comment_body(text="before the outage"))
    assert first.status == 201, first
    booted = server.log().count("Booting worker")
    load = Load(server)
    with load.running():
        time.sleep(1.0)
        healthy = time.monotonic()
        time.sleep(1.0)

        # Connections dropped again and again (restarts, fail-overs): the pool's pre-ping
        # replaces them; a request caught mid-query answers 503.
        dropping = time.monotonic()
        while time.monotonic() - dropping < 2.0:
            terminate(name)
            time.sleep(0.1)

        # Down: every connection ended, new ones refused.
        allow_connections(name, False)
        terminate(name)
        down = time.monotonic()
        time.sleep(2.5)
        terminate(name)
        back = time.monotonic()
        allow_connections(name, True)

        deadline = back + 15
        recovered = None
        while time.monotonic() < deadline:
            time.sleep(0.2)
            recent = [a for a in load.since(back) if a.at > time.monotonic() - 1.0]
            if recent and all(a.status in (200, 201) for a in recent):
                recovered = time.monotonic()
                break
        assert recovered is not None, "the service did not recover within 15 s"
        time.sleep(1.5)
        settled = time.monotonic()
        time.sleep(1.0)

    everything = load.since(0)
    assert not problems(everything), "\n".join(problems(everything)[:20])
    before = [a for a in everything if healthy <= a.at < dropping]
    assert before and all(a.status in (200, 201) for a in before)
    during = [a for a in everything if down + 0.5 <= a.at < back]
    assert during, "no request was answered while the database was down"
    # Posts and health checks need the database; a read may come from a cache meanwhile.
    needing = [a.status for a in during if a.kind != "read"]
    assert needing and set(needing) == {503}, needing
    assert {a.status for a in during} <= {200, 503}
    after = [a for a in everything if a.at >= settled]
    assert len(after) > 10 and all(a.status in (200, 201) for a in after), [a.status for a in after]
    assert {a.kind for a in after} == {"read", "post", "health"}

    # Without a restart: the same workers, and every post answered 201 is there.
    assert server.process.poll() is None
    assert server.log().count("Booting worker") == booted, "a worker was restarted"
    shown = {c["id"] for c in collect_thread(server, PAGE, limit=100)[0]}
    assert set(load.posted) <= shown
    server.checkpoint()  # the outage's warnings are expected; nothing after it
    assert server.request("GET", "/healthz").status == 200
    server.assert_no_problems()
