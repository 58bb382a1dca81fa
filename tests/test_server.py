"""The server ``make run`` starts (``flask --app service serve``: waitress, one process with
threads) and the production gunicorn configuration, as real processes.

Stalled and trickling clients do not stop posting and end on their own; every rate-limit
budget holds exactly under concurrent requests; logs carry no full client address, email or
token; several gunicorn workers without Redis are refused.
"""

from __future__ import annotations

import logging
import runpy
import secrets
import socket
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable

import pytest
from limits import parse_many
from servers import (
    ROOT,
    Reply,
    Server,
    ServerError,
    comments_path,
    run_threads,
    running_server,
    serving,
)
from support import redis_url

from service import config
from service.cli import server as runner
from service.rules import logs

GUNICORN_CONFIG = ("-c", "python:service.cli.gunicorn_config")
pytestmark = pytest.mark.db  # real servers on the suite's backend (make test-postgres too)
EMAIL = "stall.tester@example.org"


def _post(server: Server, page: str, text: str, **headers: str) -> Reply:
    body = {"name": "Stall Tester", "email": EMAIL, "text": text}
    return server.request("POST", comments_path(page), body, headers=headers)


def _visitor(server: Server, **headers: str) -> Reply:
    return server.request("POST", "/api/v1/visitors?site=default", headers=headers)


def _vote(server: Server, page: str, key: str, value: int, **headers: str) -> Reply:
    path = "/api/v1/ratings?" + urllib.parse.urlencode({"site": "default", "page": page})
    return server.request(
        "PUT", path, {"value": value}, headers={"X-Parley-Visitor": key, **headers}
    )


def _ok(reply: Reply) -> bool:
    return 200 <= reply.status < 300


# --- Stalled connections --------------------------------------------------------------


def _connect(server: Server, data: bytes = b"") -> socket.socket:
    sock = socket.create_connection((server.host, server.port), timeout=5)
    if data:
        sock.sendall(data)
    sock.setblocking(False)  # from now on, reads only look (see _ended)
    return sock


def _post_head(server: Server, length: int) -> bytes:
    return (
        f"POST {comments_path('/stalled')} HTTP/1.1\r\n"
        f"Host: {server.host}:{server.port}\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {length}\r\n\r\n"
    ).encode()


def _ended(sock: socket.socket) -> bool:
    """Whether the server closed this connection (any answer it sent first is read)."""
    try:
        while True:
            if not sock.recv(65536):
                return True
    except BlockingIOError:
        return False
    except OSError:
        return True


@pytest.mark.slow
def test_twenty_stalled_connections_do_not_stop_a_post_and_end_by_themselves(tmp_path):
    with serving(tmp_path) as server:
        head = f"POST {comments_path('/stalled')} HTTP/1.1\r\nHost: 127.0.0.1\r\n".encode()
        stalled = {
            "idle": [_connect(server) for _ in range(5)],
            "half headers": [_connect(server, head) for _ in range(5)],
            "stalled body": [
                _connect(server, _post_head(server, 4000) + b'{"na') for _ in range(5)
            ],
            "trickled body": [_connect(server, _post_head(server, 4000)) for _ in range(5)],
        }
        opened = time.monotonic()
        stop = threading.Event()

        def trickle() -> None:  # one byte every half second, for as long as the server lets it
            while not stop.wait(0.5):
                for sock in stalled["trickled body"]:
                    try:
                        sock.send(b" ")
                    except OSError:
                        pass

        trickler = threading.Thread(target=trickle, daemon=True)
        trickler.start()
        try:
            time.sleep(1)  # every stalled connection is open and has sent what it will
            started = time.monotonic()
            posted = _post(server, "/while-stalled", "posted while 20 connections stall")
            key = _visitor(server)
            voted = _vote(server, "/while-stalled", key.json["visitor"], 4) if _ok(key) else key
            took = time.monotonic() - started
            assert _ok(posted), posted
            assert _ok(key), key
            assert _ok(voted), voted
            # Served while all 20 were held open, well before any of them timed out.
            assert took < runner.IDLE_TIMEOUT, f"the post, the key and the vote took {took:.1f}s"
            assert not [sock for socks in stalled.values() for sock in socks if _ended(sock)]

            # Every stalled connection ends: idle ones after IDLE_TIMEOUT, the others when
            # their request is not whole REQUEST_TIMEOUT seconds after its first byte.
            limit = max(runner.IDLE_TIMEOUT, runner.REQUEST_TIMEOUT) + 10
            ended: dict[str, list[float]] = {kind: [] for kind in stalled}
            open_ = {
                (kind, i): sock for kind, socks in stalled.items() for i, sock in enumerate(socks)
            }
            while open_ and time.monotonic() - opened < limit:
                for name, sock in list(open_.items()):
                    if _ended(sock):
                        ended[name[0]].append(time.monotonic() - opened)
                        del open_[name]
                time.sleep(0.2)
            assert not open_, f"still open after {limit}s: {sorted(open_)}"
            # The trickling ones stayed active past the idle timeout: the request deadline
            # ended them.
            assert min(ended["trickled body"]) >= runner.IDLE_TIMEOUT, ended
        finally:
            stop.set()
            trickler.join(5)
            for socks in stalled.values():
                for sock in socks:
                    sock.close()

        thread = server.request("GET", comments_path("/stalled")).json
        assert thread["comments"] == [], "a stalled request was handled as a post"
        assert server.request("GET", "/healthz").status == 200
        server.assert_no_problems()


