"""Sites and their roles as owners run them: creating a site, giving and changing roles,
and accounts made with roles on the command line.

There is no service-wide owner: an account may create a site when it owns one already (the
first owner, from the configuration or the demo login, owns every site there is when it is
made), and becomes the new site's owner. A site's owners give its roles and change them;
its moderators see who holds them. A site keeps at least one owner. Taking a role away is
``accounts.remove_role``; invitations for addresses with no account are
``sites.invitations``. Every change is written to the audit log in its transaction; ``by``
None is the command line (which wraps its writes in ``audit.acting(audit.CLI)``). Callers
commit.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from service.data import Moderator, Role, Site
from service.data.bounds import ROLES
from service.extensions import db
from service.rules.errors import DomainError, ValidationError
from service.sites import accounts, audit, settings
from service.sites.lookup import get_site


def owns(moderator: Moderator, site: Site) -> bool:
    return accounts.role_on(moderator, site) == "owner"


def may_create_sites(moderator: Moderator) -> bool:
    """Whether the account may create sites: it is enabled and owns at least one."""
    return moderator.disabled is None and any(role.role == "owner" for role in moderator.roles)


def check_owner(by: Moderator | None, site: Site) -> None:
    """Refuse (``forbidden``) anyone but the site's owners; None, the command line, passes."""
    if by is not None and not owns(by, site):
        raise DomainError("forbidden", _l("Only the site's owners give and change its roles."))


def check_role(role: str) -> None:
    if role not in ROLES:
        raise ValidationError({"role": _l("One of: %(kinds)s.", kinds=", ".join(ROLES))})


def create_site(by: Moderator, key: str, changes: settings.SiteChanges) -> Site:
    """A site made in the admin views by an owner of another, who becomes its owner;
    ``settings.create_site`` checks the key, name and origins. Audited."""
    if not may_create_sites(by):
        raise DomainError("forbidden", _l("Only an owner of a site can create sites."))
    site = settings.create_site(by, key, changes)
    _give(by, site, "owner", by=by)
    return site


def set_role(target: Moderator, site: Site, role: str, *, by: Moderator | None) -> str | None:
    """Give the account a role on the site, or change the one it holds; returns the role
    it held before (None: none; the same role: nothing changed, nothing audited).

    A disabled account is given nothing (an invitation or ``create-admin`` enables it); the
    site's last owner stays an owner.
    """
    check_owner(by, site)
    check_role(role)
    if target.disabled is not None:
        raise accounts.AccountError(
            _l(
                "The account %(email)s is disabled: an invitation or create-admin enables it "
                "again.",
                email=target.email,
            )
        )
    before = accounts.role_on(target, site)
    if before == role:
        return before
    if before is None:
        _give(target, site, role, by=by)
        return None
    if before == "owner" and not accounts.other_owners(site.id, target.id):
        raise accounts.AccountError(
            _l(
                "%(email)s is the only owner of %(site)s: make another owner first.",
                email=target.email,
                site=site.key,
            )
        )
    for held in target.roles:
        if held.site_id == site.id:
            held.role = role
    audit.record(by, site.id, "change role", f"moderator {target.id}", f"{before} -> {role}")
    return before


def _give(target: Moderator, site: Site, role: str, *, by: Moderator | None) -> None:
    target.roles.append(Role(site_id=site.id, role=role))
    audit.record(by, site.id, "grant role", f"moderator {target.id}", role)


def create_account(email: str, password: str, sites: dict[str, str]) -> Moderator:
    """``create-admin``: a new account, or a disabled one enabled again with a new password,
    with a role per site key. Audited with no moderator (the command line)."""
    keys = {key: get_site(key) for key in sites}  # an unknown site refuses before anything
    for role in sites.values():
        check_role(role)
    new = accounts.find(email) is None
    moderator = accounts.create_moderator(email, password)
    db.session.flush()
    if new:
        audit.record(None, None, "create account", f"moderator {moderator.id}")
    for key, role in sites.items():
        set_role(moderator, keys[key], role, by=None)
    return moderator
