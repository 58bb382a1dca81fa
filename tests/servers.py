"""Real servers for tests: gunicorn workers on a real database, and load to drive them.

``running_server`` prepares a database with ``flask --app service init`` and
starts ``gunicorn -w N wsgi:app`` as a subprocess on a socket the test process
bound itself (so two test workers never race for a port), waits for
``/healthz``, and stops the server on exit. If the server crashed, or the test
failed, the server's log is attached to the error.

``serving`` starts what ``make run`` starts, ``flask --app service serve`` (waitress in one
process), on a free port given as ``PARLEY_PORT``, and stops it with SIGTERM.

``postgres_database`` creates a throw-away PostgreSQL database and drops it.

``Mailbox`` (SMTP) and ``WebhookReceiver`` (HTTP) are servers on loopback that keep
what the service sends them; conftest's ``mailbox`` and ``receiver`` fixtures run them.

The ``*_scenario`` functions are the concurrency checks that run the same way
against every backend; they use only the standard library's HTTP client.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import secrets
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Self

import pytest
from aiosmtpd.controller import Controller
from backends import on_postgres, require_postgres, unavailable

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent  # the venv's executables, whatever the shell's PATH
SECRET_KEY = "server-test-secret-" + "0123456789abcdefghijklmnopqrstuv"  # production: 8+ kinds
POSTGRES_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
POSTGRES_HOST = "postgresql+psycopg://postgres@127.0.0.1:5432"
STARTUP_SECONDS = 30.0
EMAIL = "load.tester@example.org"
PROBLEM_MARKERS = (
    "database is locked",
    "Warning:",
    "WORKER TIMEOUT",
    "Worker exited",
    "[ERROR]",
    "[CRITICAL]",
)


class ServerError(RuntimeError):
    """The server could not be prepared or started, or it crashed."""


# --- PostgreSQL -------------------------------------------------------------------------


def postgres_unavailable() -> str | None:
    """Why the test PostgreSQL server cannot be used, or None when it can."""
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed (pip install 'psycopg[binary]')"
    try:
        with psycopg.connect(POSTGRES_ADMIN, connect_timeout=3):
            return None
    except psycopg.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"PostgreSQL ({POSTGRES_ADMIN}) is unreachable: {first}"


@contextmanager
def postgres_database(prefix: str = "parley_test") -> Iterator[str]:
    """A fresh, empty PostgreSQL database; yields its SQLAlchemy URL and drops it after."""
    import psycopg
    from psycopg import sql

    name = f"{prefix}_{secrets.token_hex(6)}"
    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield f"{POSTGRES_HOST}/{name}"
    finally:
        with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


# --- HTTP -------------------------------------------------------------------------------


@dataclass
class Reply:
    """One HTTP answer."""

    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    def __str__(self) -> str:
        return f"{self.status} {self.body[:500]!r}"


@dataclass
class Server:
    """A running gunicorn server."""

    host: str
    port: int
    database_url: str
    instance: Path
    process: subprocess.Popen[bytes]
    log_path: Path
    log_offset: int = 0

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def log(self) -> str:
        """Everything the server wrote to stderr so far (gunicorn's log and tracebacks)."""
        return self.log_path.read_text(errors="replace")

    def checkpoint(self) -> None:
        """From now on, ``problems`` looks only at what the server logs after this point."""
        self.log_offset = len(self.log())

    def problems(self) -> list[str]:
        """What went wrong since the checkpoint: the exception ending each traceback,
        warnings, locked-database answers, worker deaths and gunicorn errors."""
        found: list[str] = []
        in_traceback = False
        for line in self.log()[self.log_offset :].splitlines():
            if line.startswith("Traceback (most recent call last)"):
                in_traceback = True
            elif in_traceback and line and not line[0].isspace():
                if not line.startswith(("The above exception", "During handling")):
                    found.append(line)
                    in_traceback = False
            elif any(marker in line for marker in PROBLEM_MARKERS):
                found.append(line.strip())
        return found

    def assert_no_problems(self) -> None:
        problems = self.problems()
        assert not problems, "the server logged problems:\n" + "\n".join(problems[:30])

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        headers: dict[str, str] | None = None,
        timeout: float = 30.0,
    ) -> Reply:
        """Send one request on a fresh connection (sync workers close it anyway)."""
        sent = dict(headers or {})
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            sent.setdefault("Content-Type", "application/json")
        connection = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            connection.request(method, path, body=data, headers=sent)
            answer = connection.getresponse()
            return Reply(answer.status, dict(answer.getheaders()), answer.read())
        finally:
            connection.close()


