"""Parley against its ceiling: the same gunicorn and the same load, Parley and a bare Flask app.

For each backend (SQLite; PostgreSQL + Redis when they answer on 127.0.0.1, in a throwaway
database ``parley_bench_<random>`` dropped afterwards and Redis database 14, flushed before
and after) the script prepares a database (``flask --app service init`` and a bulk seed),
then for each gunicorn set-up (``_serve.MODES``: 2 sync workers as the issue measured, and
the project's production configuration with one gthread worker) starts Parley and
``bench/bare_app.py`` side by side and drives each row with wrk (``bench/wrk.lua``: one
thread, ``Accept-Encoding: gzip`` on every request), Parley and the bare app in turn,
A B A B ..., and prints the rate of each and their ratio (median of the pairs) beside the
issue's target.

The bare app answers the thread rows with a fixed body of exactly as many bytes as
Parley's answer on the wire (measured first, with ``Accept-Encoding: gzip``), and the
other rows with a 12-byte body. The measured thread has 100 top-level comments and no
replies, read with ``limit=100``. Parley runs with ``PARLEY_ENV=production`` and
``PARLEY_RATELIMIT_ENABLED=false`` (the post and vote limits would otherwise refuse
the load after a few requests).

Each row prints both servers' rates and the ratio (the issue's figure), and also the CPU
that gunicorn's processes (and PostgreSQL's backends) spent per request, with the "CPU
ratio" (bare app's CPU per request / Parley's): what the rate ratio would be if each
server had the cores to itself. It moves much less than the rates when other work shares
the machine; "other CPU" says how much did (see ``_serve.calm``).

Checks: every answer of a row is the expected status (200; 201 for posts; 304 for the
conditional read); every post's answer names the comment it posted (its unique text, an
id stored with that text and page, each id once); no tracebacks in the server logs.

    .venv/bin/python bench/ceiling.py [--quick] [--no-postgres | --no-sqlite]
        [--modes sync2,prod1] [--seconds 3] [--rounds 5] [--max-other 0.1]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import secrets
import statistics
import subprocess
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import _common as c
import _serve as s
import load
import sqlalchemy as sa
from flask import Flask

from service.data import Comment, Page
from service.database import writing
from service.extensions import db

THREAD = "/bench/thread"
THREAD_TOPS = 100
REPLIES = 3  # on the other pages
COUNT_PAGES = 10
POST_PAGES = 50
VISITOR_KEYS = 100
REDIS_URL = os.environ.get("PARLEY_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
GZIP = {"Accept-Encoding": "gzip"}
JSON = {"Content-Type": "application/json"}
TARGETS = {
    "thread": 0.7,
    "fragment": 0.7,
    "conditional": 0.7,
    "counts": 0.5,
    "post": 0.15,
    "vote": 0.2,
}


# --- the database -------------------------------------------------------------------------


def page_keys(pages: int) -> list[str]:
    """The measured thread first, then the other pages."""
    return [THREAD, *(f"/bench/page-{n:05d}" for n in range(pages - 1))]


def seed(app: Flask, comments: int, pages: int) -> list[str]:
    """The measured thread (100 top-level comments, no replies) and other pages (top-level
    comments with 3 replies each, round robin) up to ``comments``; returns the page keys.

    Comments of all pages interleave in time and id, as in a real table.
    """
    rng = random.Random(7)
    keys = page_keys(pages)
    others = keys[1:]
    rest = comments - THREAD_TOPS
    if rest < 0 or rest % (1 + REPLIES):
        raise ValueError(f"comments - {THREAD_TOPS} must be a multiple of {1 + REPLIES}")
    tops = dict.fromkeys(others, 0)
    for n in range(rest // (1 + REPLIES)):
        tops[others[n % len(others)]] += 1
    with app.app_context(), writing():
        ada = c.identity("Ada", "ada.lovelace@example.org")
        text = c.body(c.TEXT)
        counts = {THREAD: THREAD_TOPS, **{k: n * (1 + REPLIES) for k, n in tops.items()}}
        ids = c.insert_pages(c.default_site_id(), keys, counts)
        plan = c.plan_threads([(ids[THREAD], THREAD_TOPS)], 0, rng)
        rest_plan = c.plan_threads([(ids[k], tops[k]) for k in others if tops[k]], REPLIES, rng)
        offset = len(plan)
        for item in rest_plan:
            if item.parent is not None:
                item.parent += offset
        plan += rest_plan
        del rest_plan
        c.insert_comments(
            plan,
            first_id=c.next_comment_id(),
            status=lambda _n: "approved",
            author=lambda _n: ada,
            text=lambda _n: text,
        )
        del plan
        c.fix_sequences()
        db.session.commit()
        stored = db.session.scalar(sa.select(sa.func.count()).select_from(Comment))
        assert stored == comments, (stored, comments)
        db.session.remove()
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect() as connection:
                connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
                    "ANALYZE"
                )  # what autovacuum does soon after a bulk load
        db.engine.dispose()
    return keys


def environment(instance: Path, url: str, redis: str | None) -> dict[str, str]:
    env = load.environment(instance, url)
    env.pop("PYTHONUNBUFFERED", None)
    env.update(PARLEY_ENV="production", PARLEY_RATELIMIT_ENABLED="false")
    if redis:
        env["PARLEY_REDIS_URL"] = redis
    return env


def prepare(
    instance: Path, url: str, env: dict[str, str], comments: int, pages: int
) -> tuple[list[str], float]:
    """`flask --app service init`, then the seed; (page keys, seconds the seed took)."""
    done = subprocess.run(
        [str(c.BIN / "flask"), "--app", "service", "init"],
        cwd=c.ROOT,
        env={**env, "PYTHONPATH": str(c.ROOT), "PARLEY_PUBLIC_URL": "http://127.0.0.1:8000"},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"flask init failed:\n{done.stdout}{done.stderr}")
    started = time.perf_counter()
    keys = seed(c.create_app(c.bench_config(instance, url)), comments, pages)
    return keys, time.perf_counter() - started


def stored_comments(instance: Path, url: str, ids: list[int]) -> dict[int, tuple[str, str]]:
    """id -> (text, page key) for the given comment ids."""
    app = c.create_app(c.bench_config(instance, url))
    found: dict[int, tuple[str, str]] = {}
    with app.app_context():
        for start in range(0, len(ids), 500):
            rows = db.session.execute(
                sa.select(Comment.id, Comment.text, Page.key)
                .join(Page, Page.id == Comment.page_id)
                .where(Comment.id.in_(ids[start : start + 500]))
            )
            found.update({ident: (text, key) for ident, text, key in rows})
        db.session.remove()
        db.engine.dispose()
    return found


def count_comments(instance: Path, url: str) -> int:
    return load.count_comments(instance, url)


@contextmanager
def backend_database(name: str, folder: Path) -> Iterator[tuple[str, str | None]]:
    """(database URL, Redis URL or None) for "SQLite" or "PostgreSQL + Redis"."""
    if name == "SQLite":
        yield f"sqlite:///{folder / 'parley.sqlite'}", None
        return
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    try:
        with load.postgres_database() as url:
            yield url, REDIS_URL
    finally:
        client.flushdb()
        client.close()


def redis_unavailable() -> str | None:
    try:
        import redis
    except ImportError:
        return "redis-py is not installed"
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3).ping()
    except redis.RedisError as exc:
        return f"Redis is unreachable at {REDIS_URL}: {exc}"
    return None


# --- the rows -----------------------------------------------------------------------------


def query(**params: Any) -> str:
    return urllib.parse.urlencode(params, doseq=True)


@dataclass
class Row:
    """One row: Parley's request and the bare app's, sent by the same wrk script."""

    name: str
    label: str
    parley: s.Shot | None  # None: not measurable on this code (the note says why)
    bare: s.Shot | None
    wire_bytes: int | None = None
    note: str = ""
    parley_loads: list[s.Load] = field(default_factory=list)
    bare_loads: list[s.Load] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def build_rows(
    parley: s.Server, keys: list[str], visitor_keys: list[str], form_token: str, tag: str
) -> list[Row]:
    """Measure Parley's answers first (sizes, ETag, the counts call), then the rows."""
    port = parley.port
    thread_q = query(site="default", page=THREAD, limit=100)
    json_path = f"/api/v1/comments?{thread_q}"
    fragment_path = f"/widget/comments?{query(site='default', page=THREAD)}"
    rows = []

    answer = s.fetch(port, "GET", json_path, headers=GZIP)
    assert answer.status == 200, (answer.status, answer.body[:300])
    size = len(answer.body)
    encoding = answer.headers.get("content-encoding", "identity")
    rows.append(
        Row(
            "thread",
            "thread read JSON (GET /api/v1/comments, limit=100)",
            s.Shot("GET", [json_path], dict(GZIP)),
            s.Shot("GET", [f"/bytes/{size}"], dict(GZIP)),
            size,
            f"{size:,} bytes on the wire ({encoding})",
        )
    )
    etag = answer.headers.get("etag")

    fragment = s.fetch(port, "GET", fragment_path, headers=GZIP)
    assert fragment.status == 200, (fragment.status, fragment.body[:300])
    fsize = len(fragment.body)
    fencoding = fragment.headers.get("content-encoding", "identity")
    rows.append(
        Row(
            "fragment",
            "thread fragment (GET /widget/comments)",
            s.Shot("GET", [fragment_path], dict(GZIP)),
            s.Shot("GET", [f"/bytes/{fsize}"], dict(GZIP)),
            fsize,
            f"{fsize:,} bytes on the wire ({fencoding})",
        )
    )

    label = "conditional read (If-None-Match, 304; bare: tiny body)"
    if etag:
        again = s.fetch(port, "GET", json_path, headers={**GZIP, "If-None-Match": etag})
        rows.append(
            Row(
                "conditional",
                label,
                s.Shot("GET", [json_path], {**GZIP, "If-None-Match": etag}, check=True),
                s.Shot("GET", ["/tiny"], dict(GZIP), check=True),
                len(again.body),
                f"first answer {again.status}",
            )
        )
    else:
        rows.append(Row("conditional", label, None, None, note="n/a (no ETag)"))

    counted = keys[:COUNT_PAGES]
    get_path = f"/api/v1/counts?{query(site='default', page=counted)}"
    probe = s.fetch(port, "GET", get_path, headers=GZIP)
    if probe.status == 200:
        counts = s.Shot("GET", [get_path], dict(GZIP), check=True)
        bare_counts = s.Shot("GET", ["/tiny"], dict(GZIP), check=True)
        how, csize = "GET", len(probe.body)
    else:
        body = json.dumps({"pages": counted})
        post = f"/api/v1/counts?{query(site='default')}"
        answer = s.fetch(port, "POST", post, body.encode(), {**GZIP, **JSON})
        assert answer.status == 200, (answer.status, answer.body[:300])
        counts = s.Shot("POST", [post], {**GZIP, **JSON}, body, check=True)
        bare_counts = s.Shot("POST", ["/tiny"], {**GZIP, **JSON}, body, check=True)
        how, csize = f"POST (GET answered {probe.status})", len(answer.body)
    rows.append(
        Row(
            "counts",
            f"counts for {COUNT_PAGES} pages ({how.split()[0]} /api/v1/counts; bare: tiny body)",
            counts,
            bare_counts,
            csize,
            f"{how}; {csize:,} bytes",
        )
    )

    post_pages = [f"/api/v1/comments?{query(site='default', page=k)}" for k in post_keys(keys)]
    rows.append(
        Row(
            "post",
            "post a comment (POST /api/v1/comments; bare: tiny body)",
            s.Shot(
                "POST",
                post_pages,
                {**GZIP, **JSON},
                mode="post",
                check=True,
                form_token=form_token,
                tag=tag,
            ),
            s.Shot(
                "POST",
                ["/tiny"],
                {**GZIP, **JSON},
                mode="post",
                check=True,
                form_token=form_token,
                tag=tag,
            ),
            note=f"form token; {len(post_pages)} pages in turn",
        )
    )
    vote_pages = [
        f"/api/v1/ratings?{query(site='default', page=k)}" for k in keys[1 : 1 + POST_PAGES]
    ]
    rows.append(
        Row(
            "vote",
            "vote (PUT /api/v1/ratings; bare: tiny body)",
            s.Shot("PUT", vote_pages, {**GZIP, **JSON}, mode="vote", check=True, keys=visitor_keys),
            s.Shot(
                "PUT",
                ["/tiny"] * len(vote_pages),
                {**GZIP, **JSON},
                mode="vote",
                check=True,
                keys=visitor_keys,
            ),
            note=f"{len(visitor_keys)} issued visitor keys x {len(vote_pages)} pages",
        )
    )
    return rows


