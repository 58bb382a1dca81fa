"""Pinned comments: shown first, once, in every sort and through every cursor page; marked in
the JSON and the fragment; pinned by any moderator of the site (not only owners), a few per
page, top-level and published only; each pin renews the page's cached answers."""

from __future__ import annotations

import re
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from support import admin_post, json_of, log_in, make_moderator, thread, visitor_key

from service.comments import pins
from service.data import AuditEntry, Comment, Page
from service.data.bounds import PINS_MAX
from service.database import writing
from service.extensions import db

PAGE = "/pinned"
MODERATOR = "mod@example.org"


def post(client: FlaskClient, text: str, **fields: Any) -> int:
    response = client.post(
        "/api/v1/comments",
        query_string={"page": PAGE},
        json={"name": "Ada", "email": "ada@example.org", "text": text, **fields},
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    return int(json_of(response)["comment"]["id"])


def pin(app: Flask, *ids: int, pinned: bool = True) -> None:
    with app.app_context(), writing():
        for ident in ids:
            pins.set_pinned(None, db.session.get_one(Comment, ident), pinned)
        db.session.commit()


def pages_of(client: FlaskClient, **params: Any) -> list[list[int]]:
    """The top-level ids of every cursor page of the thread, page by page."""
    found: list[list[int]] = []
    cursor = None
    while True:
        answer = thread(client, PAGE, **params, **({"cursor": cursor} if cursor else {}))
        found.append([c["id"] for c in answer["comments"]])
        cursor = answer["next"]
        if not cursor:
            return found


@pytest.fixture
def seven(app: Flask, client: FlaskClient) -> list[int]:
    ids = [post(client, f"Comment number {n}.") for n in range(7)]
    pin(app, ids[2], ids[5])
    return ids


@pytest.mark.parametrize("sort", ["oldest", "newest", "top"])
def test_pinned_comments_come_first_on_the_first_page_only_in_every_sort(
    client: FlaskClient, seven: list[int], sort: str
) -> None:
    ids = seven
    unpinned = [ident for ident in ids if ident not in (ids[2], ids[5])]
    pinned = [ids[2], ids[5]]
    if sort == "newest":
        unpinned.reverse()
        pinned.reverse()
    pages = pages_of(client, sort=sort, limit=2)
    assert pages[0][:2] == pinned  # first, in the sort's own order
    assert pages[0][2:] == unpinned[:2]  # then the first page of the rest, as large as ever
    shown = [ident for page in pages for ident in page]
    assert sorted(shown) == sorted(ids) and len(shown) == len(ids)  # each exactly once
    assert [ident for page in pages[1:] for ident in page] == unpinned[2:]


def test_replies_are_never_pinned_first_and_a_pinned_comments_replies_stay_nested(
    app: Flask, client: FlaskClient, seven: list[int]
) -> None:
    reply = post(client, "A reply to a pinned one.", parent=seven[5])
    first = thread(client, PAGE, limit=2)["comments"]
    assert first[1]["id"] == seven[5] and [r["id"] for r in first[1]["replies"]] == [reply]
    replies = thread(client, PAGE, parent=seven[5])["comments"]
    assert [c["id"] for c in replies] == [reply]  # a parent's replies: no pins above them


def test_the_pinned_flag_is_in_the_json_and_the_fragment(
    client: FlaskClient, seven: list[int]
) -> None:
    comments = thread(client, PAGE, limit=10)["comments"]
    flags = {c["id"]: c["pinned"] for c in comments}
    assert flags == {ident: ident in (seven[2], seven[5]) for ident in seven}
    html = client.get("/widget/comments", query_string={"page": PAGE}).get_data(as_text=True)
    marked = re.findall(r'<article class="parley-comment parley-is-pinned" id="c(\d+)"', html)
    assert sorted(map(int, marked)) == sorted([seven[2], seven[5]])
    assert html.count('<span class="parley-pinned">Pinned</span>') == 2
    # First in the fragment too, before every other comment.
    order = [int(i) for i in re.findall(r'<article class="parley-comment[^"]*" id="c(\d+)"', html)]
    assert order[:2] == [seven[2], seven[5]]


def test_a_moderator_who_is_not_an_owner_pins_and_unpins_and_readers_see_it_at_once(
    app: Flask, client: FlaskClient
) -> None:
    ids = [post(client, f"Comment {n}.") for n in range(3)]
    make_moderator(app, MODERATOR, {"default": "moderator"})
    assert log_in(client, MODERATOR).status_code == 303
    reader = app.test_client()
    before = reader.get("/api/v1/comments", query_string={"page": PAGE})
    etag = before.headers["ETag"]

    done = admin_post(client, f"/admin/comments/{ids[2]}/pin", action="pin")
    assert done.status_code == 303
    again = reader.get(
        "/api/v1/comments", query_string={"page": PAGE}, headers={"If-None-Match": etag}
    )
    assert again.status_code == 200  # a new version: no stale 304
    assert [c["id"] for c in json_of(again)["comments"]] == [ids[2], ids[0], ids[1]]
    detail = client.get(f"/admin/comments/{ids[2]}").get_data(as_text=True)
    assert 'value="unpin"' in detail

    assert admin_post(client, f"/admin/comments/{ids[2]}/pin", action="unpin").status_code == 303
    assert [c["id"] for c in thread(reader, PAGE)["comments"]] == ids
    with app.app_context():
        actions = db.session.scalars(sa.select(AuditEntry.action).order_by(AuditEntry.id)).all()
        assert actions[-2:] == ["pin", "unpin"]


def test_only_published_top_level_comments_are_pinned_and_only_a_few_per_page(
    app: Flask, client: FlaskClient, owner: FlaskClient
) -> None:
    ids = [post(client, f"Comment {n}.") for n in range(PINS_MAX + 1)]
    reply = post(client, "A reply.", parent=ids[0])
    refused = admin_post(client, f"/admin/comments/{reply}/pin", action="pin")
    assert refused.status_code == 303
    page = client.get(refused.headers["Location"]).get_data(as_text=True)
    assert "Only a top-level comment can be pinned." in page
    for ident in ids[:PINS_MAX]:
        assert admin_post(client, f"/admin/comments/{ident}/pin", action="pin").status_code == 303
    over = admin_post(client, f"/admin/comments/{ids[-1]}/pin", action="pin")
    message = client.get(over.headers["Location"]).get_data(as_text=True)
    assert f"At most {PINS_MAX} comments can be pinned on a page" in message
    with app.app_context():
        page_id = db.session.scalar(sa.select(Page.id).where(Page.key == PAGE))
        assert page_id is not None and pins.pinned_count(page_id) == PINS_MAX
    held = admin_post(client, f"/admin/comments/{ids[-1]}/moderate", action="hold")
    assert held.status_code == 303
    admin_post(client, f"/admin/comments/{ids[0]}/pin", action="unpin")
    refused = admin_post(client, f"/admin/comments/{ids[-1]}/pin", action="pin")
    assert "Only a published comment can be pinned." in client.get(
        refused.headers["Location"]
    ).get_data(as_text=True)


def test_a_pinned_comment_that_leaves_the_thread_is_not_shown_pinned(
    app: Flask, client: FlaskClient, seven: list[int]
) -> None:
    with app.app_context(), writing():
        from service.comments import moderation

        moderation.apply(None, [seven[2]], "spam", None)
    first = [c["id"] for c in thread(client, PAGE, limit=2)["comments"]]
    assert first[0] == seven[5] and seven[2] not in first


def test_pins_from_the_command_line(app: Flask, client: FlaskClient, runner: Any) -> None:
    ident = post(client, "Pin me from the shell.")
    result = runner.invoke(args=["comment", "pin", str(ident)])
    assert result.exit_code == 0, result.output
    assert thread(client, PAGE)["comments"][0]["pinned"] is True
    result = runner.invoke(args=["comment", "unpin", str(ident)])
    assert result.exit_code == 0 and thread(client, PAGE)["comments"][0]["pinned"] is False
    reply = post(client, "A reply.", parent=ident)
    refused = runner.invoke(args=["comment", "pin", str(reply)])
    assert refused.exit_code != 0 and "top-level" in refused.output


def test_a_visitor_sees_the_same_pins_as_everyone(client: FlaskClient, seven: list[int]) -> None:
    key = visitor_key(client)
    mine = client.get(
        "/api/v1/comments",
        query_string={"page": PAGE, "limit": 2},
        headers={"X-Parley-Visitor": key},
    )
    assert [c["id"] for c in json_of(mine)["comments"]][:2] == [seven[2], seven[5]]


@pytest.mark.sqlite_only("SQLite's own query plan (tests/test_indexes.py shows the method)")
def test_a_pages_pinned_comments_are_read_from_their_partial_index(
    app: Flask, seven: list[int]
) -> None:
    from service.comments import threads

    sent: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        sent.append((statement, parameters))

    with app.app_context():
        page = db.session.scalars(sa.select(Page).where(Page.key == PAGE)).one()
        sa.event.listen(db.engine, "before_cursor_execute", record)
        try:
            threads.read_thread(page, limit=2)
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", record)
        pinned = [(s, p) for s, p in sent if "AND pinned" in s]  # the partial index's term
        assert len(pinned) == 1, sent
        connection = db.session.connection()
        plan = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + pinned[0][0], pinned[0][1])
        assert "comment_pinned" in " ".join(str(row[-1]) for row in plan)
