"""What an author may do with their own comment, with its edit token, in the edit window:
change its text or its review's rating, or delete it for good."""

from __future__ import annotations

import hmac
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from service.comments.retries import edit_token_hash
from service.comments.status import count
from service.data import Comment, Site, utcnow
from service.data.versions import bump_pages
from service.extensions import db
from service.ratings import votes
from service.rules.errors import DomainError
from service.rules.sanitize import render_comment
from service.rules.validation import EditInput


def _authorised(comment_id: int, token: str | None) -> Comment:
    """The comment if the edit token matches and the window is open; else refused."""
    # Locked, and read fresh: a double-clicked delete must count only once.
    comment = db.session.get(Comment, comment_id, with_for_update=True, populate_existing=True)
    if comment is None or comment.status in ("deleted", "spam"):
        raise DomainError("not_found", _l("There is no such comment."))
    expected = comment.edit_token_hash
    given = edit_token_hash(token) if token else ""
    if not expected or not hmac.compare_digest(expected, given):
        raise DomainError("bad_edit_token", _l("This edit link is not valid for this comment."))
    if not edit_window_open(comment, comment.page.site, utcnow()):
        raise DomainError(
            "edit_window_closed", _l("Comments can be changed only shortly after posting.")
        )
    return comment


def edit_window_open(comment: Comment, site: Site, now: datetime) -> bool:
    """True while the author may still edit or delete the comment."""
    return now - comment.created <= timedelta(seconds=site.edit_window)


def edit_comment(
    comment_id: int, token: str | None, change: EditInput, visitor: str | None = None
) -> Comment:
    """Change a comment's text or its review rating by its author, within the edit window.

    Giving a rating to a comment that is not yet a review makes it one, for the visitor
    whose key comes with the edit.
    """
    comment = _authorised(comment_id, token)
    if change.text is not None:
        comment.text = change.text
        comment.html = render_comment(change.text)
        comment.edited = utcnow()
        if comment.status == "approved":
            bump_pages(comment.page_id)  # readers see the new text
    if change.rating is not None:
        if votes.review_rating(comment) is not None:
            votes.change_review(comment, change.rating)
        elif visitor is None:
            raise DomainError("visitor_required", _l("Rating a comment needs a visitor key."))
        else:
            votes.attach_review(comment.page, comment, visitor, change.rating)
    db.session.commit()
    return comment


def delete_comment(comment_id: int, token: str | None) -> None:
    """Delete a comment by its author: its name, email and text are gone for good.

    A placeholder stays only where replies hang from it; a placeholder left without
    replies goes too.
    """
    comment = _authorised(comment_id, token)
    if comment.status == "approved":
        count(comment.page, -1)
    votes.sync_review(comment, removed=True)
    bump_pages(comment.page_id)  # the comment, or a placeholder above it, goes
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
