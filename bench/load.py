"""Load on a real server: gunicorn (4 sync workers) on loopback, driven by a thread pool.

For each backend (a SQLite file; PostgreSQL too when it answers at
postgresql+psycopg://postgres@127.0.0.1:5432, in a throwaway database
``parley_bench_<random>`` dropped afterwards) the script prepares a database
with ``flask --app service init``, seeds it with bulk inserts, starts
``gunicorn -w 4 wsgi:app`` on a free port of 127.0.0.1 with
``PARLEY_RATELIMIT_ENABLED=false``, and sends a 90/10 mix of thread reads
(``GET /api/v1/comments``, random page) and posts (``POST /api/v1/comments``)
from 8 and then 32 concurrent clients (stdlib ``http.client``, one connection
per request, as the sync workers close it). Each run is bounded by a request
count and a time limit. Every non-2xx answer and every connection error is
counted and reported, and the server log is checked for tracebacks, locked
databases and worker timeouts.

The clients run on the same 2-core machine as the server, so the numbers are
a floor for what the server does alone.

    .venv/bin/python bench/load.py [--quick] [--no-postgres | --no-sqlite]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import secrets
import signal
import socket
import subprocess
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import _common as c
import sqlalchemy as sa
import thread_read

from service.data import Comment
from service.database import writing
from service.extensions import db

POSTGRES_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
POSTGRES_HOST = "postgresql+psycopg://postgres@127.0.0.1:5432"
WORKERS = 4
CLIENTS = (8, 32)
POST_EVERY = 10  # one request in ten is a post
PROBLEM_MARKERS = ("database is locked", "WORKER TIMEOUT", "Worker exited", "[ERROR]")


# --- databases --------------------------------------------------------------------------


def postgres_unavailable() -> str | None:
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed"
    try:
        with psycopg.connect(POSTGRES_ADMIN, connect_timeout=3):
            return None
    except psycopg.Error as exc:
        return f"PostgreSQL is unreachable: {str(exc).strip().splitlines()[0]}"


@contextmanager
def postgres_database() -> Iterator[str]:
    """A throwaway database parley_bench_<random>; yields its URL and drops it after."""
    import psycopg
    from psycopg import sql

    name = f"parley_bench_{secrets.token_hex(6)}"
    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield f"{POSTGRES_HOST}/{name}"
    finally:
        with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def postgres_backends(url: str) -> list[int]:
    """Process ids of the PostgreSQL backends serving the benchmark database (same host)."""
    if not url.startswith("postgresql"):
        return []
    import psycopg

    with psycopg.connect(POSTGRES_ADMIN) as admin:
        rows = admin.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s", (url.rsplit("/", 1)[1],)
        ).fetchall()
    return [int(pid) for (pid,) in rows]


def environment(instance: Path, url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARLEY_")}
    env.pop("FLASK_APP", None)
    env.update(
        PARLEY_INSTANCE_PATH=str(instance),
        PARLEY_DATABASE_URL=url,
        PARLEY_RATELIMIT_ENABLED="false",
        PARLEY_SECRET_KEY=c.SECRET_KEY,
        PARLEY_DATA_KEY=c.DATA_KEY,
        PYTHONUNBUFFERED="1",
    )
    return env


def prepare(instance: Path, url: str, env: dict[str, str], comments: int, pages: int) -> list[str]:
    """`flask --app service init`, then a bulk seed; returns the page keys."""
    done = subprocess.run(
        [str(c.BIN / "flask"), "--app", "service", "init"],
        cwd=c.ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"flask init failed:\n{done.stdout}{done.stderr}")
    app = c.create_app(c.bench_config(instance, url))
    keys = thread_read.seed(app, comments, pages)
    with app.app_context(), writing():
        c.fix_sequences()
        db.session.commit()
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect() as connection:
                connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
                    "ANALYZE"
                )  # what autovacuum does soon after a bulk load
        db.session.remove()
        db.engine.dispose()
    return keys


def count_comments(instance: Path, url: str) -> int:
    app = c.create_app(c.bench_config(instance, url))
    with app.app_context():
        found = int(db.session.execute(sa.select(sa.func.count(Comment.id))).scalar_one())
        db.session.remove()
        db.engine.dispose()
    return found


# --- the server -------------------------------------------------------------------------


def _gunicorn_has(setting: str) -> bool:
    from gunicorn import config

    return any(getattr(s, "name", None) == setting for s in config.KNOWN_SETTINGS)


@dataclass
class Server:
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    def problems(self) -> list[str]:
        found = []
        lines = self.log_path.read_text(errors="replace").splitlines()
        for n, line in enumerate(lines):
            if line.startswith("Traceback"):
                tail = [x for x in lines[n + 1 :] if x and not x[0].isspace()]
                found.append("Traceback: " + (tail[0] if tail else "?"))
            elif any(marker in line for marker in PROBLEM_MARKERS):
                found.append(line.strip())
        return found


@contextmanager
def gunicorn(instance: Path, env: dict[str, str]) -> Iterator[Server]:
    """gunicorn -w 4 on a socket bound here to a free port of 127.0.0.1; stopped after."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(512)
    port = listener.getsockname()[1]
    fd = listener.fileno()
    command = [str(c.BIN / "gunicorn"), "--chdir", str(c.ROOT), "-w", str(WORKERS)]
    command += ["-b", f"fd://{fd}", "--timeout", "60", "--graceful-timeout", "5"]
    command += ["--backlog", "512", "--log-level", "info"]
    if _gunicorn_has("control_socket_disable"):
        command.append("--no-control-socket")
    command.append("wsgi:app")
    log_path = instance / "gunicorn.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command, cwd=c.ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, pass_fds=[fd]
        )
    listener.close()
    server = Server(port, process, log_path)
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise RuntimeError("gunicorn exited:\n" + log_path.read_text()[-4000:])
            try:
                if request(port, "GET", "/healthz")[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("gunicorn did not answer /healthz in 30 s")
            time.sleep(0.1)
        yield server
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def request(port: int, method: str, path: str, body: object = None) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        headers = {}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        connection.request(method, path, body=data, headers=headers)
        answer = connection.getresponse()
        return answer.status, answer.read()
    finally:
        connection.close()


# --- the load ---------------------------------------------------------------------------


@dataclass
class Run:
    clients: int
    seconds: float = 0.0
    latencies: dict[str, list[float]] = field(default_factory=lambda: {"read": [], "post": []})
    statuses: Counter[int] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)  # non-2xx answers and errors

    @property
    def total(self) -> int:
        return sum(len(v) for v in self.latencies.values())

    @property
    def created(self) -> int:
        return self.statuses[201]