def post_keys(keys: list[str]) -> list[str]:
    """The pages posts go to, in turn (not the measured thread)."""
    return keys[1 : 1 + POST_PAGES]


EXPECTED = {"conditional": 304, "post": 201}
POSTED = re.compile(r"Bench comment (\S+), a short remark\.")


def check_row(row: Row, load_: s.Load) -> list[str]:
    """What was wrong with Parley's answers in one run of a row."""
    problems = []
    if load_.failed:
        problems.append(f"wrk errors {load_.errors}")
    if load_.statuses:
        want = EXPECTED.get(row.name, 200)
        wrong = {k: v for k, v in load_.statuses.items() if k != want}
        if wrong:
            problems.append(f"statuses other than {want}: {wrong}")
    if row.name == "vote":
        for status, body in load_.answers:
            if status != 200:
                continue
            answer = json.loads(body)
            if answer.get("yours") not in range(1, 6) or answer.get("count", 0) < 1:
                problems.append(f"vote answer without the vote: {body[:200]}")
                break
    return problems


def check_posts(
    instance: Path, url: str, loads: list[s.Load], pages: list[str]
) -> tuple[int, list[str]]:
    """Every 201 answer is the approved comment posted: its unique text (``wrk.lua`` numbers
    each request, and the number says which of ``pages`` it went to), stored under the
    answer's id with that text on that page; each id and each text once. Returns (answers
    checked, problems)."""
    problems: list[str] = []
    seen: dict[int, tuple[str, str]] = {}
    texts: set[str] = set()
    for load_ in loads:
        for status, body in load_.answers:
            if status != 201:
                problems.append(f"post answered {status}: {body[:200]}")
                continue
            answer = json.loads(body)
            comment = answer["comment"]
            match = POSTED.search(comment["html"])
            if not match or answer.get("status") != "approved" or not answer.get("edit_token"):
                problems.append(f"post answer not the approved comment posted: {body[:200]}")
                continue
            text, number = match.group(0), int(match.group(1).rsplit("-", 1)[1])
            if comment["id"] in seen or text in texts:
                problems.append(f"answered twice: id {comment['id']} or {text!r}")
            seen[comment["id"]] = (text, pages[(number - 1) % len(pages)])
            texts.add(text)
    stored = stored_comments(instance, url, sorted(seen))
    for ident, sent in seen.items():
        if stored.get(ident) != sent:
            problems.append(f"comment {ident}: posted {sent!r}, stored {stored.get(ident)!r}")
    return len(seen), problems


