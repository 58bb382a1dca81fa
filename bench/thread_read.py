"""Read cost of one thread on a small and a large database (in-process, Flask test client).

The measured thread has 100 top-level comments with 3 replies each (400 rows).
The large database holds 100,000 comments over 1,000 pages, the small one
1,000 comments over 100 pages; both hold the same measured thread. If thread
reads use the indexes, the large/small ratio stays near 1.

The large database also holds one busy thread (2,500 top-level comments with
3 replies each, 10,000 rows); the same reads on it show whether a read's cost
follows the size of its thread (the rest of the 100,000 spread over the other
pages).

    .venv/bin/python bench/thread_read.py [--quick]
"""

from __future__ import annotations

import argparse
import random
import time
from typing import Any

import _common as c
import sqlalchemy as sa
from flask import Flask

from service.data import Comment
from service.database import writing
from service.extensions import db

THREAD = "/bench/thread"
THREAD_TOPS = 100
BUSY = "/bench/busy-thread"
BUSY_TOPS = 2_500
REPLIES = 3
# comments, pages, top-level comments of the busy thread (0: none)
SIZES = {"small": (1_000, 100, 0), "large": (100_000, 1_000, BUSY_TOPS)}


def seed(app: Flask, comments: int, pages: int, busy_tops: int = 0) -> list[str]:
    """The measured thread (and busy thread) plus other pages up to ``comments``.

    Returns the page keys, the measured thread first.
    """
    rng = random.Random(7)
    fixed = {THREAD: THREAD_TOPS, **({BUSY: busy_tops} if busy_tops else {})}
    others = [f"/bench/page-{n:04d}" for n in range(pages - len(fixed))]
    keys = [*fixed, *others]
    per_thread = 1 + REPLIES
    rest = comments - sum(fixed.values()) * per_thread
    if rest < 0 or rest % per_thread:
        raise ValueError("comments must leave a multiple of 4 after the fixed threads")
    tops = {key: 0 for key in others}
    for n in range(rest // per_thread):
        tops[others[n % len(others)]] += 1
    tops.update(fixed)
    with app.app_context(), writing():
        ada = c.identity("Ada", "ada.lovelace@example.org")
        text = c.body(c.TEXT)
        ids = c.insert_pages(
            c.default_site_id(), keys, {k: n * per_thread for k, n in tops.items()}
        )
        plan = c.plan_threads([(ids[k], tops[k]) for k in keys], REPLIES, rng)
        c.insert_comments(
            plan,
            first_id=c.next_comment_id(),
            status=lambda _n: "approved",
            author=lambda _n: ada,
            text=lambda _n: text,
        )
        db.session.commit()
        stored = db.session.scalar(sa.select(sa.func.count()).select_from(Comment))
        assert stored == comments, (stored, comments)
        db.session.remove()
        db.engine.dispose()
    return keys


def endpoints(keys: list[str], page: str = THREAD) -> dict[str, tuple[str, str, dict[str, Any]]]:
    query = {"site": "default", "page": page}
    return {
        "GET /api/v1/comments (20 top-level)": ("GET", "/api/v1/comments", {"query": query}),
        "GET /api/v1/comments?limit=100": (
            "GET",
            "/api/v1/comments",
            {"query": {**query, "limit": 100}},
        ),
        "GET /widget/comments (100 top-level)": ("GET", "/widget/comments", {"query": query}),
        "POST /api/v1/counts (100 pages)": (
            "POST",
            "/api/v1/counts",
            {"query": {"site": "default"}, "json": {"pages": keys[:100]}},
        ),
    }


def measure(
    app: Flask, keys: list[str], runs: int, page: str = THREAD
) -> dict[str, tuple[float, float, str, int]]:
    """Per endpoint: median ms, p95 ms, the plan lines that scan ``comment``, body bytes."""
    client = app.test_client()
    out = {}
    for label, (method, path, options) in endpoints(keys, page).items():

        def call(
            method: str = method, path: str = path, options: Any = options, label: str = label
        ) -> int:
            response = client.open(
                path,
                method=method,
                query_string=options["query"],
                json=options.get("json"),
            )
            assert response.status_code == 200, (label, response.status_code, response.data)
            return len(response.data)

        with c.captured_sql(app) as statements:
            size = call()
        scans = c.full_scans(c.sqlite_plans(app, statements))
        median, p95 = c.summary(c.time_calls(call, runs))
        out[label] = (median, p95, "; ".join(scans) or "none", size)
    return out


def reply_query_plan(app: Flask, page: str) -> str:
    """SQLite's plan for the query that fetches the replies of a page of comments."""
    client = app.test_client()
    with c.captured_sql(app) as statements:
        client.get("/api/v1/comments", query_string={"site": "default", "page": page})
    replies = [(sql, params) for sql, params in statements if "row_number()" in sql]
    return "; ".join(plan for _q, plan in c.sqlite_plans(app, replies))


def check_shape(app: Flask, page: str = THREAD, tops: int = THREAD_TOPS) -> None:
    """The measured read really returns 100 top-level comments with 3 replies each."""
    client = app.test_client()
    data = client.get(
        "/api/v1/comments", query_string={"site": "default", "page": page, "limit": 100}
    ).get_json()
    assert len(data["comments"]) == 100, len(data["comments"])
    assert all(len(item["replies"]) == REPLIES for item in data["comments"])
    assert data["page"]["comment_count"] == tops * (1 + REPLIES)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer timed runs")
    args = parser.parse_args()
    runs = 40 if args.quick else 200
    print(f"thread_read: {c.machine()}; {runs} timed runs per row")
    results: dict[str, dict[str, tuple[float, float, str, int]]] = {}
    plan = ""
    for size, (comments, pages, busy_tops) in SIZES.items():
        with c.instance_folder(f"thread-{size}") as folder:
            app = c.migrated_app(c.bench_config(folder))
            started = time.perf_counter()
            keys = seed(app, comments, pages, busy_tops)
            print(
                f"  seeded {size}: {comments:,} comments over {pages:,} pages "
                f"in {time.perf_counter() - started:.1f}s"
            )
            check_shape(app)
            with c.CpuWatch().watching() as watch:
                results[size] = measure(app, keys, runs)
                if busy_tops:
                    check_shape(app, BUSY, busy_tops)
                    results["busy"] = measure(app, keys, runs, BUSY)
                    plan = reply_query_plan(app, BUSY)
            print(f"  measured {size}: {watch.note()}")
            with app.app_context():
                db.session.remove()
                db.engine.dispose()
    rows = []
    for label in results["small"]:
        small, large = results["small"][label], results["large"][label]
        rows.append(
            [label, f"{large[3]:,}", small[0], small[1], large[0], large[1], large[0] / small[0]]
        )
    print()
    print(
        c.table(
            [
                "request",
                "body bytes",
                "1k median ms",
                "1k p95 ms",
                "100k median ms",
                "100k p95 ms",
                "ratio (median)",
            ],
            rows,
        )
    )
    print()
    rows = []
    for label in results["large"]:
        normal, busy = results["large"][label], results["busy"][label]
        rows.append(
            [label, f"{busy[3]:,}", normal[0], normal[1], busy[0], busy[1], busy[0] / normal[0]]
        )
    print("Same 100k database: the 400-comment thread vs the 10,000-comment busy thread")
    print(
        c.table(
            [
                "request",
                "busy body bytes",
                "400 median ms",
                "400 p95 ms",
                "10k median ms",
                "10k p95 ms",
                "ratio (median)",
            ],
            rows,
        )
    )
    print()
    for label, (_m, _p, scans, _b) in results["large"].items():
        print(f"  full scans of comment, {label}: {scans}")
    print(f"  replies query plan (busy thread): {plan}")


if __name__ == "__main__":
    main()