def drive(port: int, keys: list[str], clients: int, max_requests: int, max_seconds: float) -> Run:
    """``clients`` threads share a budget of requests and a deadline; every 10th is a post."""
    run = Run(clients)
    lock = threading.Lock()
    tickets = iter(range(max_requests))
    deadline = time.monotonic() + max_seconds

    def client(number: int) -> None:
        rng = random.Random(number)
        while time.monotonic() < deadline:
            with lock:
                ticket = next(tickets, None)
            if ticket is None:
                return
            query = {"site": "default", "page": rng.choice(keys)}
            if ticket % POST_EVERY == POST_EVERY - 1:
                kind, method, body = "post", "POST", _post_body(ticket)
            else:
                kind, method, body = "read", "GET", None
            path = "/api/v1/comments?" + urllib.parse.urlencode(query)
            start = time.perf_counter()
            try:
                status, data = request(port, method, path, body)
            except OSError as exc:
                status, data = 0, repr(exc).encode()
            elapsed = (time.perf_counter() - start) * 1000
            with lock:
                run.latencies[kind].append(elapsed)
                run.statuses[status] += 1
                if not 200 <= status < 300:
                    run.failures.append(f"{kind} {status}: {data[:200]!r}")

    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    run.seconds = time.perf_counter() - started
    return run


