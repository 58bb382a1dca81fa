"""Posting, editing and deleting comments: the rules every view shares.

Functions here take plain values and return models; they never read the
request. Counters on the page change in the same transaction as the comment.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from . import notify, policy, privacy, ratings
from .errors import ApiError, ValidationError
from .extensions import db
from .models import STATUSES, Comment, Page, Site, utcnow
from .sanitize import render_comment
from .sites import get_or_create_page
from .validation import CommentInput, EditInput

_EDIT_PURPOSE = "edit-token"


@dataclass(frozen=True)
class Posted:
    """A stored comment and the edit token its author gets once."""

    comment: Comment
    edit_token: str
    duplicate: bool = False


def _resolve_parent(page: Page, parent_id: int | None) -> Comment | None:
    """The comment to reply to: approved, on this page, at most at the deepest level."""
    if parent_id is None:
        return None
    parent = db.session.get(Comment, parent_id)
    if parent is None or parent.page_id != page.id or parent.status != "approved":
        raise ValidationError({"parent": "The comment you reply to is not on this page."})
    return reply_target(parent)


def reply_target(parent: Comment) -> Comment:
    """Where a reply to ``parent`` hangs: deeper replies attach at the deepest allowed level."""
    max_depth = current_app.config["PARLEY_MAX_DEPTH"]
    while parent.depth >= max_depth and parent.parent is not None:
        parent = parent.parent
    return parent


def post_comment(
    site: Site,
    page_key: str,
    data: CommentInput,
    *,
    address: str,
    service_origin: str,
    visitor: str | None = None,
) -> Posted:
    """Store a new comment, reply or review and return it with its edit token.

    A review (``data.rating`` given) needs the visitor's key hash: its rating
    becomes that visitor's one rating for the page.
    """
    if data.rating is not None and visitor is None:
        raise ApiError(400, "visitor_required", "A review needs a visitor key.")
    page = get_or_create_page(
        site, page_key, title=data.title, url=data.url, service_origin=service_origin
    )
    email_index = privacy.email_index(data.email)
    parent = _resolve_parent(page, data.parent)
    first = _duplicate_of(page, parent, email_index, data.text, address, visitor)
    if first is not None and _same_rating(first, data.rating):
        return Posted(first, _edit_token(first), duplicate=True)
    html = render_comment(data.text)
    decision = policy.decide(
        site, page, html, data.text, email_index=email_index, address=address, visitor=visitor
    )
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
        remote_addr=address,
        notify=data.notify,
    )
    db.session.add(comment)
    db.session.flush()  # the row's own key: never "the latest row"
    if comment.root_id is None:
        comment.root_id = comment.id
    token = _edit_token(comment)
    comment.edit_token_hash = privacy.keyed_hash(_EDIT_PURPOSE, token)
    if comment.status == "approved":
        _count(page, +1)
    if data.rating is not None and visitor is not None:
        ratings.attach_review(page, comment, visitor, data.rating)
    if not comment.shadow:
        notify.comment_posted(comment)
    db.session.commit()
    return Posted(comment, token)


def _edit_token(comment: Comment) -> str:
    """The comment's edit token: unguessable without the data key, derivable by the service.

    Derivable so that a retried post (a double click, a lost answer) can give
    the author the same token for the same comment.
    """
    stamp = comment.created.isoformat()
    return privacy.keyed_hash("edit-token-issue", f"{comment.id}:{stamp}")[:43]


def _same_rating(comment: Comment, rating: int | None) -> bool:
    review = ratings.review_rating(comment)
    return (review.value if review else None) == rating


def _duplicate_of(
    page: Page,
    parent: Comment | None,
    email_index: str,
    text: str,
    address: str,
    visitor: str | None,
) -> Comment | None:
    """The same author's same text on the same page, just posted: a retry, not a new comment."""
    since = utcnow() - timedelta(seconds=current_app.config["PARLEY_DUPLICATE_WINDOW"])
    return db.session.scalar(
        sa.select(Comment)
        .where(
            Comment.page_id == page.id,
            Comment.email_index == email_index,
            Comment.parent_id == (parent.id if parent else None),
            Comment.visitor == visitor,
            Comment.remote_addr == address,
            Comment.created >= since,
            Comment.status != "deleted",
            Comment.text == text,
        )
        .order_by(Comment.id)
        .limit(1)
    )