def _gunicorn_has(setting: str) -> bool:
    try:
        from gunicorn import config
    except ImportError:
        return False
    return any(getattr(s, "name", None) == setting for s in config.KNOWN_SETTINGS)


def server_environment(instance: Path, database_url: str, **extra: str) -> dict[str, str]:
    """The server's environment: the shell's, minus every PARLEY_* setting, plus ours."""
    from service.config import new_data_key

    env = {k: v for k, v in os.environ.items() if not k.startswith("PARLEY_")}
    env.update(
        PARLEY_INSTANCE_PATH=str(instance),
        PARLEY_DATABASE_URL=database_url,
        PARLEY_RATELIMIT_ENABLED="false",
        # The tests' clients post without form tokens: judged by the site's policy, as in
        # support.base_config (the default, `moderate`, is tested in test_post_tokens.py).
        PARLEY_TOKENLESS_POSTS="policy",
        PARLEY_SECRET_KEY=SECRET_KEY,
        PARLEY_DATA_KEY=new_data_key(),
        PYTHONUNBUFFERED="1",
    )
    env.pop("FLASK_APP", None)
    env.update(extra)
    return env


def init_database(env: dict[str, str]) -> None:
    """``flask --app service init``: migrations and the default site."""
    done = subprocess.run(
        [str(BIN / "flask"), "--app", "service", "init"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        raise ServerError(
            f"`flask --app service init` failed ({done.returncode}):\n"
            + excerpt(done.stdout + done.stderr, 4_000)
        )


def excerpt(log: str, limit: int = 8_000) -> str:
    """The end of a long log: enough to show why, short enough to read."""
    return log if len(log) <= limit else "[...]\n" + log[-limit:]


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def _wait_healthy(server: Server) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    last = "no answer yet"
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise ServerError(
                f"gunicorn exited with {server.process.returncode} while starting:\n"
                + excerpt(server.log())
            )
        try:
            reply = server.request("GET", "/healthz", timeout=2)
            if reply.status == 200:
                return
            last = str(reply)
        except OSError as exc:
            last = repr(exc)
        time.sleep(0.05)
    raise ServerError(
        f"/healthz did not answer 200 in {STARTUP_SECONDS}s ({last}):\n" + excerpt(server.log())
    )


@contextmanager
def running_server(
    instance: Path,
    database_url: str | None = None,
    *,
    workers: int = 4,
    env: dict[str, str] | None = None,
    options: tuple[str, ...] = (),
) -> Iterator[Server]:
    """A prepared database and ``gunicorn -w workers wsgi:app`` serving it.

    ``options`` go on gunicorn's command line before the application (``-c ...``: the
    production configuration, whose settings the ones given here override).

    ``database_url`` defaults to a SQLite file in ``instance`` (``make test-postgres``: a
    fresh PostgreSQL database, dropped after). On leaving, the
    server gets SIGTERM; a server that died on its own raises ``ServerError``
    with its log, and an error raised inside the block gets the log attached.
    """
    if database_url is None and on_postgres():
        require_postgres()
        with (
            postgres_database() as url,
            running_server(instance, url, workers=workers, env=env, options=options) as server,
        ):
            yield server
        return
    instance.mkdir(parents=True, exist_ok=True)
    url = database_url or f"sqlite:///{instance / 'parley.sqlite'}"
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(256)
    port = listener.getsockname()[1]
    public = {"PARLEY_PUBLIC_URL": f"http://127.0.0.1:{port}"}
    environment = server_environment(instance, url, **(public | (env or {})))
    init_database(environment)
    fd = listener.fileno()
    command = [
        str(BIN / "gunicorn"),
        "--chdir",
        str(ROOT),
        "-w",
        str(workers),
        "-b",
        f"fd://{fd}",
        "--graceful-timeout",
        "5",
        "--timeout",
        "60",
        "--log-level",
        "info",
    ]
    if _gunicorn_has("control_socket_disable"):
        command.append("--no-control-socket")  # else every server shares ~/.gunicorn/*.ctl
    command += [*options, "wsgi:app"]
    log_path = instance / "gunicorn.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command, cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT, pass_fds=[fd]
        )
    listener.close()  # gunicorn holds its own copy
    server = Server("127.0.0.1", port, url, instance, process, log_path)
    try:
        _wait_healthy(server)
        yield server
    except BaseException as exc:
        _stop(process)
        if isinstance(exc, Exception) and not isinstance(exc, ServerError):
            exc.add_note("--- server log ---\n" + excerpt(server.log()[server.log_offset :]))
        raise
    crashed = process.poll()
    _stop(process)
    if crashed is not None:
        raise ServerError(
            f"gunicorn died during the test (exit {crashed}):\n" + excerpt(server.log())
        )


@contextmanager
def serving(
    instance: Path, *, env: dict[str, str] | None = None, database_url: str | None = None
) -> Iterator[Server]:
    """``make run``'s server as a real process: ``flask --app service serve`` (waitress, one
    process with threads, the outbox worker beside it), which migrates its own database.

    The port comes from ``PARLEY_PORT``, as with ``make run``; the logs (stderr) are
    ``server.log()``, the banner (stdout) is ``instance / "serve.out"``. On leaving, the
    server gets SIGTERM and must stop cleanly (exit 0). The database is a SQLite file in
    ``instance`` (``make test-postgres``: a fresh PostgreSQL database, dropped after).
    """
    if database_url is None and on_postgres():
        require_postgres()
        with postgres_database() as url, serving(instance, env=env, database_url=url) as server:
            yield server
        return
    instance.mkdir(parents=True, exist_ok=True)
    url = database_url or f"sqlite:///{instance / 'parley.sqlite'}"
    log_path = instance / "serve.log"
    for attempt in range(3):
        port = free_port()  # another test may take it before the server binds it: retried
        environment = server_environment(instance, url, PARLEY_PORT=str(port), **(env or {}))
        with log_path.open("wb") as log, (instance / "serve.out").open("wb") as out:
            process = subprocess.Popen(
                [str(BIN / "flask"), "--app", "service", "serve"],
                cwd=ROOT,
                env=environment,
                stdout=out,
                stderr=log,
            )
        server = Server("127.0.0.1", port, url, instance, process, log_path)
        try:
            # It migrates before it serves: the banner first (slow on a busy machine), then
            # /healthz.
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and process.poll() is None:
                if "Parley is running on" in (instance / "serve.out").read_text():
                    break
                time.sleep(0.1)
            _wait_healthy(server)
            break
        except ServerError:
            _stop(process)
            if attempt == 2 or "Address already in use" not in server.log():
                raise
    try:
        yield server
    except BaseException as exc:
        _stop(process)
        if isinstance(exc, Exception):
            exc.add_note("--- server log ---\n" + excerpt(server.log()[server.log_offset :]))
        raise
    crashed = process.poll()
    _stop(process)
    if crashed is not None or process.returncode != 0:
        raise ServerError(
            f"`flask --app service serve` ended with {process.returncode}:\n"
            + excerpt(server.log())
        )


# --- Loopback receivers: mail and webhook calls ------------------------------------------


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class LoopbackServer:
    """A server on 127.0.0.1 that keeps what it receives.

    ``with`` starts and stops it; ``stop()`` and ``start()`` inside the block play an
    outage, and the server comes back on the same port.
    """

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *_exc_info: object) -> None:
        self.stop()


