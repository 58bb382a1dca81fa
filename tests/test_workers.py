"""Several gunicorn workers, one service: four workers of the production configuration
sharing one SQLite file, or one PostgreSQL database, and one Redis, keep every rate-limit
budget exact whichever worker takes each request.

Each budget gets twice (or three times) its size in requests sent at once; exactly the
budget is stored. The workers count their requests into one ``PROMETHEUS_MULTIPROC_DIR``
(``GET /metrics`` reports them together), whose files name the processes that answered:
the test checks several workers really shared the load.

Caches and live updates across workers belong here too: the ``cluster`` fixture is the
place for them (a write through one worker seen at once through the others).
"""

from __future__ import annotations

import secrets
import threading
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from backends import require_postgres
from limits import parse_many
from servers import (
    Reply,
    Server,
    comments_path,
    postgres_database,
    run_threads,
    running_server,
)
from support import comment_body, redis_url

from service import config

pytestmark = pytest.mark.slow

WORKERS = 4
GUNICORN_CONFIG = ("-c", "python:service.cli.gunicorn_config")
METRICS_TOKEN = secrets.token_hex(16)


def budget(name: str) -> int:
    """The smallest window of a limit's defaults: what a burst runs into."""
    return min(item.amount for item in parse_many(config.DEFAULTS[name]))


def address() -> str:
    """A client address of its own (through the one trusted proxy): a fresh budget."""
    return f"198.51.{secrets.randbelow(250) + 1}.{secrets.randbelow(250) + 1}"


def at_once(count: int, send: Callable[[int], Reply]) -> list[int]:
    barrier = threading.Barrier(count)

    def one(i: int) -> int:
        barrier.wait(timeout=30)
        return send(i).status

    return sorted(run_threads(count, one))


def stored(statuses: list[int]) -> int:
    return len([s for s in statuses if 200 <= s < 300])


@pytest.fixture(
    scope="module",
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
)
def cluster(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """Four workers on one database and one Redis, limits on (the defaults, as `make run`
    has them), client addresses through one trusted proxy."""
    env = {
        "PARLEY_RATELIMIT_ENABLED": "true",
        "PARLEY_TRUSTED_PROXIES": "1",
        "PARLEY_REDIS_URL": redis_url(),
        "PARLEY_METRICS_TOKEN": METRICS_TOKEN,
    }
    instance = tmp_path_factory.mktemp(f"workers-{request.param}")
    env["PROMETHEUS_MULTIPROC_DIR"] = str(instance / "prometheus")
    if request.param == "sqlite":
        url = f"sqlite:///{instance / 'parley.sqlite'}"
        with running_server(instance, url, workers=WORKERS, env=env, options=GUNICORN_CONFIG) as s:
            yield s
        return
    require_postgres()
    with (
        postgres_database("parley_workers") as url,
        running_server(instance, url, workers=WORKERS, env=env, options=GUNICORN_CONFIG) as s,
    ):
        yield s


@pytest.fixture
def server(cluster: Server) -> Server:
    cluster.checkpoint()
    return cluster


def post(server: Server, page: str, text: str, client: str) -> Reply:
    return server.request(
        "POST",
        comments_path(page),
        comment_body(text=text, email="workers@example.org"),
        headers={"X-Forwarded-For": client},
    )


def visitor(server: Server, client: str) -> Reply:
    return server.request(
        "POST", "/api/v1/visitors?site=default", headers={"X-Forwarded-For": client}
    )


def vote(server: Server, page: str, key: str, value: int, client: str) -> Reply:
    path = "/api/v1/ratings?" + urllib.parse.urlencode({"site": "default", "page": page})
    headers = {"X-Parley-Visitor": key, "X-Forwarded-For": client}
    return server.request("PUT", path, {"value": value}, headers=headers)


def workers_that_answered(server: Server) -> set[str]:
    """The processes that counted requests (prometheus_client's files are named by pid)."""
    folder = server.instance / "prometheus"
    return {path.stem.rsplit("_", 1)[-1] for path in Path(folder).glob("counter_*.db")}


def page() -> str:
    return f"/workers/{secrets.token_hex(6)}"


def test_the_post_budget_of_an_address_holds_across_workers(server: Server) -> None:
    client, where, allowed = address(), page(), budget("PARLEY_POST_LIMIT")
    statuses = at_once(3 * allowed, lambda i: post(server, where, f"post {i}", client))
    assert stored(statuses) == allowed and statuses.count(429) == 2 * allowed, statuses
    # Refused posts give their budget back, whichever worker refused them.
    other = address()
    for _ in range(3):
        empty = server.request(
            "POST", comments_path(where), {"text": ""}, headers={"X-Forwarded-For": other}
        )
        assert empty.status in (400, 422), empty
    statuses = at_once(2 * allowed, lambda i: post(server, where, f"again {i}", other))
    assert stored(statuses) == allowed, statuses
    server.assert_no_problems()


def test_the_budget_of_a_page_holds_across_workers(server: Server) -> None:
    where, allowed = page(), budget("PARLEY_PAGE_POST_LIMIT")
    statuses = at_once(allowed + 10, lambda i: post(server, where, f"page {i}", address()))
    assert stored(statuses) == allowed and statuses.count(429) == 10, statuses
    server.assert_no_problems()


def test_visitor_keys_and_votes_keep_their_budgets_across_workers(server: Server) -> None:
    client, allowed = address(), budget("PARLEY_VISITOR_LIMIT")
    statuses = at_once(2 * allowed, lambda _i: visitor(server, client))
    assert statuses == [201] * allowed + [429] * allowed, statuses

    # One key voting from many addresses at once: the key's budget.
    key = visitor(server, address()).json["visitor"]
    where, allowed = page(), budget("PARLEY_VISITOR_VOTE_LIMIT")
    statuses = at_once(2 * allowed, lambda i: vote(server, where, key, 1 + i % 5, address()))
    assert statuses == [200] * allowed + [429] * allowed, statuses

    # Many keys voting from one address at once: the address's budget.
    allowed = budget("PARLEY_VOTE_LIMIT")
    keys = [visitor(server, address()).json["visitor"] for _ in range(allowed + 6)]
    client = address()
    statuses = at_once(len(keys), lambda i: vote(server, where, keys[i], 4, client))
    assert statuses == [200] * allowed + [429] * 6, statuses
    server.assert_no_problems()


def test_the_requests_were_shared_by_several_workers(server: Server) -> None:
    run_threads(24, lambda _i: server.request("GET", comments_path(page())))
    assert len(workers_that_answered(server)) >= 2, workers_that_answered(server)
    scraped = server.request(
        "GET", "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}
    )
    assert scraped.status == 200 and b"parley_http_requests_total" in scraped.body