# --- Rate limits ----------------------------------------------------------------------


def _at_once(count: int, send: Callable[[int], Reply]) -> list[int]:
    barrier = threading.Barrier(count)

    def one(i: int) -> int:
        barrier.wait(timeout=30)
        return send(i).status

    return sorted(run_threads(count, one))


def _budget(name: str) -> int:
    """The smallest of a limit's windows in the defaults (what a burst runs into)."""
    return min(item.amount for item in parse_many(config.DEFAULTS[name]))


def _from(address: str) -> dict[str, str]:
    return {"X-Forwarded-For": address}  # through the one trusted proxy


def _stored(statuses: list[int]) -> int:
    return len([status for status in statuses if 200 <= status < 300])


# The defaults, as `make run` has them; client addresses through one trusted proxy.
BUDGETS = {"PARLEY_RATELIMIT_ENABLED": "true", "PARLEY_TRUSTED_PROXIES": "1"}


@pytest.mark.slow
def test_the_post_and_visitor_key_budgets_hold_exactly_under_concurrent_requests(tmp_path):
    with serving(tmp_path, env=BUDGETS) as server:
        # Per address: of three budgets' worth of posts sent at once, one budget is stored.
        budget = _budget("PARLEY_POST_LIMIT")
        statuses = _at_once(
            3 * budget, lambda i: _post(server, "/budget", f"post {i}", **_from("198.51.100.7"))
        )
        assert _stored(statuses) == budget and statuses.count(429) == 2 * budget, statuses

        # Per page, whoever posts: every post from an address of its own.
        budget = _budget("PARLEY_PAGE_POST_LIMIT")
        statuses = _at_once(
            budget + 10,
            lambda i: _post(server, "/one-page", f"page post {i}", **_from(f"203.0.113.{i + 1}")),
        )
        assert _stored(statuses) == budget and statuses.count(429) == 10, statuses

        # Visitor keys per address.
        budget = _budget("PARLEY_VISITOR_LIMIT")
        statuses = _at_once(2 * budget, lambda i: _visitor(server, **_from("192.0.2.44")))
        assert statuses == [201] * budget + [429] * budget, statuses

        # A refused post spends nothing: the address still has its whole budget.
        other = _from("198.51.100.99")
        for _ in range(3):
            refused = server.request("POST", comments_path("/b2"), {"text": ""}, headers=other)
            assert refused.status in (400, 422), refused
        budget = _budget("PARLEY_POST_LIMIT")
        statuses = _at_once(2 * budget, lambda i: _post(server, "/b2", f"again {i}", **other))
        assert _stored(statuses) == budget, statuses
        server.assert_no_problems()


