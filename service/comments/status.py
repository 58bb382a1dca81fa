"""A comment's status and the counters that follow it.

Every change of status goes through ``set_status``, so the page's count of published
comments, a review's rating and the page's version (what cached answers are keyed by)
follow it exactly, in the same transaction.
"""

from __future__ import annotations

import sqlalchemy as sa

from service.data import Comment, Page
from service.data.bounds import STATUSES
from service.data.models import new_version
from service.data.versions import bump_pages
from service.extensions import db
from service.notify import events
from service.ratings import votes

_PAGE = Page.__table__
# Built once: every post and every moderation runs it.
_COUNT = (
    sa.update(_PAGE)
    .where(_PAGE.c.id == sa.bindparam("page_id"))
    .values(
        comment_count=_PAGE.c.comment_count + sa.bindparam("delta"),
        version=sa.bindparam("new_version", type_=sa.BigInteger),
    )
)


def count(page: Page, delta: int) -> None:
    """Change the page's count of published comments (``n = n + d``: concurrent-safe) and,
    in the same statement, its version: readers see a comment more or less."""
    db.session.connection().execute(
        _COUNT, {"page_id": page.id, "delta": delta, "new_version": new_version()}
    )


def set_status(comment: Comment, status: str) -> None:
    """Moderate a comment: counters and its review's rating follow (caller commits)."""
    if status not in STATUSES:
        raise ValueError(f"Unknown status {status!r}.")
    before = comment.status
    if before == status:
        return
    comment.status = status
    if before == "approved":
        count(comment.page, -1)
    elif status == "approved":
        count(comment.page, +1)
    elif "deleted" in (before, status):
        bump_pages(comment.page_id)  # a deleted comment shows while replies hang from it
    votes.sync_review(comment)
    if status == "approved":
        events.comment_published(comment)
