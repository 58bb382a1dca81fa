"""Shared pieces of the benchmarks: throwaway instances, fast seeding, timing, tables.

Not a benchmark itself; each ``bench/*.py`` script imports it. Seeding goes
through SQLAlchemy bulk inserts (``db.session.execute(sa.insert(Comment), rows)``)
with every non-null column set; the expensive values (encrypted email, blind
index, avatar id, sanitised HTML) are computed once per distinct value and reused.
"""

from __future__ import annotations

import os
import platform
import random
import re
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
from flask import Flask  # noqa: E402

from service import create_app  # noqa: E402
from service.config import new_data_key  # noqa: E402
from service.data import Comment, Page, Site  # noqa: E402
from service.database import writing  # noqa: E402
from service.extensions import db  # noqa: E402

BIN = Path(sys.executable).parent
SECRET_KEY = "bench-secret-key-" + "b" * 32
DATA_KEY = new_data_key()
EPOCH = datetime(2025, 11, 23, 0, 0, 0)
TEXT = (
    "A thoughtful comment on this episode. The *pacing* in the second half works, "
    "and the soundtrack (see https://example.org/ost) carries the quiet scenes."
)


@contextmanager
def instance_folder(prefix: str) -> Iterator[Path]:
    """A fresh folder in /tmp for one benchmark run, removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix=f"parley-bench-{prefix}-", dir="/tmp"))
    old = os.environ.get("PARLEY_INSTANCE_PATH")
    os.environ["PARLEY_INSTANCE_PATH"] = str(folder)
    try:
        yield folder
    finally:
        if old is None:
            os.environ.pop("PARLEY_INSTANCE_PATH", None)
        else:
            os.environ["PARLEY_INSTANCE_PATH"] = old
        shutil.rmtree(folder, ignore_errors=True)


def bench_config(instance: Path, database_url: str | None = None, **extra: Any) -> dict[str, Any]:
    """Configuration for an in-process app on a throwaway instance folder."""
    config: dict[str, Any] = {
        "PARLEY_INSTANCE_PATH": str(instance),
        "SECRET_KEY": SECRET_KEY,
        "PARLEY_DATA_KEY": DATA_KEY,
        "SQLALCHEMY_DATABASE_URI": database_url or f"sqlite:///{instance / 'parley.sqlite'}",
        "RATELIMIT_ENABLED": False,
    }
    config.update(extra)
    return config


def migrated_app(config: dict[str, Any]) -> Flask:
    """create_app + flask_migrate.upgrade() + the default site, as `flask init` does."""
    from flask_migrate import upgrade

    from service.sites.demo import ensure_demo_page

    app = create_app(config)
    with app.app_context(), writing():
        upgrade()
        ensure_demo_page()
    return app


# --- seeding ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Identity:
    """An author's stored values, computed once (encryption and keyed hashes are slow)."""

    name: str
    email_encrypted: str
    email_index: str
    avatar: str


def identity(name: str, email: str) -> Identity:
    """Needs an app context (the data key)."""
    from service.rules import privacy

    return Identity(
        name, privacy.encrypt_email(email), privacy.email_index(email), privacy.avatar_id(email)
    )


@dataclass(frozen=True)
class Body:
    """A comment's markdown source and its sanitised HTML, rendered once."""

    text: str
    html: str


def body(text: str) -> Body:
    from service.rules.sanitize import render_comment

    return Body(text, render_comment(text))


def default_site_id() -> int:
    return int(db.session.scalars(sa.select(Site.id).where(Site.key == "default")).one())


