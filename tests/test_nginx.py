"""nginx in front of gunicorn, with the configuration the repository ships
(deploy/nginx/parley.conf, only its ports and paths changed): Debian's nginx, TLS and all,
before one gunicorn worker of the production configuration.

What nginx answers from its cache Parley never sees: the upstream's own access log (one
``parley.access`` line per request it answered) counts what reached it, and the
``X-Cache-Status`` header the file adds says how nginx answered. Shown here: public reads
are stored and answered by nginx, conditional reads too; a write through nginx is seen by
the writer's next read (the widget's, which asks for a fresh answer) and by every read after
it; expired entries are revalidated with their ETag and Parley answers 304; answers for one
person (a visitor key, a session, the admin views, POSTs, cookies being set) are never
stored; CORS answers stay apart by Origin; the client's address is nginx's to say and
forwarded host and TLS headers are dropped; bodies are read whole before gunicorn sees them,
so clients trickling theirs hold no thread; compression never comes beside cookies.

A machine without nginx skips this module (fails it with ``TEST_REQUIRE_SERVICES=1``).
"""

from __future__ import annotations

import json
import re
import secrets
import ssl
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from backends import unavailable
from servers import (
    NGINX_HOST,
    AdminSession,
    Answer,
    Proxy,
    Server,
    exchange,
    nginx_unavailable,
    run_threads,
    running_nginx,
    running_server,
)

from service.cli.server import THREADS

pytestmark = pytest.mark.slow

GUNICORN_CONFIG = ("-c", "python:service.cli.gunicorn_config")
PUBLIC_URL = f"https://{NGINX_HOST}"
ALLOWED = "https://blog.example"
ADMIN_EMAIL = "owner@example.org"
ADMIN_PASSWORD = "correct horse battery staple"
FRESH = {"Cache-Control": "max-age=0"}  # what the widget's `cache: "no-cache"` fetch sends


