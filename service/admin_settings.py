"""Admin views: site settings, page settings and a page's editorial scores.

Routes on the ``admin`` blueprint of ``admin.py`` (same login, CSRF and framing rules).
These pages are for the site's owners (403 for its other moderators, 404 for anyone
else). Every change is written to the audit log in the transaction that makes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import flash, g, render_template, request
from werkzeug.wrappers import Response as BaseResponse

from . import accounts, moderation, ratings
from .admin import ActionForm, _sites, bp, login_required
from .admin_forms import PageForm, SiteForm, _back, _missing, _my_site, _page_form, parse_origins
from .errors import ValidationError
from .extensions import db
from .models import Moderator, Page, Site
from .sites import find_page, get_or_create_page
from .validation import clean_http_url, clean_title, page_key

PAGE_SIZE = 50


# ---- domain: site and page settings ---------------------------------------------------------


@dataclass(frozen=True)
class SiteSettings:
    name: str
    origins: list[str]
    moderation: str
    link_limit: int
    rating_scale: int
    rescale: bool
    edit_window_minutes: int
    language: str
    theme: str
    notify_moderators: bool


def save_site(moderator: Moderator, site: Site, new: SiteSettings) -> list[str]:
    """Apply settings; returns the changed fields. ValueError from the scale (caller commits)."""
    changes: list[str] = []
    if new.rating_scale != site.rating_scale:
        before = site.rating_scale
        ratings.set_scale(site, new.rating_scale, rescale=new.rescale)
        changes.append(f"rating_scale: {before} -> {new.rating_scale}")
    minutes = new.edit_window_minutes
    values: dict[str, Any] = {
        "name": new.name,
        "origins": sorted(set(new.origins)),
        "moderation": new.moderation,
        "link_limit": new.link_limit,
        # Seconds set from the CLI survive a save that leaves the minutes alone.
        "edit_window": site.edit_window if minutes == site.edit_window // 60 else minutes * 60,
        "language": new.language,
        "theme": new.theme,
        "notify_moderators": new.notify_moderators,
    }
    for name, value in values.items():
        before = getattr(site, name)
        if before != value:
            setattr(site, name, value)
            changes.append(f"{name}: {before} -> {value}")
    if changes:
        moderation.record(
            moderator, site.id, "site settings", f"site {site.key}", "; ".join(changes)
        )
    return changes


def save_page(moderator: Moderator, page: Page, values: dict[str, Any]) -> list[str]:
    """Set a page's title, URL, type and closed flags; returns the changed fields."""
    changes = []
    for name, value in values.items():
        before = getattr(page, name)
        if before != value:
            setattr(page, name, value)
            changes.append(f"{name}: {before} -> {value}")
    if changes:
        moderation.record(
            moderator, page.site_id, "page settings", f"page {page.key}", "; ".join(changes)
        )
    return changes


def clean_score(form: dict[str, str]) -> tuple[str, float, int, str | None, dict[str, str]]:
    """An editorial score row from form text: label, score, scale, URL, and errors."""
    errors: dict[str, str] = {}
    label = " ".join(form.get("label", "").split())
    if not 1 <= len(label) <= 80:
        errors["label"] = "Give a label of 1 to 80 characters."
    scale = int(form["scale"]) if form.get("scale") in ("5", "10", "100") else 0
    if not scale:
        errors["scale"] = "The scale is 5, 10 or 100."
    score = -1.0
    try:
        score = round(float(form.get("score", "").strip().replace(",", ".")), 1)
    except ValueError:
        pass
    if not 0 <= score <= (scale or 100):
        errors["score"] = f"A number from 0 to {scale or 'the scale'}."
    url = form.get("url", "").strip() or None
    if url is not None and clean_http_url(url, 2048) is None:
        errors["url"] = "An address starting with http:// or https://."
    return label, score, scale, url, errors


def save_score(moderator: Moderator, page: Page, original: str, form: dict[str, str]) -> None:
    """Add a score, or change the one labelled ``original``; raises ValidationError."""
    label, score, scale, url, errors = clean_score(form)
    taken = {item.label for item in page.editorial if item.label != original}
    if not errors and label in taken:
        errors["label"] = "Another score has this label."
    if errors:
        raise ValidationError(errors)
    row = next((item for item in page.editorial if item.label == original), None)
    if original and row is None:
        raise _missing()
    if row is not None:
        row.label = label
    ratings.set_editorial(page, label, score, scale, url)
    moderation.record(
        moderator,
        page.site_id,
        "editorial score",
        f"page {page.key}",
        f"{label}: {score:g}/{scale}",
    )


def remove_score(moderator: Moderator, page: Page, label: str) -> None:
    kept = [item for item in page.editorial if item.label != label]
    if len(kept) == len(page.editorial):
        raise _missing()
    page.editorial = kept
    moderation.record(moderator, page.site_id, "remove score", f"page {page.key}", label)


def pages_of(site: Site, search: str, offset: int) -> tuple[list[Page], bool]:
    query = sa.select(Page).where(Page.site_id == site.id)
    if search:
        query = query.where(Page.key.like(moderation._literal(search), escape="\\"))
    found = list(
        db.session.scalars(
            query.order_by(Page.created.desc(), Page.id.desc()).offset(offset).limit(PAGE_SIZE + 1)
        )
    )
    return found[:PAGE_SIZE], len(found) > PAGE_SIZE


