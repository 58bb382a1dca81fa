"""Logging in and out, and what every admin view needs: the moderator of the session, the
sites they hold a role on, and answers for what they may not see."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

import sqlalchemy as sa
from flask import flash, g, redirect, render_template, request, session, url_for
from werkzeug.wrappers import Response as BaseResponse

from service.data import Moderator, Site
from service.data.bounds import SITE_KEY_MAX
from service.database import writing
from service.extensions import db
from service.rules.errors import DomainError
from service.sites import accounts
from service.web.admin import bp
from service.web.admin.forms import ActionForm, LoginForm
from service.web.limits import login_limit
from service.web.requests import safe_return

F = TypeVar("F", bound=Callable[..., Any])


def _session_moderator() -> Moderator | None:
    ident = session.get("moderator")
    if not isinstance(ident, int):
        return None
    moderator = db.session.get(Moderator, ident)
    if moderator is None or session.get("auth") != moderator.password_hash[-16:]:
        return None  # the account is gone or its password changed: log out
    return moderator


def login_required(view: F) -> F:
    """Let a moderator in; browsers without a session go to the login page."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        moderator = _session_moderator()
        if moderator is None:
            if request.path.startswith("/admin/api/") or request.accept_mimetypes.best == (
                "application/json"
            ):
                raise DomainError("unauthorized", "Log in as a moderator first.")
            return redirect(url_for("admin.login", next=request.full_path.rstrip("?")))
        g.moderator = moderator
        g.site_ids = accounts.site_ids(moderator)
        return view(*args, **kwargs)

    return cast(F, wrapped)


def missing() -> DomainError:
    """What a moderator gets for anything outside their sites: nothing is there."""
    return DomainError("not_found", "Nothing was found here.")


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
        raise DomainError("forbidden", "Only the site's owners can change its settings.")
    return site


@bp.route("/login", methods=["GET", "POST"])
@login_limit
def login() -> BaseResponse | tuple[str, int]:
    form = LoginForm()
    target = safe_return(request.args.get("next")) or url_for("admin.dashboard")
    if not target.startswith("/admin"):
        target = url_for("admin.dashboard")
    if form.validate_on_submit():
        with writing():
            moderator = accounts.authenticate(form.email.data or "", form.password.data or "")
            db.session.commit()
        if moderator is not None:
            session.clear()
            session["moderator"] = moderator.id
            session["auth"] = moderator.password_hash[-16:]
            session.permanent = True
            return redirect(target, code=303)
        flash("Wrong email or password, or the account is locked for a while.", "error")
        return render_template("admin/login.html", form=form), 401
    return render_template("admin/login.html", form=form), 200


@bp.post("/logout")
def logout() -> BaseResponse:
    ActionForm().validate_on_submit()  # CSRF is checked by CSRFProtect already
    session.clear()
    return redirect(url_for("admin.login"), code=303)
