"""The standalone page's report form, for readers without the script: post, redirect, get.

The reader's visitor key is the standalone page's first-party cookie (one is issued when
there is none, from the same budget as the API's); the report and its rules are the
API's (``comments.reports``), and so are the rate limits.
"""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers import Response as BaseResponse

from service.comments import reports
from service.data.bounds import MAX_ID
from service.database import writing
from service.extensions import db
from service.rules.errors import DomainError, ValidationError
from service.web.limits import report_limit, visitor_issue_limit
from service.web.requests import safe_return, site_and_page
from service.web.widgets import bp
from service.web.widgets.pages import cookie_key, keeps_its_key, new_key, remember_key


@bp.post("/thread/report")
@visitor_issue_limit(exempt_when=keeps_its_key)
@report_limit
def thread_report() -> BaseResponse:
    """Report a comment from the standalone page; back to its report section, which says
    how it went."""
    site, key = site_and_page()
    raw = request.form.get("comment", "")
    ident = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 10 else 0
    raw_key, visitor = cookie_key(site) or new_key(site)
    back = safe_return(request.form.get("return_to"))
    page = back or url_for(".thread_page", site=site.key, page=key)
    join = "&" if "?" in page else "?"
    target = f"{page.split('#')[0]}{join}report={ident}#report"
    errors: dict[str, str] = {}
    reason = reports.clean_reason(request.form.get("reason", ""), errors)
    try:
        if not 1 <= ident <= MAX_ID:
            raise DomainError("not_found", _l("There is no such comment."))
        if reason is None:
            raise ValidationError(errors)
        with writing():
            reports.report(ident, visitor, reason)
            db.session.commit()
    except DomainError as error:
        db.session.rollback()
        flash(str(error.first_message()), "report-error")
    else:
        flash(gettext("Thank you. The moderators will look at it."), "report")
    return remember_key(redirect(target, code=303), site, raw_key)
