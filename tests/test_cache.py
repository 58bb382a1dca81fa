"""Cached public reads: versions, ETags and 304s, what is shared and what never is, the
bound, Redis, compression and the cacheable GET /api/v1/counts.

Two app instances on one database stand for two workers: every kind of write made through
one is seen at once by the other's next read, and a write on one page leaves every other
page's cached answers alone.
"""

from __future__ import annotations

import gzip
import re
import secrets
import shutil
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import brotli
import pytest
import sqlalchemy as sa
from flask import Flask, template_rendered
from flask.testing import FlaskClient, FlaskCliRunner
from support import (
    admin_post,
    base_config,
    comment_body,
    csrf_token,
    json_of,
    log_in,
    make_moderator,
    redis_url,
    set_site,
    visitor_key,
)
from werkzeug.test import TestResponse

from service import create_app
from service.config import from_environment
from service.data import Comment, Moderator
from service.data.bounds import COUNT_GET_PAGES
from service.extensions import db
from service.notify import links
from service.web import cache

PAGE = "/cached/article"
OTHER = "/cached/elsewhere"
PUBLIC = "public, max-age=10, stale-while-revalidate=30"


def reads(page: str = PAGE) -> dict[str, str]:
    """Every public read of a page, by name."""
    query = f"site=default&page={page}"
    return {
        "thread": f"/api/v1/comments?{query}",
        "fragment": f"/widget/comments?{query}",
        "rating": f"/api/v1/ratings?{query}",
        "rating fragment": f"/widget/rating?{query}",
        "counts": f"/api/v1/counts?{query}",
    }


@pytest.fixture
def worker(app: Flask, tmp_path: Path) -> Iterator[Flask]:
    """A second app instance on the same database file: another worker."""
    other = create_app(base_config(tmp_path))
    yield other
    with other.app_context():
        db.engine.dispose()


@dataclass
class Reader:
    """A client of one worker that remembers each read's ETag."""

    client: FlaskClient
    etags: dict[str, str] = field(default_factory=dict)

    def get(self, path: str, **headers: str) -> TestResponse:
        response = self.client.get(path, headers=headers)
        assert response.status_code in (200, 304), response.get_data(as_text=True)[:300]
        if response.status_code == 200:
            self.etags[path] = response.headers["ETag"]
        return response

    def again(self, path: str) -> TestResponse:
        """The read again, as a browser or proxy revalidates it."""
        return self.get(path, **{"If-None-Match": self.etags[path]})

    def text(self, path: str) -> str:
        return self.get(path).get_data(as_text=True)


def post(client: FlaskClient, page: str = PAGE, key: str | None = None, **fields: Any) -> Any:
    headers = {"X-Parley-Visitor": key} if key else {}
    response = client.post(
        "/api/v1/comments",
        query_string={"page": page},
        json=comment_body(**fields),
        headers=headers,
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.json


def vote(client: FlaskClient, key: str, value: int, page: str = PAGE) -> None:
    response = client.put(
        "/api/v1/ratings",
        query_string={"page": page},
        json={"value": value},
        headers={"X-Parley-Visitor": key},
    )
    assert response.status_code == 200, response.get_data(as_text=True)


@contextmanager
def statements(app: Flask) -> Iterator[list[str]]:
    """The SQL statements the database is sent inside the block (transaction control left
    out), read at the driver: statements run on a raw pooled connection count too."""
    seen: list[str] = []

    def record(statement: str) -> None:
        if not statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK", "PRAGMA")):
            seen.append(statement)

    def watch(dbapi_connection: Any, *_args: Any) -> None:
        if isinstance(dbapi_connection, sqlite3.Connection):
            dbapi_connection.set_trace_callback(record)
        else:  # psycopg: a cursor class that notes what it executes
            dbapi_connection.cursor_factory = _recording_cursor(
                dbapi_connection.cursor_factory, record
            )

    def unwatch(dbapi_connection: Any, *_args: Any) -> None:
        if dbapi_connection is None:  # invalidated
            return
        if isinstance(dbapi_connection, sqlite3.Connection):
            dbapi_connection.set_trace_callback(None)
        else:
            dbapi_connection.cursor_factory = getattr(
                dbapi_connection.cursor_factory, "watched", dbapi_connection.cursor_factory
            )

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "checkout", watch)
    sa.event.listen(engine, "checkin", unwatch)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "checkout", watch)
        sa.event.remove(engine, "checkin", unwatch)


