"""Moderator accounts: passwords, sessions, roles, and taking roles away.

Passwords are hashed with scrypt (Werkzeug's default KDF) and checked in constant time. An
unknown or disabled account costs the same hash check as a known one, so timing does not
tell which accounts exist. Failed logins never lock an account (anyone could lock any
admin out that way): the web layer throttles failed logins per client address.

One rule set for the admin views and the command line: a new password (the admin views
ask for the current one), a role taken away (a site keeps at least one owner; an account
left without a role is disabled). Each revokes every session of the account by bumping
its ``session_version`` and is written to the audit log; no password ever is. The slow
hash work comes before the write: ``new_password`` checks and hashes, ``set_password``
stores. Callers commit.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from werkzeug.security import check_password_hash, generate_password_hash

from service.data import Moderator, Role, Site, utcnow
from service.data.bounds import EMAIL_MAX, NAME_MAX, PASSWORD_MAX, PASSWORD_MIN, ROLES
from service.extensions import db
from service.rules.errors import DomainError, ValidationError
from service.sites import audit

# Checked when the email is unknown, so both paths cost one scrypt run.
_DUMMY_HASH = generate_password_hash("parley-not-a-password")


class AccountError(DomainError):
    """An account cannot be created or changed; the message says why."""

    def __init__(self, message: str) -> None:
        super().__init__("account_refused", message)


def normalise_email(email: str) -> str:
    return email.strip().lower()


def password_problem(password: str) -> str | None:
    """What is wrong with a new password, or None."""
    if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        return f"A password needs {PASSWORD_MIN} to {PASSWORD_MAX} characters."
    return None


def hash_password(password: str) -> str:
    problem = password_problem(password)
    if problem:
        raise AccountError(problem)
    return generate_password_hash(password)


def find(email: str) -> Moderator | None:
    return db.session.scalar(sa.select(Moderator).where(Moderator.email == normalise_email(email)))


def create_moderator(
    email: str, password: str, *, name: str = "", sites: dict[str, str] | None = None
) -> Moderator:
    """A new account with roles per site key (``{"default": "owner"}``); caller commits.

    A disabled account of the same email is enabled again instead, with the new password.
    """
    address = normalise_email(email)
    if "@" not in address or len(address) > EMAIL_MAX:
        raise AccountError("Give a valid email address to log in with.")
    moderator = find(address)
    if moderator is not None and moderator.disabled is None:
        raise AccountError(
            f"An account for {address} exists already: `grant` gives it a role on a site."
        )
    if moderator is None:
        moderator = Moderator(
            email=address,
            name=(name or address.split("@")[0])[:NAME_MAX],
            password_hash=hash_password(password),
        )
        db.session.add(moderator)
    else:
        moderator.password_hash = hash_password(password)
        moderator.disabled = None
        revoke_sessions(moderator)
        db.session.flush()
        audit.record(None, None, "enable account", f"moderator {moderator.id}")
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


# --- logging in and sessions --------------------------------------------------------------


def authenticate(email: str, password: str) -> Moderator | None:
    """The enabled account with this email if the password is right; writes nothing."""
    moderator = find(email) if len(email) <= EMAIL_MAX else None
    if moderator is None or moderator.disabled is not None:
        check_password_hash(_DUMMY_HASH, password)
        return None
    return moderator if check_password_hash(moderator.password_hash, password) else None


def record_login(moderator: Moderator, now: datetime | None = None) -> None:
    moderator.last_login = now or utcnow()


def revoke_sessions(moderator: Moderator) -> None:
    """End every session of the account (logging out, a new password, a removal)."""
    moderator.session_version = (moderator.session_version or 0) + 1


# --- passwords ------------------------------------------------------------------------------


def new_password(moderator: Moderator, password: str, *, current: str | None) -> str:
    """Check a new password and return its hash; nothing is written.

    ``current`` is the password the moderator typed to prove it is them (the admin
    views); None on the command line. Raises ValidationError naming each bad field.
    """
    errors: dict[str, str] = {}
    if current is not None and (
        moderator.disabled is not None or not check_password_hash(moderator.password_hash, current)
    ):
        errors["current"] = _l("This is not your current password.")
    problem = password_problem(password)
    if problem:
        errors["password"] = problem
    if errors:
        raise ValidationError(errors)
    return generate_password_hash(password)


def set_password(moderator: Moderator, password_hash: str, *, by: Moderator | None) -> None:
    """Store a hash from ``new_password``; every session of the account ends. Audited."""
    if moderator.disabled is not None:
        raise AccountError("The account is disabled: create-admin enables it again.")
    moderator.password_hash = password_hash
    revoke_sessions(moderator)
    action = "change password" if by is not None and by.id == moderator.id else "set password"
    audit.record(by, None, action, f"moderator {moderator.id}")


# --- roles ----------------------------------------------------------------------------------


def role_on(moderator: Moderator, site: Site) -> str | None:
    for role in moderator.roles:
        if role.site_id == site.id:
            return role.role
    return None


def site_ids(moderator: Moderator) -> list[int]:
    return [role.site_id for role in moderator.roles]


def roles_of(site: Site) -> list[Role]:
    """Who holds a role on the site: owners first, then by email."""
    return list(
        db.session.scalars(
            sa.select(Role)
            .join(Moderator, Moderator.id == Role.moderator_id)
            .where(Role.site_id == site.id)
            .order_by(Role.role.desc(), Moderator.email)
        )
    )


def other_owners(site_id: int, moderator_id: int) -> int:
    """How many enabled accounts other than this one own the site."""
    return (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Role)
            .join(Moderator, Moderator.id == Role.moderator_id)
            .where(
                Role.site_id == site_id,
                Role.role == "owner",
                Role.moderator_id != moderator_id,
                Moderator.disabled.is_(None),
            )
        )
        or 0
    )


def remove_role(target: Moderator, site: Site | None, *, by: Moderator | None) -> bool:
    """Take the account's role on a site (every role when ``site`` is None).

    ``by`` must own the site (None: the command line). Every session of the account
    ends; an account left without a role is disabled. Returns whether it was disabled.
    """
    if by is not None and (site is None or role_on(by, site) != "owner"):
        raise DomainError("forbidden", _l("Only the site's owners can remove its moderators."))
    roles = [role for role in target.roles if site is None or role.site_id == site.id]
    if site is not None and not roles:
        raise AccountError(f"The account has no role on site {site.key!r}.")
    if not roles and target.disabled is not None:
        raise AccountError("The account is disabled already.")
    for role in roles:
        if role.role == "owner" and not other_owners(role.site_id, target.id):
            raise AccountError(
                f"This is the only owner of site {role.site.key!r}: make another owner first."
            )
    for role in roles:
        audit.record(by, role.site_id, "remove role", f"moderator {target.id}", role.role)
        target.roles.remove(role)
    revoke_sessions(target)
    if not target.roles:
        target.disabled = utcnow()
        audit.record(by, None, "disable account", f"moderator {target.id}")
        return True
    return False


# --- the first owner ------------------------------------------------------------------------


def owner_exists() -> bool:
    return bool(
        db.session.scalar(sa.select(sa.func.count()).select_from(Role).where(Role.role == "owner"))
    )


def ensure_first_owner(email: str | None, password: str | None) -> Moderator | None:
    """Create the first owner (of every site) from configuration, once; caller commits."""
    if not email or not password or owner_exists():
        return None
    moderator = find(email)
    if moderator is None or moderator.disabled is not None:
        moderator = create_moderator(email, password)
    for site in db.session.scalars(sa.select(Site)):
        grant(moderator, site.key, "owner")
    return moderator
