"""Posting a comment: the one write path for readers' comments, replies and reviews,
moderators' replies, and anything that imports comments later.

``post_comment`` is the one place that renders the text, applies the site's policy,
counts the comment and queues its notifications. It takes plain values (the client's
anonymised address, the service's origin) and never reads the request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import make_transient_to_detached

from service.comments import closing, policy
from service.comments.retries import (
    duplicate_of,
    edit_token_hash,
    issue_edit_token,
    proven_author,
    same_rating,
)
from service.comments.status import count
from service.data import Comment, Moderator, Page, Site, utcnow
from service.extensions import db
from service.notify import events
from service.ratings import votes
from service.rules import privacy
from service.rules.errors import DomainError, ValidationError
from service.rules.sanitize import render_comment
from service.rules.validation import CommentInput
from service.sites.lookup import find_page, get_or_create_page

if TYPE_CHECKING:
    from service.comments.importing import Kept


@dataclass(frozen=True)
class Posted:
    """A stored comment, the edit token its author gets once, and its review's rating (a
    retry's first comment has the same one)."""

    comment: Comment
    edit_token: str
    duplicate: bool = False
    rating: int | None = None


@dataclass(frozen=True)
class Prepared:
    """What ``prepare_post`` found out before anything is written: the page (None: it is
    created by the post), the parent, the rendered text and the policy's decision."""

    site: Site
    page_key: str
    page: Page | None
    data: CommentInput
    email_index: str
    parent: Comment | None
    html: str
    decision: policy.Decision
    address: str | None
    service_origin: str
    visitor: str | None
    moderator: Moderator | None
    edit_token: str | None
    kept: Kept | None = None  # import mode: service.comments.importing
    language: str | None = None  # the poster's, for the mail their post causes at once


def post_comment(
    site: Site,
    page_key: str,
    data: CommentInput,
    *,
    address: str | None,
    service_origin: str,
    visitor: str | None = None,
    moderator: Moderator | None = None,
    edit_token: str | None = None,
    tokenless: bool = False,
) -> Posted:
    """Store a new comment, reply or review and return it with its edit token; caller commits.

    ``prepare_post`` then ``store_post``, for callers already inside ``writing()``. A
    request that posts calls them apart, so its reads come before the write transaction.
    """
    return store_post(
        prepare_post(
            site,
            page_key,
            data,
            address=address,
            service_origin=service_origin,
            visitor=visitor,
            moderator=moderator,
            edit_token=edit_token,
            tokenless=tokenless,
        )
    )


def prepare_post(
    site: Site,
    page_key: str,
    data: CommentInput,
    *,
    address: str | None,
    service_origin: str,
    visitor: str | None = None,
    moderator: Moderator | None = None,
    edit_token: str | None = None,
    tokenless: bool = False,
) -> Prepared:
    """Everything a post reads and decides before it writes: the page, the parent, the
    rendered text, bans, blocked words and the site's policy. Raises what refuses the post.

    A review (``data.rating`` given) needs the visitor's key hash: its rating becomes that
    visitor's one rating for the page. A moderator's comment is published at once, marked
    as theirs, and no policy applies to it. ``tokenless``: the post brought neither a form
    token nor an API token (``policy.decide`` applies the site's rule for those).
    """
    if data.rating is not None and visitor is None:
        raise DomainError("visitor_required", _l("A review needs a visitor key."))
    page = find_page(site, page_key)
    email_index = privacy.email_index(data.email)
    parent = _resolve_parent(page, data.parent, by_moderator=moderator is not None)
    html = render_comment(data.text)
    if moderator is None:
        decision = policy.decide(
            site,
            page,
            html,
            data.text,
            email_index=email_index,
            address=address,
            visitor=visitor,
            tokenless=tokenless,
        )
    else:
        decision = policy.Decision("approved")
    return Prepared(
        site,
        page_key,
        page,
        data,
        email_index,
        parent,
        html,
        decision,
        address,
        service_origin,
        visitor,
        moderator,
        edit_token,
    )


