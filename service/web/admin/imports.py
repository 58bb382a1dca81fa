"""Imports from other comment systems, for a site's owners: upload a file, follow its job.

The upload is streamed to a temporary file under its own limit (PARLEY_IMPORT_MAX_BYTES,
``web.STREAMED_UPLOADS``), never read whole into memory, then saved in the instance folder
and imported by the background worker (``service.transfer.jobs``). The page shows each
job's progress, and its message in the reader's language (a job keeps notes, not text:
``service.transfer.notes``); after an upload (or when asked) it reloads itself while one
is running.
The view checks its CSRF token itself, after setting the larger limit (the global check
would parse the body first).
"""

from __future__ import annotations

from flask import flash, g, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError, validate_csrf
from werkzeug.wrappers import Response as BaseResponse
from wtforms import FileField, SelectField, TextAreaField
from wtforms.validators import ValidationError as TokenError

from service.data import Site
from service.data.bounds import IMPORT_FORMATS
from service.database import writing
from service.extensions import csrf, db
from service.rules.errors import DomainError
from service.sites import accounts
from service.transfer import jobs, notes
from service.transfer.sources import FileRefused, parse_prefixes
from service.web.admin import bp
from service.web.admin.auth import back, login_required, my_sites
from service.web.admin.forms import ActionForm


class ImportForm(ActionForm):
    site = SelectField(_l("Site"), validate_choice=False)
    source = SelectField(_l("Format"), choices=IMPORT_FORMATS, validate_choice=False)
    file = FileField(_l("Export file"))
    prefixes = TextAreaField(
        _l("Map URLs (optional)"),
        description=_l(
            "One OLD=NEW per line: source URLs starting with OLD start with NEW "
            "instead, so threads land on the pages readers open."
        ),
    )


def _owned() -> list[Site]:
    return [site for site in my_sites() if accounts.role_on(g.moderator, site) == "owner"]


def _page(form: ImportForm, status: int = 200) -> tuple[str, int]:
    owned = _owned()
    form.site.choices = [(site.key, f"{site.name} ({site.key})") for site in owned]
    listed = jobs.jobs_of([site.id for site in owned])
    html = render_template(
        "admin/imports.html",
        form=form,
        owned=owned,
        jobs=listed,
        messages={job.id: notes.shown(job.message) for job in listed},
        site_keys={site.id: site.key for site in owned},
        formats=IMPORT_FORMATS,
        running=any(job.state in ("queued", "validating", "importing") for job in listed),
        following=request.args.get("follow") == "1",  # reloading only when asked: WCAG 2.2.1
    )
    return html, status


@bp.get("/imports")
@login_required
def imports() -> tuple[str, int]:
    return _page(ImportForm())


@bp.post("/imports")
@csrf.exempt
@login_required
def import_upload() -> BaseResponse | tuple[str, int]:
    token = request.form.get("csrf_token")  # over the limit: 413, before anything is kept
    try:
        validate_csrf(token)
    except TokenError as error:  # expired, missing or from another session
        raise CSRFError(str(error)) from None
    form = ImportForm()
    site = next((s for s in _owned() if s.key == form.site.data), None)
    upload = request.files.get("file")
    try:
        if site is None:
            raise DomainError("forbidden", _l("Only a site's owners import comments into it."))
        if form.source.data not in IMPORT_FORMATS:
            raise FileRefused("choose_format")
        if upload is None or not upload.filename:
            raise FileRefused("choose_file")
        lines = [line.strip() for line in (form.prefixes.data or "").splitlines()]
        prefixes = parse_prefixes([line for line in lines if line])
        with writing():
            job = jobs.queue_upload(
                site, g.moderator, form.source.data, upload.stream, upload.filename, prefixes
            )
            db.session.commit()
    except FileRefused as error:
        db.session.rollback()
        form.show_errors(error.fields)
        return _page(form, 422)
    flash(_("Import %(id)s is queued: this page shows its progress.", id=job.id), "info")
    return back("admin.imports", follow=1)
