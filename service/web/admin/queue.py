"""The dashboard, the moderation queue with its bulk actions, and the audit log."""

from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from service.comments import moderation
from service.comments import queue as reading
from service.data.bounds import EMAIL_MAX, NAME_MAX, PAGE_KEY_MAX, SEARCH_MAX, STATUSES
from service.database import writing
from service.rules.errors import DomainError
from service.sites import audit
from service.web.admin import bp
from service.web.admin.auth import login_required, my_sites
from service.web.admin.forms import ActionForm, offset_arg
from service.web.requests import safe_return

QUEUE_PAGE = 50


@bp.get("/")
@login_required
def dashboard() -> str:
    sites = my_sites()
    return render_template(
        "admin/dashboard.html",
        sites=sites,
        pending=reading.pending_counts([s.id for s in sites]),
        latest=reading.latest_comments(g.site_ids, 10),
        ratings=reading.latest_ratings(g.site_ids, 10),
        action_form=ActionForm(),
    )


@bp.get("/queue")
@login_required
def queue() -> str:
    status = request.args.get("status", "pending")
    if status not in STATUSES:
        status = "pending"
    site_key = request.args.get("site", "")
    sites = my_sites()
    filters = reading.QueueFilter(
        status=status,
        site_ids=[s.id for s in sites if not site_key or s.key == site_key],
        page=request.args.get("page", "").strip()[:PAGE_KEY_MAX],
        text=request.args.get("q", "").strip()[:SEARCH_MAX],
        author=request.args.get("author", "").strip()[:NAME_MAX],
        email=request.args.get("email", "").strip()[:EMAIL_MAX],
    )
    start = offset_arg()
    rows, more = reading.queue(filters, offset=start, limit=QUEUE_PAGE)
    return render_template(
        "admin/queue.html",
        rows=rows,
        more=more,
        offset=start,
        filters=filters,
        sites=sites,
        site_key=site_key,
        statuses=STATUSES,
        action_form=ActionForm(),
    )


@bp.post("/queue")
@login_required
def bulk() -> BaseResponse:
    form = ActionForm()
    if not form.validate_on_submit():
        raise DomainError("csrf_failed", "The form expired. Reload the page and try again.")
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


@bp.get("/audit", endpoint="audit")
@login_required
def audit_log() -> str:
    return render_template("admin/audit.html", entries=audit.entries(g.site_ids, 200))
