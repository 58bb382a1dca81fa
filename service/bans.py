"""Bans by email, address or visitor key; shadow bans.

A ban stores only a keyed value: the email's blind index, a keyed hash of the
anonymised address, or the visitor key's hash, so the ban list itself leaks
nothing. A shadow-banned author is not told: their comments are kept as spam
and shown only back to them.
"""

from __future__ import annotations

import sqlalchemy as sa

from . import privacy
from .extensions import db
from .models import BAN_KINDS, Ban, Comment, Moderator, Site


def address_value(address: str) -> str:
    """The stored form of an (already anonymised) address in a ban."""
    return privacy.keyed_hash("ban-address", address)


def add(
    site: Site,
    kind: str,
    value: str,
    *,
    label: str,
    shadow: bool,
    reason: str,
    moderator: Moderator | None,
) -> Ban:
    """Ban one value on a site (or change an existing ban's kind of shadow); caller commits."""
    if kind not in BAN_KINDS:
        raise ValueError(f"A ban is by {', '.join(BAN_KINDS)}.")
    ban = db.session.scalar(
        sa.select(Ban).where(Ban.site_id == site.id, Ban.kind == kind, Ban.value == value)
    )
    if ban is None:
        ban = Ban(site_id=site.id, kind=kind, value=value)
        db.session.add(ban)
    ban.label, ban.shadow, ban.reason = label[:300], shadow, reason[:300]
    ban.moderator_id = moderator.id if moderator else None
    return ban


def from_comment(
    comment: Comment, kinds: list[str], *, shadow: bool, reason: str, moderator: Moderator | None
) -> list[Ban]:
    """Ban a comment's author by the chosen kinds (those the comment has a value for)."""
    site = comment.page.site
    made = []
    if "email" in kinds and comment.email_index:
        label = privacy.decrypt_email(comment.email_encrypted) if comment.email_encrypted else ""
        made.append(
            add(
                site,
                "email",
                comment.email_index,
                label=label,
                shadow=shadow,
                reason=reason,
                moderator=moderator,
            )
        )
    if "address" in kinds and comment.remote_addr:
        made.append(
            add(
                site,
                "address",
                address_value(comment.remote_addr),
                label=comment.remote_addr,
                shadow=shadow,
                reason=reason,
                moderator=moderator,
            )
        )
    if "visitor" in kinds and comment.visitor:
        made.append(
            add(
                site,
                "visitor",
                comment.visitor,
                label=f"visitor of comment {comment.id}",
                shadow=shadow,
                reason=reason,
                moderator=moderator,
            )
        )
    return made


def matching(site: Site, *, email_index: str, address: str, visitor: str | None) -> Ban | None:
    """The ban that applies to a new comment, a plain ban before a shadow one."""
    values = [("email", email_index), ("address", address_value(address))]
    if visitor:
        values.append(("visitor", visitor))
    found = db.session.scalars(
        sa.select(Ban).where(
            Ban.site_id == site.id,
            sa.or_(*(sa.and_(Ban.kind == kind, Ban.value == value) for kind, value in values)),
        )
    ).all()
    return min(found, key=lambda ban: ban.shadow, default=None)


def for_site(site_ids: list[int]) -> list[Ban]:
    return list(
        db.session.scalars(
            sa.select(Ban).where(Ban.site_id.in_(site_ids)).order_by(Ban.created.desc())
        )
    )