def insert_pages(site_id: int, keys: Sequence[str], counts: dict[str, int]) -> dict[str, int]:
    """Bulk-insert pages (every non-null column set); returns key -> id."""
    rows = [
        {
            "site_id": site_id,
            "key": key,
            "title": f"Page {key}",
            "url": None,
            "comment_count": counts.get(key, 0),
            "schema_type": None,
            "rating_count": 0,
            "rating_sum": 0,
            **{f"h{n}": 0 for n in range(1, 11)},
            "ratings_closed": False,
            "comments_closed": False,
            "created": EPOCH,
        }
        for key in keys
    ]
    for start in range(0, len(rows), 5_000):
        db.session.execute(sa.insert(Page), rows[start : start + 5_000])
    found = db.session.execute(
        sa.select(Page.key, Page.id).where(Page.site_id == site_id, Page.key.in_(list(keys)))
    )
    return {key: ident for key, ident in found}


@dataclass
class Planned:
    """A comment before it has an id: its page, parent (by plan index) and time."""

    page_id: int
    parent: int | None  # index into the plan
    created: datetime


def plan_threads(
    threads: Sequence[tuple[int, int]], replies_per_top: int, rng: random.Random
) -> list[Planned]:
    """(page_id, top-level count) pairs -> comments spread over a year, replies after parents.

    Different pages' comments interleave in time, so (once ids follow time) a
    thread's rows are scattered through the table as in a real database.
    """
    plan: list[Planned] = []
    for page_id, tops in threads:
        for _ in range(tops):
            created = EPOCH + timedelta(seconds=rng.randrange(365 * 24 * 3600))
            top = len(plan)
            plan.append(Planned(page_id, None, created))
            for _ in range(replies_per_top):
                later = created + timedelta(seconds=rng.randrange(60, 7 * 24 * 3600))
                plan.append(Planned(page_id, top, later))
    return plan


def insert_comments(
    plan: Sequence[Planned],
    *,
    first_id: int,
    status: Callable[[int], str],
    author: Callable[[int], Identity],
    text: Callable[[int], Body],
    chunk: int = 5_000,
) -> int:
    """Bulk-insert planned comments with ids in time order; returns how many.

    ``status``, ``author`` and ``text`` get the comment's position in time order.
    """
    order = sorted(range(len(plan)), key=lambda i: plan[i].created)
    ids = {index: first_id + n for n, index in enumerate(order)}
    batch: list[dict[str, Any]] = []
    for n, index in enumerate(order):
        item = plan[index]
        who, what = author(n), text(n)
        parent = ids[item.parent] if item.parent is not None else None
        batch.append(
            {
                "id": ids[index],
                "page_id": item.page_id,
                "parent_id": parent,
                "root_id": parent if parent is not None else ids[index],
                "depth": 0 if parent is None else 1,
                "author": who.name,
                "email_encrypted": who.email_encrypted,
                "email_index": who.email_index,
                "avatar": who.avatar,
                "website": None,
                "text": what.text,
                "html": what.html,
                "status": status(n),
                "created": item.created,
                "edited": None,
                "remote_addr": "192.0.2.0",
                "edit_token_hash": None,
                "likes": 0,
                "notify": False,
                "pending_reason": None,
                "visitor": None,
                "by_moderator": False,
                "shadow": False,
            }
        )
        if len(batch) >= chunk:
            db.session.execute(sa.insert(Comment), batch)
            batch = []
    if batch:
        db.session.execute(sa.insert(Comment), batch)
    return len(order)


def next_comment_id() -> int:
    highest = db.session.execute(sa.select(sa.func.coalesce(sa.func.max(Comment.id), 0)))
    return int(highest.scalar_one()) + 1


def fix_sequences() -> None:
    """PostgreSQL: move the id sequences past the explicit ids the seed inserted."""
    if db.engine.dialect.name != "postgresql":
        return
    for table in ("comment", "page"):
        db.session.execute(
            sa.text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT COALESCE(MAX(id), 1) FROM {table}))"
            )
        )


# --- measuring --------------------------------------------------------------------------


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile (0 < fraction <= 1)."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(fraction * len(ordered) + 0.5)))
    return ordered[rank - 1]


def summary(values: Sequence[float]) -> tuple[float, float]:
    """(median, p95)."""
    return statistics.median(values), percentile(values, 0.95)


