"""Moderation: the queue, bulk actions and the audit log.

Every action goes through ``comments.set_status`` so the page's counters and
review ratings follow it exactly, and every action is written to the audit
log in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from . import comments, privacy
from .extensions import db
from .models import AuditEntry, Comment, Moderator, Page, Rating, Site

# action -> the status it gives
ACTIONS = {
    "approve": "approved",
    "spam": "spam",
    "delete": "deleted",
    "restore": "approved",
    "hold": "pending",
}


@dataclass(frozen=True)
class QueueFilter:
    status: str = "pending"
    site_ids: list[int] = field(default_factory=list)
    page: str = ""
    text: str = ""
    author: str = ""
    email: str = ""


def _literal(value: str) -> str:
    """A LIKE pattern that matches the text literally (wildcards escaped)."""
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


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
        query = query.where(Comment.text.like(_literal(filters.text), escape="\\"))
    if filters.author:
        query = query.where(Comment.author.like(_literal(filters.author), escape="\\"))
    if filters.email:
        # Emails are encrypted: lookups go through the keyed blind index, exact match only.
        query = query.where(Comment.email_index == privacy.email_index(filters.email))
    query = query.order_by(Comment.created.desc(), Comment.id.desc()).offset(offset)
    found = db.session.execute(query.limit(limit + 1)).all()
    rows = [_row(comment, page_key, site_key) for comment, page_key, site_key in found[:limit]]
    return rows, len(found) > limit


def _row(comment: Comment, page_key: str, site_key: str) -> dict[str, Any]:
    email = None
    if comment.email_encrypted:
        try:
            email = privacy.decrypt_email(comment.email_encrypted)
        except privacy.DataKeyError:
            email = "(cannot decrypt: unknown key)"
    return {
        "comment": comment,
        "page": page_key,
        "site": site_key,
        "email": email,
        "reason": comment.pending_reason,
    }


def apply(moderator: Moderator, ids: list[int], action: str, allowed_sites: list[int]) -> int:
    """Apply an action to comments on the moderator's sites; returns how many changed."""
    status = ACTIONS[action]
    changed = 0
    for comment in db.session.scalars(
        sa.select(Comment)
        .join(Page, Page.id == Comment.page_id)
        .where(Comment.id.in_(ids[:500]), Page.site_id.in_(allowed_sites))
        .with_for_update()
    ):
        if comment.status == status or (comment.author is None and comment.status == "deleted"):
            continue  # nothing to do, or an author's own deletion (nothing left to restore)
        before = comment.status
        comments.set_status(comment, status)
        if status == "approved":
            comment.pending_reason = None
        record(
            moderator,
            comment.page.site_id,
            action,
            f"comment {comment.id}",
            f"{before} -> {status}",
        )
        changed += 1
    db.session.commit()
    return changed


def record(
    moderator: Moderator | None, site_id: int | None, action: str, target: str, detail: str = ""
) -> None:
    """Write one audit entry (caller commits, in the same transaction as the action)."""
    db.session.add(
        AuditEntry(
            moderator_id=moderator.id if moderator else None,
            site_id=site_id,
            action=action,
            target=target[:120],
            detail=detail,
        )
    )


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


def audit_entries(site_ids: list[int], limit: int) -> list[AuditEntry]:
    return list(
        db.session.scalars(
            sa.select(AuditEntry)
            .where(sa.or_(AuditEntry.site_id.in_(site_ids), AuditEntry.site_id.is_(None)))
            .order_by(AuditEntry.created.desc(), AuditEntry.id.desc())
            .limit(limit)
        )
    )
