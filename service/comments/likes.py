"""Likes on comments: one per visitor, idempotent, counted on the comment row."""

from __future__ import annotations

from collections.abc import Collection

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from service.data import Comment, Like, Page
from service.data.versions import bump_pages
from service.extensions import db
from service.rules.errors import DomainError


def set_like(comment_id: int, visitor: str, liked: bool) -> tuple[int, bool]:
    """Like or unlike a published comment; repeating either changes nothing.

    Returns the comment's like count and whether this visitor now likes it.
    """
    # The row lock serialises one comment's likes on PostgreSQL; SQLite's
    # write transaction already holds the database lock.
    comment = db.session.scalar(
        sa.select(Comment)
        .where(Comment.id == comment_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if comment is None or comment.status != "approved":
        raise DomainError("not_found", _l("There is no such comment."))
    existing = db.session.scalar(
        sa.select(Like).where(Like.comment_id == comment_id, Like.visitor == visitor)
    )
    delta = 0
    if liked and existing is None:
        db.session.add(Like(comment_id=comment_id, visitor=visitor))
        delta = 1
    elif not liked and existing is not None:
        db.session.delete(existing)
        delta = -1
    if delta:
        db.session.execute(
            sa.update(Comment)
            .where(Comment.id == comment_id)
            .values(likes=Comment.likes + delta)
            .execution_options(synchronize_session=False)
        )
        bump_pages(comment.page_id)  # the thread shows the count, and sorts by it
    db.session.commit()
    likes = db.session.scalar(sa.select(Comment.likes).where(Comment.id == comment_id))
    return int(likes or 0), liked


def liked_on_page(page_id: int, visitor: str) -> list[int]:
    """Ids of the comments on a page this visitor likes (personal state, as JSON)."""
    return list(
        db.session.scalars(
            sa.select(Like.comment_id)
            .join(Comment, Comment.id == Like.comment_id)
            .where(Comment.page_id == page_id, Like.visitor == visitor)
            .order_by(Like.comment_id)
        )
    )


def site_of(comment_id: int) -> int | None:
    """The id of the site a comment is on (a visitor key must be that site's), or None."""
    return db.session.scalar(
        sa.select(Page.site_id)
        .join(Comment, Comment.page_id == Page.id)
        .where(Comment.id == comment_id)
    )


def forget_visitors(visitors: Collection[str], site_ids: Collection[int] | None = None) -> int:
    """Remove every like of these visitor keys (on some sites' pages, or on every site), each
    liked comment's count following; returns how many went (caller commits)."""
    if not visitors:
        return 0
    query = sa.select(Like.id, Like.comment_id, Comment.page_id).join(
        Comment, Comment.id == Like.comment_id
    )
    query = query.where(Like.visitor.in_(sorted(visitors)))
    if site_ids is not None:
        query = query.join(Page, Page.id == Comment.page_id).where(Page.site_id.in_(site_ids))
    rows = db.session.execute(query).all()
    for _like, comment_id, _page in rows:
        db.session.execute(
            sa.update(Comment)
            .where(Comment.id == comment_id)
            .values(likes=Comment.likes - 1)
            .execution_options(synchronize_session=False)
        )
    if rows:
        db.session.execute(sa.delete(Like).where(Like.id.in_([row[0] for row in rows])))
        bump_pages(*{row[2] for row in rows})  # threads show the counts, and sort by them
    return len(rows)
