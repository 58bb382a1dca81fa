"""Several gunicorn workers, one service: four workers of the production configuration
sharing one SQLite file, or one PostgreSQL database, and one Redis, keep every rate-limit
budget exact whichever worker takes each request.

Each budget gets twice (or three times) its size in requests sent at once; exactly the
budget is stored. The workers count their requests into one ``PROMETHEUS_MULTIPROC_DIR``
(``GET /metrics`` reports them together), whose files name the processes that answered:
the test checks several workers really shared the load.

Caches and live updates hold across workers too (``fleet``): the same four workers sharing
Redis, and four workers each keeping its own in-process cache, on SQLite and on PostgreSQL.
After each kind of write sent to one worker (a post, the author's edit, a vote, a like, a
moderator holding, approving and deleting a comment), every public read of the page answered
by each of several workers shows it at once, with one ETag all of them agree on; an ETag from
before the write gets the new answer (never 304), as the live updates' polls do; the new
ETag gets 304; and another page's ETag still gets 304 everywhere.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from backends import require_postgres
from limits import parse_many
from prometheus_client.mmap_dict import MmapedDict
from servers import (
    AdminSession,
    Reply,
    Server,
    comments_path,
    exchange,
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
ADMIN_EMAIL = "owner@example.org"
ADMIN_PASSWORD = "correct horse battery staple"


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
        "PARLEY_ADMIN_EMAIL": ADMIN_EMAIL,
        "PARLEY_ADMIN_PASSWORD": ADMIN_PASSWORD,
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
    # One idle worker may accept a quick burst alone; bursts go on until another takes part.
    for _ in range(40):
        at_once(24, lambda _i: server.request("GET", comments_path(page())))
        if len(workers_that_answered(server)) >= 2:
            break
    assert len(workers_that_answered(server)) >= 2, workers_that_answered(server)
    scraped = server.request(
        "GET", "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}
    )
    assert scraped.status == 200 and b"parley_http_requests_total" in scraped.body


# --- caches and live updates ------------------------------------------------------------


@pytest.fixture(scope="module", params=["redis", "own-caches"])
def fleet(
    request: pytest.FixtureRequest, cluster: Server, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """The cluster's workers sharing Redis (``redis``), or as many on the same kind of
    database each keeping its own in-process cache, rate limits off (``own-caches``)."""
    if request.param == "redis":
        yield cluster
        return
    instance = tmp_path_factory.mktemp("workers-own-caches")
    env = {
        "PARLEY_TRUSTED_PROXIES": "1",
        "PARLEY_METRICS_TOKEN": METRICS_TOKEN,
        "PROMETHEUS_MULTIPROC_DIR": str(instance / "prometheus"),
        "PARLEY_ADMIN_EMAIL": ADMIN_EMAIL,
        "PARLEY_ADMIN_PASSWORD": ADMIN_PASSWORD,
    }
    start = partial(running_server, workers=WORKERS, env=env, options=GUNICORN_CONFIG)
    if cluster.database_url.startswith("sqlite"):
        with start(instance, f"sqlite:///{instance / 'parley.sqlite'}") as server:
            yield server
        return
    with postgres_database("parley_workers") as url, start(instance, url) as server:
        yield server


@pytest.fixture
def workers(fleet: Server) -> Iterator[Server]:
    fleet.checkpoint()
    yield fleet
    fleet.assert_no_problems()


def answered(server: Server) -> Counter[str]:
    """The requests each worker process has answered so far, by pid: its own metrics file
    counts them (prometheus_client's multiprocess mode)."""
    counts: Counter[str] = Counter()
    for path in (server.instance / "prometheus").glob("counter_*.db"):
        pid = path.stem.rsplit("_", 1)[-1]
        for key, value, *_ in MmapedDict.read_all_values_from_file(str(path)):
            if json.loads(key)[1] == "parley_http_requests_total":
                counts[pid] += int(value)
    return counts


def through_workers(
    server: Server,
    path: str,
    check: Callable[[Reply], None],
    headers: dict[str, str] | None = None,
    *,
    at_once: int = 12,
    rounds: int = 10,
) -> tuple[set[str], list[Reply]]:
    """Send the read ``at_once`` times at once, again until every worker has answered it (or
    ``rounds`` times); every answer must pass ``check``. Returns the workers that answered
    (at least two) and the answers."""
    who: set[str] = set()
    replies: list[Reply] = []
    for _ in range(rounds):
        before = answered(server)
        batch = run_threads(at_once, lambda _i: server.request("GET", path, headers=headers))
        for reply in batch:
            check(reply)
        replies += batch
        counted = answered(server)
        deadline = time.monotonic() + 5
        while counted.total() - before.total() < at_once and time.monotonic() < deadline:
            time.sleep(0.02)
            counted = answered(server)
        who |= {pid for pid, n in counted.items() if n > before[pid]}
        if len(who) >= WORKERS:
            break
    assert len(who) >= 2, f"only worker {who} answered {len(replies)} reads of {path}"
    return who, replies


def agreed_etag(replies: list[Reply]) -> str:
    """The one ETag every worker gave."""
    tags = {reply.headers.get("ETag") for reply in replies}
    assert len(tags) == 1 and None not in tags, f"the workers disagree: {tags}"
    return str(tags.pop())


def public_reads(page: str) -> dict[str, str]:
    query = urllib.parse.urlencode({"site": "default", "page": page})
    return {
        "thread": f"/api/v1/comments?{query}",
        "fragment": f"/widget/comments?{query}",
        "rating": f"/api/v1/ratings?{query}",
        "counts": f"/api/v1/counts?{query}",
    }


Shows = Callable[[Reply], bool]


def thread_shows(*texts: str, likes: int | None = None) -> Shows:
    def check(reply: Reply) -> bool:
        comments = reply.json["comments"]
        shown = [c for c in comments if any(text in c["html"] for text in texts)]
        return len(shown) == len(texts) and (likes is None or shown[0]["likes"] == likes)

    return check


def thread_hides(text: str) -> Shows:
    return lambda reply: all(text not in c["html"] for c in reply.json["comments"])


def fragment_shows(text: str, shown: bool = True) -> Shows:
    return lambda reply: (text in reply.body.decode()) == shown


def counted(page: str, comments: int, ratings: int = 0) -> Shows:
    def check(reply: Reply) -> bool:
        found = reply.json["counts"][page]
        return bool(found["comments"] == comments and found["rating_count"] == ratings)

    return check


def rated(count: int, average: float) -> Shows:
    return lambda reply: reply.json["count"] == count and reply.json["average"] == average


def expect(status: int, label: str, shows: Shows | None = None) -> Callable[[Reply], None]:
    def check(reply: Reply) -> None:
        assert reply.status == status and (shows is None or shows(reply)), f"{label}: {reply}"

    return check


def test_every_write_is_read_at_once_through_every_worker(workers: Server) -> None:
    server, where, quiet = workers, page(), page()
    first = post(server, where, "The first comment.", address())
    assert first.status == 201, first
    assert post(server, quiet, "Nothing changes here.", address()).status == 201
    ident, token = first.json["comment"]["id"], first.json["edit_token"]
    admin = AdminSession(
        partial(exchange, server.host, server.port), ADMIN_EMAIL, ADMIN_PASSWORD, server.base_url
    )
    paths = public_reads(where)

    def ok(reply: Reply) -> None:
        assert reply.status == 200, reply

    # Every worker has read (and, with caches of its own, kept) each answer before a write.
    etags = {
        name: agreed_etag(through_workers(server, path, ok)[1]) for name, path in paths.items()
    }
    quiet_path = public_reads(quiet)["thread"]
    quiet_etag = agreed_etag(through_workers(server, quiet_path, ok)[1])
    everyone: set[str] = set()

    def key() -> str:
        issued = visitor(server, address())
        assert issued.status == 201, issued
        return str(issued.json["visitor"])

    def sent(reply: Reply, status: int) -> None:
        assert reply.status == status, reply

    def edit() -> None:
        sent(
            server.request(
                "PATCH",
                f"/api/v1/comments/{ident}",
                {"text": "The first comment, edited."},
                headers={"X-Parley-Edit-Token": token},
            ),
            200,
        )

    def like() -> None:
        headers = {"X-Parley-Visitor": key(), "X-Forwarded-For": address()}
        sent(server.request("PUT", f"/api/v1/comments/{ident}/like", headers=headers), 200)

    def moderate(action: str) -> Callable[[], None]:
        return lambda: sent(admin.act(f"/admin/comments/{ident}/moderate", action=action), 303)

    edited = "The first comment, edited."
    writes: list[tuple[str, Callable[[], Any], dict[str, Shows]]] = [
        (
            "a post",
            lambda: sent(post(server, where, "A second comment.", address()), 201),
            {
                "thread": thread_shows("The first comment.", "A second comment."),
                "fragment": fragment_shows("A second comment."),
                "counts": counted(where, 2),
            },
        ),
        (
            "the author's edit",
            edit,
            {"thread": thread_shows(edited), "fragment": fragment_shows(edited)},
        ),
        (
            "a vote",
            lambda: sent(vote(server, where, key(), 4, address()), 200),
            {"rating": rated(1, 4.0), "counts": counted(where, 2, 1)},
        ),
        ("a like", like, {"thread": thread_shows(edited, likes=1)}),
        (
            "a moderator holding the comment",
            moderate("hold"),
            {"thread": thread_hides(edited), "counts": counted(where, 1, 1)},
        ),
        (
            "a moderator approving it",
            moderate("approve"),
            {"fragment": fragment_shows(edited), "counts": counted(where, 2, 1)},
        ),
        (
            "a moderator deleting it",
            moderate("delete"),
            {"thread": thread_hides(edited), "fragment": fragment_shows(edited, shown=False)},
        ),
    ]
    for what, write, expected in writes:
        write()
        for name, shows in expected.items():
            label = f"after {what}, {name}"
            fresh = expect(200, label, shows)
            who, replies = through_workers(server, paths[name], fresh)
            new = agreed_etag(replies)
            assert new != etags[name], f"{label} kept its ETag"
            # What a live update's poll sends: the ETag it holds, from before the write.
            who |= through_workers(server, paths[name], fresh, {"If-None-Match": etags[name]})[0]
            same = {"If-None-Match": new}
            who |= through_workers(server, paths[name], expect(304, label), same)[0]
            etags[name] = new
            everyone |= who
        unchanged = {"If-None-Match": quiet_etag}
        everyone |= through_workers(server, quiet_path, expect(304, "another page"), unchanged)[0]
    assert len(everyone) == WORKERS, f"only {len(everyone)} of {WORKERS} workers answered"
