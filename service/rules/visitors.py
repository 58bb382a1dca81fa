"""Visitor keys: issued and signed by the service, never invented by a client.

A key is a random id with a signature. The widget keeps it in the host page's
storage and sends it in ``X-Parley-Visitor``; the no-JS standalone page keeps
it in a first-party cookie. The database stores only a keyed hash of the id,
so a leaked database cannot be replayed as votes.
"""

from __future__ import annotations

import secrets

from flask import current_app
from itsdangerous import BadSignature, Signer

from service.data.bounds import VISITOR_KEY_MAX
from service.rules import privacy
from service.rules.errors import DomainError

HEADER = "X-Parley-Visitor"
COOKIE = "parley_visitor"
_SALT = "parley.visitor"
_PURPOSE = "visitor"


def _signers() -> list[Signer]:
    config = current_app.config
    keys = [config["SECRET_KEY"], *(config.get("SECRET_KEY_FALLBACKS") or [])]
    return [Signer(key, salt=_SALT) for key in keys]


def issue_key() -> str:
    """A new signed visitor key."""
    return _signers()[0].sign(secrets.token_urlsafe(18)).decode()


def visitor_hash(key: str | None) -> str:
    """The stored form of a visitor key: 400 when missing, 403 when forged."""
    if not key:
        raise DomainError(
            "visitor_required",
            f"This needs a visitor key: get one from POST /api/v1/visitors and send it in "
            f"the {HEADER} header.",
        )
    if len(key) > VISITOR_KEY_MAX or not key.isascii():
        raise _forged()
    for signer in _signers():
        try:
            ident = signer.unsign(key.encode()).decode()
        except BadSignature:
            continue
        return privacy.keyed_hash(_PURPOSE, ident)
    raise _forged()


def optional_visitor_hash(key: str | None) -> str | None:
    """Like ``visitor_hash`` but None when no key was sent; a forged key is still 403."""
    return visitor_hash(key) if key else None


def _forged() -> DomainError:
    return DomainError("bad_visitor", "This visitor key is not valid. Get a new one.")