class Mailbox(LoopbackServer):
    """An SMTP server (aiosmtpd) that keeps every message, its envelope and its bytes."""

    def __init__(self) -> None:
        self.port = free_port()
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.raw: list[bytes] = []
        self._controller: Controller | None = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.raw.append(envelope.content)
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"

    def start(self) -> None:
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


class WebhookReceiver(LoopbackServer):
    """An HTTP server that records every POST (path, headers, body) and answers ``status``."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.status = 200
        self.port = 0  # chosen by the first start, kept by later ones
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/parley?x=1"

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length", "0"))
                receiver.requests.append(
                    {
                        "path": self.path,
                        "headers": dict(self.headers),
                        "body": self.rfile.read(length),
                    }
                )
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None


# --- Load scenarios ---------------------------------------------------------------------


def comments_path(page: str, site: str = "default", **query: Any) -> str:
    return "/api/v1/comments?" + urllib.parse.urlencode({"site": site, "page": page, **query})


def _body(text: str, **fields: Any) -> dict[str, Any]:
    return {"name": "Load Tester", "email": EMAIL, "text": text, **fields}


def _marker() -> str:
    return secrets.token_hex(8)


def run_threads(count: int, work: Callable[[int], Any]) -> list[Any]:
    """Run ``work(i)`` for i in range(count) on as many threads; re-raise the first error."""
    with ThreadPoolExecutor(max_workers=count) as pool:
        futures = [pool.submit(work, i) for i in range(count)]
        return [f.result() for f in futures]


def collect_thread(
    server: Server, page: str, *, sort: str = "oldest", limit: int = 7, **query: Any
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Every comment of a thread (or of one parent's replies) through cursor paging."""
    found: list[dict[str, Any]] = []
    cursor: str | None = None
    page_block: dict[str, Any] = {}
    for _ in range(10_000):
        params: dict[str, Any] = {"sort": sort, "limit": limit, **query}
        if cursor:
            params["cursor"] = cursor
        reply = server.request("GET", comments_path(page, **params))
        assert reply.status == 200, reply
        data = reply.json
        page_block = data["page"]
        found.extend(data["comments"])
        cursor = data["next"]
        if not cursor:
            return found, page_block
    raise AssertionError("cursor paging did not end")


