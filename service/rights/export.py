"""Everything stored about an email address, as one JSON document for its owner.

What is "about" the address: the comments sent with it, the votes and likes of every
visitor key that posted as it (a review's rating is such a vote), the address's mail row
(confirmed, unsubscribed), the visitor keys it proved, and its privacy requests. Keyed
hashes stay out: they say nothing to a person and would help nobody but an attacker.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from service.data import (
    Address,
    Comment,
    Like,
    Page,
    PrivacyRequest,
    Rating,
    Site,
    VisitorProof,
    utcnow,
)
from service.extensions import db
from service.rules import privacy

FORMAT = "parley-personal-data"
VERSION = 1


def iso(value: datetime | None) -> str | None:
    """A stored (UTC) time as ISO 8601 with a Z."""
    return value.isoformat(timespec="seconds") + "Z" if value else None


@dataclass(frozen=True)
class Scope:
    """Whose data, and where: an address's blind index, on some sites or (None) on all."""

    email_index: str
    site_ids: Sequence[int] | None = None

    def on_pages(self) -> sa.ColumnElement[bool]:
        """The condition on a joined ``Page`` that keeps a query to the scope's sites."""
        return sa.true() if self.site_ids is None else Page.site_id.in_(self.site_ids)


def scope_of(email: str, site_ids: Sequence[int] | None = None) -> Scope:
    """The scope of an address typed by a person (an owner in the admin views)."""
    return Scope(privacy.email_index(email), site_ids)


def comments_of(scope: Scope) -> list[Comment]:
    """The comments sent with the address, oldest first."""
    query = (
        sa.select(Comment)
        .join(Page, Page.id == Comment.page_id)
        .where(scope.on_pages(), Comment.email_index == scope.email_index)
    )
    return list(db.session.scalars(query.order_by(Comment.created, Comment.id)))


def visitors_of(scope: Scope, comments: Sequence[Comment]) -> set[str]:
    """The visitor keys (hashes) that posted as the address, and those it proved (every
    site: a proof names no site; one site: the keys that posted there)."""
    found = {comment.visitor for comment in comments if comment.visitor}
    if scope.site_ids is None:
        proofs = sa.select(VisitorProof.visitor).where(
            VisitorProof.email_index == scope.email_index
        )
        found |= set(db.session.scalars(proofs))
    return found


def _email(scope: Scope, comments: Sequence[Comment]) -> str | None:
    stored = [c.email_encrypted for c in comments if c.email_encrypted]
    address = db.session.scalar(sa.select(Address).where(Address.email_index == scope.email_index))
    if address is not None:
        stored.append(address.email_encrypted)
    for value in stored:
        try:
            return privacy.decrypt_email(value)
        except privacy.DataKeyError:
            continue
    return None


def _place(page: Page, sites: dict[int, str]) -> dict[str, Any]:
    return {"site": sites[page.site_id], "page": page.key, "title": page.title, "url": page.url}


def collect(scope: Scope) -> dict[str, Any]:
    """The document: every row about the address in the scope, in plain values."""
    sites = {ident: key for ident, key in db.session.execute(sa.select(Site.id, Site.key))}
    comments = comments_of(scope)
    visitors = visitors_of(scope, comments)
    ratings: list[tuple[Rating, Page]] = []
    likes: list[tuple[Like, Comment, Page]] = []
    if visitors:
        keys = sorted(visitors)
        rated = (
            sa.select(Rating, Page)
            .join(Page, Page.id == Rating.page_id)
            .where(scope.on_pages(), Rating.visitor.in_(keys))
            .order_by(Rating.created)
        )
        ratings = [(rating, page) for rating, page in db.session.execute(rated)]
        liked = (
            sa.select(Like, Comment, Page)
            .join(Comment, Comment.id == Like.comment_id)
            .join(Page, Page.id == Comment.page_id)
            .where(scope.on_pages(), Like.visitor.in_(keys))
            .order_by(Like.created)
        )
        likes = [(like, comment, page) for like, comment, page in db.session.execute(liked)]
    reviews: dict[int, int | None] = {
        r.comment_id: r.value for r, _ in ratings if r.comment_id is not None
    }
    reviews |= {  # a review's rating waiting with it for moderation
        r.pending_comment_id: r.pending_value for r, _ in ratings if r.pending_comment_id
    }
    address = db.session.scalar(sa.select(Address).where(Address.email_index == scope.email_index))
    requests = sa.select(PrivacyRequest).where(PrivacyRequest.email_index == scope.email_index)
    if scope.site_ids is not None:
        requests = requests.where(PrivacyRequest.site_id.in_(scope.site_ids))
    return {
        "format": FORMAT,
        "version": VERSION,
        "exported": iso(utcnow()),
        "sites": sorted(sites.values())
        if scope.site_ids is None
        else sorted(sites[i] for i in scope.site_ids if i in sites),
        "email": _email(scope, comments),
        "comments": [
            {
                "id": c.id,
                **_place(c.page, sites),
                "parent": c.parent_id,
                "author": c.author,
                "website": c.website,
                "text": c.text,
                "html": c.html,
                "status": c.status,
                "created": iso(c.created),
                "edited": iso(c.edited),
                "likes": c.likes,
                "rating": reviews.get(c.id),
                "reply_mail": c.notify,
                "client_network": c.remote_addr,
            }
            for c in comments
        ],
        "ratings": [
            {
                **_place(page, sites),
                "value": r.value,
                "review": r.comment_id,
                "counted": r.counted,
                "pending": r.pending_value,
                "pending_review": r.pending_comment_id,
                "created": iso(r.created),
                "updated": iso(r.updated),
                "client_network": r.remote_addr,
            }
            for r, page in ratings
        ],
        "likes": [
            {**_place(page, sites), "comment": comment.id, "created": iso(like.created)}
            for like, comment, page in likes
        ],
        "reply_mail": None
        if address is None
        else {
            "since": iso(address.created),
            "confirmed": iso(address.confirmed),
            "unsubscribed": iso(address.unsubscribed),
        },
        "proven_browsers": [
            iso(created)
            for created in db.session.scalars(
                sa.select(VisitorProof.created).where(
                    VisitorProof.email_index == scope.email_index,
                    VisitorProof.visitor.in_(sorted(visitors)),
                )
            )
        ],
        "privacy_requests": [
            {
                "site": sites.get(r.site_id),
                "kind": r.kind,
                "created": iso(r.created),
                "used": iso(r.used),
            }
            for r in db.session.scalars(requests.order_by(PrivacyRequest.created))
        ],
    }
