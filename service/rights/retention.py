"""Retention: stored client addresses (already anonymised to a /24 or /48 network) are
cleared once older than ``PARLEY_RETENTION_DAYS``; commenters' privacy requests (a blind
index and times) are deleted then too, but never before their link and budget are over.

``flask --app service purge`` runs it; run it daily (cron, a systemd timer).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa

from service.data import Comment, PrivacyRequest, Rating, utcnow
from service.extensions import db
from service.rights.requests import LINK_MAX_AGE

REQUESTS_KEPT_MIN = timedelta(days=2)  # a link's life, and the per-address daily budget


@dataclass(frozen=True)
class Purged:
    comments: int
    ratings: int
    requests: int

    def describe(self) -> str:
        return (
            f"client addresses cleared: {self.comments} comments, {self.ratings} ratings; "
            f"privacy requests deleted: {self.requests}"
        )


def _count(condition: sa.ColumnElement[bool]) -> int:
    return int(db.session.scalar(sa.select(sa.func.count()).where(condition)) or 0)


def purge(days: int, *, dry_run: bool = False) -> Purged:
    """Clear stored client addresses older than ``days`` days, and delete privacy requests
    as old (caller commits, in a write transaction). ``dry_run``: count only."""
    if days < 1:
        raise ValueError("keep client addresses for at least one day")
    cutoff = utcnow() - timedelta(days=days)
    requests_cutoff = min(
        cutoff, utcnow() - max(REQUESTS_KEPT_MIN, timedelta(seconds=LINK_MAX_AGE))
    )
    old_comments = sa.and_(Comment.remote_addr.is_not(None), Comment.created < cutoff)
    old_ratings = sa.and_(Rating.remote_addr.is_not(None), Rating.updated < cutoff)
    old_requests = PrivacyRequest.created < requests_cutoff
    found = Purged(
        comments=_count(old_comments),
        ratings=_count(old_ratings),
        requests=_count(old_requests),
    )
    if dry_run:
        return found
    # Addresses show to moderators only: no public answer changes, no version to bump.
    db.session.execute(
        sa.update(Comment)
        .where(old_comments)
        .values(remote_addr=None)
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        sa.update(Rating)
        .where(old_ratings)
        .values(remote_addr=None)
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        sa.delete(PrivacyRequest).where(old_requests).execution_options(synchronize_session=False)
    )
    return found
