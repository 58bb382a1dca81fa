"""A review waiting for moderation keeps its rating beside the visitor's vote.

The earlier vote keeps counting while the review waits; approval makes the review's rating
the vote; spam or deletion drops it and keeps the earlier vote; a vote (or its retraction)
meanwhile changes only the vote. Every step is checked through the API (`yours`,
`yours_pending`, count, average, histogram) and against the rows: the page's aggregate is
always the counted votes.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from backends import on_postgres, require_postgres
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import downgrade, upgrade
from servers import postgres_database
from support import admin_post, base_config, json_of, set_site, visitor_key

from service import create_app
from service.data import Page, Rating
from service.extensions import db

PAGE = "/films/lantern-city"
HERE = {"page": PAGE}


@pytest.fixture
def visitor(client: FlaskClient) -> Any:
    """A function issuing a fresh visitor key (each call: another visitor)."""
    return functools.partial(visitor_key, client)


@pytest.fixture
def held(app: Flask) -> None:
    """The site holds every new comment for review."""
    set_site(app, moderation="all")


def key_header(key: str) -> dict[str, str]:
    return {"X-Parley-Visitor": key}


def rate(client: FlaskClient, key: str, value: int) -> dict[str, Any]:
    response = client.put(
        "/api/v1/ratings", query_string=HERE, json={"value": value}, headers=key_header(key)
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    return json_of(response)


def unrate(client: FlaskClient, key: str) -> dict[str, Any]:
    response = client.delete("/api/v1/ratings", query_string=HERE, headers=key_header(key))
    assert response.status_code == 200, response.get_data(as_text=True)
    return json_of(response)


def summary(client: FlaskClient, key: str | None = None) -> dict[str, Any]:
    headers = key_header(key) if key else {}
    response = client.get("/api/v1/ratings", query_string=HERE, headers=headers)
    assert response.status_code == 200
    return json_of(response)


def review(client: FlaskClient, key: str, rating: int, text: str = "Worth a look.") -> Any:
    body = {"name": "Rev", "email": "rev@example.org", "text": text, "rating": rating}
    return client.post("/api/v1/comments", query_string=HERE, json=body, headers=key_header(key))


def posted(client: FlaskClient, key: str, rating: int, status: str, **extra: Any) -> Any:
    """Post a review; it must be stored with this status. Its id and edit token."""
    response = review(client, key, rating, **extra)
    assert response.status_code == 201, response.get_data(as_text=True)
    answer = json_of(response)
    assert answer["status"] == status and answer["comment"]["rating"] == rating
    return answer["comment"]["id"], answer["edit_token"]


def moderate(owner: FlaskClient, comment_id: int, action: str) -> None:
    """The admin comment page's action (moderation.apply, as the queue's)."""
    response = admin_post(owner, f"/admin/comments/{comment_id}/moderate", action=action)
    assert response.status_code in (302, 303)


def counted_rows(app: Flask) -> list[int]:
    """The page's counted votes from the rating rows; checks the page's aggregate (count,
    sum, every h1..h10) holds exactly them."""
    with app.app_context():
        page = db.session.scalars(sa.select(Page).where(Page.key == PAGE)).one()
        values = sorted(
            db.session.scalars(
                sa.select(Rating.value).where(Rating.page_id == page.id, Rating.counted)
            )
        )
        assert page.rating_count == len(values)
        assert page.rating_sum == sum(values)
        assert page.histogram(10) == {str(v): values.count(v) for v in range(1, 11)}
        return values


def check(
    app: Flask,
    client: FlaskClient,
    key: str,
    yours: int | None,
    pending: int | None,
    votes: list[int],
    answer: dict[str, Any] | None = None,
) -> None:
    """The visitor's summary (and ``answer``, a PUT or DELETE's) says ``yours`` and
    ``pending``; the page counts exactly ``votes``, in the API and in the rows."""
    for got in [summary(client, key)] + ([answer] if answer else []):
        assert (got["yours"], got["yours_pending"]) == (yours, pending), got
        assert got["count"] == len(votes)
        assert got["average"] == (round(sum(votes) / len(votes), 1) if votes else None)
        assert got["histogram"] == {str(v): votes.count(v) for v in range(1, 6)}
    assert counted_rows(app) == sorted(votes)


def rows(app: Flask) -> list[tuple[Any, ...]]:
    with app.app_context():
        columns = (Rating.counted, Rating.comment_id, Rating.pending_value)
        found = db.session.execute(
            sa.select(Rating.value, *columns, Rating.pending_comment_id).order_by(Rating.id)
        )
        return [tuple(row) for row in found]


# --- a review held for moderation -------------------------------------------------------


@pytest.mark.usefixtures("held")
def test_the_earlier_vote_counts_while_the_review_waits_and_approval_replaces_it(
    app: Flask, owner: FlaskClient, visitor: Any
) -> None:
    key, other = visitor(), visitor()
    rate(owner, other, 2)
    check(app, owner, key, 4, None, [2, 4], rate(owner, key, 4))

    comment_id, _ = posted(owner, key, 5, "pending")
    check(app, owner, key, 4, 5, [2, 4])
    detail = owner.get(f"/admin/comments/{comment_id}").get_data(as_text=True)
    assert "<dd>5/5</dd>" in detail  # the moderator sees the rating waiting with the review

    moderate(owner, comment_id, "approve")
    check(app, owner, key, 5, None, [2, 5])
    thread = json_of(owner.get("/api/v1/comments", query_string=HERE))["comments"]
    assert [(c["id"], c["rating"]) for c in thread] == [(comment_id, 5)]
    assert rows(app)[1] == (5, True, comment_id, None, None)


@pytest.mark.usefixtures("held")
def test_a_review_without_a_vote_counts_nothing_until_approved(
    app: Flask, owner: FlaskClient, visitor: Any
) -> None:
    key = visitor()
    comment_id, _ = posted(owner, key, 3, "pending")
    check(app, owner, key, None, 3, [])
    public = summary(owner)  # the shared answer: nobody's vote, nobody's pending rating
    assert public == summary(owner, visitor()) and public["yours_pending"] is None

    moderate(owner, comment_id, "approve")
    check(app, owner, key, 3, None, [3])


@pytest.mark.usefixtures("held")
@pytest.mark.parametrize("action", ["spam", "delete"])
def test_spam_or_deletion_drops_the_pending_rating_and_keeps_the_vote(
    app: Flask, owner: FlaskClient, visitor: Any, action: str
) -> None:
    key = visitor()
    rate(owner, key, 4)
    comment_id, _ = posted(owner, key, 1, "pending")
    check(app, owner, key, 4, 1, [4])

    moderate(owner, comment_id, action)
    check(app, owner, key, 4, None, [4])
    assert rows(app) == [(4, True, None, None, None)]
    moderate(owner, comment_id, "restore")  # the dropped rating does not come back
    check(app, owner, key, 4, None, [4])


@pytest.mark.usefixtures("held")
@pytest.mark.parametrize("action", ["spam", "delete"])
def test_spam_or_deletion_of_a_review_without_a_vote_leaves_no_row(
    app: Flask, owner: FlaskClient, visitor: Any, action: str
) -> None:
    key = visitor()
    comment_id, _ = posted(owner, key, 2, "pending")
    moderate(owner, comment_id, action)
    check(app, owner, key, None, None, [])
    assert rows(app) == []


@pytest.mark.usefixtures("held")
def test_the_author_deleting_the_waiting_review_keeps_the_vote(
    app: Flask, client: FlaskClient, visitor: Any
) -> None:
    key, alone = visitor(), visitor()
    rate(client, key, 3)
    comment_id, token = posted(client, key, 5, "pending")
    lone_id, lone_token = posted(client, alone, 4, "pending", text="On its own.")
    check(app, client, key, 3, 5, [3])

    for ident, secret in ((comment_id, token), (lone_id, lone_token)):
        gone = client.delete(f"/api/v1/comments/{ident}", headers={"X-Parley-Edit-Token": secret})
        assert gone.status_code == 204
    check(app, client, key, 3, None, [3])
    check(app, client, alone, None, None, [3])
    assert rows(app) == [(3, True, None, None, None)]


@pytest.mark.usefixtures("held")
def test_a_vote_while_the_review_waits_changes_only_the_vote(
    app: Flask, owner: FlaskClient, visitor: Any
) -> None:
    key, fresh = visitor(), visitor()
    rate(owner, key, 2)
    comment_id, _ = posted(owner, key, 5, "pending")
    check(app, owner, key, 3, 5, [3], rate(owner, key, 3))

    # A visitor with no vote before the review: the vote counts, the rating still waits.
    fresh_id, _ = posted(owner, fresh, 4, "pending", text="Fresh eyes.")
    check(app, owner, fresh, 1, 4, [3, 1], rate(owner, fresh, 1))

    moderate(owner, comment_id, "approve")  # the review's rating wins over the later vote
    check(app, owner, key, 5, None, [5, 1])
    moderate(owner, fresh_id, "approve")
    check(app, owner, fresh, 4, None, [5, 4])


@pytest.mark.usefixtures("held")
def test_taking_the_vote_back_while_the_review_waits_keeps_the_pending_rating(
    app: Flask, owner: FlaskClient, visitor: Any
) -> None:
    key = visitor()
    rate(owner, key, 2)
    comment_id, _ = posted(owner, key, 5, "pending")
    check(app, owner, key, None, 5, [], unrate(owner, key))
    check(app, owner, key, None, 5, [], unrate(owner, key))  # again: nothing changes

    moderate(owner, comment_id, "approve")
    check(app, owner, key, 5, None, [5])


@pytest.mark.usefixtures("held")
def test_the_author_changes_the_waiting_rating(
    app: Flask, owner: FlaskClient, visitor: Any
) -> None:
    key = visitor()
    rate(owner, key, 4)
    comment_id, token = posted(owner, key, 5, "pending")
    edited = owner.patch(
        f"/api/v1/comments/{comment_id}",
        json={"rating": 2},
        headers={"X-Parley-Edit-Token": token},
    )
    assert edited.status_code == 200 and json_of(edited)["comment"]["rating"] == 2
    check(app, owner, key, 4, 2, [4])

    moderate(owner, comment_id, "approve")
    check(app, owner, key, 2, None, [2])


@pytest.mark.usefixtures("held")
def test_a_second_waiting_review_takes_over_the_pending_rating(
    app: Flask, owner: FlaskClient, visitor: Any
) -> None:
    key = visitor()
    rate(owner, key, 1)
    first, _ = posted(owner, key, 3, "pending")
    second, _ = posted(owner, key, 5, "pending", text="Second thoughts.")
    check(app, owner, key, 1, 5, [1])

    moderate(owner, first, "approve")  # its rating was replaced: nothing changes
    check(app, owner, key, 1, 5, [1])
    moderate(owner, second, "approve")
    check(app, owner, key, 5, None, [5])


@pytest.mark.usefixtures("held")
def test_a_retried_waiting_review_is_the_same_review(
    app: Flask, client: FlaskClient, visitor: Any
) -> None:
    key = visitor()
    rate(client, key, 2)
    comment_id, _ = posted(client, key, 5, "pending")
    again = review(client, key, 5)
    assert again.status_code == 200 and json_of(again)["comment"]["id"] == comment_id
    check(app, client, key, 2, 5, [2])


@pytest.mark.usefixtures("held")
def test_rescaling_the_site_rescales_the_waiting_rating_too(
    app: Flask, owner: FlaskClient, visitor: Any
) -> None:
    key = visitor()
    rate(owner, key, 2)
    comment_id, _ = posted(owner, key, 4, "pending")
    runner = app.test_cli_runner()
    done = runner.invoke(args=["site", "set", "default", "--scale", "10", "--rescale"])
    assert done.exit_code == 0, done.output
    got = summary(owner, key)
    assert (got["scale"], got["yours"], got["yours_pending"]) == (10, 4, 8)
    moderate(owner, comment_id, "approve")
    assert (summary(owner, key)["yours"], counted_rows(app)) == (8, [8])


# --- published reviews: as before ---------------------------------------------------------


def test_a_published_review_is_the_vote_and_moderating_it_later_works_as_before(
    app: Flask, owner: FlaskClient, visitor: Any
) -> None:
    key = visitor()
    rate(owner, key, 2)
    comment_id, _ = posted(owner, key, 4, "approved")
    check(app, owner, key, 4, None, [4])

    moderate(owner, comment_id, "spam")  # out of the count; the row keeps it
    check(app, owner, key, 4, None, [])
    assert rows(app) == [(4, False, comment_id, None, None)]
    moderate(owner, comment_id, "restore")
    check(app, owner, key, 4, None, [4])
    moderate(owner, comment_id, "hold")  # back in the queue: out of the count, as before
    check(app, owner, key, 4, None, [])
    moderate(owner, comment_id, "approve")
    check(app, owner, key, 4, None, [4])


# --- the migration --------------------------------------------------------------------------


@pytest.fixture
def empty_app(tmp_path: Path) -> Iterator[Flask]:
    """An app on an empty database of the backend the tests follow."""

    def make(url: str) -> Flask:
        return create_app(base_config(tmp_path, SQLALCHEMY_DATABASE_URI=url))

    if on_postgres():
        require_postgres()
        with postgres_database("parley_pending") as url:
            app = make(url)
            yield app
            with app.app_context():
                db.engine.dispose()
        return
    app = make(f"sqlite:///{tmp_path / 'empty.sqlite'}")
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.mark.db
def test_0012_moves_pending_ratings_aside_and_back(empty_app: Flask) -> None:
    """Down to 0011 a pending rating goes where that schema kept it (when the row has no
    vote of its own; beside a vote it is dropped); up again, every rating of a pending
    review waits beside the vote. The aggregate never changes."""
    assert empty_app.test_cli_runner().invoke(args=["init"]).exit_code == 0
    client = empty_app.test_client()
    set_site(empty_app, moderation="all")
    key, voter = visitor_key(client), visitor_key(client)
    lone, _ = posted(client, key, 3, "pending")
    rate(client, voter, 2)
    beside, _ = posted(client, voter, 5, "pending", text="Beside a vote.")
    assert rows(empty_app) == [(3, False, None, 3, lone), (2, True, None, 5, beside)]

    with empty_app.app_context():
        downgrade(revision="0011")
        old = sa.text("SELECT value, counted, comment_id FROM rating ORDER BY id")
        assert [tuple(r) for r in db.session.execute(old)] == [(3, False, lone), (2, True, None)]
        db.session.rollback()
        upgrade()
    assert rows(empty_app) == [(3, False, None, 3, lone), (2, True, None, None, None)]
    assert counted_rows(empty_app) == [2]
    check(empty_app, client, key, None, 3, [2])