def _recording_cursor(factory: Any, record: Callable[[str], None]) -> Any:
    class Recording(factory):
        watched = factory

        def execute(self, query: Any, *args: Any, **kwargs: Any) -> Any:
            record(str(query))
            return super().execute(query, *args, **kwargs)

    return Recording


@contextmanager
def rendered(app: Flask) -> Iterator[list[str]]:
    """The templates the app renders inside the block."""
    names: list[str] = []

    def record(_sender: Flask, template: Any, **_extra: Any) -> None:
        names.append(template.name)

    template_rendered.connect(record, app)
    try:
        yield names
    finally:
        template_rendered.disconnect(record, app)


# --- every kind of write is seen at once, by every worker -----------------------------------


@dataclass
class World:
    app: Flask
    client: FlaskClient
    runner: FlaskCliRunner
    ids: dict[str, Any] = field(default_factory=dict)

    def owner(self) -> FlaskClient:
        make_moderator(self.app)
        assert log_in(self.client).status_code == 303
        return self.client

    def cli(self, *args: str) -> None:
        result = self.runner.invoke(args=list(args))
        assert result.exit_code == 0, result.output


def _published(world: World) -> None:
    world.ids["comment"] = post(world.client, text="Words to change.")


def _held(world: World) -> None:
    set_site(world.app, moderation="all")
    world.ids["comment"] = post(world.client, text="Held words.")


def _voted(world: World) -> None:
    world.ids["key"] = visitor_key(world.client)
    vote(world.client, world.ids["key"], 4)


def _mail_link_approval(world: World) -> None:
    make_moderator(world.app)
    with world.app.app_context():
        moderator = db.session.scalars(sa.select(Moderator)).one()
        comment = db.session.get_one(Comment, world.ids["comment"]["comment"]["id"])
        path = links.moderation_link(moderator, comment, "approve").split("localhost", 1)[1]
    page = world.client.get(path).get_data(as_text=True)
    done = world.client.post(path, data={"csrf_token": csrf_token(page)})
    assert done.status_code == 200


def _author_edit(world: World) -> None:
    posted = world.ids["comment"]
    edited = world.client.patch(
        f"/api/v1/comments/{posted['comment']['id']}",
        json={"text": "Words changed."},
        headers={"X-Parley-Edit-Token": posted["edit_token"]},
    )
    assert edited.status_code == 200


def _author_delete(world: World) -> None:
    posted = world.ids["comment"]
    deleted = world.client.delete(
        f"/api/v1/comments/{posted['comment']['id']}",
        headers={"X-Parley-Edit-Token": posted["edit_token"]},
    )
    assert deleted.status_code == 204


def _admin(view: str, **form: str) -> Callable[[World], None]:
    def act(world: World) -> None:
        owner = world.owner()
        ident = world.ids["comment"]["comment"]["id"]
        path = f"/admin/comments/{ident}/{view}"
        if view == "queue":
            path = "/admin/queue"
            form["ids"] = str(ident)
        assert admin_post(owner, path, **form).status_code == 303

    return act


def _like(world: World) -> None:
    key = visitor_key(world.client)
    liked = world.client.put(
        f"/api/v1/comments/{world.ids['comment']['comment']['id']}/like",
        headers={"X-Parley-Visitor": key},
    )
    assert liked.status_code == 200


def _retract(world: World) -> None:
    taken = world.client.delete(
        "/api/v1/ratings",
        query_string={"page": PAGE},
        headers={"X-Parley-Visitor": world.ids["key"]},
    )
    assert taken.status_code == 200


def _thread_text(reader: Reader) -> str:
    return reader.text(reads()["thread"]) + reader.text(reads()["fragment"])


