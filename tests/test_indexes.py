"""The queries that grow with the data use their indexes (migration 0009), shown by the
database's own plan: ``EXPLAIN QUERY PLAN`` on SQLite, ``EXPLAIN (FORMAT JSON)`` on
PostgreSQL after ``ANALYZE`` (``make test-postgres``; autovacuum analyses a real one).

The statements are the ones the service runs, caught as they are sent
(``before_cursor_execute``) while the domain function runs, then explained with the same
parameters. docs/performance.md ("Problems found" 2 and 3) has the measurements.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from service.comments import queue, threads
from service.data import Comment, Page, Site, utcnow
from service.extensions import db

pytestmark = pytest.mark.slow

BUSY = "/busy"
TOP_LEVEL = 3_000  # on the busy page
QUIET_PAGES = 60
PER_QUIET_PAGE = 100
PENDING_EVERY = 10  # one comment in ten waits for moderation
RARE_EMAIL = "e" * 64  # a blind index only a few comments carry


@contextmanager
def caught() -> Iterator[list[tuple[str, Any]]]:
    """The statements sent to the database inside the block, with their parameters."""
    sent: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            sent.append((statement, parameters))

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)


def plan(statement: str, parameters: Any) -> str:
    """The plan as text: index names and the operations around them."""
    connection = db.session.connection()
    if connection.dialect.name == "sqlite":
        rows = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
        return "\n".join(str(row[-1]) for row in rows)
    found = connection.exec_driver_sql("EXPLAIN (FORMAT JSON) " + statement, parameters)
    document = found.scalar_one()
    return "\n".join(_pg_nodes(document if isinstance(document, list) else json.loads(document)))


def _pg_nodes(node: Any) -> Iterator[str]:
    if isinstance(node, list):
        for item in node:
            yield from _pg_nodes(item)
    elif isinstance(node, dict):
        if "Node Type" in node:
            names = (node.get("Index Name", ""), node.get("Relation Name", ""))
            yield f"{node['Node Type']} {names[0]} {names[1]}"
        for value in node.values():
            yield from _pg_nodes(value)


def uses(text: str, index: str) -> bool:
    return f"INDEX {index} " in text + " " or f"Scan {index} " in text


def sorts_comments(text: str) -> bool:
    """Whether the plan sorts rows (SQLite: a temporary B-tree; PostgreSQL: a Sort node)."""
    return "USE TEMP B-TREE FOR ORDER BY" in text or any(
        line.startswith(("Sort", "Incremental Sort")) for line in text.splitlines()
    )


def _seed() -> dict[str, int]:
    """A busy page of 3,000 top-level comments with replies, 60 quieter pages, a tenth of
    everything pending, and one rare author; returns ids the queries need."""
    site = db.session.scalar(sa.select(Site).where(Site.key == "default"))
    assert site is not None
    pages = [Page(site_id=site.id, key=BUSY)] + [
        Page(site_id=site.id, key=f"/quiet/{n}") for n in range(QUIET_PAGES)
    ]
    db.session.add_all(pages)
    db.session.flush()
    start = utcnow() - timedelta(days=30)
    ident = 1_000_000
    rows: list[dict[str, Any]] = []

    def add(page: Page, n: int, parent: int | None = None, email: str | None = None) -> int:
        nonlocal ident
        ident += 1
        rows.append(
            {
                "id": ident,
                "page_id": page.id,
                "parent_id": parent,
                "root_id": parent or ident,
                "depth": 1 if parent else 0,
                "author": "Seed",
                "email_index": email or f"{n % 40:064d}",
                "text": f"seeded comment {n}",
                "html": f"<p>seeded comment {n}</p>",
                "status": "pending" if n % PENDING_EVERY == 0 else "approved",
                "created": start + timedelta(seconds=ident - 1_000_000),
            }
        )
        return ident

    tops = [add(pages[0], n) for n in range(TOP_LEVEL)]
    for n, top in enumerate(tops[:200]):
        add(pages[0], n + 1, parent=top)
    for page in pages[1:]:
        for n in range(PER_QUIET_PAGE):
            add(page, n, email=RARE_EMAIL if n == 7 else None)
    db.session.execute(sa.insert(Comment), rows)
    db.session.commit()
    if db.session.connection().dialect.name == "postgresql":
        db.session.execute(sa.text("ANALYZE comment"))
        db.session.execute(sa.text("ANALYZE page"))
        db.session.commit()
    return {"site": site.id, "busy": pages[0].id, "parent": tops[0]}


@pytest.fixture
def seeded(app: Flask) -> Iterator[dict[str, int]]:
    with app.app_context():
        yield _seed()


def first_query(app: Flask, run: Callable[[], Any]) -> str:
    """The plan of the first SELECT on ``comment`` that ``run`` sends."""
    with caught() as sent:
        run()
    statement, parameters = next((s, p) for s, p in sent if re.search(r"\bcomment\b", s))
    return plan(statement, parameters)


def busy_page() -> Page:
    page = db.session.scalar(sa.select(Page).where(Page.key == BUSY))
    assert page is not None
    return page


@pytest.mark.parametrize("sort", ["oldest", "newest"])
def test_a_threads_top_level_comments_are_read_in_index_order(app, seeded, sort) -> None:
    text = first_query(app, lambda: threads.read_thread(busy_page(), sort=sort, limit=20))
    assert uses(text, "comment_top_level"), text
    assert not sorts_comments(text), text


def test_one_comments_replies_are_read_in_index_order(app, seeded) -> None:
    text = first_query(
        app, lambda: threads.read_thread(busy_page(), parent_id=seeded["parent"], limit=20)
    )
    assert uses(text, "comment_children"), text
    assert not sorts_comments(text), text


def test_whether_a_comment_has_replies_is_an_index_lookup(app, seeded) -> None:
    has_replies = sa.select(sa.func.count()).select_from(Comment)
    has_replies = has_replies.where(Comment.parent_id == seeded["parent"])
    compiled = has_replies.compile(db.engine)
    connection = db.session.connection()
    if connection.dialect.name == "sqlite":
        parameters: Any = tuple(compiled.params[name] for name in compiled.positiontup or ())
    else:
        parameters = compiled.params
    text = plan(str(compiled), parameters)
    assert uses(text, "comment_children"), text


@pytest.mark.parametrize("status", ["pending", "approved"])
def test_the_moderation_queue_reads_one_status_newest_first_from_its_index(
    app, seeded, status
) -> None:
    wanted = queue.QueueFilter(status=status, site_ids=[seeded["site"]])
    text = first_query(app, lambda: queue.queue(wanted, offset=0, limit=50))
    assert uses(text, "comment_queue"), text
    assert not sorts_comments(text), text


def test_the_queues_email_filter_reads_the_authors_index(app, seeded, monkeypatch) -> None:
    monkeypatch.setattr(queue.privacy, "email_index", lambda _email: RARE_EMAIL)
    wanted = queue.QueueFilter(status="approved", site_ids=[seeded["site"]], email="x@y.z")
    text = first_query(app, lambda: queue.queue(wanted, offset=0, limit=50))
    # The author's rows only; PostgreSQL may then sort those few rather than walk in order.
    assert uses(text, "comment_email_status"), text
    assert "SCAN comment" not in text and "Seq Scan  comment" not in text, text


def test_the_dashboards_pending_counts_read_only_pending_comments(app, seeded) -> None:
    """By status from an index (SQLite walks ``comment_thread`` per page of the site,
    PostgreSQL may take ``comment_queue``), never every comment."""
    text = first_query(app, lambda: queue.pending_counts([seeded["site"]]))
    assert "SCAN comment" not in text and "Seq Scan  comment" not in text, text
    assert "status=?" in text or "comment_queue" in text or "comment_thread" in text, text
