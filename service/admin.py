"""Admin views under /admin: login, dashboard, moderation queue, audit log.

Every page needs a logged-in moderator and shows only the sites they hold a
role on. Every POST carries a Flask-WTF CSRF token; pages refuse framing.
Browsers without a session are sent to the login page; API callers get JSON.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

import sqlalchemy as sa
from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response as BaseResponse
from wtforms import EmailField, PasswordField

from . import accounts, moderation
from .database import writing
from .errors import ApiError
from .extensions import db, limiter
from .models import STATUSES, Moderator, Site
from .widgets import safe_return

bp = Blueprint("admin", __name__, url_prefix="/admin")
F = TypeVar("F", bound=Callable[..., Any])


class LoginForm(FlaskForm):
    email = EmailField("Email")
    password = PasswordField("Password")


class ActionForm(FlaskForm):
    """A form with only its CSRF token: every admin button posts one."""


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
                raise ApiError(401, "unauthorized", "Log in as a moderator first.")
            return redirect(url_for("admin.login", next=request.full_path.rstrip("?")))
        g.moderator = moderator
        g.site_ids = accounts.site_ids(moderator)
        return view(*args, **kwargs)

    return cast(F, wrapped)


@bp.after_request
def _admin_headers(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


def _login_limit() -> str:
    return str(current_app.config["PARLEY_LOGIN_LIMIT"])


def _failed(response: Response) -> bool:
    return response.status_code == 401


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"], scope="admin-login", deduct_when=_failed)
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


def _sites() -> list[Site]:
    return list(
        db.session.scalars(sa.select(Site).where(Site.id.in_(g.site_ids)).order_by(Site.key))
    )


@bp.get("/")
@login_required
def dashboard() -> str:
    sites = _sites()
    return render_template(
        "admin/dashboard.html",
        sites=sites,
        pending=moderation.pending_counts([s.id for s in sites]),
        latest=moderation.latest_comments(g.site_ids, 10),
        ratings=moderation.latest_ratings(g.site_ids, 10),
        action_form=ActionForm(),
    )


@bp.get("/queue")
@login_required
def queue() -> str:
    status = request.args.get("status", "pending")
    if status not in STATUSES:
        status = "pending"
    site_key = request.args.get("site", "")
    filters = moderation.QueueFilter(
        status=status,
        site_ids=[s.id for s in _sites() if not site_key or s.key == site_key],
        page=request.args.get("page", "").strip()[:512],
        text=request.args.get("q", "").strip()[:200],
        author=request.args.get("author", "").strip()[:80],
        email=request.args.get("email", "").strip()[:254],
    )
    offset = request.args.get("offset", "0")
    start = int(offset) if offset.isdigit() and len(offset) < 7 else 0
    rows, more = moderation.queue(filters, offset=start, limit=50)
    return render_template(
        "admin/queue.html",
        rows=rows,
        more=more,
        offset=start,
        filters=filters,
        sites=_sites(),
        site_key=site_key,
        statuses=STATUSES,
        action_form=ActionForm(),
    )


@bp.post("/queue")
@login_required
def bulk() -> BaseResponse:
    form = ActionForm()
    if not form.validate_on_submit():
        raise ApiError(400, "csrf_failed", "The form expired. Reload the page and try again.")
    action = request.form.get("action", "")
    ids = [int(v) for v in request.form.getlist("ids") if v.isdigit() and len(v) < 11]
    if action not in moderation.ACTIONS or not ids:
        flash("Choose comments and an action.", "error")
    else:
        with writing():
            done = moderation.apply(g.moderator, ids, action, g.site_ids)
        flash(f"{done} {'comment' if done == 1 else 'comments'}: {action}.", "info")
    back = safe_return(request.form.get("return_to")) or url_for("admin.queue")
    return redirect(back if back.startswith("/admin") else url_for("admin.queue"), code=303)


@bp.get("/audit")
@login_required
def audit() -> str:
    return render_template("admin/audit.html", entries=moderation.audit_entries(g.site_ids, 200))
