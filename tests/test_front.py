"""The front of the cache (service.web.front): a public answer Flask made is replayed for the
same request, byte for byte and header for header, until a version it depends on changes;
nothing personal is ever kept or replayed."""

from __future__ import annotations

import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, request_started
from flask.testing import FlaskClient
from support import base_config, comment_body, redis_url, visitor_key
from werkzeug.test import TestResponse

from service import create_app
from service.extensions import db
from service.web import cache

ALLOWED = "https://blog.example"
PAGE = "/front/article"
QUERY = f"site=default&page={PAGE}"
READS = {
    "thread": f"/api/v1/comments?{QUERY}&limit=20",
    "fragment": f"/widget/comments?{QUERY}",
    "rating": f"/api/v1/ratings?{QUERY}",
    "rating fragment": f"/widget/rating?{QUERY}",
    "counts": f"/api/v1/counts?{QUERY}&page=/front/other",
}
CODINGS: tuple[dict[str, str], ...] = (
    {},
    {"Accept-Encoding": "gzip"},
    {"Accept-Encoding": "gzip, deflate, br"},
)


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {"PARLEY_ALLOWED_ORIGINS": [ALLOWED]}


@pytest.fixture
def entered(app: Flask) -> Iterator[list[str]]:
    """The paths of the requests that reached Flask (a replayed one never does)."""
    seen: list[str] = []

    def record(_sender: Flask, **_extra: Any) -> None:
        from flask import request

        seen.append(request.full_path.rstrip("?"))

    request_started.connect(record, app)
    yield seen
    request_started.disconnect(record, app)