# --- the loader -----------------------------------------------------------------------------


def loader_sizes(port: int) -> list[tuple[str, int, str, int]]:
    """(path, bytes served, Content-Encoding, gzip -9 bytes) for /embed.js and for every
    script it may load later: the .js URLs of this service its text names, and the .js
    files among the service's versioned assets."""
    import gzip

    def size(path: str) -> tuple[str, int, str, int]:
        answer = s.fetch(port, "GET", path, headers=GZIP)
        assert answer.status == 200, (path, answer.status)
        encoding = answer.headers.get("content-encoding", "identity")
        text = gzip.decompress(answer.body) if encoding == "gzip" else answer.body
        return path, len(answer.body), encoding, len(gzip.compress(text, 9, mtime=0))

    found = [size("/embed.js")]
    answer = s.fetch(port, "GET", "/embed.js", headers=GZIP)
    body = answer.body
    if answer.headers.get("content-encoding") == "gzip":
        body = gzip.decompress(body)
    paths = set(re.findall(rf"127\.0\.0\.1:{port}(/[\w./-]+\.js)\b", body.decode(errors="replace")))
    try:
        from service.web.widgets import assets

        for name in getattr(assets, "VERSIONED", ()):
            if name.endswith(".js"):
                paths.add(f"/assets/{assets.versioned(name).etag}/{name}")
    except (ImportError, AttributeError):
        pass
    found += [size(path) for path in sorted(paths - {"/embed.js"})]
    return found


