"""The page behind an invitation link: the invitee sets a password, and the account is made
with its role on the site (``sites.invitations``).

The token travels in the query (``?token=``), whose value the access log leaves out. The
GET only shows who invites to what and the form (mail scanners follow links); the POST
checks the link again, creates the account, uses the link up and logs the new account in.
"""

from __future__ import annotations

from flask import flash, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError
from werkzeug.wrappers import Response as BaseResponse
from wtforms import PasswordField

from service.data.bounds import PASSWORD_MAX, PASSWORD_MIN
from service.database import writing
from service.extensions import db
from service.notify.links import LinkError
from service.sites import accounts, invitations
from service.web.admin import bp
from service.web.admin.auth import back, start_session
from service.web.admin.forms import ActionForm
from service.web.errors import status_of
from service.web.i18n import label

Page = tuple[str, int]


class AcceptForm(ActionForm):
    password = PasswordField(
        _l("New password"),
        description=_l("%(min)s to %(max)s characters.", min=PASSWORD_MIN, max=PASSWORD_MAX),
    )
    confirm = PasswordField(_l("New password again"))


def _unusable(error: LinkError) -> Page:
    html = render_template("admin/invitation.html", invitation=None, message=error.message)
    return html, status_of(error.code)


@bp.route("/invitation", methods=["GET", "POST"])
def invitation() -> BaseResponse | Page:
    token = request.args.get("token", "")
    try:
        found = invitations.read(token)
    except LinkError as error:
        return _unusable(error)
    form = AcceptForm()
    action = url_for("admin.invitation", token=token)
    shown = {"invitation": found, "role": label(found.role, "role"), "action": action}
    if request.method == "GET" or not form.validate():
        status = 200 if request.method == "GET" else 400
        return render_template("admin/invitation.html", form=form, **shown), status
    password = form.password.data or ""
    problem = accounts.password_problem(password)
    if problem or password != (form.confirm.data or ""):
        form.show_errors(
            {"password": problem} if problem else {"confirm": _("The two passwords differ.")}
        )
        return render_template("admin/invitation.html", form=form, **shown), 422
    password_hash = accounts.hash_password(password)  # the slow work before the write
    try:
        with writing():
            account = invitations.accept(token, password_hash)
            db.session.commit()
    except LinkError as error:
        db.session.rollback()
        return _unusable(error)
    except IntegrityError:  # another press created the account first (PostgreSQL)
        db.session.rollback()
        return _unusable(invitations.used_up())
    session.clear()
    flash(
        _(
            "Welcome: you are %(role)s of %(site)s. You log in with %(email)s and your password.",
            role=shown["role"],
            site=found.site.name,
            email=account.email,
        ),
        "info",
    )
    return start_session(back("admin.dashboard"), account)
