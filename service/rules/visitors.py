"""Visitor keys: issued and signed by the service, never invented by a client.

A key is a random id and the site it was issued for, with a signature. The widget keeps it
in the host page's storage and sends it in ``X-Parley-Visitor``; the no-JS standalone page
keeps it in a first-party cookie, one per site. A key counts only on its own site: votes,
likes and reviews with another site's key are refused like a forged one. Keys issued
before keys named their site carry no site and count everywhere. The database stores only
a keyed hash of the id, so a leaked database cannot be replayed as votes.
"""

from __future__ import annotations

import secrets

from flask import current_app
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, Signer

from service.data.bounds import VISITOR_KEY_MAX
from service.rules import privacy
from service.rules.errors import DomainError

HEADER = "X-Parley-Visitor"
COOKIE = "parley_visitor"  # the standalone page's cookie before keys named their site
_SALT = "parley.visitor"
_PURPOSE = "visitor"
_SITE = ".s"  # between the id and the site's id: ids never hold a dot


def _signers() -> list[Signer]:
    config = current_app.config
    keys = [config["SECRET_KEY"], *(config.get("SECRET_KEY_FALLBACKS") or [])]
    return [Signer(key, salt=_SALT) for key in keys]


def issue_key(site_id: int) -> str:
    """A new signed visitor key for one site."""
    value = f"{secrets.token_urlsafe(18)}{_SITE}{site_id}"
    return _signers()[0].sign(value).decode()


def cookie_name(site_key: str) -> str:
    """The standalone page's cookie for a site's key (site keys are valid cookie names)."""
    return f"{COOKIE}_{site_key}"


def _unsigned(key: str) -> str | None:
    for signer in _signers():
        try:
            return signer.unsign(key.encode()).decode()
        except BadSignature:
            continue
    return None


def visitor_hash(key: str | None, site_id: int | None) -> str:
    """The stored form of a visitor key: 400 when missing, 403 when forged or another site's.

    ``site_id`` is the site the key is used on (None: where no site is concerned).
    """
    if not key:
        raise DomainError(
            "visitor_required",
            _l(
                "This needs a visitor key: get one from POST /api/v1/visitors and send it in "
                "the %(header)s header.",
                header=HEADER,
            ),
        )
    if len(key) > VISITOR_KEY_MAX or not key.isascii():
        raise _forged()
    value = _unsigned(key)
    if value is None:
        raise _forged()
    ident, _, bound = value.partition(_SITE)
    if bound and site_id is not None and bound != str(site_id):
        raise DomainError(
            "bad_visitor",
            _l("This visitor key belongs to another site. Get a new one for this site."),
        )
    return privacy.keyed_hash(_PURPOSE, ident)


def optional_visitor_hash(key: str | None, site_id: int | None) -> str | None:
    """Like ``visitor_hash`` but None when no key was sent; a forged key is still 403."""
    return visitor_hash(key, site_id) if key else None


def _forged() -> DomainError:
    return DomainError("bad_visitor", _l("This visitor key is not valid. Get a new one."))
