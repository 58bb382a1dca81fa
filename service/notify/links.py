"""Links in mail: signed moderation and confirmation links, opaque address tokens.

Moderation and confirmation links are signed with the signing key (itsdangerous,
a salt per purpose) and expire after ``PARLEY_MAIL_LINK_MAX_AGE``. An address's
own token (for unsubscribing) is opaque: derived with the data key, stored only
as a keyed hash, never containing or revealing the address.

A confirmation link also names the comment that asked for it. Following it proves
that the visitor key which posted that comment controls the address: the pair is
recorded (``VisitorProof``), and "Hold first-time authors" trusts that key with
that address. Links from before carry the address alone and confirm only it.
"""

from __future__ import annotations

import hmac
from typing import Any
from urllib.parse import urlencode

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.exc import IntegrityError

from service.data import Address, Comment, Moderator, Page, Site, VisitorProof, utcnow
from service.extensions import db
from service.notify.mailer import public_url, setting
from service.rules import privacy
from service.rules.errors import DomainError

MAIL_ACTIONS = ("approve", "spam", "delete")
MODERATE_PATH = "/notify/moderate/"
CONFIRM_PATH = "/notify/confirm/"
UNSUBSCRIBE_PATH = "/notify/unsubscribe/"
TOKEN_MAX = 1000
_MODERATE_SALT = "parley.mail.moderate"
_CONFIRM_SALT = "parley.mail.confirm"
_ISSUE_PURPOSE = "mail-link-issue"
_HASH_PURPOSE = "mail-link"


class LinkError(DomainError):
    """A mail link that cannot be used: ``bad_link`` (forged, or for an account or address
    that is gone), ``link_expired``, or ``link_target_gone`` (the comment or address is
    no longer here)."""


def _serializer(salt: str) -> URLSafeTimedSerializer:
    """Signs with the current signing key; the fallbacks still verify."""
    config = current_app.config
    keys = [*(config.get("SECRET_KEY_FALLBACKS") or []), config["SECRET_KEY"]]
    return URLSafeTimedSerializer(keys, salt=salt)


def _moderator_key(moderator: Moderator) -> str:
    """Binds a link to this account: a new account that reuses the id cannot use it."""
    return privacy.keyed_hash("mail-moderator", f"{moderator.id}:{moderator.email}")[:16]


def moderation_link(moderator: Moderator, comment: Comment, action: str) -> str:
    """A signed, expiring link that lets this moderator take this action on this comment."""
    data = {"m": moderator.id, "c": comment.id, "a": action, "k": _moderator_key(moderator)}
    return public_url() + MODERATE_PATH + str(_serializer(_MODERATE_SALT).dumps(data))


def _loads(salt: str, token: str) -> Any:
    """The signed value of a link token; LinkError when forged or expired."""
    if not token or len(token) > TOKEN_MAX or not token.isascii():
        raise LinkError(
            "bad_link", _l("This link is not valid. Copy the whole link from the mail.")
        )
    try:
        return _serializer(salt).loads(token, max_age=int(setting("PARLEY_MAIL_LINK_MAX_AGE")))
    except SignatureExpired:
        raise LinkError("link_expired", _l("This link has expired.")) from None
    except BadSignature:
        raise LinkError(
            "bad_link", _l("This link is not valid. Copy the whole link from the mail.")
        ) from None


def read_moderation_link(token: str) -> tuple[Moderator, Comment, str]:
    """The moderator, comment and action a moderation link names; raises LinkError."""
    data = _loads(_MODERATE_SALT, token)
    if not isinstance(data, dict) or data.get("a") not in MAIL_ACTIONS:
        raise LinkError("bad_link", _l("This link is not valid."))
    moderator = db.session.get(Moderator, data.get("m")) if isinstance(data.get("m"), int) else None
    if moderator is None or not hmac.compare_digest(
        _moderator_key(moderator), str(data.get("k", ""))
    ):
        raise LinkError("bad_link", _l("This link belongs to an account that no longer exists."))
    comment = db.session.get(Comment, data.get("c")) if isinstance(data.get("c"), int) else None
    if comment is None:
        raise LinkError("link_target_gone", _l("This comment no longer exists."))
    return moderator, comment, str(data["a"])


def address_token(address: Address) -> str:
    """The address's opaque link token: derivable only with the data key, never the address."""
    stamp = address.created.isoformat()
    return privacy.keyed_hash(_ISSUE_PURPOSE, f"{address.email_index}:{stamp}")[:43]


def link_token(address: Address) -> str:
    """The token for a new link; (re)stores its hash (first use, or a rotated data key)."""
    token = address_token(address)
    digest = privacy.keyed_hash(_HASH_PURPOSE, token)
    if address.token_hash != digest:
        address.token_hash = digest  # saved with the mail that carries the link
    return token


def find_address(token: str) -> Address | None:
    """The address an opaque token stands for, looked up by its keyed hash."""
    if not token or len(token) > 64 or not token.isascii():
        return None
    digest = privacy.keyed_hash(_HASH_PURPOSE, token)
    return db.session.scalar(sa.select(Address).where(Address.token_hash == digest))


def confirmation_link(address: Address, comment: Comment) -> str:
    """A signed, expiring link wrapping the address's opaque token and the comment that
    asked for it (double opt-in, and proof for the comment's visitor key)."""
    signed = _serializer(_CONFIRM_SALT).dumps([link_token(address), comment.id])
    return public_url() + CONFIRM_PATH + str(signed)


def read_confirmation_link(token: str) -> tuple[Address, int | None]:
    """The address a (signed, expiring) confirmation link stands for, and the comment that
    asked for it (None in links from before they named one); raises LinkError."""
    inner = _loads(_CONFIRM_SALT, token)
    comment_id: Any = None
    if isinstance(inner, list) and len(inner) == 2:
        inner, comment_id = inner
    address = find_address(inner) if isinstance(inner, str) else None
    if address is None:
        raise LinkError("link_target_gone", _l("This address is no longer known here."))
    return address, comment_id if isinstance(comment_id, int) else None


def proves(address: Address, comment_id: int | None) -> str | None:
    """The visitor key hash a confirmation proves for the address, if any not proven yet:
    that of the comment which asked for it, when it was posted with a key and that address."""
    comment = db.session.get(Comment, comment_id) if comment_id is not None else None
    if comment is None or not comment.visitor or comment.email_index != address.email_index:
        return None
    known = sa.select(VisitorProof.id).where(
        VisitorProof.email_index == address.email_index, VisitorProof.visitor == comment.visitor
    )
    return None if db.session.scalar(known) else comment.visitor


def confirm(address: Address, comment_id: int | None) -> None:
    """Follow a confirmation link: the address gets reply mail, and the visitor key of the
    comment that asked is proven to control it (caller commits)."""
    address.confirmed = address.confirmed or utcnow()
    address.unsubscribed = None
    visitor = proves(address, comment_id)
    if visitor is None:
        return
    try:
        with db.session.begin_nested():
            db.session.add(VisitorProof(email_index=address.email_index, visitor=visitor))
    except IntegrityError:  # the same link, followed twice at once
        pass


def unsubscribe_link(address: Address) -> str:
    """The address's lasting unsubscribe link (List-Unsubscribe, RFC 8058 one-click)."""
    return public_url() + UNSUBSCRIBE_PATH + link_token(address)


def page_link(page: Page, site: Site, comment_id: int | None = None) -> str:
    """The host page's URL when known, else the standalone thread page."""
    if page.url:
        return page.url
    query = urlencode({"site": site.key, "page": page.key})
    return f"{public_url()}/thread?{query}" + (f"#c{comment_id}" if comment_id else "")