# --- running ------------------------------------------------------------------------------


def warm(server: s.Server, rows: list[Row], parley: bool) -> None:
    """A second of each row's load, not counted: imports, templates, connections, caches."""
    for row in rows:
        shot = row.parley if parley else row.bare
        if shot is None or shot.mode != "plain":
            continue
        s.wrk(server.port, shot, 1, 4)


def issue_visitor_keys(port: int, count: int) -> list[str]:
    found = []
    for _ in range(count):
        answer = s.fetch(port, "POST", f"/api/v1/visitors?{query(site='default')}", b"", JSON)
        assert answer.status == 201, (answer.status, answer.body[:200])
        found.append(json.loads(answer.body)["visitor"])
    return found


@dataclass
class Result:
    backend: str
    mode: s.Mode
    rows: list[Row]
    parley_rss: list[float]
    bare_rss: list[float]
    posts_checked: int
    log_problems: list[str]
    other_cpu: float
    loader: list[tuple[str, int, str, int]]


def run_mode(
    backend: str,
    mode: s.Mode,
    instance: Path,
    url: str,
    env: dict[str, str],
    keys: list[str],
    args: argparse.Namespace,
) -> Result:
    bare_env = {k: v for k, v in env.items() if not k.startswith("PARLEY_")}
    with (
        s.gunicorn("parley", mode, "wsgi:app", env, instance) as parley,
        s.gunicorn(
            "bare", mode, "bare_app:app", bare_env, instance, pythonpath=s.BENCH, health="/tiny"
        ) as bare,
    ):
        token_answer = s.fetch(parley.port, "GET", "/api/v1/form-token")
        issued = time.monotonic()
        form_token = json.loads(token_answer.body)["form_token"]
        visitor_keys = issue_visitor_keys(parley.port, VISITOR_KEYS)
        rows = build_rows(parley, keys, visitor_keys, form_token, secrets.token_hex(4))
        loader = loader_sizes(parley.port)
        warm(parley, rows, True)
        warm(bare, rows, False)
        time.sleep(max(0.0, issued + 3.5 - time.monotonic()))  # PARLEY_FORM_MIN_SECONDS
        parley_pids = [*parley.pids(), *load.postgres_backends(url)]
        others = []
        for round_ in range(args.rounds):
            for row in rows:
                if row.parley is None or row.bare is None:
                    continue
                flip = bool(round_ % 2)  # A B, then B A: neither side always goes first

                def pair(row: Row = row, flip: bool = flip) -> list[s.Load]:
                    assert row.parley is not None and row.bare is not None
                    runs = [(parley, row.parley, parley_pids), (bare, row.bare, bare.pids())]
                    loads = [
                        s.wrk(server.port, shot, args.seconds, args.connections, cpu_pids=pids)
                        for server, shot, pids in (runs[::-1] if flip else runs)
                    ]
                    return loads[::-1] if flip else loads

                ours, theirs = s.calm(pair, args.max_other)
                others.append(max(ours.other_cpu, theirs.other_cpu))
                row.parley_loads.append(ours)
                row.bare_loads.append(theirs)
                row.problems += check_row(row, ours)
                if theirs.failed:
                    row.problems.append(f"bare app: wrk errors {theirs.errors}")
                print(
                    f"    {mode.name} round {round_ + 1} {row.name}: parley {ours.rate:.1f}/s, "
                    f"bare {theirs.rate:.1f}/s, other CPU {others[-1]:.0%} ({ours.attempts} tries)"
                )
        parley_rss, bare_rss = parley.worker_rss_mb(), bare.worker_rss_mb()
        post_row = next(r for r in rows if r.name == "post")
        checked, problems = check_posts(instance, url, post_row.parley_loads, post_keys(keys))
        post_row.problems += problems
        log_problems = parley.problems() + bare.problems()
    return Result(
        backend,
        mode,
        rows,
        parley_rss,
        bare_rss,
        checked,
        log_problems,
        max(others) if others else 0.0,
        loader,
    )


