"""One write path for comments: a reader's post and a moderator's reply are stored by the
same domain function, which renders, applies policy, counts and notifies in one place."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Flask
from support import make_moderator

from service.comments.moderation import reply_as_moderator
from service.data import AuditEntry, Comment, Moderator, OutboxMessage, Page, Webhook
from service.database import writing
from service.extensions import db
from service.rules.errors import ValidationError


def _reply(app: Flask, parent_id: int, text: str) -> int:
    with app.app_context(), writing():
        moderator = db.session.scalar(sa.select(Moderator))
        parent = db.session.get(Comment, parent_id)
        assert moderator is not None and parent is not None
        reply = reply_as_moderator(moderator, parent, text)
        db.session.commit()
        return reply.id


def test_a_moderators_reply_is_rendered_counted_and_announced_like_a_readers_post(
    app: Flask, post: Any, runner: Any
) -> None:
    make_moderator(app)
    with app.app_context():
        db.session.add(Webhook(site_id=1, url="https://hooks.example/x", secret="s", active=True))
        db.session.commit()
    # A site that holds everything, and a blocked word: neither holds a moderator's reply.
    assert runner.invoke(args=["site", "set", "default", "--moderation", "all"]).exit_code == 0
    assert runner.invoke(args=["blocklist", "add", "default", "spoiler"]).exit_code == 0
    held = post("/w", text="A first comment.").json["comment"]["id"]
    assert runner.invoke(args=["comment", "moderate", str(held), "approve"]).exit_code == 0

    ident = _reply(app, held, "A *spoiler*, from us.")

    with app.app_context():
        reply = db.session.get(Comment, ident)
        page = db.session.scalar(sa.select(Page).where(Page.key == "/w"))
        assert reply is not None and page is not None
        assert (reply.status, reply.by_moderator, reply.parent_id) == ("approved", True, held)
        assert reply.html == "<p>A <em>spoiler</em>, from us.</p>"  # rendered once, at write
        assert reply.root_id == held and reply.depth == 1
        assert reply.email_index is not None and reply.email_encrypted != "owner@example.org"
        assert page.comment_count == 2  # counted in the same transaction
        calls = db.session.scalars(
            sa.select(OutboxMessage.subject).where(OutboxMessage.kind == "webhook")
        ).all()
        assert calls.count("comment.created") == 2  # the reader's comment and the reply
        audit = db.session.scalars(sa.select(AuditEntry.action).order_by(AuditEntry.id)).all()
        assert audit[-1] == "reply"


def test_a_moderators_reply_hangs_where_a_readers_reply_would(
    app: Flask, post: Any, client: Any
) -> None:
    make_moderator(app)
    parent = post("/deep").json["comment"]["id"]
    for depth in range(app.config["PARLEY_MAX_DEPTH"]):
        parent = post("/deep", parent=parent, text=f"Level {depth + 1}.").json["comment"]["id"]
    reader = post("/deep", parent=parent, text="A reader, one level deeper.").json["comment"]
    ident = _reply(app, parent, "A moderator, one level deeper.")
    with app.app_context():
        reply = db.session.get(Comment, ident)
        assert reply is not None
        assert reply.parent_id == reader["parent"] != parent
        assert reply.depth == app.config["PARLEY_MAX_DEPTH"]


def test_a_moderators_reply_to_a_held_comment_is_refused_and_stores_nothing(
    app: Flask, post: Any, runner: Any
) -> None:
    make_moderator(app)
    assert runner.invoke(args=["site", "set", "default", "--moderation", "all"]).exit_code == 0
    held = post("/h").json["comment"]["id"]
    try:
        _reply(app, held, "Too early.")
    except ValidationError as error:
        assert error.fields == {"parent": "Approve the comment first: replies to it are not shown."}
    else:
        raise AssertionError("a reply to a held comment was stored")
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Comment)) == 1
