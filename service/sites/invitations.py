"""Owners invite moderators and owners of their sites by email address.

An address with an enabled account gets the role at once (``roles.set_role``). Any other
address gets an invitation: a signed, expiring link (itsdangerous, the signing key, a salt
of its own, ``LINK_MAX_AGE``) that is mailed through the outbox and shown once to the
owner. No table holds invitations: the link carries the site, the role, the inviter, a
nonce, the address encrypted with the data key (no address travels readable in the URL),
and the state of the address's account when it was made: none, or a disabled account's id
and session version. Accepting it creates the account (or enables the disabled one, which
bumps its session version), so the state it names is gone: the link works once. Two
accepts at once cannot both pass: the account's email is unique, and a disabled account's
row is locked before it is compared. The link also stops working once its inviter no
longer owns the site. Its GET only shows a form; only the POST acts.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import current_app, render_template
from flask_babel import force_locale, gettext
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from service.data import Moderator, Site
from service.data.bounds import EMAIL_MAX, NAME_MAX, ROLES
from service.extensions import db
from service.notify import queue
from service.notify.links import LinkError
from service.notify.mailer import public_url
from service.rules import languages, privacy, validation
from service.rules.errors import ValidationError
from service.sites import accounts, audit, roles

LINK_MAX_AGE = 3 * 24 * 60 * 60  # seconds an invitation works
TOKEN_MAX = 1000
PATH = "/admin/invitation?token="
_SALT = "parley.invitation"


@dataclass(frozen=True)
class Invitation:
    """What a genuine, unused link says."""

    email: str
    site: Site
    role: str
    inviter: Moderator
    nonce: str
    state: str


@dataclass(frozen=True)
class Invited:
    """What inviting did: the role given at once (``changed``: it was not held already), or
    an invitation and its link."""

    granted: bool
    changed: bool = True
    link: str = ""


def _serializer() -> URLSafeTimedSerializer:
    config = current_app.config
    keys = [*(config.get("SECRET_KEY_FALLBACKS") or []), config["SECRET_KEY"]]
    return URLSafeTimedSerializer(keys, salt=_SALT)


def _state(account: Moderator | None) -> str:
    """The account's state a link is bound to: accepting changes it."""
    return "-" if account is None else f"{account.id}.{account.session_version}"


def clean_address(value: str) -> str:
    """The address to invite, lower-cased as accounts store it; ValidationError if none."""
    errors: dict[str, str] = {}
    email = validation.clean_email(value, errors) if value.strip() else None
    if email is None or len(email) > EMAIL_MAX:
        raise ValidationError({"email": errors.get("email") or _l("Give an email address.")})
    return accounts.normalise_email(email)


def invite(by: Moderator, site: Site, email: str, role: str) -> Invited:
    """Give an existing account the role, or make an invitation, mail its link and return
    it (caller commits). Only the site's owners invite. Audited either way."""
    roles.check_owner(by, site)
    roles.check_role(role)
    address = clean_address(email)
    account = accounts.find(address)
    if account is not None and account.disabled is None:
        before = roles.set_role(account, site, role, by=by)
        return Invited(granted=True, changed=before != role)
    nonce = secrets.token_urlsafe(9)
    data = {
        "e": privacy.encrypt_email(address),
        "s": site.id,
        "r": role,
        "b": by.id,
        "n": nonce,
        "a": _state(account),
    }
    link = public_url() + PATH + str(_serializer().dumps(data))
    audit.record(by, site.id, "invite", f"invitation {nonce}", role)
    _mail(site, by, address, role, link, nonce)
    return Invited(granted=False, link=link)


def _mail(site: Site, by: Moderator, address: str, role: str, link: str, nonce: str) -> None:
    context: dict[str, Any] = {
        "site": site,
        "inviter": by.name,
        "url": link,
        "days": LINK_MAX_AGE // 86400,
    }
    with force_locale(languages.resolve(site.language)):
        context["role"] = gettext("owner") if role == "owner" else gettext("moderator")
        subject = gettext("[%(site)s] You are invited to moderate its comments", site=site.name)
        text = render_template("email/invite.txt", **context)
        html = render_template("email/invite.html", subject=subject, **context)
    queue.queue_mail(
        recipient=privacy.encrypt_email(address),
        subject=subject,
        text=text,
        html=html,
        ref=f"invite:{nonce}",
    )


def _bad() -> LinkError:
    return LinkError(
        "bad_link", _l("This invitation link is not valid. Copy the whole link from the mail.")
    )


def used_up() -> LinkError:
    return LinkError(
        "link_used",
        _l("This invitation was used already: log in, or ask the site's owner for a new one."),
    )


def read(token: str, *, lock: bool = False) -> Invitation:
    """The invitation a genuine, unused link makes; raises LinkError (forged, expired,
    used, or its inviter no longer owns the site). ``lock`` locks the account's row."""
    if not token or len(token) > TOKEN_MAX or not token.isascii():
        raise _bad()
    try:
        data = _serializer().loads(token, max_age=LINK_MAX_AGE)
    except SignatureExpired:
        raise LinkError(
            "link_expired", _l("This invitation has expired. Ask the site's owner for a new one.")
        ) from None
    except BadSignature:
        raise _bad() from None
    if not isinstance(data, dict) or not all(k in data for k in "esrbna"):
        raise _bad()
    site = db.session.get(Site, data["s"]) if isinstance(data["s"], int) else None
    inviter = db.session.get(Moderator, data["b"]) if isinstance(data["b"], int) else None
    if site is None or inviter is None or data["r"] not in ROLES:
        raise _bad()
    if inviter.disabled is not None or not roles.owns(inviter, site):
        raise LinkError(
            "bad_link",
            _l("This invitation is no longer valid: ask one of the site's owners for a new one."),
        )
    try:
        email = privacy.decrypt_email(str(data["e"]))
    except privacy.DataKeyError:
        raise _bad() from None
    query = sa.select(Moderator).where(Moderator.email == email)
    account = db.session.scalar(query.with_for_update() if lock else query)
    if _state(account) != data["a"]:
        raise used_up()
    return Invitation(email, site, str(data["r"]), inviter, str(data["n"]), str(data["a"]))


def accept(token: str, password_hash: str) -> Moderator:
    """Use an invitation up: the account is created (or the disabled one enabled) with the
    password's hash and its role; every earlier session of a disabled account stays ended.
    Call in a write transaction and commit; LinkError when the link cannot be used."""
    invitation = read(token, lock=True)
    account = accounts.find(invitation.email)
    if account is None:
        account = Moderator(
            email=invitation.email,
            name=invitation.email.split("@")[0][:NAME_MAX],
            password_hash=password_hash,
        )
        db.session.add(account)
        db.session.flush()
        audit.record(account, None, "create account", f"moderator {account.id}")
    else:
        account.password_hash = password_hash
        account.disabled = None
        accounts.revoke_sessions(account)
        audit.record(account, None, "enable account", f"moderator {account.id}")
    accounts.grant(account, invitation.site.key, invitation.role)
    audit.record(
        account,
        invitation.site.id,
        "accept invitation",
        f"moderator {account.id}",
        f"{invitation.role}; invitation {invitation.nonce} from moderator {invitation.inviter.id}",
    )
    return account