def posters_scenario(
    server: Server, *, threads: int = 8, posts: int = 15, page: str = "/load"
) -> list[int]:
    """Concurrent posters: each gets its own comment back, and its token edits only that."""
    lock = threading.Lock()
    posted: dict[int, tuple[int, str]] = {}  # id -> (poster, edit token)
    failures: list[str] = []

    def poster(who: int) -> None:
        for n in range(posts):
            text = f"poster-{who}-post-{n}-{_marker()}"
            reply = server.request("POST", comments_path(page), _body(text))
            if reply.status != 201:
                failures.append(f"poster {who} post {n}: {reply}")
                continue
            data = reply.json
            comment, token = data["comment"], data["edit_token"]
            if text not in comment["html"]:
                failures.append(f"poster {who} got someone else's comment: {comment['html']!r}")
                continue
            with lock:
                others = [cid for cid, (owner, _) in posted.items() if owner != who]
                posted[comment["id"]] = (who, token)
            edited = f"{text}-edited"
            own = server.request(
                "PATCH",
                f"/api/v1/comments/{comment['id']}",
                {"text": edited},
                headers={"X-Parley-Edit-Token": token},
            )
            if own.status != 200 or edited not in own.json["comment"]["html"]:
                failures.append(f"poster {who} could not edit its own comment: {own}")
            if others:
                foreign = others[(who * 7 + n) % len(others)]
                theirs = server.request(
                    "PATCH",
                    f"/api/v1/comments/{foreign}",
                    {"text": "hijacked"},
                    headers={"X-Parley-Edit-Token": token},
                )
                if theirs.status != 403:
                    failures.append(f"poster {who} edited comment {foreign}: {theirs}")

    run_threads(threads, poster)
    assert not failures, "\n".join(failures[:20])
    assert len(posted) == threads * posts, "two posters were given the same comment id"

    for sort in ("oldest", "newest"):
        comments, block = collect_thread(server, page, sort=sort)
        ids = [c["id"] for c in comments]
        assert len(ids) == len(set(ids)), f"{sort}: paging returned a comment twice"
        assert set(ids) == set(posted), f"{sort}: paging lost or invented comments"
        # Ordered by (created, id); ids and times need not agree across workers
        # (PostgreSQL), so only the times shown (to the second) are checked.
        times = [c["created"] for c in comments]
        assert times == sorted(times, reverse=sort == "newest"), f"{sort}: out of order"
        assert block["comment_count"] == threads * posts
        assert all("hijacked" not in c["html"] and "-edited" in c["html"] for c in comments)
    return sorted(posted)


