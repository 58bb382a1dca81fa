"""Errors on the web: each domain error code's HTTP status (one table), and one handler set
that answers JSON to API callers and an HTML page to browsers.

Every error carries a stable code. The session is rolled back before the answer is built,
so a failed write never leaves half a change behind.
"""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify, render_template, request
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, PendingRollbackError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from werkzeug.exceptions import HTTPException

from service.extensions import db
from service.rules.errors import INVALID_MESSAGE, DomainError

log = logging.getLogger(__name__)

RETRY_AFTER_BUSY = "2"

# Every error code a client can get: its HTTP status, and what it means (the OpenAPI
# document's error answers are written from this table).
CODES: dict[str, tuple[int, str]] = {
    "bad_request": (400, ""),
    "invalid_query": (400, "a query parameter is missing or invalid; `fields` names it"),
    "malformed_json": (
        400,
        "the body is not a JSON object, or has duplicate keys, NaN or Infinity",
    ),
    "visitor_required": (
        400,
        "no `X-Parley-Visitor` header: get a key from `POST /api/v1/visitors`",
    ),
    "csrf_failed": (400, "the form expired or was sent from elsewhere"),
    "unauthorized": (401, "log in as a moderator first"),
    "forbidden": (403, ""),
    "origin_not_allowed": (
        403,
        "a browser sent an `Origin` that is not one of the site's allowed origins or the "
        "service's own",
    ),
    "cross_site": (
        403,
        "a browser marked the request cross-site (`Sec-Fetch-Site`) and sent no `Origin`",
    ),
    "bad_form_token": (
        403,
        "a browser's post (an `Origin` or `Sec-Fetch-Site` header) without a genuine "
        "`form_token`, or a post without one where the site refuses those",
    ),
    "bad_api_token": (
        403,
        "the `Authorization: Bearer` token is unknown, revoked or another site's",
    ),
    "form_expired": (403, "reload the form and send the text again"),
    "bad_edit_token": (403, "missing, or not this comment's"),
    "edit_window_closed": (403, "the author's edit window is over"),
    "bad_visitor": (
        403,
        "the `X-Parley-Visitor` key is not one this service issued: get a new one",
    ),
    "ratings_closed": (403, "the page takes no more votes"),
    "comments_closed": (403, "the page takes no more comments"),
    "banned": (403, "the site refuses this author"),
    "bad_link": (403, "the link in the mail is forged, or its account is gone"),
    "not_found": (404, "no such comment, or deleted"),
    "site_not_found": (404, ""),
    "link_target_gone": (404, "what the link in the mail names is gone"),
    "method_not_allowed": (405, ""),
    "conflict": (409, ""),
    "duplicate": (
        409,
        "the same author just posted this text here; `fields.duplicate_of` is that comment's "
        "id; nothing was stored",
    ),
    "link_expired": (410, "the link in the mail has expired"),
    "link_used": (410, "the single-use link in the mail was used already"),
    "too_large": (413, "over 128 KiB"),
    "uri_too_long": (414, "too many page ids or too long a URL for a GET: use the POST form"),
    "unsupported_media_type": (415, ""),
    "validation_failed": (422, "`fields` has a message per invalid or unknown field"),
    "too_fast": (422, "the widget form came back within seconds of being shown"),
    "account_refused": (422, ""),
    "webhook_refused": (422, ""),
    "rate_limited": (429, "wait `Retry-After` seconds"),
    "internal_error": (500, ""),
    "storage_unavailable": (503, "nothing was saved; retry after `Retry-After` seconds"),
}

# The code and message of an error Werkzeug or an extension raised, by its status.
_BY_STATUS = {
    400: ("bad_request", _l("The request could not be understood.")),
    401: ("unauthorized", _l("Please log in.")),
    403: ("forbidden", _l("This request is not allowed.")),
    404: ("not_found", _l("Nothing was found here.")),
    405: ("method_not_allowed", _l("This method is not allowed here.")),
    409: ("conflict", _l("This conflicts with the current state.")),
    413: ("too_large", _l("The request is too large.")),
    414: ("uri_too_long", _l("The address is too long.")),
    415: ("unsupported_media_type", _l("Send the body as JSON (Content-Type: application/json).")),
    422: ("validation_failed", INVALID_MESSAGE),
    429: ("rate_limited", _l("Too many requests. Please wait a moment and try again.")),
    500: ("internal_error", _l("Something went wrong on our side. Nothing was saved.")),
    503: ("unavailable", _l("The service is busy. Please try again in a moment.")),
}


def status_of(code: str) -> int:
    """The HTTP status of a domain error code (the table above is the one place that says)."""
    return CODES[code][0]


def wants_json() -> bool:
    """API callers get JSON errors; everything else gets an HTML page."""
    return request.path.startswith("/api/")