# ---- views: site settings -------------------------------------------------------------------


@bp.get("/sites")
@login_required
def site_list() -> str:
    sites = _sites()
    roles = {site.id: accounts.role_on(g.moderator, site) for site in sites}
    return render_template("admin/sites.html", sites=sites, roles=roles)


@bp.route("/sites/<key>", methods=["GET", "POST"])
@login_required
def site_settings(key: str) -> BaseResponse | tuple[str, int]:
    site = _my_site(key, owner=True)
    if request.method == "GET":
        form = SiteForm(
            data={
                "name": site.name,
                "origins": "\n".join(site.origins),
                "moderation": site.moderation,
                "link_limit": site.link_limit,
                "rating_scale": str(site.rating_scale),
                "edit_window": site.edit_window // 60,
                "language": site.language,
                "theme": site.theme,
                "notify_moderators": site.notify_moderators,
            }
        )
        return render_template("admin/site.html", site=site, form=form), 200
    form = SiteForm()
    if form.validate():
        settings = SiteSettings(
            name=form.name.data,
            origins=parse_origins(form.origins.data or ""),
            moderation=form.moderation.data,
            link_limit=form.link_limit.data,
            rating_scale=int(form.rating_scale.data),
            rescale=form.rescale.data,
            edit_window_minutes=form.edit_window.data,
            language=form.language.data,
            theme=form.theme.data,
            notify_moderators=form.notify_moderators.data,
        )
        try:
            changes = save_site(g.moderator, site, settings)
        except ValueError as error:
            db.session.rollback()
            form.rating_scale.errors = [str(error)]
        else:
            db.session.commit()
            flash("Settings saved." if changes else "Nothing changed.", "info")
            return _back("admin.site_settings", key=site.key)
    return render_template("admin/site.html", site=site, form=form), 422


# ---- views: pages ---------------------------------------------------------------------------


def _render_page(
    site: Site, page: Page, form: PageForm, status: int = 200, score: dict[str, Any] | None = None
) -> tuple[str, int]:
    html = render_template(
        "admin/page.html",
        site=site,
        page=page,
        form=form,
        average=ratings.average(page),
        score=score or {},
        scales=ratings.EDITORIAL_SCALES,
        action_form=ActionForm(),
    )
    return html, status


@bp.route("/sites/<key>/pages", methods=["GET", "POST"])
@login_required
def pages(key: str) -> BaseResponse | tuple[str, int]:
    site = _my_site(key, owner=True)
    if request.args.get("page") is None:
        if request.method == "POST":
            raise _missing()
        search = request.args.get("q", "").strip()[:200]
        offset = request.args.get("offset", "0")
        start = int(offset) if offset.isdigit() and len(offset) < 7 else 0
        found, more = pages_of(site, search, start)
        html = render_template(
            "admin/pages.html",
            site=site,
            pages=found,
            more=more,
            offset=start,
            search=search,
            average=ratings.average,
            action_form=ActionForm(),
        )
        return html, 200
    page = find_page(site, page_key(request.args.get("page")))
    if page is None:
        raise _missing()
    if request.method == "GET":
        return _render_page(site, page, _page_form(page, submitted=False))
    form = _page_form(page, submitted=True)
    if not form.validate():
        return _render_page(site, page, form, 422)
    changes = save_page(
        g.moderator,
        page,
        {
            "title": clean_title(form.title.data or ""),
            "url": (form.url.data or "").strip() or None,
            "schema_type": form.schema_type.data or None,
            "comments_closed": form.comments_closed.data,
            "ratings_closed": form.ratings_closed.data,
        },
    )
    db.session.commit()
    flash("Page settings saved." if changes else "Nothing changed.", "info")
    return _back("admin.pages", key=site.key, page=page.key)


@bp.post("/sites/<key>/pages/new")
@login_required
def page_new(key: str) -> BaseResponse:
    """Set up a page nobody has commented on yet (to give it scores or a type first)."""
    site = _my_site(key, owner=True)
    new_key = page_key(request.form.get("page"))
    page = find_page(site, new_key)
    if page is None:
        page = get_or_create_page(site, new_key, title=None, url=None, service_origin="")
        moderation.record(g.moderator, site.id, "create page", f"page {new_key}")
        db.session.commit()
    return _back("admin.pages", key=site.key, page=page.key)


@bp.post("/sites/<key>/pages/scores")
@login_required
def page_scores(key: str) -> BaseResponse | tuple[str, int]:
    site = _my_site(key, owner=True)
    page = find_page(site, page_key(request.args.get("page")))
    if page is None:
        raise _missing()
    original = request.form.get("original", "")
    if request.form.get("action") == "remove":
        remove_score(g.moderator, page, original)
        db.session.commit()
        flash(f"Score {original!r} removed.", "info")
        return _back("admin.pages", key=site.key, page=page.key)
    values = {name: request.form.get(name, "") for name in ("label", "score", "scale", "url")}
    try:
        save_score(g.moderator, page, original, values)
    except ValidationError as error:
        db.session.rollback()
        form = _page_form(page, submitted=False)
        score = {"original": original, "values": values, "errors": error.fields}
        return _render_page(site, page, form, 422, score)
    db.session.commit()
    flash(f"Score {values['label'].strip()!r} saved.", "info")
    return _back("admin.pages", key=site.key, page=page.key)
