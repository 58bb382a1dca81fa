"""Pinned comments: a few published top-level comments a page shows first.

Moderators of the page's site pin and unpin (audited); at most ``PINS_MAX`` per page, so
pins stay a highlight rather than a second thread. A thread read shows them at the top of
its first page only and leaves them out of the paged order (``threads.read_thread``), so a
cursor never shows a pinned comment twice. A pin changes what readers see: the page gets a
new version. Callers commit.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from service.data import Comment, Moderator, Page
from service.data.bounds import PINS_MAX
from service.data.models import PINNED
from service.data.versions import bump_pages
from service.extensions import db
from service.rules.errors import ValidationError
from service.sites import audit


def pinned_count(page_id: int) -> int:
    """How many of the page's comments are pinned (whatever their status)."""
    query = sa.select(sa.func.count()).select_from(Comment)
    query = query.where(Comment.page_id == page_id, PINNED)  # the partial index's term
    return int(db.session.scalar(query) or 0)


def set_pinned(moderator: Moderator | None, comment: Comment, pinned: bool) -> bool:
    """Pin or unpin a comment; False when it already was (or was not) pinned.

    Only a published top-level comment can be pinned, and only while its page has fewer
    than ``PINS_MAX`` pinned; unpinning always works."""
    if comment.pinned == pinned:
        return False
    if pinned:
        if comment.parent_id is not None:
            raise ValidationError({"pin": _l("Only a top-level comment can be pinned.")})
        if comment.status != "approved":
            raise ValidationError({"pin": _l("Only a published comment can be pinned.")})
        # The page's row lock serialises pins on PostgreSQL (SQLite: the write lock).
        db.session.execute(sa.select(Page.id).where(Page.id == comment.page_id).with_for_update())
        if pinned_count(comment.page_id) >= PINS_MAX:
            raise ValidationError(
                {
                    "pin": _l(
                        "At most %(max)s comments can be pinned on a page: unpin one first.",
                        max=PINS_MAX,
                    )
                }
            )
    comment.pinned = pinned
    bump_pages(comment.page_id)  # shown first, marked, or back in its place
    action = "pin" if pinned else "unpin"
    audit.record(moderator, comment.page.site_id, action, f"comment {comment.id}")
    return True


def pinned_on(page: Page) -> list[Comment]:
    """The page's pinned comments, oldest first (for moderators)."""
    query = sa.select(Comment).where(Comment.page_id == page.id, PINNED)
    return list(db.session.scalars(query.order_by(Comment.created, Comment.id)))
