"""Site settings (its name and allowed origins among them), pages, page settings and a page's
editorial scores, for the site's owners (403 for its other moderators, 404 for anyone
else). The list of sites and creating one are ``admin.sites``.

The rules, bounds and audit entries are those of ``sites.settings``, which the command
line uses too.
"""

from __future__ import annotations

from typing import Any

from flask import flash, g, render_template, request
from flask_babel import gettext as _
from werkzeug.wrappers import Response as BaseResponse

from service.data import Page, Site
from service.data.bounds import EDITORIAL_SCALES, SCHEMA_TYPES, SEARCH_MAX
from service.database import writing
from service.extensions import db
from service.ratings.summary import average, has_review_stars
from service.rules.errors import ValidationError
from service.rules.validation import page_key
from service.sites import settings
from service.sites.lookup import find_page, pages_of
from service.web.admin import bp
from service.web.admin.auth import back, login_required, missing, my_site
from service.web.admin.forms import ActionForm, PageForm, SiteForm, offset_arg


def _site_changes(site: Site, form: SiteForm) -> settings.SiteChanges:
    minutes = form.edit_window.data
    # Seconds set from the command line survive a save that leaves the minutes alone.
    if minutes is None or minutes == site.edit_window // 60:
        seconds = None
    else:
        seconds = minutes * 60
    return settings.SiteChanges(
        name=form.name.data or "",
        origins=(form.origins.data or "").splitlines(),
        moderation=form.moderation.data,
        link_limit=form.link_limit.data,
        rating_scale=int(form.rating_scale.data) if (form.rating_scale.data or "").isdigit() else 0,
        rescale=form.rescale.data,
        edit_window=seconds,
        language=form.language.data or "",
        theme=form.theme.data,
        notify_moderators=form.notify_moderators.data,
        tokenless_posts=form.tokenless_posts.data,
        erasure=form.erasure.data or None,
    )


@bp.route("/sites/<key>", methods=["GET", "POST"])
@login_required
def site_settings(key: str) -> BaseResponse | tuple[str, int]:
    site = my_site(key, owner=True)
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
                "tokenless_posts": site.tokenless_posts or "",
                "erasure": site.erasure,
            }
        )
        return render_template("admin/site.html", site=site, form=form), 200
    form = SiteForm()
    if form.validate():
        wanted = _site_changes(site, form)
        try:
            with writing():
                changes = settings.change_site(g.moderator, site, wanted)
                db.session.commit()
        except ValidationError as error:
            db.session.rollback()
            form.show_errors(error.fields)
        else:
            flash(_("Settings saved.") if changes else _("Nothing changed."), "info")
            return back("admin.site_settings", key=site.key)
    return render_template("admin/site.html", site=site, form=form), 422


def _page_form(page: Page, *, submitted: bool) -> PageForm:
    """The page form: the submitted values, or the page's own; its type choices."""
    form = PageForm() if submitted else PageForm(None, obj=page, schema_type=page.schema_type or "")
    types = list(SCHEMA_TYPES)
    if page.schema_type and page.schema_type not in types:
        types.append(page.schema_type)  # set before the list was closed: keep it choosable
    form.schema_type.choices = {"": "None"} | {
        t: t if has_review_stars(t) else f"{t} (no review stars)" for t in types
    }
    return form


def _render_page(
    site: Site, page: Page, form: PageForm, status: int = 200, score: dict[str, Any] | None = None
) -> tuple[str, int]:
    html = render_template(
        "admin/page.html",
        site=site,
        page=page,
        form=form,
        average=average(page),
        score=score or {},
        scales=EDITORIAL_SCALES,
        action_form=ActionForm(),
    )
    return html, status


def _my_page(site: Site) -> Page:
    page = find_page(site, page_key(request.args.get("page")))
    if page is None:
        raise missing()
    return page


@bp.route("/sites/<key>/pages", methods=["GET", "POST"])
@login_required
def pages(key: str) -> BaseResponse | tuple[str, int]:
    site = my_site(key, owner=True)
    if request.args.get("page") is None:
        if request.method == "POST":
            raise missing()
        search = request.args.get("q", "").strip()[:SEARCH_MAX]
        start = offset_arg()
        found, more = pages_of(site, search, start)
        html = render_template(
            "admin/pages.html",
            site=site,
            pages=found,
            more=more,
            offset=start,
            search=search,
            average=average,
            action_form=ActionForm(),
        )
        return html, 200
    page = _my_page(site)
    if request.method == "GET":
        return _render_page(site, page, _page_form(page, submitted=False))
    form = _page_form(page, submitted=True)
    if not form.validate():
        return _render_page(site, page, form, 422)
    changes = settings.PageChanges(
        title=form.title.data or "",
        url=form.url.data or "",
        schema_type=form.schema_type.data or "",
        comments_closed=form.comments_closed.data,
        ratings_closed=form.ratings_closed.data,
    )
    try:
        with writing():
            changed = settings.change_page(g.moderator, page, changes)
            db.session.commit()
    except ValidationError as error:
        db.session.rollback()
        form.show_errors(error.fields)
        return _render_page(site, page, form, 422)
    flash(_("Page settings saved.") if changed else _("Nothing changed."), "info")
    return back("admin.pages", key=site.key, page=page.key)


@bp.post("/sites/<key>/pages/new")
@login_required
def page_new(key: str) -> BaseResponse:
    """Set up a page nobody has commented on yet (to give it scores or a type first)."""
    site = my_site(key, owner=True)
    wanted = page_key(request.form.get("page"))
    with writing():
        page = settings.page_for(g.moderator, site, wanted)
        db.session.commit()
    return back("admin.pages", key=site.key, page=page.key)


@bp.post("/sites/<key>/pages/scores")
@login_required
def page_scores(key: str) -> BaseResponse | tuple[str, int]:
    site = my_site(key, owner=True)
    page = _my_page(site)
    original = request.form.get("original", "")
    if request.form.get("action") == "scale":  # the Final Summary's, where scales differ
        return _summary_scale(site, page)
    if request.form.get("action") == "remove":
        with writing():
            settings.remove_score(g.moderator, page, original)
            db.session.commit()
        flash(_("Score “%(label)s” removed.", label=original), "info")
        return back("admin.pages", key=site.key, page=page.key)
    values = {name: request.form.get(name, "") for name in ("label", "score", "scale", "url")}
    try:
        with writing():
            saved = settings.set_score(
                g.moderator,
                page,
                values["label"],
                values["score"],
                values["scale"],
                values["url"],
                original=original,
            )
            db.session.commit()
    except ValidationError as error:
        db.session.rollback()
        form = _page_form(page, submitted=False)
        score = {"original": original, "values": values, "errors": error.fields}
        return _render_page(site, page, form, 422, score)
    flash(_("Score “%(label)s” saved.", label=saved.label), "info")
    return back("admin.pages", key=site.key, page=page.key)


def _summary_scale(site: Site, page: Page) -> BaseResponse | tuple[str, int]:
    """Save the scale the page's Final Summary box shows where its scores' scales differ
    ("": automatic, the largest of theirs)."""
    wanted = settings.PageChanges(editorial_scale=request.form.get("editorial_scale", ""))
    try:
        with writing():
            changed = settings.change_page(g.moderator, page, wanted)
            db.session.commit()
    except ValidationError as error:
        db.session.rollback()
        form = _page_form(page, submitted=False)
        return _render_page(site, page, form, 422, {"scale_errors": error.fields})
    flash(_("Summary scale saved.") if changed else _("Nothing changed."), "info")
    return back("admin.pages", key=site.key, page=page.key)
