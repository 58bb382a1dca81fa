"""What moderators read: the queue with its filters, the dashboard's lists, an author's
history. Rows carry the author's email, decrypted: these are for moderators only.

The free-text filters (text, page, author) match a part of the value, wildcards taken
literally, in any case (``ILIKE`` on PostgreSQL, SQLite's own ``LIKE``); each is applied
only when given, so the unfiltered queue reads one status from its index.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from service.data import Comment, Page, Rating, Site
from service.data.bounds import STATUSES
from service.extensions import db
from service.rules import privacy
from service.rules.validation import like_pattern

ANY_STATUS = "all"  # the queue's status filter for every status


@dataclass(frozen=True)
class QueueFilter:
    status: str = "pending"  # one of STATUSES, or ANY_STATUS
    site_ids: list[int] = field(default_factory=list)
    page: str = ""
    text: str = ""
    author: str = ""
    email: str = ""


def _contains(column: Any, value: str) -> Any:
    """The column holds the value somewhere, literally and in any case. SQLite's ``LIKE``
    already ignores ASCII case (as its ``lower()`` does), and costs less than the
    ``lower(column) LIKE`` that ``ilike`` becomes there; PostgreSQL's needs ``ILIKE``."""
    pattern = like_pattern(value)
    if db.session.get_bind().dialect.name == "sqlite":
        return column.like(pattern, escape="\\")
    return column.ilike(pattern, escape="\\")


def _matching(filters: QueueFilter) -> list[Any]:
    """The conditions of every filter but the status (each only when it is given)."""
    found: list[Any] = [Page.site_id.in_(filters.site_ids)]
    if filters.page:  # a part of the page's id or of its title
        pages = sa.select(Page.id).where(
            Page.site_id.in_(filters.site_ids),
            sa.or_(_contains(Page.key, filters.page), _contains(Page.title, filters.page)),
        )
        found.append(Comment.page_id.in_(pages))
    if filters.text:
        found.append(_contains(Comment.text, filters.text))
    if filters.author:
        found.append(_contains(Comment.author, filters.author))
    if filters.email:
        # Emails are encrypted: lookups go through the keyed blind index, exact match only.
        found.append(Comment.email_index == privacy.email_index(filters.email))
    return found


def _any_status(conditions: list[Any], enough: int) -> Any:
    """Every status, newest first: no index holds that order, but ``comment_queue`` holds it
    per status. Each status gives its newest ``enough`` matching rows, in index order, and
    the page is cut from those (at most four times ``enough`` rows sorted, never all)."""
    newest = [
        sa.select(Comment.id)
        .join(Page, Page.id == Comment.page_id)
        .where(Comment.status == status, *conditions)
        .order_by(Comment.created.desc(), Comment.id.desc())
        .limit(enough)
        .subquery()
        for status in STATUSES
    ]
    picked = sa.union_all(*(sa.select(part.c.id) for part in newest)).subquery()
    return Comment.id.in_(sa.select(picked.c.id))


def queue(filters: QueueFilter, *, offset: int, limit: int) -> tuple[list[dict[str, Any]], bool]:
    """Comments matching the filters, newest first, as rows for moderators (with emails)."""
    conditions = _matching(filters)
    if filters.status == ANY_STATUS:
        conditions = [_any_status(conditions, offset + limit + 1)]
    else:
        conditions.insert(0, Comment.status == filters.status)
    query = (
        sa.select(Comment, Page.key, Site.key)
        .join(Page, Page.id == Comment.page_id)
        .join(Site, Site.id == Page.site_id)
        .where(*conditions)
        .order_by(Comment.created.desc(), Comment.id.desc())
        .offset(offset)
    )
    found = db.session.execute(query.limit(limit + 1)).all()
    rows = [_row(comment, page_key, site_key) for comment, page_key, site_key in found[:limit]]
    return rows, len(found) > limit


def _row(comment: Comment, page_key: str, site_key: str) -> dict[str, Any]:
    return {
        "comment": comment,
        "page": page_key,
        "site": site_key,
        "email": email_of(comment),
        # Why it waits: only while it does (a spammed or deleted comment keeps the old
        # reason in its row, and a comment held again may carry none).
        "reason": comment.pending_reason if comment.status == "pending" else None,
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
