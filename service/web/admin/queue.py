"""The dashboard, the moderation queue with its bulk actions, and the audit log.

The queue's filters are in its URL, except the author's email: that one is posted and kept
in the admin session (encrypted), so no address lands in logs or the browser's history.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from werkzeug.wrappers import Response as BaseResponse

from service.comments import moderation
from service.comments import queue as reading
from service.data.bounds import EMAIL_MAX, NAME_MAX, PAGE_KEY_MAX, SEARCH_MAX, STATUSES
from service.database import writing
from service.rules import privacy
from service.rules.errors import DomainError
from service.sites import audit
from service.web.admin import bp
from service.web.admin.auth import login_required, my_sites
from service.web.admin.forms import ActionForm, offset_arg
from service.web.i18n import label
from service.web.requests import safe_return

QUEUE_PAGE = 50
QUEUE_EMAIL = "queue_email"  # the admin session's key for the email filter


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
    if status not in STATUSES and status != reading.ANY_STATUS:
        status = "pending"
    site_key = request.args.get("site", "")
    sites = my_sites()
    filters = reading.QueueFilter(
        status=status,
        site_ids=[s.id for s in sites if not site_key or s.key == site_key],
        page=request.args.get("page", "").strip()[:PAGE_KEY_MAX],
        text=request.args.get("q", "").strip()[:SEARCH_MAX],
        author=request.args.get("author", "").strip()[:NAME_MAX],
        email=_email_filter(),
    )
    start = offset_arg()
    rows, more = reading.queue(filters, offset=start, limit=QUEUE_PAGE)
    # The filters as the URL gives them: for the paging links and "select all" (which,
    # without JavaScript, shows the same page with every row's box checked, select=all).
    given = {"status": status, "site": site_key, "page": filters.page, "q": filters.text}
    shown: dict[str, Any] = {k: v for k, v in given.items() if v}
    if filters.author:
        shown["author"] = filters.author
    return render_template(
        "admin/queue.html",
        rows=rows,
        more=more,
        offset=start,
        page_size=QUEUE_PAGE,
        filters=filters,
        shown=shown,
        # Where a form comes back to: this page, never with every box checked again.
        here=url_for("admin.queue", offset=start or None, **shown),
        all_picked=request.args.get("select") == "all",
        sites=sites,
        site_key=site_key,
        statuses=STATUSES,
        any_status=reading.ANY_STATUS,
        action_form=ActionForm(),
    )


def _email_filter() -> str:
    """The email the queue is filtered by: kept in the admin session, encrypted, never in
    a URL (addresses in URLs end up in access logs and the browser's history)."""
    sealed = session.get(QUEUE_EMAIL)
    if not isinstance(sealed, str):
        return ""
    try:
        return privacy.decrypt_email(sealed)
    except privacy.DataKeyError:
        return ""


@bp.post("/queue/email")
@login_required
def queue_email() -> BaseResponse:
    """Set (or clear) the queue's email filter, then show the queue with its other filters."""
    email = "" if request.form.get("clear") else request.form.get("email", "").strip()
    if email:
        session[QUEUE_EMAIL] = privacy.encrypt_email(email[:EMAIL_MAX])
    else:
        session.pop(QUEUE_EMAIL, None)
    return redirect(_queue_return(request.form.get("return_to")), code=303)


def _queue_return(value: str | None) -> str:
    back = safe_return(value) or ""
    return back if urlsplit(back).path == url_for("admin.queue") else url_for("admin.queue")


@bp.post("/queue")
@login_required
def bulk() -> BaseResponse:
    form = ActionForm()
    if not form.validate_on_submit():
        raise DomainError("csrf_failed", _l("The form expired. Reload the page and try again."))
    action = request.form.get("action", "")
    ids = [int(v) for v in request.form.getlist("ids") if v.isdigit() and len(v) < 11]
    if action not in moderation.ACTIONS or not ids:
        flash(_("Choose comments and an action."), "error")
    else:
        with writing():
            done = moderation.apply(g.moderator, ids, action, g.site_ids)
        what = str(label(action, "action")).lower()  # "3 comments: approve."
        flash(
            ngettext("%(num)d comment: %(what)s.", "%(num)d comments: %(what)s.", done, what=what),
            "info",
        )
    back = safe_return(request.form.get("return_to")) or url_for("admin.queue")
    return redirect(back if back.startswith("/admin") else url_for("admin.queue"), code=303)


@bp.get("/audit", endpoint="audit")
@login_required
def audit_log() -> str:
    return render_template("admin/audit.html", entries=audit.entries(g.site_ids, 200))