def replies_scenario(
    server: Server, *, threads: int = 8, replies: int = 5, page: str = "/replies"
) -> None:
    """Concurrent replies to one parent all land under it, each once."""
    parent = server.request("POST", comments_path(page), _body("the parent"))
    assert parent.status == 201, parent
    parent_id = parent.json["comment"]["id"]
    barrier = threading.Barrier(threads)

    def replier(who: int) -> list[int]:
        barrier.wait(timeout=30)
        ids = []
        for n in range(replies):
            text = f"reply-{who}-{n}-{_marker()}"
            reply = server.request("POST", comments_path(page), _body(text, parent=parent_id))
            assert reply.status == 201, f"replier {who}: {reply}"
            comment = reply.json["comment"]
            assert text in comment["html"] and comment["parent"] == parent_id
            ids.append(comment["id"])
        return ids

    posted = [cid for ids in run_threads(threads, replier) for cid in ids]
    total = threads * replies
    assert len(set(posted)) == total

    listed, block = collect_thread(server, page, parent=parent_id, limit=9)
    assert sorted(c["id"] for c in listed) == sorted(posted)
    assert block["comment_count"] == total + 1

    top = server.request("GET", comments_path(page)).json["comments"]
    assert [c["id"] for c in top] == [parent_id]
    shown = top[0]["replies"]
    assert len(shown) + top[0]["more_replies"] == total
    assert {c["id"] for c in shown} <= set(posted)


def first_posts_scenario(
    server: Server,
    *,
    threads: int = 8,
    rounds: int = 4,
    page_count: Callable[[str], int] | None = None,
) -> None:
    """Concurrent first posts to brand-new pages: one page row each, every post on it."""
    for round_ in range(rounds):
        page = f"/fresh-{round_}-{_marker()}"
        barrier = threading.Barrier(threads)

        def first(who: int, page: str = page, barrier: threading.Barrier = barrier) -> int:
            text = f"first-{who}-{_marker()}"
            barrier.wait(timeout=30)
            reply = server.request("POST", comments_path(page), _body(text))
            assert reply.status == 201, f"first poster {who} on {page}: {reply}"
            assert text in reply.json["comment"]["html"]
            return int(reply.json["comment"]["id"])

        posted = run_threads(threads, first)
        listed, block = collect_thread(server, page, limit=100)
        assert sorted(c["id"] for c in listed) == sorted(posted)
        assert block["comment_count"] == threads
        if page_count is not None:
            assert page_count(page) == 1


def votes_scenario(
    server: Server, *, visitors: int = 4, per_visitor: int = 3, rounds: int = 3
) -> None:
    """Concurrent likes and votes, several at once from each visitor (double clicks).

    The first votes also create the page. Every answer is 200; each visitor's
    like counts once and its vote once, and the aggregate (count, histogram,
    average) matches the vote each visitor ends with.
    """
    page = f"/votes-{_marker()}"
    target = server.request("POST", comments_path(page + "-comments"), _body("like me"))
    assert target.status == 201, target
    comment_id = target.json["comment"]["id"]
    keys = []
    for _ in range(visitors):
        issued = server.request("POST", "/api/v1/visitors")
        assert issued.status == 201, issued
        keys.append(issued.json["visitor"])
    threads = visitors * per_visitor
    barrier = threading.Barrier(threads)
    ratings = "/api/v1/ratings?" + urllib.parse.urlencode({"site": "default", "page": page})
    like = f"/api/v1/comments/{comment_id}/like"

    def voter(n: int) -> None:
        who = n % visitors
        headers = {"X-Parley-Visitor": keys[who]}
        for round_ in range(rounds):
            value = 1 + (who + n + round_) % 5
            barrier.wait(timeout=30)
            voted = server.request("PUT", ratings, {"value": value}, headers=headers)
            assert voted.status == 200, f"vote {n}: {voted}"
            liked = server.request("PUT", like, headers=headers)
            assert liked.status == 200, f"like {n}: {liked}"

    run_threads(threads, voter)

    likes = server.request("GET", comments_path(page + "-comments")).json["comments"][0]["likes"]
    assert likes == visitors, f"{visitors} visitors liked, the comment has {likes} likes"
    finals = []
    for key in keys:
        mine = server.request("GET", ratings, headers={"X-Parley-Visitor": key})
        assert mine.status == 200, mine
        finals.append(mine.json["yours"])
    summary = mine.json
    wrong = f"aggregate {summary} but the visitors' votes are {finals}"
    assert summary["count"] == visitors, wrong
    histogram = {str(v): finals.count(v) for v in range(1, summary["scale"] + 1)}
    assert summary["histogram"] == histogram, wrong
    assert summary["average"] == pytest.approx(sum(finals) / visitors, abs=0.051), wrong


