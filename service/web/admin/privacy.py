"""Commenters' data for the owners of a site: download it as JSON, or erase it, by address.

The same domain functions as the commenter's own mailed link (``service.rights``), limited
to the one site chosen; each action is written to the audit log, which names the address
only by the first characters of its blind index, never the address itself.
"""

from __future__ import annotations

import json

from flask import Response, g, render_template, request
from flask_babel import gettext
from werkzeug.wrappers import Response as BaseResponse

from service.data import Site
from service.database import writing
from service.extensions import db
from service.rights import erase, export
from service.rules import validation
from service.sites import accounts, audit
from service.web.admin import bp
from service.web.admin.auth import login_required, my_sites
from service.web.admin.forms import PrivacyForm

Page = tuple[str, int]


def _owned() -> list[Site]:
    return [site for site in my_sites() if accounts.role_on(g.moderator, site) == "owner"]


def _page(form: PrivacyForm, owned: list[Site], status: int = 200, done: str = "") -> Page:
    form.site.choices = [(site.key, f"{site.name} ({site.key})") for site in owned]
    html = render_template("admin/privacy.html", form=form, owned=owned, done=done)
    return html, status


@bp.get("/privacy")
@login_required
def privacy_tools() -> Page:
    return _page(PrivacyForm(), _owned())


@bp.post("/privacy")
@login_required
def privacy_action() -> BaseResponse | Page:
    """Download (``action=export``) or erase (``action=erase``) one address's data."""
    owned = _owned()
    form = PrivacyForm()
    if not form.validate():
        return _page(form, owned, 400)
    errors: dict[str, str] = {}
    email = validation.clean_email(form.email.data or "", errors)
    site = next((s for s in owned if s.key == form.site.data), None)
    if site is None:
        errors["site"] = gettext("Choose a site you own.")
    action = request.form.get("action")
    if action not in ("export", "erase"):
        errors["action"] = gettext("Choose to download or to erase.")
    if errors or email is None or site is None:
        form.show_errors(errors)
        return _page(form, owned, 422)
    scope = export.scope_of(email, [site.id])
    target = f"address {scope.email_index[:12]}"
    with writing():
        if action == "export":
            document = export.collect(scope)
            audit.record(g.moderator, site.id, "privacy export", target)
        else:
            done = erase.erase(scope)
            audit.record(g.moderator, site.id, "privacy erase", target, done.describe())
        db.session.commit()
    if action == "erase":
        return _page(PrivacyForm(), owned, 200, done.describe())
    body = json.dumps(document, ensure_ascii=False, indent=2) + "\n"
    response = Response(body, mimetype="application/json")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="parley-{site.key}-address-data.json"'
    )
    return response
