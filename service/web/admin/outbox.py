"""The outbox page: the mail and webhook calls of the sites one owns (waiting, retrying,
given up, and sent ones while they are kept), and queueing the ones that gave up again.

Owners only (decision 100): the rows tell whom a site mails and where its webhooks point,
which a moderator does not need to moderate. Even owners see a recipient masked: a mail's
first letter and domain, a webhook's scheme and host (its path and query may hold a token;
its secret is never read). Moderators who own no site get a 403 page that says so.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from werkzeug.wrappers import Response as BaseResponse

from service.data import OutboxMessage, Site
from service.database import writing
from service.extensions import db
from service.notify import outbox
from service.notify.mailer import SmtpSettings, setting
from service.notify.queue import unpack_headers
from service.rules import privacy
from service.rules.errors import DomainError
from service.sites import audit
from service.web.admin import bp
from service.web.admin.auth import login_required
from service.web.admin.forms import ActionForm, offset_arg

OUTBOX_PAGE = 50
STATES = ("all", "waiting", "retrying", "failed", "sent")


def _owned() -> dict[int, str]:
    """The keys of the sites the moderator owns, by id: the only outbox rows they see."""
    ids = [role.site_id for role in g.moderator.roles if role.role == "owner"]
    found = db.session.execute(sa.select(Site.id, Site.key).where(Site.id.in_(ids)))
    return {site_id: key for site_id, key in found}


def _in_state(state: str) -> Any:
    maximum = int(setting("PARLEY_OUTBOX_MAX_ATTEMPTS"))
    unsent, attempts = OutboxMessage.sent.is_(None), OutboxMessage.attempts
    return {
        "waiting": sa.and_(unsent, attempts == 0),
        "retrying": sa.and_(unsent, attempts > 0, attempts < maximum),
        "failed": outbox.gave_up(),
        "sent": OutboxMessage.sent.is_not(None),
    }.get(state, sa.true())


def masked_email(stored: str) -> str:
    """An encrypted address shown as its first letter and its domain: a…@example.org."""
    try:
        email = privacy.decrypt_email(stored)
    except privacy.DataKeyError:
        return "—"
    local, _at, domain = email.rpartition("@")
    return f"{local[:1]}…@{domain}"


def webhook_host(url: str) -> str:
    """A webhook's URL without its path, query or any credentials: https://hooks.example/…"""
    try:
        parts = urlsplit(url)
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "—"
    host = parts.hostname or ""
    host = f"[{host}]" if ":" in host else host  # an IPv6 address
    more = "/…" if parts.path.strip("/") or parts.query else ""
    return f"{parts.scheme}://{host}{port}{more}"


def _row(message: OutboxMessage, sites: dict[int, str], maximum: int) -> dict[str, Any]:
    site = str(unpack_headers(message.headers_json)[1].get("site", ""))
    if message.sent is not None:
        state = "sent"
    elif message.attempts >= maximum:
        state = "failed"
    else:
        state = "retrying" if message.attempts else "waiting"
    mail = message.kind == "mail"
    return {
        "message": message,
        "state": state,
        "site": sites.get(int(site) if site.isdigit() else 0, ""),
        "to": masked_email(message.recipient) if mail else webhook_host(message.recipient),
        "next": message.send_after if state in ("waiting", "retrying") else None,
    }


@bp.get("/outbox")
@login_required
def outbox_page() -> tuple[str, int]:
    sites = _owned()
    state = request.args.get("state", "all")
    state = state if state in STATES else "all"
    start = offset_arg()
    maximum = int(setting("PARLEY_OUTBOX_MAX_ATTEMPTS"))
    found: list[OutboxMessage] = []
    if sites:
        query = sa.select(OutboxMessage).where(outbox.for_sites(list(sites)), _in_state(state))
        order = (OutboxMessage.created.desc(), OutboxMessage.id.desc())
        found = list(
            db.session.scalars(query.order_by(*order).offset(start).limit(OUTBOX_PAGE + 1))
        )
    html = render_template(
        "admin/outbox.html",
        owned=bool(sites),
        rows=[_row(message, sites, maximum) for message in found[:OUTBOX_PAGE]],
        more=len(found) > OUTBOX_PAGE,
        offset=start,
        page_size=OUTBOX_PAGE,
        state=state,
        states=STATES,
        maximum=maximum,
        smtp_set=SmtpSettings.from_config() is not None,
        action_form=ActionForm(),
    )
    return html, 200 if sites else 403


@bp.post("/outbox/retry")
@login_required
def outbox_retry() -> BaseResponse:
    """Queue deliveries that gave up again (the checked ones, or every one of one's
    sites), each written to the audit log in the same transaction."""
    form = ActionForm()
    if not form.validate_on_submit():
        raise DomainError("csrf_failed", _l("The form expired. Reload the page and try again."))
    sites = _owned()
    if not sites:
        raise DomainError("forbidden", _l("Only a site's owners see its outbox."))
    wanted = None if request.form.get("every") else request.form.getlist("ids")
    ids = None if wanted is None else [int(v) for v in wanted if v.isdigit() and len(v) < 11]
    with writing():
        done = outbox.retry(ids, list(sites))
        for row in done:
            detail = f"{row.kind}, after {row.attempts} attempts"
            audit.record(g.moderator, row.site_id, "retry delivery", f"outbox {row.id}", detail)
        db.session.commit()
    if done:
        message = ngettext(
            "%(num)d delivery is queued again.", "%(num)d deliveries are queued again.", len(done)
        )
        flash(message, "info")
    else:
        flash(_("Nothing to retry: only deliveries that gave up can be queued again."), "error")
    state = request.form.get("state")
    return redirect(url_for("admin.outbox_page", state=state if state in STATES else None), 303)