def _rating(reader: Reader) -> dict[str, Any]:
    return json_of(reader.get(reads()["rating"]))


@dataclass(frozen=True)
class Write:
    prepare: Callable[[World], None] | None
    write: Callable[[World], None]
    seen: Callable[[Reader], bool]


WRITES: dict[str, Write] = {
    "post": Write(
        None,
        lambda w: post(w.client, text="Fresh words."),
        lambda r: (
            "Fresh words." in _thread_text(r)
            and json_of(r.get(reads()["counts"]))["counts"][PAGE]["comments"] == 1
        ),
    ),
    "moderation": Write(
        _held,
        _admin("moderate", action="approve"),
        lambda r: "Held words." in _thread_text(r),
    ),
    "bulk moderation": Write(
        _published,
        _admin("queue", action="spam"),
        lambda r: "Words to change." not in _thread_text(r),
    ),
    "mail link": Write(_held, _mail_link_approval, lambda r: "Held words." in _thread_text(r)),
    "command line": Write(
        _published,
        lambda w: w.cli("comment", "moderate", str(w.ids["comment"]["comment"]["id"]), "delete"),
        lambda r: "Words to change." not in _thread_text(r),
    ),
    "author edit": Write(_published, _author_edit, lambda r: "Words changed." in _thread_text(r)),
    "author delete": Write(
        _published, _author_delete, lambda r: "Words to change." not in _thread_text(r)
    ),
    "moderator reply": Write(
        _published,
        _admin("reply", text="An answer from the team."),
        lambda r: "An answer from the team." in _thread_text(r),
    ),
    "moderator edit": Write(
        _published,
        _admin("edit", text="Edited by the team."),
        lambda r: "Edited by the team." in _thread_text(r),
    ),
    "vote": Write(
        None,
        lambda w: vote(w.client, visitor_key(w.client), 5),
        lambda r: _rating(r)["count"] == 1 and "1 rating" in r.text(reads()["rating fragment"]),
    ),
    "retraction": Write(_voted, _retract, lambda r: _rating(r)["count"] == 0),
    "like": Write(
        _published,
        _like,
        lambda r: (
            json_of(r.get(reads()["thread"]))["comments"][0]["likes"] == 1
            and 'parley-like-n">1<' in r.text(reads()["fragment"])
        ),
    ),
    "page settings": Write(
        _published,
        lambda w: w.cli("page", "set", "default", PAGE, "--title", "A new title", "--no-ratings"),
        lambda r: (
            json_of(r.get(reads()["thread"]))["page"]["title"] == "A new title"
            and "Ratings are closed." in r.text(reads()["rating fragment"])
        ),
    ),
    "site settings": Write(
        _voted,
        lambda w: w.cli("site", "set", "default", "--scale", "10", "--rescale"),
        lambda r: (
            _rating(r)["scale"] == 10 and 'data-scale="10"' in r.text(reads()["rating fragment"])
        ),
    ),
    "edit window": Write(
        _published,
        lambda w: w.cli("site", "set", "default", "--edit-window", "60"),
        lambda r: 'data-edit-window="60"' in r.text(reads()["fragment"]),
    ),
    "editorial score": Write(
        _published,
        lambda w: w.cli("page", "score", "default", PAGE, "IMDB", "5.9"),
        lambda r: (
            [i["label"] for i in _rating(r)["editorial"]["items"]] == ["IMDB"]
            and "Final Summary" in r.text(reads()["rating fragment"])
        ),
    ),
}


@pytest.mark.parametrize("kind", WRITES)
def test_each_write_is_seen_at_once_by_another_worker(
    kind: str, app: Flask, client: FlaskClient, runner: FlaskCliRunner, worker: Flask
):
    world, change = World(app, client, runner), WRITES[kind]
    if change.prepare:
        change.prepare(world)
    reader = Reader(worker.test_client())
    for path in reads().values():  # the other worker caches every read of the page
        reader.get(path)
        assert reader.again(path).status_code == 304
    assert not change.seen(reader)
    change.write(world)
    for name, path in reads().items():
        answer = reader.again(path)
        assert answer.status_code == 200, (kind, name)
    assert change.seen(reader), kind