def store_post(prepared: Prepared) -> Posted:
    """Write a prepared post (inside ``writing()``; caller commits): the page on first
    sight, the comment, its counters and notifications.

    The same author's same text on the same page within the duplicate window is a retry,
    not a new comment, checked here, in the write transaction, so two sent at once are
    one: a caller proven to be that author (the same visitor key, the first comment's
    ``edit_token``, or a moderator) gets the first comment and its token back; anyone else
    is refused (409 ``duplicate``, naming the first comment) and nothing is stored.
    """
    data, parent, moderator = prepared.data, prepared.parent, prepared.moderator
    page = prepared.page or get_or_create_page(
        prepared.site,
        prepared.page_key,
        title=data.title,
        url=data.url,
        service_origin=prepared.service_origin,
    )
    first = None if prepared.kept else duplicate_of(page, parent, prepared.email_index, data.text)
    if first is not None and same_rating(first, data.rating):
        if moderator is not None or proven_author(first, prepared.visitor, prepared.edit_token):
            return Posted(first, issue_edit_token(first), duplicate=True, rating=data.rating)
        raise DomainError(
            "duplicate",
            _l(
                "This text was just posted here by the same author (comment %(id)s): it is "
                "not posted twice.",
                id=first.id,
            ),
            {"duplicate_of": str(first.id)},
        )
    decision = prepared.decision
    comment, token = _insert(
        {
            "page_id": page.id,
            "parent_id": parent.id if parent else None,
            "root_id": parent.root_id if parent else None,
            "depth": parent.depth + 1 if parent else 0,
            "author": data.name,
            "email_encrypted": privacy.encrypt_email(data.email) if data.email else None,
            "email_index": prepared.email_index or None,  # an import may have none
            "avatar": privacy.avatar_id(data.email),
            "website": data.website,
            "text": data.text,
            "html": prepared.html,
            "status": decision.status,
            "pending_reason": decision.reason,
            "shadow": decision.shadow,
            "visitor": prepared.visitor,
            "remote_addr": prepared.address or None,
            "notify": data.notify,
            "by_moderator": moderator is not None,
            "pinned": False,
        },
        prepared.kept,
    )
    closing.on_comment(prepared.site, page, comment.created)  # a page's first: its time
    if comment.status == "approved":
        count(page, +1)
    if data.rating is not None and prepared.visitor is not None:
        votes.attach_review(page, comment, prepared.visitor, data.rating)
    if not comment.shadow and prepared.kept is None:
        events.comment_posted(comment, confirm_now=decision.untrusted, language=prepared.language)
    return Posted(comment, token, rating=data.rating)


# Built once: every post runs them in its write transaction.
_COMMENTS = Comment.__table__
_INSERT = sa.insert(_COMMENTS)
_FINISH = (
    sa.update(_COMMENTS)
    .where(_COMMENTS.c.id == sa.bindparam("comment_id"))
    .values(root_id=sa.bindparam("root_id"), edit_token_hash=sa.bindparam("token_hash"))
)


def _insert(values: dict[str, Any], kept: Kept | None = None) -> tuple[Comment, str]:
    """Insert a comment's row and return it, loaded in the session, with its edit token.

    Its thread root (itself, if top-level) and its edit token's hash are known only once
    the row has its key (the row's own key: never "the latest row"), so one prebuilt UPDATE
    follows. Every column is given, so the object holds the row as stored, unexpired.
    """
    db.session.flush()  # anything pending is written first, as the ORM's flush would
    times = (kept.created, kept.edited, kept.likes) if kept else (utcnow(), None, 0)
    values = {**values, "created": times[0], "edited": times[1], "likes": times[2]}
    connection = db.session.connection()
    inserted = connection.execute(_INSERT, {**values, "edit_token_hash": None})
    assert inserted.inserted_primary_key is not None
    comment = Comment(id=inserted.inserted_primary_key[0], **values)
    if comment.root_id is None:
        comment.root_id = comment.id
    token = issue_edit_token(comment) if kept is None else ""  # imports: no edit token
    comment.edit_token_hash = edit_token_hash(token) if token else None
    connection.execute(
        _FINISH,
        {
            "comment_id": comment.id,
            "root_id": comment.root_id,
            "token_hash": comment.edit_token_hash,
        },
    )
    make_transient_to_detached(comment)  # as if loaded: no INSERT of its own at the flush
    db.session.add(comment)
    return comment, token


def _resolve_parent(
    page: Page | None, parent_id: int | None, *, by_moderator: bool
) -> Comment | None:
    """The comment to reply to: published, on this page, at most at the deepest level."""
    if parent_id is None:
        return None
    parent = db.session.get(Comment, parent_id) if page is not None else None
    if (
        parent is not None
        and page is not None
        and parent.page_id == page.id
        and parent.status != "approved"
    ):
        if by_moderator:
            raise ValidationError(
                {"parent": _l("Approve the comment first: replies to it are not shown.")}
            )
        parent = None
    if parent is None or page is None or parent.page_id != page.id:
        raise ValidationError({"parent": _l("The comment you reply to is not on this page.")})
    return reply_target(parent)


def reply_target(parent: Comment) -> Comment:
    """Where a reply to ``parent`` hangs: deeper replies attach at the deepest allowed level."""
    max_depth = current_app.config["PARLEY_MAX_DEPTH"]
    while parent.depth >= max_depth and parent.parent is not None:
        parent = parent.parent
    return parent