def double_delete_scenario(server: Server, *, clicks: int = 6, rounds: int = 3) -> None:
    """An author's delete sent several times at once: deleted once, counted once, no 500.

    Both kinds of delete: a comment with a reply (it stays as a placeholder)
    and one without (the row goes).
    """
    for round_ in range(rounds):
        page = f"/double-delete-{round_}-{_marker()}"
        parent = server.request("POST", comments_path(page), _body("parent")).json
        reply = server.request(
            "POST", comments_path(page), _body("reply", parent=parent["comment"]["id"])
        ).json
        alone = server.request("POST", comments_path(page), _body("alone")).json
        targets = [("parent", parent), ("alone", alone)]
        barrier = threading.Barrier(clicks)

        def click(
            n: int,
            barrier: threading.Barrier = barrier,
            targets: list[tuple[str, dict[str, Any]]] = targets,
        ) -> dict[str, int]:
            statuses = {}
            barrier.wait(timeout=30)
            for name, posted in targets if n % 2 else targets[::-1]:
                answer = server.request(
                    "DELETE",
                    f"/api/v1/comments/{posted['comment']['id']}",
                    headers={"X-Parley-Edit-Token": posted["edit_token"]},
                )
                statuses[name] = answer.status
            return statuses

        results = run_threads(clicks, click)
        listed, block = collect_thread(server, page)
        failures = []
        for name, _ in targets:
            got = sorted(r[name] for r in results)
            if got != [204] + [404] * (clicks - 1):
                failures.append(f"deleting {name!r} {clicks} times at once answered {got}")
        shown = [(c["id"], c["deleted"], [r["id"] for r in c["replies"]]) for c in listed]
        if shown != [(parent["comment"]["id"], True, [reply["comment"]["id"]])]:
            failures.append(f"the thread is not one placeholder with its reply: {shown}")
        if block["comment_count"] != 1:
            failures.append(f"one comment is left but the page counts {block['comment_count']}")
        assert not failures, f"round {round_}: " + "; ".join(failures)


# --- Requests that keep every header, and an admin's session -----------------------------


@dataclass
class Answer(Reply):
    """One HTTP answer with every header line as sent (``headers`` keeps the last of each
    name): the cookies an answer sets, several ``Vary`` lines."""

    lines: list[tuple[str, str]] = field(default_factory=list)

    def header(self, name: str) -> str | None:
        """The header's value (its lines joined with ", "), whatever its case; None if absent."""
        found = [value for key, value in self.lines if key.lower() == name.lower()]
        return ", ".join(found) if found else None

    def cookies(self) -> dict[str, str]:
        """The cookies the answer sets, by name."""
        pairs = (v.split(";", 1)[0] for k, v in self.lines if k.lower() == "set-cookie")
        return dict(pair.strip().split("=", 1) for pair in pairs)


