"""Logging in and out, and what every admin view needs: the moderator of the session, the
sites they hold a role on, and answers for what they may not see.

The admin session holds the moderator's id and their account's session version, nothing
of the password; every request checks the version, so logging out, a new password or a
removal ends the account's sessions everywhere. Failed logins are throttled per address
(``web.limits.login_limit``); a known device has a budget of its own.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

import sqlalchemy as sa
from flask import flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from werkzeug.wrappers import Response as BaseResponse

from service.data import Moderator, Site
from service.data.bounds import SITE_KEY_MAX
from service.database import writing
from service.extensions import db
from service.rules.errors import DomainError
from service.sites import accounts
from service.web.admin import bp
from service.web.admin.forms import LoginForm
from service.web.limits import login_limit
from service.web.requests import safe_return
from service.web.sessions import known_device, remember_device

F = TypeVar("F", bound=Callable[..., Any])


def _session_moderator() -> Moderator | None:
    ident, version = session.get("moderator"), session.get("version")
    if not isinstance(ident, int) or not isinstance(version, int):
        return None
    moderator = db.session.get(Moderator, ident)
    if moderator is None or moderator.disabled is not None or moderator.session_version != version:
        session.clear()  # logged out elsewhere, a new password, removed, or gone
        return None
    return moderator


def start_session(response: BaseResponse, moderator: Moderator) -> BaseResponse:
    """Log this browser in as the moderator (at their current session version), and
    remember it as one of the account's devices."""
    ident, version = moderator.id, moderator.session_version
    session["moderator"], session["version"] = ident, version
    session.permanent = True
    remember_device(response, ident, version)
    return response


def login_bucket(email: str) -> str:
    """Whose budget a password attempt for this email spends: the known device's when the
    browser carries a genuine known-device cookie of that very account, else the address's."""
    device = known_device()
    if device is not None:
        moderator = db.session.get(Moderator, device.moderator_id)
        if (
            moderator is not None
            and moderator.disabled is None
            and moderator.session_version == device.version
            and moderator.email == accounts.normalise_email(email)
        ):
            return login_limit.device_bucket(device.device)
    return login_limit.address_bucket()


def throttled(template: str, wait: int, **context: Any) -> tuple[str, int, dict[str, str]]:
    """A form page again with 429: too many wrong passwords from here for now."""
    minutes = max(1, round(wait / 60))
    flash(
        ngettext(
            "Too many wrong passwords from your network. Try again in about %(num)d minute.",
            "Too many wrong passwords from your network. Try again in about %(num)d minutes.",
            minutes,
        ),
        "error",
    )
    return render_template(template, **context), 429, {"Retry-After": str(wait)}


def login_required(view: F) -> F:
    """Let a moderator in; browsers without a session go to the login page."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        moderator = _session_moderator()
        if moderator is None:
            if request.path.startswith("/admin/api/") or request.accept_mimetypes.best == (
                "application/json"
            ):
                raise DomainError("unauthorized", _l("Log in as a moderator first."))
            return redirect(url_for("admin.login", next=request.full_path.rstrip("?")))
        g.moderator = moderator
        g.site_ids = accounts.site_ids(moderator)
        return view(*args, **kwargs)

    return cast(F, wrapped)


def missing() -> DomainError:
    """What a moderator gets for anything outside their sites: nothing is there."""
    return DomainError("not_found", _l("Nothing was found here."))


def back(endpoint: str, **values: Any) -> BaseResponse:
    """Post, redirect, get: back to a page after an action."""
    return redirect(url_for(endpoint, **values), code=303)


def my_sites() -> list[Site]:
    """The sites the moderator holds a role on, by key."""
    return list(
        db.session.scalars(sa.select(Site).where(Site.id.in_(g.site_ids)).order_by(Site.key))
    )


def my_site(key: str, *, owner: bool = False) -> Site:
    """A site the moderator holds a role on (404 otherwise); owners only if asked (403)."""
    site = db.session.scalar(
        sa.select(Site).where(Site.key == key[:SITE_KEY_MAX], Site.id.in_(g.site_ids))
    )
    if site is None:
        raise missing()
    if owner and accounts.role_on(g.moderator, site) != "owner":
        raise DomainError("forbidden", _l("Only the site's owners can change its settings."))
    return site


@bp.route("/login", methods=["GET", "POST"])
def login() -> BaseResponse | tuple[str, int] | tuple[str, int, dict[str, str]]:
    form = LoginForm()
    target = safe_return(request.args.get("next")) or url_for("admin.dashboard")
    if not target.startswith("/admin"):
        target = url_for("admin.dashboard")
    if not form.validate_on_submit():
        return render_template("admin/login.html", form=form), 200
    email, password = form.email.data or "", form.password.data or ""
    bucket = login_bucket(email)
    wait = login_limit.retry_after(bucket)
    if wait is not None:
        return throttled("admin/login.html", wait, form=form)
    moderator = accounts.authenticate(email, password)
    if moderator is None:
        login_limit.failed(bucket)
        flash(_("Wrong email or password."), "error")
        return render_template("admin/login.html", form=form), 401
    with writing():
        accounts.record_login(moderator)
        db.session.commit()
    session.clear()
    return start_session(redirect(target, code=303), moderator)


@bp.post("/logout")
def logout() -> BaseResponse:
    """Log out every session of the account (CSRF is checked by CSRFProtect); this browser
    stays a known device."""
    moderator = _session_moderator()
    session.clear()
    response = redirect(url_for("admin.login"), code=303)
    if moderator is not None:
        with writing():
            accounts.revoke_sessions(moderator)
            db.session.commit()
        remember_device(response, moderator.id, moderator.session_version)
    return response