def ratio(row: Row) -> float | None:
    pairs = [
        p.rate / b.rate for p, b in zip(row.parley_loads, row.bare_loads, strict=True) if b.rate
    ]
    return statistics.median(pairs) if pairs else None


def mb(values: list[float]) -> str:
    return ", ".join(f"{x:.0f}" for x in values)


def report(results: list[Result]) -> None:
    for result in results:
        print()
        print(f"### {result.backend}, {result.mode.label}")
        print()
        table_rows = []
        for row in result.rows:
            target = TARGETS[row.name]
            if row.parley is None:
                table_rows.append(
                    [
                        row.label,
                        "n/a",
                        "n/a",
                        "n/a",
                        "n/a",
                        row.note,
                        f"n/a (target >= {target}x)",
                        "",
                        "",
                        "",
                    ]
                )
                continue
            r = ratio(row)
            parley_rate = statistics.median(x.rate for x in row.parley_loads)
            bare_rate = statistics.median(x.rate for x in row.bare_loads)
            p50 = statistics.median(x.p50_ms for x in row.parley_loads)
            cpu = statistics.median(x.server_cpu_ms for x in row.parley_loads)
            bare_cpu = statistics.median(x.server_cpu_ms for x in row.bare_loads)
            other = max(
                max(x.other_cpu, y.other_cpu)
                for x, y in zip(row.parley_loads, row.bare_loads, strict=True)
            )
            verdict = "yes" if r is not None and r >= target else "NO"
            cpu_ratio = bare_cpu / cpu if cpu else 0.0
            errors = "none" if not row.problems else "; ".join(row.problems[:3])
            table_rows.append(
                [
                    row.label,
                    f"{parley_rate:.1f}",
                    f"{bare_rate:.0f}",
                    f"{p50:.1f}",
                    f"{cpu:.1f} / {bare_cpu:.2f}",
                    row.note,
                    f"{r:.3f}x (target >= {target}x: {verdict})",
                    f"{cpu_ratio:.3f}x",
                    f"{other:.0%}",
                    errors,
                ]
            )
        print(
            c.table(
                [
                    "row",
                    "Parley req/s",
                    "bare req/s",
                    "Parley p50 ms",
                    "server CPU ms/req Parley / bare",
                    "answer",
                    "ratio",
                    "CPU ratio",
                    "other CPU",
                    "problems",
                ],
                table_rows,
            )
        )
        print()
        print(
            f"worker RSS after the run: Parley {mb(result.parley_rss)} MB; "
            f"bare {mb(result.bare_rss)} MB. "
            f"Posts checked: {result.posts_checked} answers, each the comment posted. "
            f"Server log problems: {len(result.log_problems)}. "
            f"Highest share of CPU to other processes in one run: {result.other_cpu:.0%}."
        )
        for problem in result.log_problems[:10]:
            print(f"  {problem}")
    if results:
        print()
        for path, served, encoding, gzipped in results[0].loader:
            print(f"{path}: {served:,} bytes served ({encoding}); gzip -9 of its text: {gzipped:,}")
        if len(results[0].loader) == 1:
            print("  (no chunks: the loader names no other script)")