def post(client: FlaskClient, text: str, **headers: str) -> dict[str, Any]:
    response = client.post(
        "/api/v1/comments",
        query_string={"page": PAGE},
        json=comment_body(text=text),
        headers=headers,
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    return dict((response.json or {})["comment"])


def comparable(response: TestResponse) -> tuple[int, list[tuple[str, str]], bytes]:
    headers = sorted((k, v) for k, v in response.headers.items() if k != "Date")
    return response.status_code, headers, response.get_data()


@pytest.mark.parametrize("name", READS)
@pytest.mark.parametrize("headers", CODINGS, ids=["identity", "gzip", "br"])
def test_a_replayed_answer_is_the_answer_flask_made(
    client: FlaskClient, entered: list[str], name: str, headers: dict[str, str]
) -> None:
    post(client, "A first comment.")
    path = READS[name]
    asked = {**headers, "Origin": ALLOWED}
    made = client.get(path, headers=asked)
    assert made.status_code == 200 and len(entered) == 2  # the post and this read
    replayed = client.get(path, headers=asked)
    assert len(entered) == 2, "the second read was answered before Flask"
    assert comparable(replayed) == comparable(made)
    assert replayed.headers["Access-Control-Allow-Origin"] == ALLOWED

    # The 304 the front gives is the 304 Flask gives.
    etag = made.headers["ETag"]
    from_front = client.get(path, headers={**asked, "If-None-Match": etag})
    assert len(entered) == 2 and from_front.status_code == 304
    cookied = client.application.test_client()
    cookied.set_cookie("unrelated", "1")  # a request with a cookie always reaches Flask
    direct = cookied.get(path, headers={**asked, "If-None-Match": etag})
    assert len(entered) == 3 and direct.status_code == 304
    assert comparable(from_front)[:2] == comparable(direct)[:2]


def test_a_write_is_read_at_once_and_the_old_etag_no_longer_matches(
    client: FlaskClient, entered: list[str]
) -> None:
    post(client, "Before.")
    path = READS["thread"]
    first = client.get(path)
    client.get(path)
    assert len(entered) == 2
    post(client, "After.")
    again = client.get(path, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 200 and len(entered) == 4
    assert "After." in again.get_data(as_text=True)
    assert client.get(path).get_data() == again.get_data() and len(entered) == 4


def test_each_origin_and_coding_is_kept_apart(client: FlaskClient, entered: list[str]) -> None:
    for n in range(8):  # a thread big enough to be compressed
        post(client, f"Comment {n}: " + "a few words said at some length. " * 6)
    path = READS["thread"]
    allowed = client.get(path, headers={"Origin": ALLOWED})
    assert allowed.headers["Access-Control-Allow-Origin"] == ALLOWED
    other = client.get(path, headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers
    none = client.get(path)
    assert "Access-Control-Allow-Origin" not in none.headers
    gz = client.get(path, headers={"Accept-Encoding": "gzip"})
    assert gz.headers.get("Content-Encoding") == "gzip"
    assert none.headers.get("Content-Encoding") is None
    assert len(entered) == 8 + 4
    for _ in range(2):  # each again from the front, each still its own
        assert (
            "Access-Control-Allow-Origin"
            not in client.get(path, headers={"Origin": "https://evil.example"}).headers
        )
        assert (
            client.get(path, headers={"Accept-Encoding": "gzip"}).headers.get("Content-Encoding")
            == "gzip"
        )
    assert len(entered) == 8 + 4


def test_requests_that_may_be_personal_always_reach_flask(
    app: Flask, client: FlaskClient, entered: list[str]
) -> None:
    path = READS["thread"]
    client.get(path)
    client.get(path)
    assert len(entered) == 1
    cookied = app.test_client()
    cookied.set_cookie("session", "x")
    for _ in range(2):
        cookied.get(path)
        client.get(path, headers={"Authorization": "Bearer t"})
    assert len(entered) == 5


def test_a_visitor_key_always_reaches_flask_and_nothing_personal_is_kept(
    client: FlaskClient, entered: list[str]
) -> None:
    key = visitor_key(client)
    mine = post(client, "Mine.", **{"X-Parley-Visitor": key})
    seen = len(entered)
    for _ in range(2):
        answer = client.get(READS["thread"], headers={"X-Parley-Visitor": key})
        assert answer.headers["Cache-Control"] == cache.PRIVATE
    assert len(entered) == seen + 2
    public = client.get(READS["thread"]).get_json()
    assert isinstance(public, dict)
    assert mine["id"] in [c["id"] for c in public["comments"]]
    assert not any(c.get("yours") for c in public["comments"])


def test_errors_and_other_methods_are_never_kept(client: FlaskClient, entered: list[str]) -> None:
    bad = "/api/v1/comments?site=default&page=/p&limit=0"
    for _ in range(2):
        assert client.get(bad).status_code == 400
    missing = "/api/v1/comments?site=nowhere&page=/p"
    for _ in range(2):
        assert client.get(missing).status_code == 404
    for _ in range(2):
        client.head(READS["thread"])
    assert len(entered) == 6


def test_replays_are_counted_as_cache_hits_and_requests(app: Flask, client: FlaskClient) -> None:
    path = READS["thread"]
    client.get(path)
    before = cache.stats(app).copy()
    etag = client.get(path).headers["ETag"]
    client.get(path, headers={"If-None-Match": etag})
    after = cache.stats(app)
    assert after["hit"] == before["hit"] + 1
    assert after["not_modified"] == before["not_modified"] + 1
    assert after["miss"] == before["miss"]


def test_with_a_shared_store_each_process_keeps_its_last_entries_checked_by_version(
    tmp_path: Path, migrated_template: Path
) -> None:
    """Two workers sharing Redis: an entry one kept is replayed by the other, each then
    replays its own copy (even with the shared one gone), and a write in either is seen at
    once by both, whatever copy they hold."""
    import redis

    shutil.copy(migrated_template, tmp_path / "parley.sqlite")
    prefix = f"parley-test-{secrets.token_hex(4)}:"
    shared = {
        "CACHE_TYPE": "RedisCache",
        "CACHE_REDIS_URL": redis_url(),
        "CACHE_KEY_PREFIX": prefix,
    }
    first, second = (create_app(base_config(tmp_path, **shared)) for _ in range(2))
    try:
        one, two = first.test_client(), second.test_client()
        seen: list[str] = []
        for app in (first, second):
            request_started.connect(lambda _s, **_e: seen.append("flask"), app, weak=False)
        post(one, "Kept in Redis.")
        path = READS["thread"]
        made = one.get(path)
        assert two.get(path).get_data() == made.get_data()  # from the shared entry
        assert seen == ["flask", "flask"]  # the post and the first read only
        store = redis.Redis.from_url(redis_url())
        for key in store.scan_iter(f"{prefix}front:*"):
            store.delete(key)
        assert one.get(path).get_data() == two.get(path).get_data() == made.get_data()
        assert seen == ["flask", "flask"]  # each from its own copy
        post(two, "Written through the other.")
        for client in (one, two):
            assert "Written through the other." in client.get(path).get_data(as_text=True)
    finally:
        for app in (first, second):
            with app.app_context():
                db.engine.dispose()
