"""The moderation queue (GET /admin/queue) on 100,000 comments, 10% of them pending.

A moderator is created with ``service.sites.accounts.create_moderator`` and logs in
through ``/admin/login`` with the CSRF token from the form; the queue is then
read through the Flask test client (in-process): unfiltered (pending, and
the approved comments, which the same view lists), with a text
filter (a word in about 1% of comments, and a word in none), and with an
email filter (an author of 100 comments, and one of about 5,000). The same
reads on 1,000 comments show how each one grows with the table.

    .venv/bin/python bench/admin_queue.py [--quick]
"""

from __future__ import annotations

import argparse
import random
import re
import time

import _common as c
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from service.data import Comment, Page
from service.database import writing
from service.extensions import db
from service.sites.accounts import create_moderator

SIZES = {"1k": (1_000, 100), "100k": (100_000, 1_000)}  # comments, pages
REPLIES = 3
WORD = "zephyrine"
RARE_EMAIL = "rare.author@example.org"  # every 1,000th comment, all pending
COMMON_EMAIL = "author00@example.org"  # one comment in 20
AUTHORS = 20
MODERATOR = ("moderator@example.org", "bench-password-0123")


def pending(n: int) -> bool:
    return n % 10 == 3


def seed(app: Flask, comments: int, pages: int) -> None:
    rng = random.Random(11)
    keys = [f"/bench/page-{n:04d}" for n in range(pages)]
    tops = {key: 0 for key in keys}
    for n in range(comments // (1 + REPLIES)):
        tops[keys[n % pages]] += 1
    with app.app_context(), writing():
        people = [c.identity(f"Author {i}", f"author{i:02d}@example.org") for i in range(AUTHORS)]
        rare = c.identity("Rare Author", RARE_EMAIL)
        plain, marked = c.body(c.TEXT), c.body(f"{c.TEXT} A {WORD} moment.")
        ids = c.insert_pages(c.default_site_id(), keys, {})
        plan = c.plan_threads([(ids[k], tops[k]) for k in keys], REPLIES, rng)
        c.insert_comments(
            plan,
            first_id=c.next_comment_id(),
            status=lambda n: "pending" if pending(n) else "approved",
            author=lambda n: rare if n % 1000 == 3 else people[n // 10 % AUTHORS],
            text=lambda n: marked if n % 97 == 0 else plain,
        )
        approved = (
            sa.select(sa.func.count())
            .where(Comment.page_id == Page.id, Comment.status == "approved")
            .scalar_subquery()
        )
        db.session.execute(sa.update(Page).values(comment_count=approved))
        create_moderator(*MODERATOR, name="Bench", sites={"default": "owner"})
        db.session.commit()
        stored = db.session.scalar(sa.select(sa.func.count()).select_from(Comment))
        assert stored == comments, (stored, comments)
        db.session.remove()
        db.engine.dispose()


def login(app: Flask) -> FlaskClient:
    client = app.test_client()
    form = client.get("/admin/login").get_data(as_text=True)
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form)
    assert match, "the login form has no CSRF token"
    email, password = MODERATOR
    answer = client.post(
        "/admin/login", data={"csrf_token": match.group(1), "email": email, "password": password}
    )
    assert answer.status_code == 303, (answer.status_code, answer.data[:300])
    return client


QUERIES = {
    "pending, no filter": {},
    "approved, no filter (90% of comments)": {"status": "approved"},
    f"text filter q={WORD} (~1% of comments)": {"q": WORD},
    "text filter q=nosuchword (no match)": {"q": "nosuchword"},
    "email filter (author of 100 comments)": {"email": RARE_EMAIL},
    "email filter (author of ~5% of comments)": {"email": COMMON_EMAIL},
}
# The email filter is posted (kept in the admin session), never put in a URL.


def set_email_filter(client: FlaskClient, email: str | None) -> None:
    page = client.get("/admin/queue").get_data(as_text=True)
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert match, "the queue has no CSRF token"
    form = {"csrf_token": match.group(1)} | ({"email": email} if email else {"clear": "1"})
    answer = client.post("/admin/queue/email", data=form)
    assert answer.status_code == 303, (answer.status_code, answer.data[:300])


def measure(app: Flask, runs: int) -> dict[str, tuple[float, float, int, str]]:
    """Per query: median ms, p95 ms, rows shown, and the queue query's plan."""
    client = login(app)
    out = {}
    for label, wanted in QUERIES.items():
        query = {k: v for k, v in wanted.items() if k != "email"}
        set_email_filter(client, wanted.get("email"))

        def call(query: dict[str, str] = query, label: str = label) -> str:
            answer = client.get("/admin/queue", query_string=query)
            assert answer.status_code == 200, (label, answer.status_code)
            return answer.get_data(as_text=True)

        with c.captured_sql(app) as statements:
            html = call()
        shown = html.count('name="ids"')
        plans = c.sqlite_plans(app, statements)
        # the queue's own query: the one that reads comment and page together
        queue_plan = next((plan for _q, plan in plans if "comment" in plan and "page" in plan), "")
        median, p95 = c.summary(c.time_calls(call, runs, warmup=5))
        out[label] = (median, p95, shown, queue_plan)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer timed runs")
    args = parser.parse_args()
    runs = 15 if args.quick else 60
    print(f"admin_queue: {c.machine()}; {runs} timed runs per row")
    results = {}
    for size, (comments, pages) in SIZES.items():
        with c.instance_folder(f"queue-{size}") as folder:
            app = c.migrated_app(c.bench_config(folder))
            started = time.perf_counter()
            seed(app, comments, pages)
            print(
                f"  seeded {size}: {comments:,} comments over {pages:,} pages, 10% pending, "
                f"in {time.perf_counter() - started:.1f}s"
            )
            with c.CpuWatch().watching() as watch:
                results[size] = measure(app, runs)
            print(f"  measured {size}: {watch.note()}")
            with app.app_context():
                db.session.remove()
                db.engine.dispose()
    rows = []
    for label in QUERIES:
        small, large = results["1k"][label], results["100k"][label]
        rows.append([label, large[2], small[0], large[0], large[1], large[0] / small[0]])
    print()
    print(
        c.table(
            [
                "GET /admin/queue",
                "rows shown",
                "1k median ms",
                "100k median ms",
                "100k p95 ms",
                "ratio (median)",
            ],
            rows,
        )
    )
    print()
    for label in QUERIES:
        print(f"  plan, {label}: {results['100k'][label][3]}")


if __name__ == "__main__":
    main()
