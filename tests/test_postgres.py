"""What PostgreSQL does differently, checked on PostgreSQL in every run (``make test`` too):
32-bit integers against forged cursors and ids, NUL bytes it cannot store, the window
functions of the reply query, and gunicorn workers racing on one database.

``make test-postgres`` runs the rest of the suite on PostgreSQL (``backends``); this module
runs on its own database whichever backend the suite follows. A fresh database is created
for this module (and one for the gunicorn tests) and dropped afterwards. Where the
PostgreSQL server on 127.0.0.1:5432 cannot be reached, everything is skipped with the
reason (fails, in CI).
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from backends import require_postgres
from flask import Flask
from flask.testing import FlaskClient
from servers import (
    Server,
    double_delete_scenario,
    first_posts_scenario,
    posters_scenario,
    postgres_database,
    replies_scenario,
    running_server,
    votes_scenario,
)
from support import base_config, comment_body, every_comment, thread, visitor_key
from werkzeug.test import TestResponse

from service import create_app
from service.data import Comment, Page
from service.database import writing
from service.extensions import db

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


@pytest.fixture(scope="module")
def pg_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh database for this module, migrated to head with the default site."""
    require_postgres()
    from flask_migrate import upgrade

    from service.sites.lookup import ensure_default_site

    with postgres_database() as url, pytest.MonkeyPatch.context() as mp:
        for name in [n for n in os.environ if n.startswith("PARLEY_")]:
            mp.delenv(name)
        app = create_app(
            base_config(tmp_path_factory.mktemp("pg-migrate"), SQLALCHEMY_DATABASE_URI=url)
        )
        with app.app_context():
            upgrade()
            with writing():
                ensure_default_site()
            db.engine.dispose()
        yield url


@pytest.fixture
def app(tmp_path: Path, pg_url: str) -> Iterator[Flask]:
    """Overrides conftest's SQLite app: the same app on the module's PostgreSQL database."""
    app = create_app(base_config(tmp_path, SQLALCHEMY_DATABASE_URI=pg_url))
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def page() -> str:
    """A page key of its own for each test: the module shares one database."""
    return f"/pg/{secrets.token_hex(6)}"


@pytest.fixture
def post(client: FlaskClient, page: str) -> Callable[..., TestResponse]:
    """Overrides conftest's: posts to the test's own page by default."""

    def _post(page_key: str = page, **fields: Any) -> TestResponse:
        return client.post(
            "/api/v1/comments",
            query_string={"site": "default", "page": page_key},
            json=comment_body(**fields),
        )

    return _post


def edit_headers(posted: dict[str, Any]) -> dict[str, str]:
    return {"X-Parley-Edit-Token": posted["edit_token"]}


def test_the_app_really_runs_on_postgresql(app: Flask) -> None:
    with app.app_context():
        assert db.engine.dialect.name == "postgresql"
        assert db.session.scalar(sa.text("SELECT current_database()")).startswith("parley_test_")


def test_a_posted_comment_reads_back_as_it_was_sent(post, client, page) -> None:
    response = post(text="Hello **world**", website="ada.example.org")
    assert response.status_code == 201, response.json
    comment = response.json["comment"]
    assert comment["html"] == "<p>Hello <strong>world</strong></p>"
    assert comment["website"] == "https://ada.example.org"
    got = thread(client, page)
    assert [c["id"] for c in got["comments"]] == [comment["id"]]
    assert got["page"]["comment_count"] == 1
    assert got["comments"][0]["created"] == comment["created"]


def test_page_metadata_from_the_own_origin_is_kept(post, client, page) -> None:
    assert post(title="A  review", url="http://localhost/review").status_code == 201
    assert thread(client, page)["page"]["title"] == "A review"


