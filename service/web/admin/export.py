"""Export for owners: a download of one site they own, or of every site when they own them
all (docs/export.md). The document holds password hashes and keyed hashes, and with the box
ticked every commenter's address in clear, so it is for owners alone, asked for by a POST
with the CSRF token, never cached, and written to the audit log.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import Response, g, render_template, stream_with_context
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, SelectField

from service.data import Site
from service.database import writing
from service.extensions import db
from service.rules.errors import DomainError
from service.sites import accounts
from service.transfer import archive
from service.web.admin import bp
from service.web.admin.auth import login_required, missing, my_sites
from service.web.admin.forms import ActionForm

EVERY_SITE = ""


class ExportForm(ActionForm):
    site = SelectField(_l("What to export"), validate_choice=False)
    clear_emails = BooleanField(
        _l("Commenters' email addresses in clear"),
        description=_l(
            "Only to move to another system: the file then holds every address. Left "
            "unticked, addresses stay encrypted under this service's data key, and only a "
            "Parley with that key can read them."
        ),
    )


def _owned() -> tuple[list[Site], bool]:
    """The sites the moderator owns, and whether those are every site of the service."""
    owned = [site for site in my_sites() if accounts.role_on(g.moderator, site) == "owner"]
    total = db.session.scalar(sa.select(sa.func.count()).select_from(Site)) or 0
    return owned, bool(owned) and len(owned) == total


def _page(form: ExportForm, owned: list[Site], every: bool) -> str:
    choices = [(site.key, f"{site.name} ({site.key})") for site in owned]
    form.site.choices = ([(EVERY_SITE, str(_l("Every site")))] if every else []) + choices
    return render_template("admin/export.html", form=form, owned=owned)


@bp.get("/export")
@login_required
def export_page() -> str:
    owned, every = _owned()
    return _page(ExportForm(), owned, every)


@bp.post("/export")
@login_required
def export_download() -> Response | tuple[str, int]:
    owned, every = _owned()
    form = ExportForm()
    if not form.validate():
        return _page(form, owned, every), 400
    key = form.site.data or EVERY_SITE
    if not owned:
        raise DomainError("forbidden", _l("Only a site's owners can export it."))
    if key == EVERY_SITE and not every:
        raise DomainError("forbidden", _l("Only an owner of every site can export them all."))
    if key != EVERY_SITE and key not in {site.key for site in owned}:
        raise missing()
    export = archive.prepare_export(key or None, clear_emails=bool(form.clear_emails.data))
    with writing():
        archive.record_download(g.moderator, export)
        db.session.commit()
    return Response(
        stream_with_context(export.chunks()),
        mimetype="application/json",
        headers={"Content-Disposition": f'attachment; filename="{export.filename()}"'},
    )