def bench_backend(
    name: str, folder: Path, args: argparse.Namespace, modes: list[s.Mode]
) -> list[Result]:
    comments, pages = (2_000, 100) if args.quick else (100_000, 1_000)
    results = []
    with backend_database(name, folder) as (url, redis):
        env = environment(folder, url, redis)
        keys, seconds = prepare(folder, url, env, comments, pages)
        print(f"  {name}: seeded {comments:,} comments over {pages:,} pages in {seconds:.1f}s")
        for mode in modes:
            started = time.perf_counter()
            results.append(run_mode(name, mode, folder, url, env, keys, args))
            print(f"    {mode.name}: {time.perf_counter() - started:.0f}s")
        stored = count_comments(folder, url)
        print(f"    comments stored at the end: {stored:,}")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke check: 1 round of 1 s")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--no-sqlite", action="store_true", help="PostgreSQL + Redis only")
    parser.add_argument("--modes", default="sync2,prod1", help="gunicorn set-ups, of sync2,prod1")
    parser.add_argument("--seconds", type=int, default=3, help="each wrk run")
    parser.add_argument("--rounds", type=int, default=5, help="A B pairs per row")
    parser.add_argument("--connections", type=int, default=8, help="wrk -c")
    parser.add_argument(
        "--max-other",
        type=float,
        default=s.MAX_OTHER,
        help="take a pair again when other processes used more than this share of the CPU",
    )
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.rounds, args.max_other = 1, 1, 1.0
    missing = s.wrk_missing()
    if missing:
        raise SystemExit(f"ceiling: {missing}")
    modes = [s.MODES[name] for name in args.modes.split(",")]
    if s.PROD1 in modes and not s.production_config_exists():
        print(
            "  (no service/cli/gunicorn_config.py in this tree: the production set-up is skipped)"
        )
        modes.remove(s.PROD1)
    print(
        f"ceiling: {c.machine()}; wrk -t 1 -c {args.connections}, {args.seconds} s x {args.rounds}"
    )
    print(f"  code measured: {c.ROOT}")
    results = []
    if not args.no_sqlite:
        with c.instance_folder("ceiling-sqlite") as folder:
            results += bench_backend("SQLite", folder, args, modes)
    why_not = (
        "skipped (--no-postgres)"
        if args.no_postgres
        else load.postgres_unavailable() or redis_unavailable()
    )
    if why_not:
        print(f"  PostgreSQL + Redis: {why_not}")
    else:
        with c.instance_folder("ceiling-postgres") as folder:
            results += bench_backend("PostgreSQL + Redis", folder, args, modes)
    report(results)


if __name__ == "__main__":
    main()