def _post_body(ticket: int) -> dict[str, str]:
    return {
        "name": "Load Tester",
        "email": "load.tester@example.org",
        "text": f"Load test comment {ticket}, marker {secrets.token_hex(6)}.",
    }


def bench_backend(
    label: str, instance: Path, url: str, args: argparse.Namespace
) -> list[list[object]]:
    comments, pages = (10_000, 100) if args.quick else (100_000, 1_000)
    max_requests, max_seconds = (600, 15.0) if args.quick else (3_000, 40.0)
    env = environment(instance, url)
    started = time.perf_counter()
    keys = prepare(instance, url, env, comments, pages)
    print(
        f"  {label}: seeded {comments:,} comments over {pages:,} pages "
        f"in {time.perf_counter() - started:.1f}s"
    )
    rows: list[list[object]] = []
    with gunicorn(instance, env) as server:
        for n in range(40):  # warm every worker's imports, templates and connections
            query = urllib.parse.urlencode({"site": "default", "page": keys[n]})
            status, data = request(server.port, "GET", f"/api/v1/comments?{query}")
            assert status == 200, (status, data[:300])
        created = 0
        workers = [server.process.pid, *c.child_pids(server.process.pid)]
        backends = postgres_backends(url)
        for clients in CLIENTS:
            before = c.process_cpu(workers), c.process_cpu(backends), time.process_time()
            with c.CpuWatch(lambda: [*workers, *backends]).watching() as watch:
                run = drive(server.port, keys, clients, max_requests, max_seconds)
            cpu = [
                (c.process_cpu(workers) - before[0]) / run.total * 1000,
                (c.process_cpu(backends) - before[1]) / run.total * 1000,
                (time.process_time() - before[2]) / run.total * 1000,
            ]
            created += run.created
            reads, posts = run.latencies["read"], run.latencies["post"]
            r50, r95 = c.summary(reads)
            p50, p95 = c.summary(posts)
            non2xx = sum(n for status, n in run.statuses.items() if not 200 <= status < 300)
            rows.append(
                [
                    label,
                    clients,
                    run.total,
                    run.seconds,
                    run.total / run.seconds,
                    r50,
                    r95,
                    p50,
                    p95,
                    non2xx,
                    "/".join(f"{v:.1f}" for v in cpu),
                    f"{watch.other_share:.0%}",
                ]
            )
            print(f"    {clients} clients: {dict(sorted(run.statuses.items()))}")
            for failure in run.failures[:10]:
                print(f"      {failure}")
        problems = server.problems()
    stored = count_comments(instance, url)
    print(
        f"    comments stored: {stored:,} = {comments:,} seeded + {created} created: "
        f"{'ok' if stored == comments + created else 'MISMATCH'}"
    )
    print(f"    server log problems: {len(problems)}")
    for problem in problems[:20]:
        print(f"      {problem}")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller database, shorter runs")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    args = parser.parse_args()
    print(f"load: {c.machine()}; gunicorn -w {WORKERS} (sync), clients on the same machine")
    rows = []
    if not args.no_sqlite:
        with c.instance_folder("load-sqlite") as folder:
            rows += bench_backend("SQLite", folder, f"sqlite:///{folder / 'parley.sqlite'}", args)
    why_not = "skipped (--no-postgres)" if args.no_postgres else postgres_unavailable()
    if why_not:
        print(f"  PostgreSQL: {why_not}")
    else:
        with c.instance_folder("load-postgres") as folder, postgres_database() as url:
            rows += bench_backend("PostgreSQL", folder, url, args)
    print()
    print(
        c.table(
            [
                "backend",
                "clients",
                "requests",
                "seconds",
                "req/s",
                "read p50 ms",
                "read p95 ms",
                "post p50 ms",
                "post p95 ms",
                "non-2xx",
                "CPU ms/request server/db/client",
                "other CPU",
            ],
            rows,
        )
    )


if __name__ == "__main__":
    main()