def test_a_write_on_one_page_leaves_other_pages_cached_answers_alone(
    app: Flask, client: FlaskClient, worker: Flask
):
    post(client, page=OTHER, text="Elsewhere.")
    reader = Reader(worker.test_client())
    for path in [*reads().values(), *reads(OTHER).values()]:
        reader.get(path)
    before = cache.stats(worker).copy()
    post(client, text="Here.")
    vote(client, visitor_key(client), 3)
    for path in reads(OTHER).values():
        assert reader.again(path).status_code == 304
        reader.get(path)  # and a plain read comes from the cache
    after = cache.stats(worker)
    assert after["miss"] == before["miss"]
    assert after["hit"] == before["hit"] + len(reads(OTHER))
    for path in reads().values():
        assert reader.again(path).status_code == 200
    assert cache.stats(worker)["miss"] == before["miss"] + len(reads())


def test_a_conditional_read_costs_one_small_query_and_renders_nothing(
    app: Flask, client: FlaskClient
):
    for n in range(3):
        post(client, text=f"Comment {n}.")
    reader = Reader(client)
    for path in reads().values():
        reader.get(path)
    for path in reads().values():
        with statements(app) as sql, rendered(app) as templates:
            assert reader.again(path).status_code == 304
        assert templates == []
        assert len(sql) == 1, sql
        # The page's closing time is read with its version; the comment table is not.
        assert "FROM site" in sql[0] and not re.search(r"\bcomment\b", sql[0].lower())
        # A read from the cache costs the same, and renders nothing either.
        with statements(app) as sql, rendered(app) as templates:
            assert reader.get(path).status_code == 200
        assert templates == [] and len(sql) == 1, sql


def test_public_reads_carry_etag_cache_control_and_vary(client: FlaskClient):
    post(client, text="x " * 800)  # over a kilobyte
    for name, path in reads().items():
        response = client.get(path, headers={"Accept-Encoding": "gzip"})
        assert response.headers["Cache-Control"] == PUBLIC, name
        assert re.fullmatch(r'W/"[0-9a-f]{32}"', response.headers["ETag"]), name
        vary = {v.strip() for v in response.headers["Vary"].split(",")}
        assert "Accept-Encoding" in vary and "Cookie" not in vary, name
        assert ("X-Parley-Visitor" in vary) == (name in ("thread", "rating")), name
        assert "Set-Cookie" not in response.headers
        assert client.get(path, headers={"If-None-Match": "*"}).status_code == 304
        gone = client.get(path, headers={"If-None-Match": 'W/"' + "0" * 32 + '"'})
        assert gone.status_code == 200


def test_every_parameter_that_changes_the_answer_is_in_the_key(client: FlaskClient):
    for n in range(4):
        post(client, text=f"Comment number {n}.")
    first = json_of(client.get("/api/v1/comments", query_string={"page": PAGE, "limit": 2}))
    variants: list[dict[str, Any]] = [
        {"limit": 2},
        {"limit": 3},
        {"limit": 2, "sort": "newest"},
        {"limit": 2, "cursor": first["next"]},
        {"limit": 2, "lang": "de"},
        {"limit": 2, "site": "default"},
    ]
    etags, bodies = set(), set()
    for params in variants:
        response = client.get("/api/v1/comments", query_string={"page": PAGE, **params})
        etags.add(response.headers["ETag"])
        bodies.add(response.get_data())
    assert len(etags) == len(variants) - 1  # site=default is the default
    assert len(bodies) == 4  # limit, sort and cursor change the body; lang not yet
    fragment = client.get("/widget/comments", query_string={"page": PAGE}).headers["ETag"]
    part = client.get("/widget/comments", query_string={"page": PAGE, "part": "1"})
    assert part.headers["ETag"] != fragment