def time_calls(call: Callable[[], Any], runs: int, warmup: int = 5) -> list[float]:
    """Milliseconds of each of ``runs`` calls, after ``warmup`` untimed ones."""
    for _ in range(warmup):
        call()
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        out.append((time.perf_counter() - start) * 1000)
    return out


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain-text table, also valid Markdown."""
    cells = [[str(h) for h in headers], *[[_cell(v) for v in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]

    def line(row: list[str]) -> str:
        return "| " + " | ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)) + " |"

    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(cells[0]), rule, *[line(r) for r in cells[1:]]])


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.1f}" if value >= 10 else f"{value:.2f}"
    return str(value)


def machine() -> str:
    return (
        f"{os.cpu_count()} CPUs (nproc {len(os.sched_getaffinity(0))}), "
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
        f"SQLAlchemy {sa.__version__}"
    )


def system_busy() -> float:
    """CPU seconds the whole machine spent busy since boot (all cores)."""
    with open("/proc/stat") as handle:
        fields = [int(v) for v in handle.readline().split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def child_pids(parent: int) -> list[int]:
    """The direct children of a process (e.g. gunicorn's workers)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == parent:
            found.append(int(entry.name))
    return found


def process_cpu(pids: Sequence[int]) -> float:
    """CPU seconds (user + system) the given processes have used so far."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


@dataclass
class CpuWatch:
    """How much of the machine's CPU went to other processes while something ran.

    Other work on a shared machine skews every number; this makes it visible.
    ``ours`` lists the extra processes that belong to the benchmark (server workers,
    database backends) besides this process.
    """

    ours: Callable[[], Sequence[int]] = lambda: []
    other_share: float = 0.0

    @contextmanager
    def watching(self) -> Iterator[CpuWatch]:
        pids = list(self.ours())
        busy, own, extra = system_busy(), time.process_time(), process_cpu(pids)
        wall = time.perf_counter()
        try:
            yield self
        finally:
            spent = (time.process_time() - own) + (process_cpu(pids) - extra)
            elapsed = time.perf_counter() - wall
            other = max(0.0, system_busy() - busy - spent)
            self.other_share = other / (elapsed * (os.cpu_count() or 1)) if elapsed else 0.0

    def note(self) -> str:
        return f"{self.other_share:.0%} of the machine's CPU went to other processes"


# --- query plans ------------------------------------------------------------------------


@contextmanager
def captured_sql(app: Flask) -> Iterator[list[tuple[str, Any]]]:
    """Every SELECT the app's engine runs inside the block, with its parameters."""
    from sqlalchemy import event

    found: list[tuple[str, Any]] = []
    with app.app_context():
        engine = db.engine

    def listen(_conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            found.append((statement, params))

    event.listen(engine, "before_cursor_execute", listen)
    try:
        yield found
    finally:
        event.remove(engine, "before_cursor_execute", listen)


def sqlite_plans(app: Flask, statements: Sequence[tuple[str, Any]]) -> list[tuple[str, str]]:
    """(first words of the query, EXPLAIN QUERY PLAN lines) on SQLite; [] elsewhere."""
    out = []
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            return []
        with db.engine.connect() as connection:
            raw = connection.connection.dbapi_connection
            assert raw is not None
            for statement, params in statements:
                rows = raw.execute("EXPLAIN QUERY PLAN " + statement, params).fetchall()
                plan = "; ".join(str(row[-1]) for row in rows)
                out.append((_short(statement), plan))
    return out


def _short(statement: str) -> str:
    text = re.sub(r"\s+", " ", statement)
    match = re.search(r"\bFROM (\w+)", text)
    return f"{text[:40]}... FROM {match.group(1) if match else '?'}"


def full_scans(plans: Sequence[tuple[str, str]], table_name: str = "comment") -> list[str]:
    """Queries whose plan walks a whole table or index (``SCAN comment ...``), not a search."""
    return [
        f"{query}: {plan}"
        for query, plan in plans
        if any(re.match(rf"SCAN {table_name}\b", step.strip()) for step in plan.split("; "))
    ]
