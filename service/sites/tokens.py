"""API tokens: how a server posts to a site as the widget's form does.

A site's owner issues a token in the admin views and sees it once; the service keeps only
its keyed hash (so a leaked database holds no usable token), which site it is for, who
issued it and when it was last used. A post with ``Authorization: Bearer TOKEN`` is treated
like a browser's post with a valid form token; a token that is unknown, revoked or another
site's is refused (403 ``bad_api_token``), never taken for a post without one. Issuing and
revoking are audited.
"""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from service.data import ApiToken, Moderator, Site, utcnow
from service.data.bounds import API_TOKEN_LABEL_MAX
from service.extensions import db
from service.rules import privacy
from service.rules.errors import DomainError, ValidationError
from service.sites import audit

PREFIX = "parley_"  # lets secret scanners and people tell what it is
_PURPOSE = "api-token"
_LONGEST = 100  # a token as issued is 50 characters: anything longer is not one


def _hash(secret: str) -> str:
    return privacy.keyed_hash(_PURPOSE, secret)


def _refused() -> DomainError:
    return DomainError(
        "bad_api_token",
        _l(
            "This API token is not valid for this site: it is unknown, revoked, or another "
            "site's. Ask the site's owner for a new one."
        ),
    )


def issue(moderator: Moderator | None, site: Site, label: str) -> tuple[ApiToken, str]:
    """A new token for the site, and its secret (shown once; caller commits)."""
    label = " ".join(label.split())
    if not label or len(label) > API_TOKEN_LABEL_MAX or not label.isprintable():
        raise ValidationError(
            {
                "label": _l(
                    "Name the token (1 to %(max)s printable characters).",
                    max=API_TOKEN_LABEL_MAX,
                )
            }
        )
    secret = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        site_id=site.id,
        label=label,
        token_hash=_hash(secret),
        moderator_id=moderator.id if moderator else None,
    )
    db.session.add(token)
    db.session.flush()
    audit.record(moderator, site.id, "issue api token", f"api token {token.id}", label)
    return token, secret


def revoke(moderator: Moderator | None, site: Site, token_id: int) -> ApiToken:
    """Revoke one of the site's tokens; revoking twice changes nothing (caller commits)."""
    token = db.session.get(ApiToken, token_id)
    if token is None or token.site_id != site.id:
        raise DomainError("not_found", _l("There is no such API token."))
    if token.revoked is None:
        token.revoked = utcnow()
        audit.record(moderator, site.id, "revoke api token", f"api token {token.id}", token.label)
    return token


def tokens_of(site_ids: list[int]) -> list[ApiToken]:
    """The tokens of these sites, the newest first, revoked ones too."""
    return list(
        db.session.scalars(
            sa.select(ApiToken)
            .where(ApiToken.site_id.in_(site_ids))
            .order_by(ApiToken.created.desc(), ApiToken.id.desc())
        )
    )


def check(site: Site, secret: str) -> ApiToken:
    """The site's live token this secret is; 403 ``bad_api_token`` otherwise."""
    if not secret or len(secret) > _LONGEST or not secret.isascii():
        raise _refused()
    token = db.session.scalar(sa.select(ApiToken).where(ApiToken.token_hash == _hash(secret)))
    if token is None or token.revoked is not None or token.site_id != site.id:
        raise _refused()
    return token


def used(token: ApiToken) -> None:
    """Record that the token was used just now (inside the caller's write)."""
    token.last_used = utcnow()