def test_another_public_url_never_shares_a_key(tmp_path: Path, migrated_template: Path):
    shutil.copy(migrated_template, tmp_path / "parley.sqlite")
    tags = set()
    for url in ("http://localhost", "https://comments.example.org"):
        app = create_app(base_config(tmp_path, PARLEY_PUBLIC_URL=url))
        tags.add(app.test_client().get(reads()["thread"]).headers["ETag"])
        with app.app_context():
            db.engine.dispose()
    assert len(tags) == 2


# --- what depends on the visitor is never shared --------------------------------------------


def test_a_shadow_banned_authors_own_comments_never_reach_the_shared_cache(
    app: Flask, client: FlaskClient, owner: FlaskClient
):
    banned, other = visitor_key(client), visitor_key(client)
    first = post(client, key=banned, text="Before the ban.")["comment"]["id"]
    admin_post(owner, f"/admin/comments/{first}/ban", kinds="visitor", shadow="1", reason="x")
    post(client, key=banned, text="Only I see this.")
    path = reads()["thread"]
    for order in ((banned, None, other), (None, banned, other)):
        for key in order:
            headers = {"X-Parley-Visitor": key} if key else {}
            answer = client.get(path, headers=headers)
            shown = "Only I see this." in answer.get_data(as_text=True)
            assert shown == (key == banned)
            if key is None:
                assert answer.headers["Cache-Control"] == PUBLIC and "ETag" in answer.headers
            else:
                assert answer.headers["Cache-Control"] == "private, no-store"
                assert "ETag" not in answer.headers
                assert "X-Parley-Visitor" in answer.headers["Vary"]
    for other_read in ("fragment", "counts"):
        html = client.get(reads()[other_read], headers={"X-Parley-Visitor": banned})
        assert "Only I see this." not in html.get_data(as_text=True)


def test_a_visitor_with_a_key_gets_the_public_thread_privately(client: FlaskClient):
    post(client, text="For everyone.")
    key = visitor_key(client)
    public = client.get(reads()["thread"])
    mine = client.get(reads()["thread"], headers={"X-Parley-Visitor": key})
    assert mine.get_data() == public.get_data()
    assert mine.headers["Cache-Control"] == "private, no-store" and "ETag" not in mine.headers
    forged = client.get(reads()["thread"], headers={"X-Parley-Visitor": "forged-key"})
    assert forged.status_code == 403


def test_two_visitors_never_see_each_others_vote_through_the_cache(client: FlaskClient):
    first, second = visitor_key(client), visitor_key(client)
    vote(client, first, 5)
    vote(client, second, 2)
    path = reads()["rating"]
    for _ in range(2):
        for key, yours in ((first, 5), (second, 2), (None, None)):
            headers = {"X-Parley-Visitor": key} if key else {}
            answer = client.get(path, headers=headers)
            assert json_of(answer)["yours"] == yours and json_of(answer)["count"] == 2
            private = answer.headers["Cache-Control"] == "private, no-store"
            assert private == (key is not None)
    fragment = client.get(reads()["rating fragment"], headers={"X-Parley-Visitor": first})
    assert "checked" not in fragment.get_data(as_text=True)
    likes = client.get(
        "/api/v1/likes", query_string={"page": PAGE}, headers={"X-Parley-Visitor": first}
    )
    assert likes.headers["Cache-Control"] == "private, no-store"


def test_a_readers_flash_messages_stay_out_of_the_shared_fragment(client: FlaskClient):
    page = client.get("/thread", query_string={"page": PAGE})
    assert page.headers["Cache-Control"] == "private, no-store"
    rated = client.post(
        "/thread/rate",
        query_string={"page": PAGE},
        data={"value": "4", "csrf_token": csrf_token(page.get_data(as_text=True))},
    )
    assert rated.status_code == 303
    fragment = client.get(reads()["rating fragment"])  # with the session cookie
    assert "Thank you for rating." not in fragment.get_data(as_text=True)
    assert "Cookie" not in fragment.headers.get("Vary", "")
    shown = client.get("/thread", query_string={"page": PAGE}).get_data(as_text=True)
    assert "Thank you for rating." in shown  # still there for the page it was meant for


