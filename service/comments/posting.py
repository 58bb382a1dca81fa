"""Posting a comment: the one write path for readers' comments, replies and reviews,
moderators' replies, and anything that imports comments later.

``post_comment`` is the one place that renders the text, applies the site's policy,
counts the comment and queues its notifications. It takes plain values (the client's
anonymised address, the service's origin) and never reads the request.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from service.comments import policy
from service.comments.status import count
from service.data import Comment, Moderator, Page, Site, utcnow
from service.extensions import db
from service.notify import events
from service.ratings import votes
from service.rules import privacy
from service.rules.errors import DomainError, ValidationError
from service.rules.sanitize import render_comment
from service.rules.validation import CommentInput
from service.sites.lookup import get_or_create_page

_EDIT_PURPOSE = "edit-token"


@dataclass(frozen=True)
class Posted:
    """A stored comment and the edit token its author gets once."""

    comment: Comment
    edit_token: str
    duplicate: bool = False


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

    A review (``data.rating`` given) needs the visitor's key hash: its rating becomes that
    visitor's one rating for the page. A moderator's comment is published at once, marked
    as theirs, and no policy applies to it. ``tokenless``: the post brought neither a form
    token nor an API token (``policy.decide`` applies the site's rule for those).

    The same author's same text on the same page within the duplicate window is a retry,
    not a new comment: a caller proven to be that author (the same visitor key, the first
    comment's ``edit_token``, or a moderator) gets the first comment and its token back;
    anyone else is refused (409 ``duplicate``, naming the first comment) and nothing is
    stored.
    """
    if data.rating is not None and visitor is None:
        raise DomainError("visitor_required", "A review needs a visitor key.")
    page = get_or_create_page(
        site, page_key, title=data.title, url=data.url, service_origin=service_origin
    )
    email_index = privacy.email_index(data.email)
    parent = _resolve_parent(page, data.parent, by_moderator=moderator is not None)
    first = _duplicate_of(page, parent, email_index, data.text)
    if first is not None and _same_rating(first, data.rating):
        if moderator is not None or _proven(first, visitor, edit_token):
            return Posted(first, issue_edit_token(first), duplicate=True)
        raise DomainError(
            "duplicate",
            f"This text was just posted here by the same author (comment {first.id}): it is "
            "not posted twice.",
            {"duplicate_of": str(first.id)},
        )
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
    comment = Comment(
        page_id=page.id,
        parent_id=parent.id if parent else None,
        root_id=parent.root_id if parent else None,
        depth=parent.depth + 1 if parent else 0,
        author=data.name,
        email_encrypted=privacy.encrypt_email(data.email),
        email_index=email_index,
        avatar=privacy.avatar_id(data.email),
        website=data.website,
        text=data.text,
        html=html,
        status=decision.status,
        pending_reason=decision.reason,
        shadow=decision.shadow,
        visitor=visitor,
        remote_addr=address or None,
        notify=data.notify,
        by_moderator=moderator is not None,
    )
    db.session.add(comment)
    db.session.flush()  # the row's own key: never "the latest row"
    if comment.root_id is None:
        comment.root_id = comment.id
    token = issue_edit_token(comment)
    comment.edit_token_hash = edit_token_hash(token)
    if comment.status == "approved":
        count(page, +1)
    if data.rating is not None and visitor is not None:
        votes.attach_review(page, comment, visitor, data.rating)
    if not comment.shadow:
        events.comment_posted(comment, confirm_now=decision.untrusted)
    return Posted(comment, token)


def _resolve_parent(page: Page, parent_id: int | None, *, by_moderator: bool) -> Comment | None:
    """The comment to reply to: published, on this page, at most at the deepest level."""
    if parent_id is None:
        return None
    parent = db.session.get(Comment, parent_id)
    if parent is not None and parent.page_id == page.id and parent.status != "approved":
        if by_moderator:
            raise ValidationError(
                {"parent": "Approve the comment first: replies to it are not shown."}
            )
        parent = None
    if parent is None or parent.page_id != page.id:
        raise ValidationError({"parent": "The comment you reply to is not on this page."})
    return reply_target(parent)


def reply_target(parent: Comment) -> Comment:
    """Where a reply to ``parent`` hangs: deeper replies attach at the deepest allowed level."""
    max_depth = current_app.config["PARLEY_MAX_DEPTH"]
    while parent.depth >= max_depth and parent.parent is not None:
        parent = parent.parent
    return parent


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


def _same_rating(comment: Comment, rating: int | None) -> bool:
    review = votes.review_rating(comment)
    return (review.value if review else None) == rating


def _proven(first: Comment, visitor: str | None, edit_token: str | None) -> bool:
    """Whether the caller is the first comment's author: its visitor key, or its edit token."""
    if visitor is not None and first.visitor is not None and visitor == first.visitor:
        return True
    if not edit_token or not first.edit_token_hash or len(edit_token) > 200:
        return False
    return hmac.compare_digest(edit_token_hash(edit_token), first.edit_token_hash)


def _duplicate_of(
    page: Page, parent: Comment | None, email_index: str, text: str
) -> Comment | None:
    """The same author's same text on the same page, just posted: a retry, not a new comment.

    Whoever sends it: who may have it back is ``post_comment``'s question.
    """
    since = utcnow() - timedelta(seconds=current_app.config["PARLEY_DUPLICATE_WINDOW"])
    return db.session.scalar(
        sa.select(Comment)
        .where(
            Comment.page_id == page.id,
            Comment.email_index == email_index,
            Comment.parent_id == (parent.id if parent else None),
            Comment.created >= since,
            Comment.status != "deleted",
            Comment.text == text,
        )
        .order_by(Comment.id)
        .limit(1)
    )
