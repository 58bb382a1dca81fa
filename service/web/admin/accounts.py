"""A moderator's own password, and who holds a role on one's sites: every moderator sees
them; the owners invite (an account gets its role at once, an address without one an
invitation link, shown here once and mailed), change and remove roles.

The rules and the audit entries are the domain's (``sites.accounts``, ``sites.roles``,
``sites.invitations``), shared with the command line (``set-password``, ``grant``,
``remove-admin``). A new password or a removal ends every session of the account; whoever
changed their own password stays logged in here.
"""

from __future__ import annotations

from typing import Any

from flask import flash, g, render_template, request, session
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers import Response as BaseResponse
from wtforms import EmailField, SelectField

from service.data import Moderator, Site
from service.data.bounds import MAX_ID, ROLES
from service.database import writing
from service.extensions import db
from service.rules.errors import DomainError, ValidationError
from service.sites import accounts, invitations, roles
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
from service.web.i18n import label
from service.web.limits import login_limit

Answer = BaseResponse | tuple[str, int] | tuple[str, int, dict[str, str]]


class InviteForm(ActionForm):
    site = SelectField(_l("Site"), validate_choice=False)
    email = EmailField(
        _l("Email address"),
        description=_l(
            "An account with this address gets the role at once; any other address gets an "
            "invitation link."
        ),
    )
    role = SelectField(
        _l("Role"),
        choices=lambda: {role: str(label(role, "role")) for role in ROLES},
        validate_choice=False,
        default="moderator",
    )


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


def _render_moderators(
    status: int = 200, form: InviteForm | None = None, **shown: Any
) -> tuple[str, int]:
    """The page: every site of the moderator with who holds a role on it; for the sites
    they own, the controls. ``shown``: a new invitation (``link``, ``email``), or a role
    change refused beside its control (``refused``: the control's id and the message)."""
    sites = my_sites()
    owned = [site for site in sites if roles.owns(g.moderator, site)]
    listed = [(site, accounts.roles_of(site), site in owned) for site in sites]
    form = form or InviteForm(formdata=None)
    form.site.choices = [(site.key, f"{site.name} ({site.key})") for site in owned]
    html = render_template(
        "admin/moderators.html",
        listed=listed,
        owned=owned,
        form=form,
        roles=ROLES,
        action_form=ActionForm(),
        link=shown.get("link"),
        invited=shown.get("email"),
        refused=shown.get("refused") or {},
        invitation_days=invitations.LINK_MAX_AGE // 86400,
    )
    return html, status


def _target(site: Site) -> Moderator:
    """The account the form names, holding a role on the site (404 otherwise)."""
    raw = request.form.get("moderator", "")
    target = db.session.get(Moderator, int(raw)) if raw.isdigit() and int(raw) <= MAX_ID else None
    if target is None or accounts.role_on(target, site) is None:
        raise missing()
    return target


@bp.get("/moderators")
@login_required
def moderators() -> tuple[str, int]:
    return _render_moderators()


@bp.post("/moderators/invite")
@login_required
def moderator_invite() -> Answer:
    form = InviteForm()
    if not form.validate():
        return _render_moderators(400, form)
    site = my_site(form.site.data or "")
    roles.check_owner(g.moderator, site)
    role = form.role.data or ""
    try:
        with writing():
            done = invitations.invite(g.moderator, site, form.email.data or "", role)
            db.session.commit()
    except (ValidationError, accounts.AccountError) as error:
        db.session.rollback()
        form.show_errors(error.fields or {"email": error.message})
        return _render_moderators(422, form)
    email = invitations.clean_address(form.email.data or "")
    if done.granted:
        flash(_granted(email, role, site) if done.changed else _("Nothing changed."), "info")
        return back("admin.moderators")
    return _render_moderators(201, link=done.link, email=email)


def _granted(email: str, role: str, site: Site) -> str:
    return _(
        "%(email)s is now %(role)s of %(site)s.",
        email=email,
        role=label(role, "role"),
        site=site.key,
    )


@bp.post("/moderators/role")
@login_required
def moderator_role() -> Answer:
    site = my_site(request.form.get("site", ""))
    roles.check_owner(g.moderator, site)
    target = _target(site)
    role = request.form.get("role", "")
    try:
        with writing():
            before = roles.set_role(target, site, role, by=g.moderator)
            db.session.commit()
    except DomainError as error:
        db.session.rollback()
        control = f"change-role-{site.key}-{target.id}"
        return _render_moderators(422, refused={"id": control, "message": error.first_message()})
    flash(_("Nothing changed.") if before == role else _granted(target.email, role, site), "info")
    return back("admin.moderators")


@bp.post("/moderators/remove")
@login_required
def moderator_remove() -> Answer:
    site = my_site(request.form.get("site", ""), owner=True)
    target = _target(site)
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