@pytest.fixture(scope="module")
def parley(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """gunicorn with the production configuration, one worker (the default), told it sits
    behind one proxy and what its public address is."""
    reason = nginx_unavailable()
    if reason:
        unavailable(reason)
    env = {
        "PARLEY_ENV": "production",
        "PARLEY_PUBLIC_URL": PUBLIC_URL,
        "PARLEY_TRUSTED_PROXIES": "1",
        "PARLEY_ALLOWED_ORIGINS": ALLOWED,
        "PARLEY_ADMIN_EMAIL": ADMIN_EMAIL,
        "PARLEY_ADMIN_PASSWORD": ADMIN_PASSWORD,
    }
    instance = tmp_path_factory.mktemp("nginx-upstream")
    with running_server(instance, workers=1, env=env, options=GUNICORN_CONFIG) as server:
        yield server


@pytest.fixture(scope="module")
def nginx(parley: Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxy]:
    with running_nginx(parley, tmp_path_factory.mktemp("nginx")) as proxy:
        yield proxy
        # Nothing went wrong between nginx and gunicorn (a connection kept alive too long, an
        # answer cut short); the one error expected is the body refused on purpose.
        problems = [
            line
            for line in proxy.log().splitlines()
            if re.search(r"\[(warn|error|crit|alert|emerg)\]", line)
            and "client intended to send too large body" not in line
        ]
        assert not problems, "nginx logged problems:\n" + "\n".join(problems[:20])


@pytest.fixture
def proxy(nginx: Proxy, parley: Server) -> Iterator[Proxy]:
    parley.checkpoint()
    yield nginx
    parley.assert_no_problems()


# --- what reached Parley ----------------------------------------------------------------

LINE = re.compile(
    r'parley\.access: (?P<client>\S+) "(?P<method>[A-Z]+) (?P<target>\S+) HTTP/[\d.]+" '
    r"(?P<status>\d{3}) "
)


@dataclass(frozen=True)
class Seen:
    """One request Parley answered, from its access log."""

    client: str
    method: str
    target: str
    status: int


def settled(server: Server, quiet: float = 0.3, limit: float = 5.0) -> str:
    """The upstream's log once it has stopped growing: an access line is written when its
    answer is closed, after nginx may have answered the client already."""
    deadline = time.monotonic() + limit
    size = -1
    while time.monotonic() < deadline:
        now = server.log_path.stat().st_size
        if now == size:
            break
        size = now
        time.sleep(quiet)
    return server.log()


def upstream(server: Server, marker: str, method: str | None = "GET") -> list[Seen]:
    """The requests with ``marker`` in their target that reached Parley, oldest first."""
    found = []
    for line in settled(server).splitlines():
        match = LINE.search(line)
        if match and marker in match["target"] and method in (None, match["method"]):
            found.append(
                Seen(match["client"], match["method"], match["target"], int(match["status"]))
            )
    return found


def wait_for(check: Callable[[], bool], limit: float = 10.0) -> bool:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return check()


# --- requests ---------------------------------------------------------------------------


def new_page() -> str:
    return f"/nginx/{secrets.token_hex(6)}"


def marker(page: str) -> str:
    return page.rsplit("/", 1)[1]


def reads(page: str) -> dict[str, str]:
    """Every public read of a page, by name."""
    query = urllib.parse.urlencode({"site": "default", "page": page})
    return {
        "thread": f"/api/v1/comments?{query}",
        "fragment": f"/widget/comments?{query}",
        "rating": f"/api/v1/ratings?{query}",
        "rating fragment": f"/widget/rating?{query}",
        "counts": f"/api/v1/counts?{query}",
    }


def post(proxy: Proxy, page: str, text: str, **headers: str) -> Answer:
    path = "/api/v1/comments?" + urllib.parse.urlencode({"site": "default", "page": page})
    body = {"name": "Proxy Reader", "email": "proxy.reader@example.org", "text": text}
    answer = proxy.request("POST", path, body, headers=headers)
    assert answer.status == 201, answer
    return answer


def visitor(proxy: Proxy) -> str:
    issued = proxy.request("POST", "/api/v1/visitors?site=default")
    assert issued.status == 201, issued
    return str(issued.json["visitor"])


def cache_status(answer: Answer) -> str | None:
    return answer.header("X-Cache-Status")


def max_age(answer: Answer) -> int:
    found = re.search(r"max-age=(\d+)", answer.header("Cache-Control") or "")
    assert found, answer.header("Cache-Control")
    return int(found[1])


# --- the shared cache -------------------------------------------------------------------


def test_public_reads_are_answered_by_nginx_and_so_are_conditional_reads(
    proxy: Proxy, parley: Server
) -> None:
    page = new_page()
    post(proxy, page, "Worth caching.")
    for name, path in reads(page).items():
        first = proxy.request("GET", path)
        assert first.status == 200 and cache_status(first) == "MISS", (name, first)
        assert (first.header("Cache-Control") or "").startswith("public, max-age="), name
        etag = first.header("ETag")
        assert etag and etag.startswith('W/"'), name
        again = proxy.request("GET", path)
        assert again.status == 200 and cache_status(again) == "HIT", (name, again)
        assert again.body == first.body and again.header("ETag") == etag, name
        held = proxy.request("GET", path, headers={"If-None-Match": etag})
        assert held.status == 304 and cache_status(held) == "HIT", (name, held)
    seen = upstream(parley, marker(page))
    assert sorted(s.target for s in seen) == sorted(reads(page).values()), seen
    assert all(s.status == 200 for s in seen), seen


def test_concurrent_first_reads_reach_parley_once(proxy: Proxy, parley: Server) -> None:
    page = new_page()
    path = reads(page)["thread"]
    barrier = threading.Barrier(12)

    def read(_i: int) -> Answer:
        barrier.wait(timeout=30)
        return proxy.request("GET", path)

    answers = run_threads(12, read)
    assert {a.status for a in answers} == {200}
    assert len({a.body for a in answers}) == 1
    assert len(upstream(parley, marker(page))) == 1  # proxy_cache_lock: the others waited


def test_a_write_through_nginx_is_seen_by_the_next_read(proxy: Proxy, parley: Server) -> None:
    """The widget reads fragments with ``cache: "no-cache"`` for a minute after its reader
    wrote something: nginx takes that past its cache, and stores what Parley answers, so the
    write is seen by that read and by every plain read after it."""
    page = new_page()
    first = post(proxy, page, "The first words.")
    assert cache_status(first) is None  # a POST is never looked up nor stored
    key = visitor(proxy)
    paths = reads(page)
    stored = {name: proxy.request("GET", path) for name, path in paths.items()}
    primed = time.monotonic()
    assert all(cache_status(proxy.request("GET", path)) == "HIT" for path in paths.values())

    def after(write: str, shows: Callable[[dict[str, Answer]], bool]) -> None:
        fresh = {n: proxy.request("GET", p, headers=FRESH) for n, p in paths.items()}
        assert all(a.status == 200 and cache_status(a) == "BYPASS" for a in fresh.values())
        assert shows(fresh), f"after {write}, the widget's read did not show it"
        plain = {n: proxy.request("GET", p) for n, p in paths.items()}
        assert all(cache_status(a) == "HIT" for a in plain.values()), write
        assert shows(plain), f"after {write}, the reads after the widget's did not show it"
        for name, path in paths.items():
            # nginx answers conditional reads itself: an ETag from before the write gets
            # the new answer, the current one 304.
            old, new = stored[name].header("ETag") or "", plain[name].header("ETag") or ""
            assert new != old, (write, name)
            changed = proxy.request("GET", path, headers={"If-None-Match": old})
            assert changed.status == 200 and changed.body == plain[name].body, (write, name)
            same = proxy.request("GET", path, headers={"If-None-Match": new})
            assert same.status == 304, (write, name)
            # A live update's poll, past the cache: still 304 while nothing changed.
            poll = proxy.request("GET", path, headers={"If-None-Match": new, **FRESH})
            assert poll.status == 304 and cache_status(poll) == "BYPASS", (write, name)
        stored.update(plain)

    def shown(text: str, comments: int) -> Callable[[dict[str, Answer]], bool]:
        def check(got: dict[str, Answer]) -> bool:
            counted = got["counts"].json["counts"][page]["comments"]
            return counted == comments and all(
                text in got[name].body.decode() for name in ("thread", "fragment")
            )

        return check

    second = post(proxy, page, "The second words.")
    # A plain read within Parley's max-age still gets the stored answer: other readers see
    # a write once it expires (docs/deployment.md).
    plain = proxy.request("GET", paths["thread"])
    if time.monotonic() - primed < max_age(plain) - 2:
        assert cache_status(plain) == "HIT" and b"second words" not in plain.body
    after("a post", shown("The second words.", 2))

    edit = second.json
    edited = proxy.request(
        "PATCH",
        f"/api/v1/comments/{edit['comment']['id']}",
        {"text": "The second words, edited."},
        headers={"X-Parley-Edit-Token": edit["edit_token"]},
    )
    assert edited.status == 200, edited
    after("an edit", shown("The second words, edited.", 2))

    rating = proxy.request("PUT", paths["rating"], {"value": 4}, headers={"X-Parley-Visitor": key})
    assert rating.status == 200, rating

    def rated(got: dict[str, Answer]) -> bool:
        summary = got["rating"].json
        counts = got["counts"].json["counts"][page]
        return summary["count"] == 1 and summary["yours"] is None and counts["rating_count"] == 1

    after("a vote", rated)

    deleted = proxy.request(
        "DELETE",
        f"/api/v1/comments/{edit['comment']['id']}",
        headers={"X-Parley-Edit-Token": edit["edit_token"]},
    )
    assert deleted.status == 204, deleted
    after("a delete", lambda got: b"second words" not in got["thread"].body)

    comment = f"/api/v1/comments/{edit['comment']['id']}"
    writes = upstream(parley, marker(page), method=None) + upstream(parley, comment, method=None)
    assert sorted((s.method, s.status) for s in writes if s.method != "GET") == [
        ("DELETE", 204),
        ("PATCH", 200),
        ("POST", 201),
        ("POST", 201),
        ("PUT", 200),
    ], writes


def test_an_expired_answer_is_revalidated_with_its_etag(proxy: Proxy, parley: Server) -> None:
    """After Parley's max-age the next reader still gets the stored answer at once, while
    nginx asks again with If-None-Match: 304 when nothing changed, the new answer when
    something did; the reads after that get what came back."""
    same, changed = new_page(), new_page()
    for page in (same, changed):
        post(proxy, page, f"Before, on {page}.")
    before = {page: proxy.request("GET", reads(page)["thread"]) for page in (same, changed)}
    assert all(cache_status(a) == "MISS" for a in before.values())
    post(proxy, changed, "Written while the answer was stored.")

    time.sleep(max_age(before[same]) + 1.5)
    for page in (same, changed):
        stale = proxy.request("GET", reads(page)["thread"])
        assert cache_status(stale) in ("STALE", "UPDATING"), stale.headers
        assert stale.body == before[page].body

        def refreshed(page: str = page) -> bool:
            return cache_status(proxy.request("GET", reads(page)["thread"])) == "HIT"

        assert wait_for(refreshed), f"nginx did not store the revalidated answer for {page}"
    kept = proxy.request("GET", reads(same)["thread"])
    assert kept.body == before[same].body
    assert kept.header("ETag") == before[same].header("ETag")
    renewed = proxy.request("GET", reads(changed)["thread"])
    assert b"Written while the answer was stored." in renewed.body
    assert renewed.header("ETag") != before[changed].header("ETag")

    assert [s.status for s in upstream(parley, marker(same))] == [200, 304]
    assert [s.status for s in upstream(parley, marker(changed))] == [200, 200]


# --- never stored -----------------------------------------------------------------------


def test_answers_for_one_visitor_are_never_stored(proxy: Proxy, parley: Server) -> None:
    page = new_page()
    post(proxy, page, "Public words.")
    paths = reads(page)
    key, other = visitor(proxy), visitor(proxy)
    voted = proxy.request("PUT", paths["rating"], {"value": 5}, headers={"X-Parley-Visitor": key})
    assert voted.status == 200, voted
    for _ in range(2):
        for who, yours in ((key, 5), (other, None)):
            mine = proxy.request("GET", paths["rating"], headers={"X-Parley-Visitor": who})
            assert mine.status == 200 and mine.json["yours"] == yours
            assert mine.header("Cache-Control") == "private, no-store"
            assert cache_status(mine) == "BYPASS"
        public = proxy.request("GET", paths["rating"])
        assert public.json["yours"] is None and public.json["count"] == 1
        assert cache_status(public) in ("MISS", "HIT")
    rating_reads = [s for s in upstream(parley, marker(page)) if s.target == paths["rating"]]
    assert len(rating_reads) == 4 + 1, rating_reads  # each personal read, the public one once

    # Authorization, cookies and edit tokens: past the cache, never stored.
    for headers in (
        {"Authorization": "Bearer not-a-token-of-this-site"},
        {"Cookie": "parley_session=whatever"},
        {"X-Parley-Edit-Token": "not-a-token"},
    ):
        answer = proxy.request("GET", paths["thread"], headers=headers)
        assert answer.status == 200 and cache_status(answer) == "BYPASS", (headers, answer)

    # Answers that set a cookie (the standalone page's CSRF state): each reader's own.
    thread = "/thread?" + urllib.parse.urlencode({"site": "default", "page": page})
    pages = [proxy.request("GET", thread) for _ in range(2)]
    assert all(p.status == 200 and cache_status(p) == "MISS" for p in pages)
    cookies = [p.cookies()["parley_session"] for p in pages]
    assert cookies[0] != cookies[1]
    assert len([s for s in upstream(parley, marker(page)) if s.target.startswith("/thread")]) == 2


def test_the_admin_views_are_never_stored(proxy: Proxy, parley: Server) -> None:
    page = new_page()
    posted = post(proxy, page, "Spam to remove.").json["comment"]["id"]
    paths = reads(page)
    for path in paths.values():
        proxy.request("GET", path)
    admin = AdminSession(proxy.request, ADMIN_EMAIL, ADMIN_PASSWORD, PUBLIC_URL)
    detail = f"/admin/comments/{posted}"

    def detail_reads() -> int:
        return len([s for s in upstream(parley, detail) if s.target == detail])

    before = detail_reads()
    for _ in range(2):
        shown = admin.get(detail)
        assert shown.status == 200 and b"Spam to remove." in shown.body
        assert shown.header("Cache-Control") == "no-store" and cache_status(shown) is None
    assert detail_reads() == before + 2
    stranger = proxy.request("GET", detail)
    assert stranger.status in (302, 303) and b"Spam to remove." not in stranger.body

    # A moderator's delete, seen by the widget's next read and the plain reads after it.
    assert admin.act(f"/admin/comments/{posted}/moderate", action="delete").status == 303
    for path in paths.values():
        fresh = proxy.request("GET", path, headers=FRESH)
        assert b"Spam to remove." not in fresh.body
        assert b"Spam to remove." not in proxy.request("GET", path).body


def test_cors_answers_are_kept_apart_by_origin(proxy: Proxy, parley: Server) -> None:
    page = new_page()
    path = reads(page)["fragment"]
    for _ in range(2):
        for origin, allowed in (
            (ALLOWED, ALLOWED),
            ("https://elsewhere.example", None),
            ("", None),
        ):
            answer = proxy.request("GET", path, headers={"Origin": origin} if origin else {})
            assert answer.status == 200
            assert answer.header("Access-Control-Allow-Origin") == allowed, origin
    assert len(upstream(parley, marker(page))) == 3  # one stored variant each


# --- what nginx passes on -----------------------------------------------------------------


def test_nginx_says_who_the_client_is_and_drops_forwarded_host_and_tls_headers(
    proxy: Proxy, parley: Server
) -> None:
    page = new_page()
    forged = {
        "X-Forwarded-For": "203.0.113.9",
        "X-Forwarded-Host": "evil.example",
        "X-Forwarded-Proto": "http",
        "X-Forwarded-Ssl": "off",  # gunicorn refuses what contradicts X-Forwarded-Proto
        "Forwarded": "for=203.0.113.9;host=evil.example;proto=http",
    }
    post(proxy, page, "Who am I?", **forged)
    (seen,) = upstream(parley, marker(page), method="POST")
    assert seen.client == "127.0.0.0" and seen.status == 201  # nginx's peer, cut to /24
    sent = {**forged, "Host": "evil.example", **FRESH}
    fragment = proxy.request("GET", reads(page)["fragment"], headers=sent)
    html = fragment.body.decode()
    assert fragment.status == 200 and "evil.example" not in html
    assert f"{PUBLIC_URL}/avatar/" in html  # Parley's own address, never a Host

    moved = exchange(proxy.host, proxy.http_port, "GET", reads(page)["thread"])
    assert moved.status == 301
    assert moved.header("Location") == PUBLIC_URL + reads(page)["thread"]


def test_bodies_are_read_whole_before_gunicorn_sees_them(proxy: Proxy, parley: Server) -> None:
    page = new_page()
    path = "/api/v1/comments?" + urllib.parse.urlencode({"site": "default", "page": page})
    body = {"name": "Long", "email": "long@example.org", "text": "x" * (200 * 1024)}
    over_parley = proxy.request("POST", path, body)
    assert over_parley.status == 413 and over_parley.json["error"]["code"] == "too_large"
    body["text"] = "x" * (300 * 1024)
    over_nginx = proxy.request("POST", path, body)
    assert over_nginx.status == 413 and b"nginx" in over_nginx.body  # nginx's own page
    assert [s.status for s in upstream(parley, marker(page), method="POST")] == [413]

    # Twice as many trickling clients as a worker has threads: none of them holds one.
    slow = new_page()
    target = "/api/v1/comments?" + urllib.parse.urlencode({"site": "default", "page": slow})
    head = (
        f"POST {target} HTTP/1.1\r\nHost: {NGINX_HOST}\r\n"
        "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
    ).encode()
    clients: list[ssl.SSLSocket] = []
    try:
        for _ in range(2 * THREADS):
            connection = proxy.connect()
            connection.sendall(head + b'{"name": "Slow", "text": "')
            clients.append(connection)
        time.sleep(0.5)
        started = time.monotonic()
        answer = proxy.request("GET", reads(new_page())["thread"], headers=FRESH, timeout=20)
        took = time.monotonic() - started
        assert answer.status == 200 and took < 3, f"a read waited {took:.1f}s behind slow bodies"
    finally:
        for connection in clients:
            connection.close()
    assert upstream(parley, marker(slow), method=None) == []


def test_nothing_is_compressed_beside_cookies(proxy: Proxy) -> None:
    """Parley never compresses an answer to a request with cookies (BREACH), and nginx does
    not do it in its place."""
    gzip_ok = {"Accept-Encoding": "gzip"}
    plain = proxy.request("GET", "/api/v1/openapi.json", headers={**gzip_ok, "Cookie": "a=b"})
    assert plain.status == 200 and plain.header("Content-Encoding") is None
    assert len(plain.body) > 1024 and json.loads(plain.body)["openapi"]
    packed = proxy.request("GET", "/api/v1/openapi.json", headers=gzip_ok)
    assert packed.header("Content-Encoding") == "gzip"
    admin = AdminSession(proxy.request, ADMIN_EMAIL, ADMIN_PASSWORD, PUBLIC_URL)
    dashboard = admin.get("/admin/", **gzip_ok)
    assert dashboard.status == 200 and len(dashboard.body) > 1024
    assert dashboard.header("Content-Encoding") is None


def test_the_shipped_file_is_what_ran(nginx: Proxy) -> None:
    """Only ports and paths differ from the file in the repository."""
    shipped = (Path(__file__).resolve().parent.parent / "deploy/nginx/parley.conf").read_text()
    ran = (nginx.folder / "parley.conf").read_text()
    assert len(ran.splitlines()) == len(shipped.splitlines())
    differing = [
        (a, b) for a, b in zip(shipped.splitlines(), ran.splitlines(), strict=True) if a != b
    ]
    assert len(differing) == 6, differing
