"""Moderation actions: status changes one by one or in bulk, a moderator's edit of a
comment's text, a moderator's reply.

Status changes go through ``status.set_status`` so counters and review ratings follow;
replies go through ``posting.post_comment``, the one write path. Every action is written
to the audit log in the same transaction.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from service.comments import reports
from service.comments.posting import post_comment
from service.comments.status import set_status
from service.data import Comment, Moderator, Page, utcnow
from service.data.versions import bump_pages
from service.extensions import db
from service.rules.errors import ValidationError
from service.rules.sanitize import render_comment
from service.rules.validation import CommentInput, clean_text
from service.sites import audit

# action -> the status it gives
ACTIONS = {
    "approve": "approved",
    "spam": "spam",
    "delete": "deleted",
    "restore": "approved",
    "hold": "pending",
}


def apply(
    moderator: Moderator | None, ids: list[int], action: str, allowed_sites: list[int] | None
) -> int:
    """Apply an action to comments on the given sites (None: any); returns how many changed.

    Commits. The command line acts with no moderator and on every site.
    """
    status = ACTIONS[action]
    changed = 0
    query = sa.select(Comment).join(Page, Page.id == Comment.page_id)
    query = query.where(Comment.id.in_(ids[:500]))
    if allowed_sites is not None:
        query = query.where(Page.site_id.in_(allowed_sites))
    for comment in db.session.scalars(query.with_for_update()):
        if comment.status == status or (comment.author is None and comment.status == "deleted"):
            continue  # nothing to do, or an author's own deletion (nothing left to restore)
        before = comment.status
        set_status(comment, status)
        if status == "approved":
            comment.pending_reason = None
        if status != "pending":
            reports.settle(comment)  # decided: readers' reports of it are dealt with
        audit.record(
            moderator,
            comment.page.site_id,
            action,
            f"comment {comment.id}",
            f"{before} -> {status}",
        )
        changed += 1
    db.session.commit()
    return changed


def _text(text: str) -> str:
    errors: dict[str, str] = {}
    cleaned = clean_text(text, errors)
    if cleaned is None:
        raise ValidationError(errors)
    return cleaned


def edit_text(moderator: Moderator, comment: Comment, text: str) -> None:
    """Replace a comment's text, sanitised again (caller commits)."""
    if comment.author is None:
        raise ValidationError(
            {"text": _l("Its author deleted this comment; nothing is left to edit.")}
        )
    cleaned = _text(text)
    if cleaned == comment.text:
        return
    before = len(comment.text)
    comment.text, comment.html, comment.edited = cleaned, render_comment(cleaned), utcnow()
    if comment.status == "approved":
        bump_pages(comment.page_id)  # readers see the new text
    audit.record(
        moderator,
        comment.page.site_id,
        "edit",
        f"comment {comment.id}",
        f"text changed ({before} -> {len(cleaned)} characters)",
    )


def reply_as_moderator(moderator: Moderator, parent: Comment, text: str) -> Comment:
    """A published reply in the moderator's name, marked as theirs (caller commits)."""
    data = CommentInput(
        name=moderator.name, email=moderator.email, text=_text(text), parent=parent.id
    )
    page = parent.page
    posted = post_comment(
        page.site, page.key, data, address=None, service_origin="", moderator=moderator
    )
    audit.record(
        moderator, page.site_id, "reply", f"comment {parent.id}", f"reply {posted.comment.id}"
    )
    return posted.comment
