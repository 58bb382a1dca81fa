"""A moderator's own password, and the moderators of the sites an owner owns.

The rules and the audit entries are the domain's (``sites.accounts``), shared with the
command line (``set-password``, ``remove-admin``). A new password or a removal ends every
session of the account; whoever changed their own password stays logged in here.
"""

from __future__ import annotations

from flask import flash, g, render_template, request, session
from flask_babel import gettext as _
from werkzeug.wrappers import Response as BaseResponse

from service.data import Moderator, Role, Site
from service.data.bounds import MAX_ID
from service.database import writing
from service.extensions import db
from service.rules.errors import ValidationError
from service.sites import accounts
from service.web.admin import bp
from service.web.admin.auth import (
    back,
    login_bucket,
    login_required,
    missing,
    my_site,
    my_sites,
    start_session,
    throttled,
)
from service.web.admin.forms import ActionForm, PasswordForm
from service.web.limits import login_limit

Answer = BaseResponse | tuple[str, int] | tuple[str, int, dict[str, str]]


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account() -> Answer:
    form = PasswordForm()
    if not form.validate_on_submit():
        return render_template("admin/account.html", form=form), 200
    bucket = login_bucket(g.moderator.email)
    wait = login_limit.retry_after(bucket)
    if wait is not None:
        return throttled("admin/account.html", wait, form=form)
    password = form.password.data or ""
    if password != (form.confirm.data or ""):
        form.show_errors({"confirm": "The two new passwords differ."})
        return render_template("admin/account.html", form=form), 422
    try:
        new_hash = accounts.new_password(g.moderator, password, current=form.current.data or "")
    except ValidationError as error:
        if "current" in error.fields:
            login_limit.failed(bucket)  # a guess at the password, like a failed login
        form.show_errors(error.fields)
        return render_template("admin/account.html", form=form), 422
    with writing():
        accounts.set_password(g.moderator, new_hash, by=g.moderator)
        db.session.commit()
    flash(_("Your password is changed. Your other sessions are logged out."), "info")
    return start_session(back("admin.account"), g.moderator)


def _render_moderators(status: int = 200) -> tuple[str, int]:
    owned = [site for site in my_sites() if accounts.role_on(g.moderator, site) == "owner"]
    listed: list[tuple[Site, list[Role]]] = [(site, accounts.roles_of(site)) for site in owned]
    html = render_template("admin/moderators.html", listed=listed, action_form=ActionForm())
    return html, status


@bp.get("/moderators")
@login_required
def moderators() -> tuple[str, int]:
    return _render_moderators()


@bp.post("/moderators/remove")
@login_required
def moderator_remove() -> Answer:
    site = my_site(request.form.get("site", ""), owner=True)
    raw = request.form.get("moderator", "")
    target = db.session.get(Moderator, int(raw)) if raw.isdigit() and int(raw) <= MAX_ID else None
    if target is None or accounts.role_on(target, site) is None:
        raise missing()
    try:
        with writing():
            disabled = accounts.remove_role(target, site, by=g.moderator)
            db.session.commit()
    except accounts.AccountError as error:
        db.session.rollback()
        flash(str(error.message), "error")
        return _render_moderators(422)
    if target.id == g.moderator.id:
        session.clear()
    flash(
        _(
            "%(email)s is no longer a moderator of %(site)s; the account had no other role and "
            "is disabled.",
            email=target.email,
            site=site.key,
        )
        if disabled
        else _(
            "%(email)s is no longer a moderator of %(site)s.", email=target.email, site=site.key
        ),
        "info",
    )
    return back("admin.moderators")
