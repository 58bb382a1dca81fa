"""Retries: a post sent twice (a double click, an answer lost on the way) is one comment.

The same author's same text on the same page within ``PARLEY_DUPLICATE_WINDOW`` is found
by ``duplicate_of``; its author proves to be the caller with the same visitor key or the
first comment's edit token, which ``issue_edit_token`` can derive again for them.
"""

from __future__ import annotations

import hmac
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from service.data import Comment, Page, utcnow
from service.extensions import db
from service.ratings import votes
from service.rules import privacy

_EDIT_PURPOSE = "edit-token"


def issue_edit_token(comment: Comment) -> str:
    """The comment's edit token: unguessable without the data key, derivable by the service.

    Derivable so that a retried post (a double click, a lost answer) can give the author
    the same token for the same comment.
    """
    stamp = comment.created.isoformat()
    return privacy.keyed_hash("edit-token-issue", f"{comment.id}:{stamp}")[:43]


def edit_token_hash(token: str) -> str:
    """The stored form of an edit token."""
    return privacy.keyed_hash(_EDIT_PURPOSE, token)


def same_rating(comment: Comment, rating: int | None) -> bool:
    return votes.review_value(comment) == rating


def proven_author(first: Comment, visitor: str | None, edit_token: str | None) -> bool:
    """Whether the caller is the first comment's author: its visitor key, or its edit token."""
    if visitor is not None and first.visitor is not None and visitor == first.visitor:
        return True
    if not edit_token or not first.edit_token_hash or len(edit_token) > 200:
        return False
    return hmac.compare_digest(edit_token_hash(edit_token), first.edit_token_hash)


def _duplicate_statement(top_level: bool) -> sa.Select[tuple[int]]:
    table = Comment.__table__
    return (
        sa.select(table.c.id)
        .where(
            table.c.page_id == sa.bindparam("page_id"),
            table.c.email_index == sa.bindparam("email_index"),
            table.c.parent_id.is_(None)
            if top_level
            else table.c.parent_id == sa.bindparam("parent_id"),
            table.c.created >= sa.bindparam("since", type_=table.c.created.type),
            table.c.status != "deleted",
            table.c.text == sa.bindparam("text"),
        )
        .order_by(table.c.id)
        .limit(1)
    )


# Built once each: every post runs one of them in its write transaction.
_DUPLICATE_TOP, _DUPLICATE_REPLY = _duplicate_statement(True), _duplicate_statement(False)


def duplicate_of(page: Page, parent: Comment | None, email_index: str, text: str) -> Comment | None:
    """The same author's same text on the same page, just posted: a retry, not a new comment.

    Whoever sends it: who may have it back is ``posting.store_post``'s question.
    """
    since = utcnow() - timedelta(seconds=current_app.config["PARLEY_DUPLICATE_WINDOW"])
    found = db.session.connection().scalar(
        _DUPLICATE_TOP if parent is None else _DUPLICATE_REPLY,
        {
            "page_id": page.id,
            "email_index": email_index,
            "parent_id": parent.id if parent else None,
            "since": since,
            "text": text,
        },
    )
    return db.session.get(Comment, found) if found is not None else None