def test_replies_nest_and_those_past_the_cap_page_by_cursor(app, post, client, page) -> None:
    """The window functions (row_number, count over partition) on PostgreSQL."""
    cap = app.config["PARLEY_REPLIES_PER_PARENT"]
    top = post(text="Top").json["comment"]
    replies = [
        post(text=f"reply {i}", parent=top["id"]).json["comment"]["id"] for i in range(cap + 3)
    ]
    nested = post(text="nested", parent=replies[0]).json["comment"]
    deeper = post(text="deeper", parent=nested["id"]).json["comment"]
    other = post(text="Second top").json["comment"]

    got = thread(client, page)
    assert got["page"]["comment_count"] == cap + 3 + 4
    first, second = got["comments"]
    assert first["id"] == top["id"] and second["id"] == other["id"]
    assert [r["id"] for r in first["replies"]] == replies[:cap]
    assert first["more_replies"] == 3
    assert first["replies"][0]["replies"][0]["id"] == nested["id"]
    assert first["replies"][0]["replies"][0]["replies"][0]["id"] == deeper["id"]
    assert second["replies"] == [] and second["more_replies"] == 0

    rest = every_comment(client, page, parent=top["id"], limit=2)
    assert [c["id"] for c in rest] == replies


@pytest.mark.parametrize("sort", ["oldest", "newest"])
def test_cursor_paging_shows_every_comment_once_in_order(post, client, page, sort) -> None:
    ids = [post(text=f"comment {i}").json["comment"]["id"] for i in range(7)]
    seen = [c["id"] for c in every_comment(client, page, sort=sort, limit=3)]
    assert seen == (ids if sort == "oldest" else ids[::-1])


def test_top_sort_pages_by_likes(post, client, page) -> None:
    ids = [post(text=f"liked {i}").json["comment"]["id"] for i in range(5)]
    visitors = [visitor_key(client) for _ in range(2)]
    for comment, voters in ((ids[2], visitors), (ids[4], visitors[:1])):
        for visitor in voters:
            liked = client.put(
                f"/api/v1/comments/{comment}/like", headers={"X-Parley-Visitor": visitor}
            )
            assert liked.status_code == 200, liked.json
    seen = [(c["id"], c["likes"]) for c in every_comment(client, page, sort="top", limit=2)]
    assert seen == [(ids[2], 2), (ids[4], 1), (ids[0], 0), (ids[1], 0), (ids[3], 0)]


def test_paging_with_equal_timestamps_uses_the_id(app, post, client, page) -> None:
    ids = [post(text=f"same time {i}").json["comment"]["id"] for i in range(5)]
    with app.app_context():
        db.session.execute(
            sa.update(Comment).where(Comment.id.in_(ids)).values(created=sa.func.now())
        )
        db.session.commit()
    for sort in ("oldest", "newest"):
        seen = [c["id"] for c in every_comment(client, page, sort=sort, limit=2)]
        assert seen == (ids if sort == "oldest" else ids[::-1])


def test_a_comment_is_edited_with_its_own_token_only(post, client, page) -> None:
    mine = post(text="Frist").json
    theirs = post(text="Theirs").json
    url = f"/api/v1/comments/{mine['comment']['id']}"
    response = client.patch(url, json={"text": "First"}, headers=edit_headers(mine))
    assert response.status_code == 200, response.json
    assert response.json["comment"]["html"] == "<p>First</p>"
    assert response.json["comment"]["edited"] is not None
    other = f"/api/v1/comments/{theirs['comment']['id']}"
    assert client.patch(other, json={"text": "x"}, headers=edit_headers(mine)).status_code == 403
    assert client.patch(url, json={"text": "x"}).status_code == 403
    assert [c["html"] for c in thread(client, page)["comments"]] == [
        "<p>First</p>",
        "<p>Theirs</p>",
    ]