def exchange(
    host: str,
    port: int,
    method: str,
    path: str,
    body: Any = None,
    *,
    headers: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
    raw: bytes | None = None,
    context: ssl.SSLContext | None = None,
    timeout: float = 30.0,
) -> Answer:
    """One request on a fresh connection (HTTPS with ``context``): ``body`` is sent as JSON,
    ``form`` as a form, ``raw`` as it is."""
    sent = dict(headers or {})
    data = raw
    if body is not None:
        data = json.dumps(body).encode()
        sent.setdefault("Content-Type", "application/json")
    elif form is not None:
        data = urllib.parse.urlencode(form).encode()
        sent.setdefault("Content-Type", "application/x-www-form-urlencoded")
    connection: http.client.HTTPConnection
    if context is None:
        connection = http.client.HTTPConnection(host, port, timeout=timeout)
    else:
        connection = http.client.HTTPSConnection(host, port, timeout=timeout, context=context)
    try:
        connection.request(method, path, body=data, headers=sent)
        answer = connection.getresponse()
        lines = answer.getheaders()
        return Answer(answer.status, dict(lines), answer.read(), lines)
    finally:
        connection.close()


def csrf_token_of(html: str) -> str:
    """The CSRF token of an admin page's forms."""
    match = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', html)
    assert match, "the page has no CSRF token"
    return match.group(1)


class AdminSession:
    """A moderator logged in over HTTP, as a browser is: the admin cookie, the CSRF token of
    the pages, and (over HTTPS, where Flask-WTF checks it) a Referer on the same host."""

    def __init__(self, send: Callable[..., Answer], email: str, password: str, origin: str) -> None:
        self._send = send
        self.origin = origin  # https://host of the requests, for the Referer
        self.cookies: dict[str, str] = {}
        login = self.get("/admin/login")
        assert login.status == 200, login
        done = self.post(
            "/admin/login",
            {
                "csrf_token": csrf_token_of(login.body.decode()),
                "email": email,
                "password": password,
            },
        )
        assert done.status == 303, done

    def _headers(self, path: str) -> dict[str, str]:
        headers = {"Referer": self.origin + path}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        return headers

    def _keep(self, answer: Answer) -> Answer:
        self.cookies.update(answer.cookies())
        return answer

    def get(self, path: str, **headers: str) -> Answer:
        return self._keep(self._send("GET", path, headers={**self._headers(path), **headers}))

    def post(self, path: str, form: dict[str, str]) -> Answer:
        return self._keep(self._send("POST", path, headers=self._headers(path), form=form))

    def act(self, path: str, **form: str) -> Answer:
        """POST an admin form with the token of the dashboard's forms."""
        token = csrf_token_of(self.get("/admin/").body.decode())
        return self.post(path, {"csrf_token": token, **form})


# --- nginx in front: the configuration in deploy/nginx, as shipped ------------------------

NGINX = Path("/usr/sbin/nginx")
NGINX_SITE = ROOT / "deploy" / "nginx" / "parley.conf"
NGINX_HOST = "comments.example.org"  # the shipped file's server_name: what clients send


def nginx_unavailable() -> str | None:
    """Why Debian's nginx cannot be run here, or None when it can."""
    if not os.access(NGINX, os.X_OK):
        return f"{NGINX} is missing (apt-get install nginx)"
    return None


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, valid for a day."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_path.chmod(0o600)
    return cert_path, key_path


def nginx_site(upstream: int, https: int, http: int, folder: Path, cert: Path, key: Path) -> str:
    """deploy/nginx/parley.conf with only its ports and paths changed: every line the file
    ships with runs as it is. A change to the file that moves one of these fails here."""
    text = NGINX_SITE.read_text()
    changes = {
        "server 127.0.0.1:8000;": f"server 127.0.0.1:{upstream};",
        "listen 443 ssl http2;": f"listen 127.0.0.1:{https} ssl http2;",
        "listen 80;": f"listen 127.0.0.1:{http};",
        "proxy_cache_path /var/cache/nginx/parley ": f"proxy_cache_path {folder / 'cache'} ",
        f"/etc/letsencrypt/live/{NGINX_HOST}/fullchain.pem": str(cert),
        f"/etc/letsencrypt/live/{NGINX_HOST}/privkey.pem": str(key),
    }
    for old, new in changes.items():
        count = text.count(old)
        assert count == 1, f"{NGINX_SITE.name} holds {old!r} {count} times, not once"
        text = text.replace(old, new)
    return text


