"""What moderators read: the queue with its filters, the dashboard's lists, an author's
history. Rows carry the author's email, decrypted: these are for moderators only."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from service.data import Comment, Page, Rating, Site
from service.extensions import db
from service.rules import privacy
from service.rules.validation import like_pattern


@dataclass(frozen=True)
class QueueFilter:
    status: str = "pending"
    site_ids: list[int] = field(default_factory=list)
    page: str = ""
    text: str = ""
    author: str = ""
    email: str = ""


def queue(filters: QueueFilter, *, offset: int, limit: int) -> tuple[list[dict[str, Any]], bool]:
    """Comments matching the filters, newest first, as rows for moderators (with emails)."""
    query = (
        sa.select(Comment, Page.key, Site.key)
        .join(Page, Page.id == Comment.page_id)
        .join(Site, Site.id == Page.site_id)
        .where(Comment.status == filters.status, Page.site_id.in_(filters.site_ids))
    )
    if filters.page:
        query = query.where(Page.key == filters.page)
    if filters.text:
        query = query.where(Comment.text.like(like_pattern(filters.text), escape="\\"))
    if filters.author:
        query = query.where(Comment.author.like(like_pattern(filters.author), escape="\\"))
    if filters.email:
        # Emails are encrypted: lookups go through the keyed blind index, exact match only.
        query = query.where(Comment.email_index == privacy.email_index(filters.email))
    query = query.order_by(Comment.created.desc(), Comment.id.desc()).offset(offset)
    found = db.session.execute(query.limit(limit + 1)).all()
    rows = [_row(comment, page_key, site_key) for comment, page_key, site_key in found[:limit]]
    return rows, len(found) > limit


def _row(comment: Comment, page_key: str, site_key: str) -> dict[str, Any]:
    return {
        "comment": comment,
        "page": page_key,
        "site": site_key,
        "email": email_of(comment),
        "reason": comment.pending_reason,
    }


def pending_counts(site_ids: list[int]) -> dict[int, int]:
    rows = db.session.execute(
        sa.select(Page.site_id, sa.func.count())
        .join(Comment, Comment.page_id == Page.id)
        .where(Comment.status == "pending", Page.site_id.in_(site_ids))
        .group_by(Page.site_id)
    )
    found = {site_id: n for site_id, n in rows}
    return {site_id: found.get(site_id, 0) for site_id in site_ids}


def latest_comments(site_ids: list[int], limit: int) -> list[dict[str, Any]]:
    found = db.session.execute(
        sa.select(Comment, Page.key, Site.key)
        .join(Page, Page.id == Comment.page_id)
        .join(Site, Site.id == Page.site_id)
        .where(Page.site_id.in_(site_ids))
        .order_by(Comment.created.desc(), Comment.id.desc())
        .limit(limit)
    ).all()
    return [_row(comment, page_key, site_key) for comment, page_key, site_key in found]


def latest_ratings(site_ids: list[int], limit: int) -> list[dict[str, Any]]:
    found = db.session.execute(
        sa.select(
            Rating.value, Rating.updated, Rating.counted, Page.key, Site.key, Site.rating_scale
        )
        .join(Page, Page.id == Rating.page_id)
        .join(Site, Site.id == Page.site_id)
        .where(Page.site_id.in_(site_ids))
        .order_by(Rating.updated.desc(), Rating.id.desc())
        .limit(limit)
    ).all()
    return [
        {"value": v, "when": when, "counted": counted, "page": page, "site": site, "scale": scale}
        for v, when, counted, page, site, scale in found
    ]


def author_history(comment: Comment, limit: int = 50) -> list[tuple[Comment, str]]:
    """The author's other comments on the same site (same email), newest first, with page keys."""
    if not comment.email_index:
        return []
    rows = db.session.execute(
        sa.select(Comment, Page.key)
        .join(Page, Page.id == Comment.page_id)
        .where(
            Page.site_id == comment.page.site_id,
            Comment.email_index == comment.email_index,
            Comment.id != comment.id,
        )
        .order_by(Comment.created.desc(), Comment.id.desc())
        .limit(limit)
    ).all()
    return [(other, key) for other, key in rows]


def email_of(comment: Comment) -> str | None:
    """The author's email for moderators, or a note when it cannot be decrypted."""
    if not comment.email_encrypted:
        return None
    try:
        return privacy.decrypt_email(comment.email_encrypted)
    except privacy.DataKeyError:
        return "(cannot decrypt: unknown key)"