def _count(page: Page, delta: int) -> None:
    db.session.execute(
        sa.update(Page)
        .where(Page.id == page.id)
        .values(comment_count=Page.comment_count + delta)
        .execution_options(synchronize_session=False)
    )


def _authorised(comment_id: int, token: str | None) -> Comment:
    """The comment if the edit token matches and the window is open, else 403/404."""
    # Locked, and read fresh: a double-clicked delete must count only once.
    comment = db.session.get(Comment, comment_id, with_for_update=True, populate_existing=True)
    if comment is None or comment.status in ("deleted", "spam"):
        raise ApiError(404, "not_found", "There is no such comment.")
    expected = comment.edit_token_hash
    given = privacy.keyed_hash(_EDIT_PURPOSE, token) if token else ""
    if not expected or not hmac.compare_digest(expected, given):
        raise ApiError(403, "bad_edit_token", "This edit link is not valid for this comment.")
    if not edit_window_open(comment, comment.page.site, utcnow()):
        raise ApiError(
            403, "edit_window_closed", "Comments can be changed only shortly after posting."
        )
    return comment


def edit_window_open(comment: Comment, site: Site, now: datetime) -> bool:
    """True while the author may still edit or delete the comment."""
    return now - comment.created <= timedelta(seconds=site.edit_window)


def edit_comment(
    comment_id: int, token: str | None, change: EditInput, visitor: str | None = None
) -> Comment:
    """Change a comment's text or its review rating by its author, within the edit window.

    Giving a rating to a comment that is not yet a review makes it one, for
    the visitor whose key comes with the edit.
    """
    comment = _authorised(comment_id, token)
    if change.text is not None:
        comment.text = change.text
        comment.html = render_comment(change.text)
        comment.edited = utcnow()
    if change.rating is not None:
        if ratings.review_rating(comment) is not None:
            ratings.change_review(comment, change.rating)
        elif visitor is None:
            raise ApiError(400, "visitor_required", "Rating a comment needs a visitor key.")
        else:
            ratings.attach_review(comment.page, comment, visitor, change.rating)
    db.session.commit()
    return comment


def set_status(comment: Comment, status: str) -> None:
    """Moderate a comment: counters and its review's rating follow (caller commits)."""
    if status not in STATUSES:
        raise ValueError(f"Unknown status {status!r}.")
    before = comment.status
    if before == status:
        return
    comment.status = status
    if before == "approved":
        _count(comment.page, -1)
    elif status == "approved":
        _count(comment.page, +1)
    ratings.sync_review(comment)
    if status == "approved":
        notify.comment_published(comment)


def delete_comment(comment_id: int, token: str | None) -> None:
    """Delete a comment by its author: its name, email and text are gone for good.

    A placeholder stays only where replies hang from it; a placeholder left
    without replies goes too.
    """
    comment = _authorised(comment_id, token)
    if comment.status == "approved":
        _count(comment.page, -1)
    ratings.sync_review(comment, removed=True)
    _remove(comment)
    db.session.commit()


def _remove(comment: Comment) -> None:
    has_replies = db.session.scalar(
        sa.select(sa.func.count()).select_from(Comment).where(Comment.parent_id == comment.id)
    )
    if has_replies:
        comment.author = comment.email_encrypted = comment.email_index = None
        comment.website = comment.remote_addr = comment.edit_token_hash = None
        comment.avatar = comment.text = comment.html = ""
        comment.status = "deleted"
        comment.edited = utcnow()
        return
    parent = comment.parent
    db.session.delete(comment)
    db.session.flush()
    if parent is not None and parent.status == "deleted":
        _remove(parent)
