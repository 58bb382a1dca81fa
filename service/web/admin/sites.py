"""The sites one holds a role on, and creating a site.

An account that owns a site may create another and becomes its owner (``sites.roles``);
the key, name and origins are checked by ``sites.settings``, as on the command line, and
the new site's other settings are the service's defaults, changed on its settings page.
"""

from __future__ import annotations

from flask import flash, g, render_template
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers import Response as BaseResponse
from wtforms import StringField, TextAreaField

from service.database import writing
from service.extensions import db
from service.rules.errors import DomainError, ValidationError
from service.sites import accounts, roles, settings
from service.web.admin import bp
from service.web.admin.auth import back, login_required, my_sites
from service.web.admin.forms import ActionForm


class NewSiteForm(ActionForm):
    key = StringField(
        _l("Key"),
        description=_l(
            "The embed's data-site: lower-case letters, digits, '.', '_' and '-'. It cannot "
            "be changed later."
        ),
    )
    name = StringField(_l("Name"))
    origins = TextAreaField(
        _l("Allowed origins"),
        description=_l(
            "One per line, like https://example.org: the pages that may embed the "
            "widgets and post to them."
        ),
    )


def _render(form: NewSiteForm, status: int = 200) -> tuple[str, int]:
    sites = my_sites()
    held = {site.id: accounts.role_on(g.moderator, site) for site in sites}
    html = render_template(
        "admin/sites.html",
        sites=sites,
        roles=held,
        form=form,
        may_create=roles.may_create_sites(g.moderator),
    )
    return html, status


@bp.get("/sites")
@login_required
def site_list() -> tuple[str, int]:
    return _render(NewSiteForm(formdata=None))


@bp.post("/sites")
@login_required
def site_new() -> BaseResponse | tuple[str, int]:
    if not roles.may_create_sites(g.moderator):
        raise DomainError("forbidden", _l("Only an owner of a site can create sites."))
    form = NewSiteForm()
    if not form.validate():
        return _render(form, 400)
    key = (form.key.data or "").strip()
    changes = settings.SiteChanges(
        name=form.name.data or "", origins=(form.origins.data or "").splitlines()
    )
    try:
        with writing():
            site = roles.create_site(g.moderator, key, changes)
            db.session.commit()
    except ValidationError as error:
        db.session.rollback()
        form.show_errors(error.fields)
        return _render(form, 422)
    flash(
        _(
            'Site %(name)s created; you are its owner. Embed it with data-site="%(key)s".',
            name=site.name,
            key=site.key,
        ),
        "info",
    )
    return back("admin.site_settings", key=site.key)