def test_delete_leaves_a_placeholder_then_removes_it(app, post, client, page) -> None:
    parent = post(name="Grace", text="Secret").json
    reply = post(text="Child", parent=parent["comment"]["id"]).json
    parent_url = f"/api/v1/comments/{parent['comment']['id']}"
    assert client.delete(parent_url, headers=edit_headers(parent)).status_code == 204

    got = thread(client, page)
    [placeholder] = got["comments"]
    assert placeholder["deleted"] is True and placeholder["author"] is None
    assert placeholder["html"] == ""
    assert placeholder["replies"][0]["id"] == reply["comment"]["id"]
    assert got["page"]["comment_count"] == 1
    with app.app_context():
        row = db.session.get(Comment, parent["comment"]["id"])
        assert row is not None and row.email_encrypted is None and row.text == ""

    reply_url = f"/api/v1/comments/{reply['comment']['id']}"
    assert client.delete(reply_url, headers=edit_headers(reply)).status_code == 204
    got = thread(client, page)
    assert got["comments"] == [] and got["page"]["comment_count"] == 0
    with app.app_context():
        left = db.session.scalar(
            sa.select(sa.func.count()).select_from(Comment).join(Page).where(Page.key == page)
        )
    assert left == 0
    assert client.delete(parent_url, headers=edit_headers(parent)).status_code == 404


def test_counts_for_many_pages_come_in_one_request(post, client, page) -> None:
    post(page + "/a", text="first")
    post(page + "/a", text="second")  # the same text again would be a retry, not a comment
    post(page + "/b")
    pages = [page + "/a", page + "/b", page + "/none"]
    response = client.post("/api/v1/counts", json={"pages": pages})
    assert response.status_code == 200
    counted = response.json["counts"]
    assert {key: counted[key]["comments"] for key in counted} == dict(
        zip(pages, [2, 1, 0], strict=True)
    )
    assert client.post("/api/v1/counts", json={"pages": []}).json == {"counts": {}}


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"name": None}, "name"),
        ({"email": "not an email"}, "email"),
        ({"text": "   "}, "text"),
        ({"text": "x" * 10_001}, "text"),
        ({"website": "javascript:alert(1)"}, "website"),
        ({"parent": 2**31 - 1}, "parent"),
        ({"parent": 2**31}, "parent"),
        ({"parent": 2**63}, "parent"),
        ({"parent": "1"}, "parent"),
        ({"color": "red"}, "color"),
    ],
)
def test_invalid_posts_are_422(post, fields, field) -> None:
    response = post(**fields)
    assert response.status_code == 422, response.json
    assert field in response.json["error"]["fields"]


