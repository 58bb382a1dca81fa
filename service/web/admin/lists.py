"""The bans page and the word blocklist of the moderator's sites.

The rules and the audit log entries are the domain's (``comments.bans``,
``comments.blocklist``), shared with the command line.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import flash, g, render_template, request
from flask_babel import gettext as _
from werkzeug.wrappers import Response as BaseResponse

from service.comments import bans, blocklist
from service.data import Ban, BlockedWord, Moderator, Site
from service.data.bounds import MAX_ID
from service.database import writing
from service.extensions import db
from service.rules.errors import ValidationError
from service.web.admin import bp
from service.web.admin.auth import back, login_required, missing, my_site, my_sites
from service.web.admin.forms import ActionForm


def _render_bans(
    errors: dict[str, str] | None = None, values: dict[str, Any] | None = None, status: int = 200
) -> tuple[str, int]:
    found = bans.for_sites(g.site_ids)
    who_ids = {ban.moderator_id for ban in found if ban.moderator_id}
    who = {
        m.id: m for m in db.session.scalars(sa.select(Moderator).where(Moderator.id.in_(who_ids)))
    }
    site_list = my_sites()
    html = render_template(
        "admin/bans.html",
        bans=found,
        shown={ban.id: bans.shown(ban) for ban in found},  # email bans decrypted to be shown
        who=who,
        sites=site_list,
        site_keys={site.id: site.key for site in site_list},
        errors=errors or {},
        values=values or {},
        action_form=ActionForm(),
    )
    return html, status


@bp.get("/bans")
@login_required
def ban_list() -> tuple[str, int]:
    return _render_bans()


@bp.post("/bans")
@login_required
def ban_add() -> BaseResponse | tuple[str, int]:
    site = my_site(request.form.get("site", ""))
    email = request.form.get("email", "")
    shadow = request.form.get("shadow") == "1"
    reason = " ".join(request.form.get("reason", "").split())
    try:
        with writing():
            bans.ban_email(g.moderator, site, email, shadow=shadow, reason=reason)
            db.session.commit()
    except ValidationError as error:
        db.session.rollback()
        values = {"site": site.key, "email": email, "shadow": shadow, "reason": reason}
        return _render_bans(error.fields, values, 422)
    flash(_("Banned on %(site)s by email.", site=site.key), "info")
    return back("admin.ban_list")


@bp.post("/bans/<int:ban_id>/remove")
@login_required
def ban_remove(ban_id: int) -> BaseResponse:
    ban = db.session.get(Ban, ban_id) if ban_id <= MAX_ID else None
    if ban is None or ban.site_id not in g.site_ids:
        raise missing()
    with writing():
        bans.remove(g.moderator, ban)
        db.session.commit()
    flash(_("The ban is removed."), "info")
    return back("admin.ban_list")


def _render_blocklist(error: tuple[str, str] | None = None, status: int = 200) -> tuple[str, int]:
    sites = my_sites()
    words = {site.id: blocklist.words(site) for site in sites}
    html = render_template(
        "admin/blocklist.html", sites=sites, words=words, error=error, action_form=ActionForm()
    )
    return html, status


@bp.get("/blocklist", endpoint="blocklist")
@login_required
def blocklist_page() -> tuple[str, int]:
    return _render_blocklist()


@bp.post("/blocklist")
@login_required
def word_add() -> BaseResponse | tuple[str, int]:
    site = my_site(request.form.get("site", ""))
    try:
        with writing():
            entry = blocklist.block(g.moderator, site, request.form.get("word", ""))
            db.session.commit()
    except ValidationError as error:
        db.session.rollback()
        return _render_blocklist((site.key, error.first_message()), 422)
    message = _(
        "Comments with “%(word)s” now wait for review on %(site)s.", word=entry.word, site=site.key
    )
    flash(message, "info")
    return back("admin.blocklist")


@bp.post("/blocklist/<int:word_id>/remove")
@login_required
def word_remove(word_id: int) -> BaseResponse:
    entry = db.session.get(BlockedWord, word_id) if word_id <= MAX_ID else None
    if entry is None or entry.site_id not in g.site_ids:
        raise missing()
    site = db.session.get(Site, entry.site_id)
    assert site is not None
    with writing():
        blocklist.unblock(g.moderator, site, entry)
        db.session.commit()
    flash(_("“%(word)s” is off the list.", word=entry.word), "info")
    return back("admin.blocklist")
