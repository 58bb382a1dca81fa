"""Moderator accounts: passwords, login throttling per account, roles.

Passwords are hashed with scrypt (Werkzeug's default KDF) and checked in
constant time. An unknown email costs the same hash check as a known one, so
timing does not tell which accounts exist. After ``MAX_FAILURES`` wrong
passwords an account is locked for a while, whatever the client's address
(the per-address limit lives on the login view).
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
from werkzeug.security import check_password_hash, generate_password_hash

from service.data import Moderator, Role, Site, utcnow
from service.data.bounds import EMAIL_MAX, NAME_MAX, PASSWORD_MAX, PASSWORD_MIN, ROLES
from service.extensions import db
from service.rules.errors import DomainError

MAX_FAILURES = 5
LOCK_MINUTES = 15
# Checked when the email is unknown, so both paths cost one scrypt run.
_DUMMY_HASH = generate_password_hash("parley-not-a-password")


class AccountError(DomainError):
    """An account cannot be created or changed; the message says why."""

    def __init__(self, message: str) -> None:
        super().__init__("account_refused", message)


def normalise_email(email: str) -> str:
    return email.strip().lower()


def hash_password(password: str) -> str:
    if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        raise AccountError(f"A password needs {PASSWORD_MIN} to {PASSWORD_MAX} characters.")
    return generate_password_hash(password)


def find(email: str) -> Moderator | None:
    return db.session.scalar(sa.select(Moderator).where(Moderator.email == normalise_email(email)))


def create_moderator(
    email: str, password: str, *, name: str = "", sites: dict[str, str] | None = None
) -> Moderator:
    """A new account with roles per site key (``{"default": "owner"}``); caller commits."""
    address = normalise_email(email)
    if "@" not in address or len(address) > EMAIL_MAX:
        raise AccountError("Give a valid email address to log in with.")
    if find(address) is not None:
        raise AccountError(f"An account for {address} exists already.")
    moderator = Moderator(
        email=address,
        name=(name or address.split("@")[0])[:NAME_MAX],
        password_hash=hash_password(password),
    )
    db.session.add(moderator)
    for key, role in (sites or {}).items():
        grant(moderator, key, role)
    return moderator


def grant(moderator: Moderator, site_key: str, role: str) -> None:
    """Give a moderator a role on a site (replacing an earlier one)."""
    if role not in ROLES:
        raise AccountError(f"The role is one of {', '.join(ROLES)}.")
    site = db.session.scalar(sa.select(Site).where(Site.key == site_key))
    if site is None:
        raise AccountError(f"There is no site {site_key!r}.")
    for existing in moderator.roles:
        if existing.site_id == site.id:
            existing.role = role
            return
    moderator.roles.append(Role(site_id=site.id, role=role))


def authenticate(email: str, password: str, now: datetime | None = None) -> Moderator | None:
    """The account if the password is right and the account is not locked; caller commits."""
    now = now or utcnow()
    moderator = find(email) if len(email) <= EMAIL_MAX else None
    if moderator is None:
        check_password_hash(_DUMMY_HASH, password)
        return None
    if moderator.locked_until is not None and moderator.locked_until > now:
        check_password_hash(_DUMMY_HASH, password)
        return None
    if not check_password_hash(moderator.password_hash, password):
        moderator.failed_logins += 1
        if moderator.failed_logins >= MAX_FAILURES:
            moderator.locked_until = now + timedelta(minutes=LOCK_MINUTES)
            moderator.failed_logins = 0
        return None
    moderator.failed_logins = 0
    moderator.locked_until = None
    moderator.last_login = now
    return moderator


def role_on(moderator: Moderator, site: Site) -> str | None:
    for role in moderator.roles:
        if role.site_id == site.id:
            return role.role
    return None


def site_ids(moderator: Moderator) -> list[int]:
    return [role.site_id for role in moderator.roles]


def owner_exists() -> bool:
    return bool(
        db.session.scalar(sa.select(sa.func.count()).select_from(Role).where(Role.role == "owner"))
    )


def ensure_first_owner(email: str | None, password: str | None) -> Moderator | None:
    """Create the first owner (of every site) from configuration, once; caller commits."""
    if not email or not password or owner_exists():
        return None
    moderator = find(email) or create_moderator(email, password)
    for site in db.session.scalars(sa.select(Site)):
        grant(moderator, site.key, "owner")
    return moderator


def demo_login() -> tuple[str, str] | None:
    """For ``make run``: an owner account with a fresh one-time password, printed once.

    Only when no owner exists; the password is new on every start until the
    operator creates a real account.
    """
    email = "admin@parley.localhost"
    existing = find(email)
    if owner_exists() and existing is None:
        return None
    password = secrets.token_urlsafe(12)
    if existing is None:
        ensure_first_owner(email, password)
    else:
        existing.password_hash = hash_password(password)
        existing.failed_logins, existing.locked_until = 0, None
    return email, password