# --- the store: bounded by default, Redis when set, never a failure --------------------------


@pytest.mark.parametrize("app_config", [{"CACHE_THRESHOLD": 10}])
def test_the_in_process_cache_is_bounded(app: Flask, client: FlaskClient):
    for n in range(40):
        assert client.get(reads(f"/page/{n}")["fragment"]).status_code == 200
    with app.app_context():
        kept = cache.cache.cache
        assert type(kept).__name__ == "SimpleCache"
        assert len(kept._cache) <= 10 + 1  # pruned before each new entry
    assert cache.stats(app)["miss"] == 40


def test_the_default_cache_is_in_process_and_bounded_and_redis_when_configured(tmp_path: Path):
    assert "CACHE_REDIS_URL" not in from_environment({})
    app = create_app(base_config(tmp_path))
    assert app.config["CACHE_TYPE"] == "SimpleCache" and app.config["CACHE_THRESHOLD"] == 1000
    chosen = from_environment({"PARLEY_REDIS_URL": " redis://127.0.0.1:6379/0 "})
    assert chosen["CACHE_REDIS_URL"] == "redis://127.0.0.1:6379/0"
    redis_app = create_app(base_config(tmp_path, **chosen))
    assert redis_app.config["CACHE_TYPE"] == "RedisCache"


def test_workers_share_answers_through_redis(tmp_path: Path, migrated_template: Path):
    shutil.copy(migrated_template, tmp_path / "parley.sqlite")
    shared = {
        "CACHE_TYPE": "RedisCache",
        "CACHE_REDIS_URL": redis_url(),
        "CACHE_KEY_PREFIX": f"parley-test-{secrets.token_hex(4)}:",
    }
    first, second = (create_app(base_config(tmp_path, **shared)) for _ in range(2))
    one, two = first.test_client(), second.test_client()
    post(one, text="Shared through Redis.")
    assert "Shared through Redis." in one.get(reads()["fragment"]).get_data(as_text=True)
    assert cache.stats(first)["miss"] == 1
    again = two.get(reads()["fragment"])  # the other worker finds it stored
    assert "Shared through Redis." in again.get_data(as_text=True)
    assert cache.stats(second)["hit"] == 1 and cache.stats(second)["miss"] == 0
    post(two, text="A second comment.")
    assert "A second comment." in one.get(reads()["fragment"]).get_data(as_text=True)
    for app in (first, second):
        with app.app_context():
            db.engine.dispose()


def test_an_unreachable_cache_costs_speed_never_an_answer(tmp_path: Path, migrated_template: Path):
    shutil.copy(migrated_template, tmp_path / "parley.sqlite")
    config = {"CACHE_TYPE": "RedisCache", "CACHE_REDIS_URL": "redis://127.0.0.1:1/0"}
    app = create_app(base_config(tmp_path, **config))
    client = app.test_client()
    post(client, text="Still served.")
    for path in reads().values():
        assert client.get(path).status_code == 200
    assert "Still served." in client.get(reads()["thread"]).get_data(as_text=True)
    with app.app_context():
        db.engine.dispose()


# --- compression ----------------------------------------------------------------------------


def test_public_reads_are_stored_and_served_compressed(client: FlaskClient):
    for n in range(10):
        post(client, text=f"A comment long enough to be worth compressing, number {n}.")
    for name, path in reads().items():
        plain = client.get(path, headers={"Accept-Encoding": "identity"})
        assert "Content-Encoding" not in plain.headers
        body = plain.get_data()
        zipped = client.get(path, headers={"Accept-Encoding": "gzip, deflate"})
        squeezed = client.get(path, headers={"Accept-Encoding": "gzip, deflate, br"})
        if len(body) < 1024:
            assert "Content-Encoding" not in zipped.headers, name
            continue
        assert zipped.headers["Content-Encoding"] == "gzip", name
        assert gzip.decompress(zipped.get_data()) == body
        assert squeezed.headers["Content-Encoding"] == "br", name
        assert brotli.decompress(squeezed.get_data()) == body
        assert plain.headers["ETag"] == zipped.headers["ETag"] == squeezed.headers["ETag"]
        assert client.get(path, headers={"Accept-Encoding": "gzip;q=0, br;q=0"}).get_data() == body