@pytest.mark.slow
def test_the_vote_budgets_hold_exactly_under_concurrent_requests(tmp_path):
    with serving(tmp_path, env=BUDGETS) as server:
        per_address = _budget("PARLEY_VISITOR_LIMIT")
        keys = [
            _visitor(server, **_from(f"192.0.2.{n // per_address + 1}")).json["visitor"]
            for n in range(_budget("PARLEY_VOTE_LIMIT") + 10)
        ]

        # Per visitor key: one key voting from many addresses at once.
        budget = _budget("PARLEY_VISITOR_VOTE_LIMIT")
        statuses = _at_once(
            2 * budget,
            lambda i: _vote(server, "/votes", keys[0], 1 + i % 5, **_from(f"198.51.100.{i + 1}")),
        )
        assert statuses == [200] * budget + [429] * budget, statuses

        # Per address: many keys voting from one address at once.
        budget = _budget("PARLEY_VOTE_LIMIT")
        statuses = _at_once(
            len(keys) - 1,
            lambda i: _vote(server, "/votes", keys[i + 1], 4, **_from("203.0.113.200")),
        )
        assert statuses == [200] * budget + [429] * (len(keys) - 1 - budget), statuses
        server.assert_no_problems()


@pytest.mark.slow
def test_several_gunicorn_workers_share_the_post_budget_through_redis(tmp_path):
    env = {**BUDGETS, "PARLEY_REDIS_URL": redis_url()}
    with running_server(tmp_path, workers=2, env=env, options=GUNICORN_CONFIG) as server:
        # The buckets are keyed hashes under this server's own data key: a fresh budget.
        budget = _budget("PARLEY_POST_LIMIT")
        page = f"/redis-{secrets.token_hex(4)}"
        address = _from("198.51.100.7")
        statuses = _at_once(3 * budget, lambda i: _post(server, page, f"post {i}", **address))
        assert _stored(statuses) == budget and statuses.count(429) == 2 * budget, statuses

        other = _from("198.51.100.99")
        for _ in range(3):
            refused = server.request("POST", comments_path(page), {"text": ""}, headers=other)
            assert refused.status in (400, 422), refused
        statuses = _at_once(2 * budget, lambda i: _post(server, page, f"again {i}", **other))
        assert _stored(statuses) == budget, statuses
        server.assert_no_problems()


def test_several_processes_without_redis_are_refused():
    limits = {**config.DEFAULTS, "RATELIMIT_ENABLED": True}
    problem = runner.shared_limits_problem(4, limits)
    assert problem and "PARLEY_REDIS_URL" in problem and "4" in problem
    assert runner.shared_limits_problem(1, limits) is None
    assert runner.shared_limits_problem(4, {**limits, "RATELIMIT_ENABLED": False}) is None
    redis = {**limits, "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/0"}
    assert runner.shared_limits_problem(4, redis) is None


@pytest.mark.slow
def test_the_gunicorn_configuration_refuses_several_workers_without_redis(tmp_path):
    env = {"PARLEY_RATELIMIT_ENABLED": "true"}
    with pytest.raises(ServerError, match="PARLEY_REDIS_URL"):
        with running_server(tmp_path, workers=2, env=env, options=GUNICORN_CONFIG):
            pass


# --- Logs -----------------------------------------------------------------------------


def _private_traffic(server: Server) -> dict[str, str]:
    """Requests whose log lines would leak if the logs were not cut: returns the secrets."""
    tokens = {kind: secrets.token_urlsafe(24) for kind in ("moderate", "confirm", "unsubscribe")}
    for kind, token in tokens.items():
        server.request("GET", f"/notify/{kind}/{token}?t={token}")
    server.request("GET", "/healthz", headers={"X-Forwarded-For": "203.0.113.77"})
    server.request("GET", "/healthz", headers={"X-Forwarded-For": "2001:db8:abcd:12:3456::1"})
    searched = "someone.searched@example.org"
    server.request("GET", "/admin/comments?" + urllib.parse.urlencode({"q": searched}))
    posted = _post(server, "/logged", "a comment", **{"X-Forwarded-For": "198.51.100.23"})
    assert _ok(posted), posted
    edit_token = posted.json["edit_token"]
    server.request(
        "PATCH",
        f"/api/v1/comments/{posted.json['comment']['id']}?token={edit_token}",
        {"text": "edited"},
        headers={"X-Parley-Edit-Token": edit_token},
    )
    key = _visitor(server).json["visitor"]
    _vote(server, "/logged", key, 5)
    return {
        **{f"{kind} token": token for kind, token in tokens.items()},
        "edit token": edit_token,
        "visitor key": key,
        "searched email": searched,
        "author's email": EMAIL,
        "IPv4 address": "203.0.113.77",
        "IPv6 address": "2001:db8:abcd:12:3456",
        "poster's address": "198.51.100.23",
    }


