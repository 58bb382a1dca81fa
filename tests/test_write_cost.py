"""What a write costs: a post and a vote read first, outside the write transaction, hold the
write lock for the duplicate check and the writes alone, and answer without reading again
what they stored; a post opens a savepoint only when it queues a notification; a site's row
is read once per version and process."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from support import (
    base_config,
    begins_during,
    form_token,
    json_of,
    set_site,
    trace_statements,
    transactions,
    visitor_key,
)

from service import create_app
from service.data import Comment, OutboxMessage, Page, Webhook
from service.extensions import db

pytestmark = pytest.mark.sqlite_only("SQLite's statements, traced through the driver")

URL = "/api/v1/comments?site=default&page=/cost"
LOOKUPS = ("FROM SITE", "FROM PAGE", "FROM BAN", "FROM BLOCKED_WORD", "FROM VISITOR_PROOF")


def _post(client: FlaskClient, text: str, token: str, **headers: str) -> dict[str, Any]:
    body = {"name": "Cost", "email": "cost@example.org", "text": text, "form_token": token}
    response = client.post(URL, json=body, headers={"Origin": "http://localhost", **headers})
    assert response.status_code == 201, response.get_data(as_text=True)
    return json_of(response)


def _write_transaction(during: list[str]) -> list[str]:
    found = [done for begin, done in transactions(during) if begin == "BEGIN IMMEDIATE"]
    assert len(found) == 1, during
    return found[0]


def test_a_post_holds_the_write_lock_for_the_duplicate_check_and_its_writes(
    app: Flask, client: FlaskClient
) -> None:
    token = form_token(client)
    _post(client, "The page exists now.", token)
    traced = trace_statements(app)
    _, during = begins_during(traced, lambda: _post(client, "A second comment.", token))
    inside = _write_transaction(during)
    reads = [s for s in inside if s.startswith("SELECT")]
    assert not [s for s in reads if any(table in s for table in LOOKUPS)], inside
    # The one read the write needs: is this a retry of the same text (the duplicate check)?
    assert len([s for s in reads if "FROM COMMENT" in s]) == 1, inside
    assert [s.split()[0] for s in inside if s.startswith(("INSERT", "UPDATE"))] == [
        "INSERT",  # the comment
        "UPDATE",  # the page's count and version
        "UPDATE",  # the comment's thread root and edit token
    ], inside
    # The answer shows the comment as stored: nothing is read after the commit.
    after = during[during.index("COMMIT", during.index("BEGIN IMMEDIATE")) + 1 :]
    assert not [s for s in after if s.startswith("SELECT")], after
    # Before it, one read: the site's version and the page, in one statement (the site's
    # bans, blocked words and webhooks are kept by the process: test_kept_rules.py).
    before = during[: during.index("BEGIN IMMEDIATE")]
    reads = [s for s in before if s.startswith("SELECT")]
    assert len(reads) == 1 and "FROM SITE LEFT OUTER JOIN PAGE" in reads[0], before


def test_a_post_with_nothing_to_send_opens_no_savepoint(app: Flask, client: FlaskClient) -> None:
    token = form_token(client)
    _post(client, "The page exists now.", token)
    traced = trace_statements(app)
    _, during = begins_during(traced, lambda: _post(client, "Nothing to announce.", token))
    inside = _write_transaction(during)
    assert not [s for s in inside if "SAVEPOINT" in s], inside
    # A site with a webhook: the call is queued, in a savepoint, in the same transaction.
    with app.app_context():
        db.session.add(Webhook(site_id=1, url="https://hooks.example/x", secret="s", active=True))
        db.session.commit()
    _, during = begins_during(traced, lambda: _post(client, "Announced now.", token))
    inside = _write_transaction(during)
    assert [s.split()[0] for s in inside if "SAVEPOINT" in s] == ["SAVEPOINT", "RELEASE"], inside
    assert [s for s in inside if s.startswith("INSERT INTO OUTBOX")], inside
    with app.app_context():
        assert db.session.query(OutboxMessage).filter_by(kind="webhook").count() == 1


def test_a_post_answers_with_the_row_as_stored(app: Flask, client: FlaskClient) -> None:
    """The comment is inserted with one statement and never read back: what the answer
    shows (and the session keeps) is what a fresh read finds, its thread root included."""
    token = form_token(client)
    first = _post(client, "A top-level comment.", token)["comment"]
    body = {
        "name": "Cost",
        "email": "cost@example.org",
        "text": "A reply to it.",
        "form_token": token,
        "parent": first["id"],
    }
    response = client.post(URL, json=body, headers={"Origin": "http://localhost"})
    assert response.status_code == 201, response.get_data(as_text=True)
    reply = json_of(response)["comment"]
    with app.app_context():
        top = db.session.get(Comment, int(first["id"]))
        stored = db.session.get(Comment, int(reply["id"]))
        assert top is not None and stored is not None
        assert (top.root_id, top.depth, top.likes, top.edited) == (top.id, 0, 0, None)
        assert (stored.root_id, stored.parent_id, stored.depth) == (top.id, top.id, 1)
        assert stored.edit_token_hash and stored.edit_token_hash != top.edit_token_hash
        page = db.session.get(Page, stored.page_id)
        assert page is not None and page.comment_count == 2


def test_a_vote_reads_its_page_before_the_write_transaction(
    app: Flask, client: FlaskClient
) -> None:
    key = visitor_key(client)

    def vote(value: int) -> None:
        response = client.put(
            "/api/v1/ratings?site=default&page=/cost",
            json={"value": value},
            headers={"X-Parley-Visitor": key},
        )
        assert response.status_code == 200, response.get_data(as_text=True)
        assert response.json is not None and response.json["yours"] == value

    vote(3)
    traced = trace_statements(app)
    _, during = begins_during(traced, lambda: vote(5))
    inside = _write_transaction(during)
    reads = [s for s in inside if s.startswith("SELECT")]
    assert not [s for s in reads if any(table in s for table in LOOKUPS)], inside
    assert len(reads) == 1 and "FROM RATING" in reads[0], inside  # the visitor's vote
    assert [s.split()[0] for s in inside if not s.startswith("SELECT")] == [
        "UPDATE",  # the old vote out of the aggregate
        "UPDATE",  # the rating row
        "UPDATE",  # the new vote into the aggregate, and the page's version
    ], inside


def test_a_sites_row_is_read_once_per_version(app: Flask, client: FlaskClient) -> None:
    token = form_token(client)
    _post(client, "Warming up.", token)
    traced = trace_statements(app)
    _, during = begins_during(traced, lambda: _post(client, "No site row read.", token))
    # Only the stamp query (ids and versions) touches the site table; no row is loaded.
    assert not [s for s in during if "SITE.NAME" in s], during
    assert [s for s in during if "FROM SITE" in s], during


def test_a_changed_setting_is_seen_at_once_by_every_process(
    app: Flask, client: FlaskClient, tmp_path: Any
) -> None:
    other = create_app(base_config(tmp_path))  # another worker on the same database
    try:
        there = other.test_client()
        token, other_token = form_token(client), form_token(there)
        assert _post(client, "Published at once.", token)["status"] == "approved"
        assert _post(there, "There too.", other_token)["status"] == "approved"
        # A change through the ORM, with no explicit bump: the row's new version says it.
        set_site(app, moderation="all")
        assert _post(client, "Held now.", token)["status"] == "pending"
        assert _post(there, "Held there too.", other_token)["status"] == "pending"
    finally:
        with other.app_context():
            db.engine.dispose()


def test_a_votes_answer_is_the_summary_a_read_gives_after_it(
    app: Flask, client: FlaskClient, runner: Any
) -> None:
    """The page's row comes back from the aggregate's UPDATE (RETURNING) and its editorial
    scores are read before the write: nothing is read after the commit, and the answer is
    what the next read of it shows."""
    key = visitor_key(client)
    query = "site=default&page=/cost"
    answers: list[dict[str, Any]] = []

    def vote(value: int) -> None:
        response = client.put(
            f"/api/v1/ratings?{query}", json={"value": value}, headers={"X-Parley-Visitor": key}
        )
        assert response.status_code == 200, response.get_data(as_text=True)
        answers.append(json_of(response))

    vote(2)
    for label, score in (("IMDB", "5.9"), ("Critics", "8.0")):
        args = ["page", "score", "default", "/cost", label, score]
        assert runner.invoke(args=args).exit_code == 0
    traced = trace_statements(app)
    _, during = begins_during(traced, lambda: vote(4))
    answer = answers[-1]
    write = during.index("BEGIN IMMEDIATE")
    after = during[during.index("COMMIT", write) + 1 :]
    assert after == [], after
    assert any(s.startswith("UPDATE PAGE") and "RETURNING" in s for s in during[write:]), during
    read = client.get(f"/api/v1/ratings?{query}", headers={"X-Parley-Visitor": key})
    assert answer == json_of(read)
    assert answer["count"] == 1 and answer["yours"] == 4
    assert [item["label"] for item in answer["editorial"]["items"]] == ["IMDB", "Critics"]