def cursor(*values: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


BIG = [2**31, 2**40, -(2**40), 2**70]
FORGED = [
    *[("oldest", ident) for ident in BIG],
    *[("newest", ident) for ident in BIG],
    *[("top", ident, 0) for ident in BIG],
    *[("top", 1, likes) for likes in BIG],
]


@pytest.mark.parametrize("values", FORGED, ids=str)
def test_a_forged_cursor_outside_the_integer_range_is_not_a_500(post, client, page, values):
    """PostgreSQL integers are 32-bit: a cursor is client input and must be bounded like one."""
    post()
    sort, *numbers = values
    forged = cursor(sort, "2020-01-01T00:00:00", *numbers)
    response = client.get(
        "/api/v1/comments", query_string={"page": page, "sort": sort, "cursor": forged}
    )
    assert response.status_code in (200, 400), response.json


def test_ids_outside_the_range_are_404_not_500(post, client, page) -> None:
    posted = post().json
    for ident in (2**31, 2**63, 10**30):
        url = f"/api/v1/comments/{ident}"
        headers = edit_headers(posted)
        assert client.patch(url, json={"text": "x"}, headers=headers).status_code == 404
        assert client.delete(url, headers=headers).status_code == 404
    too_big = client.get("/api/v1/comments", query_string={"page": page, "parent": 2**31})
    assert too_big.status_code == 400


def test_reply_to_a_comment_on_another_page_is_422(post, page) -> None:
    elsewhere = post(page + "/elsewhere").json["comment"]
    response = post(parent=elsewhere["id"])
    assert response.status_code == 422
    assert "parent" in response.json["error"]["fields"]


NUL = "nul\x00byte"


@pytest.mark.parametrize(
    "fields",
    [
        {"name": NUL},
        {"email": "a\x00@example.org"},
        {"text": NUL},
        {"website": "https://example.org/\x00"},
        {"hp": NUL},
        {"url": "http://localhost/\x00"},
        {"title": NUL, "url": "http://localhost/review"},
        {NUL: "unknown field"},
    ],
    ids=["name", "email", "text", "website", "hp", "url", "title", "key"],
)
def test_nul_bytes_are_refused_or_dropped_never_a_500(app, post, client, page, fields) -> None:
    """PostgreSQL cannot store NUL in text; the service must refuse it before the database."""
    response = post(**fields)
    assert response.status_code != 500, response.json
    if response.status_code == 201:
        # Accepted only when the field was dropped, never stored as given.
        with app.app_context():
            stored = db.session.scalar(sa.select(Page).where(Page.key == page))
            assert stored is not None and "\x00" not in (stored.title or "") + (stored.url or "")
    else:
        assert response.status_code == 422, response.json


def test_nul_bytes_in_an_edit_or_a_query_are_refused(post, client, page) -> None:
    posted = post().json
    url = f"/api/v1/comments/{posted['comment']['id']}"
    assert client.patch(url, json={"text": NUL}, headers=edit_headers(posted)).status_code == 422
    assert client.get("/api/v1/comments", query_string={"page": NUL}).status_code == 400
    assert (
        client.get("/api/v1/comments", query_string={"site": NUL, "page": "/x"}).status_code == 400
    )
    counts = client.post("/api/v1/counts", json={"pages": [NUL]})
    assert 400 <= counts.status_code < 500


def test_widget_fragment_reads_the_thread(post, client, page) -> None:
    post(text="Shown in the widget")
    response = client.get("/widget/comments", query_string={"page": page})
    assert response.status_code == 200
    assert "Shown in the widget" in response.get_data(as_text=True)


# --- gunicorn workers on PostgreSQL -------------------------------------------------------


@pytest.fixture(scope="module")
def gunicorn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    require_postgres()
    with postgres_database() as url:
        with running_server(tmp_path_factory.mktemp("gunicorn-pg"), url, workers=4) as running:
            yield running


@pytest.fixture
def server(gunicorn: Server) -> Server:
    """The module's server; each test looks only at what the server logs during it."""
    gunicorn.checkpoint()
    return gunicorn


def test_gunicorn_concurrent_posters_each_get_their_own_comment(server: Server) -> None:
    posters_scenario(server, threads=8, posts=15, page="/load")
    server.assert_no_problems()


def test_gunicorn_concurrent_replies_all_land_under_their_parent(server: Server) -> None:
    replies_scenario(server, threads=8, replies=5, page="/replies")
    server.assert_no_problems()


def test_gunicorn_concurrent_first_posts_create_the_page_once(server: Server) -> None:
    libpq = server.database_url.replace("postgresql+psycopg://", "postgresql://", 1)

    def page_count(key: str) -> int:
        import psycopg

        with psycopg.connect(libpq) as conn:
            row = conn.execute("SELECT count(*) FROM page WHERE key = %s", (key,)).fetchone()
            assert row is not None
            return int(row[0])

    first_posts_scenario(server, threads=8, rounds=4, page_count=page_count)
    server.assert_no_problems()


def test_gunicorn_concurrent_likes_and_votes_count_once_per_visitor(server: Server) -> None:
    votes_scenario(server, visitors=4, per_visitor=3)
    server.assert_no_problems()


def test_gunicorn_a_delete_sent_several_times_at_once_counts_once(server: Server) -> None:
    double_delete_scenario(server, clicks=6, rounds=3)
    server.assert_no_problems()