def _assert_private(log: str, secrets_: dict[str, str]) -> None:
    leaked = {name: value for name, value in secrets_.items() if value in log}
    assert not leaked, f"the log shows {sorted(leaked)}:\n{log[-4000:]}"
    assert "/notify/confirm/[redacted]" in log, log[-4000:]
    assert '203.0.113.0 "GET /healthz' in log, log[-4000:]
    assert '2001:db8:abcd:: "GET /healthz' in log, log[-4000:]
    assert '198.51.100.0 "POST /api/v1/comments' in log, log[-4000:]


@pytest.mark.slow
def test_the_servers_log_has_no_address_email_or_token(tmp_path):
    with serving(tmp_path, env={"PARLEY_TRUSTED_PROXIES": "1"}) as server:
        leaks = _private_traffic(server)
        time.sleep(0.5)
        _assert_private(server.log(), leaks)


@pytest.mark.slow
def test_the_gunicorn_configurations_log_has_no_address_email_or_token(tmp_path):
    env = {"PARLEY_TRUSTED_PROXIES": "1"}
    with running_server(tmp_path, workers=1, env=env, options=GUNICORN_CONFIG) as server:
        leaks = _private_traffic(server)
        time.sleep(0.5)
        _assert_private(server.log(), leaks)
        assert "gthread" in server.log()


@pytest.mark.slow
def test_production_prints_no_demo_login(tmp_path):
    env = {"PARLEY_ENV": "production", "PARLEY_PUBLIC_URL": "https://comments.example.org"}
    with serving(tmp_path, env=env) as server:
        banner = (tmp_path / "serve.out").read_text()
        assert "Parley is running on" in banner
        assert "Admin:" not in banner and "parley.localhost" not in banner
        assert "parley.localhost" not in server.log()
    with serving(tmp_path / "development") as server:
        banner = (tmp_path / "development" / "serve.out").read_text()
        assert "Admin:" in banner and "admin@parley.localhost" in banner
        assert "admin@parley.localhost" not in server.log()


# --- Redaction rules ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "logged"),
    [
        ("/notify/confirm/abc.DEF-123", "/notify/confirm/[redacted]"),
        ("/notify/unsubscribe/x?site=default", "/notify/unsubscribe/[redacted]?site=default"),
        (
            "/api/v1/comments?site=s&page=/p&email=a@b.org&q=x&token=t",
            "/api/v1/comments?site=s&page=/p&email=[redacted]&q=[redacted]&token=[redacted]",
        ),
        ("/x?SECRET", "/x?[redacted]"),
        ('/x?page=a"b\nc', "/x?page=a%22b%0Ac"),
    ],
)
def test_request_targets_lose_tokens_and_private_values(target, logged):
    assert logs.redact_target(target) == logged


def test_any_log_text_loses_addresses_emails_and_tokens():
    line = (
        "Invalid request from ip=203.0.113.77: 'GET /notify/moderate/T0K3N?email=a@b.org' "
        "by 2001:db8:abcd:12::9 for someone@example.org at 12:34:56, listening on 127.0.0.1:8000"
    )
    assert logs.redact(line) == (
        "Invalid request from ip=203.0.113.0: 'GET /notify/moderate/[redacted]?email=[redacted]' "
        "by 2001:db8:abcd:: for [email] at 12:34:56, listening on 127.0.0.1:8000"
    )


def test_the_formatter_redacts_tracebacks_too():
    formatter = logs.RedactingFormatter("%(message)s")
    try:
        raise ValueError("duplicate key (email)=(someone@example.org) from 198.51.100.23")
    except ValueError:
        record = logging.LogRecord("t", logging.ERROR, __file__, 1, "failed", None, sys.exc_info())
    text = formatter.format(record)
    assert "someone@example.org" not in text and "198.51.100.23" not in text
    assert "[email]" in text and "198.51.100.0" in text


def test_the_gunicorn_configuration_names_its_protections():
    settings = runpy.run_path(str(ROOT / "service" / "cli" / "gunicorn_config.py"))
    assert settings["worker_class"] == "gthread" and settings["threads"] > 1
    assert settings["timeout"] and settings["backlog"] and settings["keepalive"]
    assert settings["limit_request_line"] and settings["limit_request_field_size"]
    assert settings["accesslog"] is None