def error_response(
    status: int,
    code: str,
    message: str,
    fields: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """Render an error for whoever asked, after rolling the session back."""
    db.session.rollback()
    # Messages become text here, in this answer's language (service.web.i18n): domain errors
    # carry lazy strings; a plain one is looked up as it is (English is the message id).
    message = _text(message)
    fields = {name: _text(text) for name, text in (fields or {}).items()}
    if wants_json():
        body = {"error": {"code": code, "message": message, "fields": fields}}
        response = jsonify(body)
    else:
        html = render_template(
            "errors/error.html", status=status, code=code, message=message, fields=fields
        )
        response = Response(html, mimetype="text/html")
    response.status_code = status
    response.headers.update(headers or {})
    response.headers["Cache-Control"] = "no-store"
    return response


def _text(message: object) -> str:
    return gettext(message) if isinstance(message, str) else str(message)


def domain_response(error: DomainError) -> Response:
    """The answer to a domain error, with the status the table gives its code."""
    return error_response(status_of(error.code), error.code, error.message, error.fields)


def _from_http(exc: HTTPException) -> Response:
    status = exc.code or 500
    code, message = _BY_STATUS.get(status, ("error", exc.description or ""))
    headers: dict[str, str] = {}
    if status == 405 and exc.response is None:
        allowed = getattr(exc, "valid_methods", None)
        if allowed:
            headers["Allow"] = ", ".join(sorted(allowed))
    if status == 429:
        headers["Retry-After"] = str(getattr(exc, "retry_after", None) or 60)
        if exc.response is not None:
            # Flask-Limiter's own answer carries Retry-After and the limit headers.
            for name in (
                "Retry-After",
                "X-RateLimit-Limit",
                "X-RateLimit-Remaining",
                "X-RateLimit-Reset",
            ):
                if name in exc.response.headers:
                    headers[name] = exc.response.headers[name]
    return error_response(status, code, message, headers=headers)


_UNAVAILABLE = (
    "database is locked",
    "database table is locked",
    "unable to open database",
    "disk i/o error",
    "could not connect",
    "connection refused",
    "connection failed",  # psycopg 3: libpq could not open a connection
    "server closed the connection",
    "terminating connection",
    "the database system is",
    "not currently accepting connections",
    "too many connections",
    "connection is closed",
    "connection already closed",
    "consuming input failed",
    "timeout",
)


def _unavailable(exc: DBAPIError) -> bool:
    """Lock time-outs and lost connections are 'busy, retry'; a broken schema, or a
    constraint a value broke, is not."""
    if exc.connection_invalidated:
        return True
    if not isinstance(exc, OperationalError | InterfaceError):
        return False
    text = str(exc.orig).lower()
    return any(marker in text for marker in _UNAVAILABLE)


def _busy() -> Response:
    return error_response(
        503, "storage_unavailable", _BY_STATUS[503][1], headers={"Retry-After": RETRY_AFTER_BUSY}
    )


def _internal() -> Response:
    return error_response(500, *_BY_STATUS[500])


def register(app: Flask) -> None:
    """Attach the handlers to the app."""

    @app.errorhandler(DomainError)
    def _domain(exc: DomainError) -> Response:
        return domain_response(exc)

    @app.errorhandler(CSRFError)
    def _csrf(_exc: CSRFError) -> Response:
        return error_response(
            400,
            "csrf_failed",
            _l("The form expired or was sent from elsewhere. Reload the page and try again."),
        )

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Response:
        return _from_http(exc)

    @app.errorhandler(DBAPIError)
    def _db(exc: DBAPIError) -> Response:
        if not _unavailable(exc):
            log.exception("database error")
            return _internal()
        log.warning("database unavailable: %s", exc.orig)
        return _busy()

    @app.errorhandler(PoolTimeoutError)
    def _pool_exhausted(_exc: PoolTimeoutError) -> Response:
        log.warning("database unavailable: no pooled connection came free in time")
        return _busy()

    @app.errorhandler(PendingRollbackError)
    def _lost_mid_transaction(exc: PendingRollbackError) -> Response:
        # Code that carried on after a failure it caught (notifications never cost a post)
        # finds the transaction dead: after a lost connection, that is an outage too.
        if "reconnect" not in str(exc).lower():
            log.exception("database error")
            return _internal()
        log.warning("database unavailable: the connection was lost during the transaction")
        return _busy()

    @app.teardown_appcontext
    def _end_session(_exc: BaseException | None) -> None:
        # Runs before Flask-SQLAlchemy's own removal (teardowns run last registered first).
        # A connection the database dropped after the answer was made fails the rollback
        # that ends the session: drop it quietly, or the server would turn the answer
        # into a 500.
        try:
            db.session.remove()
        except DBAPIError as error:
            if not _unavailable(error):
                raise
            log.warning("database unavailable at the end of a request: %s", error.orig)
            db.session.remove()  # the connection is invalidated now: this only forgets it

    @app.errorhandler(Exception)
    def _unexpected(_exc: Exception) -> Response:
        log.exception("unhandled error")
        return _internal()