def test_other_text_answers_are_compressed_but_never_beside_cookies(owner: FlaskClient, app: Flask):
    fresh = app.test_client()
    document = fresh.get("/api/v1/openapi.json", headers={"Accept-Encoding": "gzip"})
    assert document.headers["Content-Encoding"] == "gzip"
    assert b'"openapi"' in gzip.decompress(document.get_data())
    assert "Accept-Encoding" in document.headers["Vary"]
    admin = owner.get("/admin/", headers={"Accept-Encoding": "gzip, br"})
    assert admin.status_code == 200 and "Content-Encoding" not in admin.headers
    # The standalone page: a first visit holds a fresh CSRF token (compressed); with the
    # cookie that binds a token, never.
    page = fresh.get("/thread", query_string={"page": PAGE}, headers={"Accept-Encoding": "gzip"})
    assert "Set-Cookie" in page.headers and page.headers["Content-Encoding"] == "gzip"
    again = fresh.get("/thread", query_string={"page": PAGE}, headers={"Accept-Encoding": "gzip"})
    assert "Content-Encoding" not in again.headers
    small = fresh.get("/healthz", headers={"Accept-Encoding": "gzip"})
    assert "Content-Encoding" not in small.headers


# --- GET /api/v1/counts ---------------------------------------------------------------------


def test_the_counts_get_answers_as_the_post_does_and_is_cacheable(client: FlaskClient):
    post(client, text="One.")
    post(client, page=OTHER, text="Two.")
    vote(client, visitor_key(client), 4)
    pages = [PAGE, OTHER, "/nobody", PAGE]
    got = client.get("/api/v1/counts", query_string={"site": "default", "page": pages})
    posted = client.post("/api/v1/counts", json={"pages": pages})
    assert got.status_code == 200 and json_of(got) == json_of(posted)
    assert list(json_of(got)["counts"]) == [PAGE, OTHER, "/nobody"]
    assert json_of(got)["counts"][PAGE] == {
        "comments": 1,
        "rating_count": 1,
        "rating_average": 4.0,
    }
    assert got.headers["Cache-Control"] == PUBLIC and "ETag" in got.headers
    assert posted.headers["Cache-Control"] == "private, no-store" and "ETag" not in posted.headers
    again = client.get(
        "/api/v1/counts",
        query_string={"page": pages},
        headers={"If-None-Match": got.headers["ETag"]},
    )
    assert again.status_code == 304
    post(client, page=OTHER, text="Three.")
    changed = client.get(
        "/api/v1/counts",
        query_string={"page": pages},
        headers={"If-None-Match": got.headers["ETag"]},
    )
    assert changed.status_code == 200 and json_of(changed)["counts"][OTHER]["comments"] == 2
    assert json_of(client.get("/api/v1/counts")) == {"counts": {}}


def test_the_counts_get_refuses_too_many_pages_or_too_long_a_url(client: FlaskClient):
    fits = [f"/p{n}" for n in range(COUNT_GET_PAGES)]
    assert client.get("/api/v1/counts", query_string={"page": fits}).status_code == 200
    too_many = client.get("/api/v1/counts", query_string={"page": [*fits, "/one-more"]})
    assert too_many.status_code == 414
    assert json_of(too_many)["error"]["code"] == "uri_too_long"
    long_ids = ["/" + "x" * 500 for _ in range(8)]
    too_long = client.get("/api/v1/counts", query_string={"page": long_ids})
    assert too_long.status_code == 414 and "POST" in json_of(too_long)["error"]["message"]
    assert client.post("/api/v1/counts", json={"pages": long_ids}).status_code == 200
    for bad, status in (({"page": ["/ok", ""]}, 400), ({"site": "nowhere", "page": "/a"}, 404)):
        answer = client.get("/api/v1/counts", query_string=bad)
        assert answer.status_code == status, answer.get_data(as_text=True)
