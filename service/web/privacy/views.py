"""The privacy page and the pages behind its mailed links.

The asking page is a plain form (CSRF-protected, no JavaScript needed) that answers the
same whether the address is known or not. A link's GET only shows a page with a button
(mail scanners and link previews follow links); its POST downloads or erases, and uses the
link up in the same transaction.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Response, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response as BaseResponse
from wtforms import EmailField, StringField

from service.data.bounds import PRIVACY_KINDS
from service.database import writing
from service.extensions import db
from service.notify.links import LinkError
from service.rights import erase, export, requests
from service.rules import validation
from service.rules.errors import DomainError
from service.sites.lookup import get_site
from service.web.errors import status_of
from service.web.i18n import asker_language
from service.web.limits import privacy_limit
from service.web.privacy import bp

Page = tuple[str, int]
T = TypeVar("T")


class RequestForm(FlaskForm):
    email = EmailField(_l("Your email address"))
    kind = StringField(_l("What the link will do"))  # radio buttons, drawn by the template


class ButtonForm(FlaskForm):
    """A form with only its CSRF token: the page's one button posts it."""


def _site_key() -> str:
    return validation.site_key(request.args.get("site"))


def _lang() -> str | None:
    """The ``lang`` the page was opened with: the form posts it back, so the next page and
    the mail speak it too."""
    return request.args.get("lang") or None


@bp.route("", methods=["GET", "POST"])
@privacy_limit
def ask() -> BaseResponse | Page:
    """Ask for a mailed link; the answer is the same whether the address is known or not."""
    site = get_site(_site_key())
    form = RequestForm()
    status = 200
    if form.validate_on_submit():
        errors: dict[str, str] = {}
        email = validation.clean_email(form.email.data or "", errors)
        kind = form.kind.data if form.kind.data in PRIVACY_KINDS else None
        if kind is None:
            errors["kind"] = gettext("Choose what the link will do.")
        if email is not None and kind is not None:
            with writing():
                requests.ask(site, email, kind, asker_language(site.language))
                db.session.commit()
            return redirect(url_for(".ask", site=site.key, sent=1, lang=_lang()), code=303)
        for name, message in errors.items():
            getattr(form, name).errors = [message]
        status = 422
    elif request.method == "POST":
        status = 400
    sent = request.args.get("sent") == "1"
    action = url_for(".ask", site=site.key, lang=_lang())
    html = render_template("privacy/ask.html", site=site, form=form, sent=sent, action=action)
    return html, status


def _invalid(error: LinkError) -> Page:
    status = status_of(error.code)
    return render_template("privacy/invalid.html", message=error.message), status


def _checked(form: FlaskForm) -> None:
    # CSRFProtect has checked the token already; this keeps the check next to the action.
    if not form.validate_on_submit():
        raise DomainError("csrf_failed", _l("The form expired. Open the link again."))


def _use_once(token: str, kind: str, act: Callable[[export.Scope], T]) -> T | Page:
    """Use the link up and ``act`` on its address, in one transaction: what ``act`` gives,
    or the page saying why the link no longer works."""
    try:
        with writing():
            found = requests.read(token, kind)
            requests.use(found)
            done = act(export.Scope(found.email_index))
            db.session.commit()
    except LinkError as error:
        db.session.rollback()
        return _invalid(error)
    return done


@bp.route("/export/<token>", methods=["GET", "POST"])
def export_link(token: str) -> BaseResponse | Page:
    """GET: a page and a button. POST: the JSON document, once."""
    try:
        requests.read(token, "export")
    except LinkError as error:
        return _invalid(error)
    form = ButtonForm()
    if request.method == "GET":
        return render_template("privacy/export.html", form=form), 200
    _checked(form)
    document = _use_once(token, "export", export.collect)
    return document if isinstance(document, tuple) else _download(document)


def _download(document: dict[str, Any]) -> Response:
    body = json.dumps(document, ensure_ascii=False, indent=2) + "\n"
    response = Response(body, mimetype="application/json")
    response.headers["Content-Disposition"] = 'attachment; filename="parley-my-data.json"'
    return response


@bp.route("/erase/<token>", methods=["GET", "POST"])
def erase_link(token: str) -> Page:
    """GET: what erasing does, and a button. POST: erase, once."""
    try:
        requests.read(token, "erase")
    except LinkError as error:
        return _invalid(error)
    form = ButtonForm()
    if request.method == "GET":
        return render_template("privacy/erase.html", form=form, done=None), 200
    _checked(form)
    done = _use_once(token, "erase", erase.erase)
    if isinstance(done, tuple):
        return done
    return render_template("privacy/erase.html", form=form, done=done), 200
