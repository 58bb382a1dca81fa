"""Bans by email, address or visitor key; shadow bans.

A ban matches on a keyed value only: the email's blind index, a keyed hash of the
anonymised address, or the visitor key's hash. What moderators see of it is the anonymised
address, or the email, stored encrypted like a comment's and decrypted only to be shown:
no plain address is stored. A shadow-banned author is not told: their comments are kept as
spam and shown only back to them. Every ban and unban is audited.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from service.data import Ban, Comment, Moderator, Site, versions
from service.data.bounds import BAN_KINDS, BAN_LABEL_MAX, REASON_MAX
from service.extensions import db
from service.rules import privacy
from service.rules.errors import ValidationError
from service.rules.validation import clean_email
from service.sites import audit


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
    email_encrypted: str | None = None,
) -> Ban:
    """Ban one value on a site (or change an existing ban's kind of shadow); caller commits.

    ``label`` is what moderators see of an address or visitor ban; an email ban shows its
    ``email_encrypted`` (from ``privacy.encrypt_email``) instead, and its label stays empty.
    """
    if kind not in BAN_KINDS:
        raise ValueError(f"A ban is by {', '.join(BAN_KINDS)}.")
    ban = db.session.scalar(
        sa.select(Ban).where(Ban.site_id == site.id, Ban.kind == kind, Ban.value == value)
    )
    if ban is None:
        ban = Ban(site_id=site.id, kind=kind, value=value)
        db.session.add(ban)
    ban.label, ban.shadow, ban.reason = label[:BAN_LABEL_MAX], shadow, reason[:REASON_MAX]
    if kind == "email":
        ban.label, ban.email_encrypted = "", email_encrypted or ban.email_encrypted
    ban.moderator_id = moderator.id if moderator else None
    return ban


def _action(shadow: bool) -> str:
    return "shadow ban" if shadow else "ban"


def ban_author(
    moderator: Moderator | None, comment: Comment, kinds: list[str], *, shadow: bool, reason: str
) -> list[Ban]:
    """Ban a comment's author by the chosen kinds it has a value for (caller commits)."""
    remote = comment.remote_addr
    wanted = [
        ("email", comment.email_index, ""),
        ("address", address_value(remote) if remote else None, remote or ""),
        ("visitor", comment.visitor, f"visitor of comment {comment.id}"),
    ]
    made = [
        add(
            comment.page.site,
            kind,
            value,
            label=label,
            shadow=shadow,
            reason=reason,
            moderator=moderator,
            # The comment's own ciphertext: the email is never decrypted to ban it.
            email_encrypted=comment.email_encrypted if kind == "email" else None,
        )
        for kind, value, label in wanted
        if kind in kinds and value
    ]
    if not made:
        raise ValidationError({"kinds": _l("Choose what to ban the author by.")})
    audit.record(
        moderator,
        comment.page.site_id,
        _action(shadow),
        f"comment {comment.id}",
        f"by {', '.join(ban.kind for ban in made)}"
        + (f": {reason[:REASON_MAX]}" if reason else ""),
    )
    return made


def ban_email(
    moderator: Moderator | None, site: Site, email: str, *, shadow: bool, reason: str
) -> Ban:
    """Ban a typed email address (its blind index, and the address encrypted); caller commits."""
    errors: dict[str, str] = {}
    address = clean_email(email, errors)
    if address is None:
        raise ValidationError(errors)
    ban = add(
        site,
        "email",
        privacy.email_index(address),
        label="",
        shadow=shadow,
        reason=reason,
        moderator=moderator,
        email_encrypted=privacy.encrypt_email(address),
    )
    db.session.flush()
    audit.record(moderator, site.id, _action(shadow), f"ban {ban.id}", "by email")
    return ban


def remove(moderator: Moderator | None, ban: Ban) -> None:
    """Lift a ban (caller commits)."""
    audit.record(moderator, ban.site_id, "unban", f"ban {ban.id}", f"by {ban.kind}")
    db.session.delete(ban)


def find(
    site_id: int, *, email_index: str | None, address: str | None, visitor: str | None
) -> list[Ban]:
    """The bans on a site that match any of an author's values."""
    values = [
        ("email", email_index),
        ("address", address_value(address) if address else None),
        ("visitor", visitor),
    ]
    wanted = [sa.and_(Ban.kind == kind, Ban.value == value) for kind, value in values if value]
    if not wanted:
        return []
    return list(db.session.scalars(sa.select(Ban).where(Ban.site_id == site_id, sa.or_(*wanted))))


_BAN = Ban.__table__
# Built once: every post asks it. A value that is None matches no row (``= NULL``).
_MATCHING = (
    sa.select(_BAN.c.id)
    .where(
        _BAN.c.site_id == sa.bindparam("site_id"),
        sa.or_(
            sa.and_(_BAN.c.kind == "email", _BAN.c.value == sa.bindparam("email")),
            sa.and_(_BAN.c.kind == "address", _BAN.c.value == sa.bindparam("address")),
            sa.and_(_BAN.c.kind == "visitor", _BAN.c.value == sa.bindparam("visitor")),
        ),
    )
    .order_by(_BAN.c.shadow, _BAN.c.id)
    .limit(1)
)


# What each process keeps of a site's bans, while its version holds: (kind, value) ->
# (shadow, id); None for a site with more than KEPT_BANS, which asks _MATCHING instead.
KEPT_BANS = 1000
_ALL = sa.select(_BAN.c.kind, _BAN.c.value, _BAN.c.shadow, _BAN.c.id).where(
    _BAN.c.site_id == sa.bindparam("site_id")
)


def _load(site_id: int) -> dict[tuple[str, str], tuple[bool, int]] | None:
    rows = db.session.connection().execute(_ALL.limit(KEPT_BANS + 1), {"site_id": site_id})
    found = {(kind, value): (shadow, ident) for kind, value, shadow, ident in rows}
    return found if len(found) <= KEPT_BANS else None


_KEPT = versions.SiteMemo("bans", _load)


def matching(
    site: Site, *, email_index: str, address: str | None, visitor: str | None
) -> Ban | None:
    """The ban that applies to a new comment, a plain ban before a shadow one."""
    values = {
        "email": email_index or None,
        "address": address_value(address) if address else None,
        "visitor": visitor or None,
    }
    kept = _KEPT.get(site)
    if kept is None:
        found = db.session.connection().scalar(_MATCHING, {"site_id": site.id, **values})
    else:
        hits = [
            kept[(kind, value)] for kind, value in values.items() if value and (kind, value) in kept
        ]
        found = min(hits)[1] if hits else None
    return db.session.get(Ban, found) if found is not None else None


def of_author(comment: Comment) -> list[Ban]:
    """The bans on the comment's site that match its author."""
    return find(
        comment.page.site_id,
        email_index=comment.email_index,
        address=comment.remote_addr,
        visitor=comment.visitor,
    )


def for_sites(site_ids: list[int]) -> list[Ban]:
    """Every ban on these sites, newest first."""
    return list(
        db.session.scalars(
            sa.select(Ban).where(Ban.site_id.in_(site_ids)).order_by(Ban.created.desc())
        )
    )


def shown(ban: Ban) -> str:
    """What moderators see of a ban: its email decrypted, else its label ("" if none)."""
    if not ban.email_encrypted:
        return ban.label
    try:
        return privacy.decrypt_email(ban.email_encrypted)
    except privacy.DataKeyError:
        return "(an email encrypted with a data key that is no longer configured)"
