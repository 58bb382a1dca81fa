"""Admin views: the bans page and the word blocklist.

Routes on the ``admin`` blueprint of ``admin.py`` (same login, CSRF and framing rules).
Moderators see and change the bans and blocked words of the sites they hold a role on
(anything else is a 404). Every change is written to the audit log in the transaction
that makes it.

The audit log names what changed, never an email or a comment's text.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import flash, g, render_template, request
from werkzeug.wrappers import Response as BaseResponse

from . import bans, moderation, privacy
from .admin import ActionForm, _sites, bp, login_required
from .admin_forms import REASON_MAX, _back, _missing, _my_site
from .errors import ValidationError
from .extensions import db
from .models import Ban, BlockedWord, Moderator, Site
from .validation import MAX_ID, clean_email

WORD_MAX = 100


# ---- domain: bans and the blocklist ------------------------------------------------------


def ban_email(moderator: Moderator, site: Site, email: str, *, shadow: bool, reason: str) -> Ban:
    """Ban a typed email address (stored as its blind index); raises ValidationError."""
    errors: dict[str, str] = {}
    address = clean_email(email, errors)
    if address is None:
        raise ValidationError(errors)
    ban = bans.add(
        site,
        "email",
        privacy.email_index(address),
        label=address,
        shadow=shadow,
        reason=reason[:REASON_MAX],
        moderator=moderator,
    )
    db.session.flush()
    moderation.record(
        moderator, site.id, "shadow ban" if shadow else "ban", f"ban {ban.id}", "by email"
    )
    return ban


def remove_ban(moderator: Moderator, ban: Ban) -> None:
    moderation.record(moderator, ban.site_id, "unban", f"ban {ban.id}", f"by {ban.kind}")
    db.session.delete(ban)


def clean_word(value: str) -> str:
    """A blocked word or phrase: spaces collapsed, 1..100 characters; raises ValueError."""
    word = " ".join(value.split())
    if not 1 <= len(word) <= WORD_MAX:
        raise ValueError(f"Give a word or phrase of 1 to {WORD_MAX} characters.")
    if not word.isprintable():
        raise ValueError("The word contains control characters.")
    return word


def block_word(moderator: Moderator, site: Site, value: str) -> BlockedWord:
    """Add a word to a site's blocklist, unique in any case; raises ValueError."""
    word = clean_word(value)
    existing = db.session.scalars(sa.select(BlockedWord.word).where(BlockedWord.site_id == site.id))
    if any(other.casefold() == word.casefold() for other in existing):
        raise ValueError(f"{word!r} is on the list already.")
    entry = BlockedWord(site_id=site.id, word=word)
    db.session.add(entry)
    moderation.record(moderator, site.id, "block word", f"site {site.key}", word)
    return entry


def unblock_word(moderator: Moderator, entry: BlockedWord, site: Site) -> None:
    moderation.record(moderator, site.id, "unblock word", f"site {site.key}", entry.word)
    db.session.delete(entry)


# ---- views: bans and blocklist ------------------------------------------------------------


def _render_bans(
    errors: dict[str, str] | None = None, values: dict[str, Any] | None = None, status: int = 200
) -> tuple[str, int]:
    found = bans.for_site(g.site_ids)
    who_ids = {ban.moderator_id for ban in found if ban.moderator_id}
    who = {
        m.id: m for m in db.session.scalars(sa.select(Moderator).where(Moderator.id.in_(who_ids)))
    }
    site_list = _sites()
    html = render_template(
        "admin/bans.html",
        bans=found,
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
    site = _my_site(request.form.get("site", ""))
    email = request.form.get("email", "")
    shadow = request.form.get("shadow") == "1"
    reason = " ".join(request.form.get("reason", "").split())
    try:
        ban_email(g.moderator, site, email, shadow=shadow, reason=reason)
    except ValidationError as error:
        db.session.rollback()
        values = {"site": site.key, "email": email, "shadow": shadow, "reason": reason}
        return _render_bans(error.fields, values, 422)
    db.session.commit()
    flash(f"Banned on {site.key} by email.", "info")
    return _back("admin.ban_list")


@bp.post("/bans/<int:ban_id>/remove")
@login_required
def ban_remove(ban_id: int) -> BaseResponse:
    ban = db.session.get(Ban, ban_id) if ban_id <= MAX_ID else None
    if ban is None or ban.site_id not in g.site_ids:
        raise _missing()
    remove_ban(g.moderator, ban)
    db.session.commit()
    flash("The ban is removed.", "info")
    return _back("admin.ban_list")


def _render_blocklist(error: tuple[str, str] | None = None, status: int = 200) -> tuple[str, int]:
    sites = _sites()
    words: dict[int, list[BlockedWord]] = {site.id: [] for site in sites}
    for entry in db.session.scalars(
        sa.select(BlockedWord).where(BlockedWord.site_id.in_(g.site_ids)).order_by(BlockedWord.word)
    ):
        words[entry.site_id].append(entry)
    html = render_template(
        "admin/blocklist.html", sites=sites, words=words, error=error, action_form=ActionForm()
    )
    return html, status


@bp.get("/blocklist")
@login_required
def blocklist() -> tuple[str, int]:
    return _render_blocklist()


@bp.post("/blocklist")
@login_required
def word_add() -> BaseResponse | tuple[str, int]:
    site = _my_site(request.form.get("site", ""))
    try:
        entry = block_word(g.moderator, site, request.form.get("word", ""))
    except ValueError as error:
        db.session.rollback()
        return _render_blocklist((site.key, str(error)), 422)
    db.session.commit()
    flash(f"Comments with {entry.word!r} now wait for review on {site.key}.", "info")
    return _back("admin.blocklist")


@bp.post("/blocklist/<int:word_id>/remove")
@login_required
def word_remove(word_id: int) -> BaseResponse:
    entry = db.session.get(BlockedWord, word_id) if word_id <= MAX_ID else None
    if entry is None or entry.site_id not in g.site_ids:
        raise _missing()
    site = db.session.get(Site, entry.site_id)
    assert site is not None
    unblock_word(g.moderator, entry, site)
    db.session.commit()
    flash(f"{entry.word!r} is off the list.", "info")
    return _back("admin.blocklist")