def nginx_main(folder: Path, site: Path) -> str:
    """The main configuration a test nginx runs with: everything it writes in ``folder``,
    Debian's defaults otherwise, and the site included in ``http`` as conf.d files are."""
    user = ""
    if os.geteuid() == 0:  # workers would run as nobody, who cannot enter the test's folder
        import grp
        import pwd

        user = f"user {pwd.getpwuid(os.geteuid()).pw_name} {grp.getgrgid(os.getegid()).gr_name};"
    temp = "\n".join(
        f"    {kind}_temp_path {folder / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return f"""{user}
daemon off;
worker_processes 2;
pid {folder / "nginx.pid"};
error_log {folder / "error.log"} info;
events {{
    worker_connections 512;
}}
http {{
    default_type application/octet-stream;
    access_log {folder / "access.log"};
{temp}
    include {site};
}}
"""


@dataclass
class Proxy:
    """A running nginx in front of a Parley server: HTTPS on ``port``, plain HTTP (the
    redirect) on ``http_port``."""

    port: int
    http_port: int
    folder: Path
    process: subprocess.Popen[bytes]
    context: ssl.SSLContext
    host: str = "127.0.0.1"

    def log(self) -> str:
        return (self.folder / "error.log").read_text(errors="replace")

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        headers: dict[str, str] | None = None,
        form: dict[str, str] | None = None,
        raw: bytes | None = None,
        timeout: float = 30.0,
    ) -> Answer:
        """One request over HTTPS, for the host name the site serves (``Host``)."""
        sent = {"Host": NGINX_HOST, **(headers or {})}
        return exchange(
            self.host,
            self.port,
            method,
            path,
            body,
            headers=sent,
            form=form,
            raw=raw,
            context=self.context,
            timeout=timeout,
        )

    def connect(self, timeout: float = 30.0) -> ssl.SSLSocket:
        """A TLS connection to nginx, to write a request by hand."""
        plain = socket.create_connection((self.host, self.port), timeout=timeout)
        return self.context.wrap_socket(plain, server_hostname=self.host)


def _stop_nginx(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGQUIT)  # graceful: open requests are answered first
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


@contextmanager
def running_nginx(upstream: Server, folder: Path) -> Iterator[Proxy]:
    """Debian's nginx with deploy/nginx/parley.conf in front of ``upstream``, on ports of
    its own; stopped (SIGQUIT) on leaving. Skips, or fails where every service must be
    there, when nginx is missing."""
    reason = nginx_unavailable()
    if reason:
        unavailable(reason)
    folder.mkdir(parents=True, exist_ok=True)
    cert, key = self_signed(folder)
    context = ssl.create_default_context(cafile=str(cert))
    for attempt in range(3):
        port, http_port = free_port(), free_port()  # taken meanwhile: tried again
        site = folder / "parley.conf"
        site.write_text(nginx_site(upstream.port, port, http_port, folder, cert, key))
        main = folder / "nginx.conf"
        main.write_text(nginx_main(folder, site))
        log = folder / "error.log"
        log.write_text("")
        command = [str(NGINX), "-p", str(folder), "-c", str(main), "-e", str(log)]
        with (folder / "nginx.out").open("wb") as out:
            process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
        proxy = Proxy(port, http_port, folder, process, context)
        deadline = time.monotonic() + STARTUP_SECONDS
        started = False
        while time.monotonic() < deadline and process.poll() is None:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    started = True
                    break
            except OSError:
                time.sleep(0.05)
        if started:
            break
        _stop_nginx(process)
        told = proxy.log() + (folder / "nginx.out").read_text(errors="replace")
        if attempt == 2 or "Address already in use" not in told:
            raise ServerError(f"nginx did not start:\n{excerpt(told)}")
    try:
        yield proxy
    except BaseException as exc:
        _stop_nginx(process)
        if isinstance(exc, Exception):
            exc.add_note("--- nginx error log ---\n" + excerpt(proxy.log(), 4_000))
        raise
    crashed = process.poll()
    _stop_nginx(process)
    if crashed is not None:
        raise ServerError(f"nginx died during the test (exit {crashed}):\n{excerpt(proxy.log())}")
