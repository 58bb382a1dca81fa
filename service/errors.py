"""One error-handler set: JSON for API callers, an HTML page for browsers.

Every error carries a stable code. The session is rolled back before the
answer is built, so a failed write never leaves half a change behind.
"""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError, OperationalError
from werkzeug.exceptions import HTTPException

from .extensions import db

log = logging.getLogger(__name__)

RETRY_AFTER_BUSY = "2"

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    429: "rate_limited",
    500: "internal_error",
    503: "unavailable",
}

_MESSAGES = {
    400: "The request could not be understood.",
    401: "Please log in.",
    403: "This request is not allowed.",
    404: "Nothing was found here.",
    405: "This method is not allowed here.",
    409: "This conflicts with the current state.",
    413: "The request is too large.",
    415: "Send the body as JSON (Content-Type: application/json).",
    422: "Some fields are not valid.",
    429: "Too many requests. Please wait a moment and try again.",
    500: "Something went wrong on our side. Nothing was saved.",
    503: "The service is busy. Please try again in a moment.",
}


class ApiError(Exception):
    """An error with a status, a stable code, a message and per-field messages."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        fields: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields or {}
        self.headers = headers or {}


class ValidationError(ApiError):
    """Invalid fields: 422 with a message per field."""

    def __init__(self, fields: dict[str, str], message: str | None = None) -> None:
        super().__init__(422, "validation_failed", message or _MESSAGES[422], fields)


def wants_json() -> bool:
    """API callers get JSON errors; everything else gets an HTML page."""
    return request.path.startswith("/api/")


def error_response(error: ApiError) -> Response:
    """Render an ApiError for whoever asked."""
    db.session.rollback()
    if wants_json():
        body = {"error": {"code": error.code, "message": error.message, "fields": error.fields}}
        response = jsonify(body)
    else:
        html = render_template("errors/error.html", error=error)
        response = Response(html, mimetype="text/html")
    response.status_code = error.status
    response.headers.update(error.headers)
    response.headers["Cache-Control"] = "no-store"
    return response


def _from_http(exc: HTTPException) -> ApiError:
    status = exc.code or 500
    code = _CODES.get(status, "error")
    message = _MESSAGES.get(status, exc.description or "")
    headers: dict[str, str] = {}
    if status == 405 and exc.response is None:
        allowed = getattr(exc, "valid_methods", None)
        if allowed:
            headers["Allow"] = ", ".join(sorted(allowed))
    if status == 429:
        message = _MESSAGES[429]
        limit = getattr(exc, "retry_after", None)
        headers["Retry-After"] = str(limit or 60)
    return ApiError(status, code, message, headers=headers)


_UNAVAILABLE = (
    "database is locked",
    "database table is locked",
    "unable to open database",
    "disk i/o error",
    "could not connect",
    "connection refused",
    "server closed the connection",
    "terminating connection",
    "the database system is",
    "timeout",
)


def _unavailable(exc: OperationalError) -> bool:
    """Lock time-outs and lost connections are 'busy, retry'; a broken schema is not."""
    text = str(exc.orig).lower()
    return exc.connection_invalidated or any(marker in text for marker in _UNAVAILABLE)


def register(app: Flask) -> None:
    """Attach the handlers to the app."""

    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError) -> Response:
        return error_response(exc)

    @app.errorhandler(CSRFError)
    def _csrf(exc: CSRFError) -> Response:
        return error_response(
            ApiError(
                400,
                "csrf_failed",
                "The form expired or was sent from elsewhere. Reload the page and try again.",
            )
        )

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Response:
        error = _from_http(exc)
        response = error_response(error)
        if exc.code == 429 and exc.response is not None:
            # Flask-Limiter's own answer carries Retry-After and the limit headers.
            for name in (
                "Retry-After",
                "X-RateLimit-Limit",
                "X-RateLimit-Remaining",
                "X-RateLimit-Reset",
            ):
                if name in exc.response.headers:
                    response.headers[name] = exc.response.headers[name]
        return response

    @app.errorhandler(OperationalError)
    def _busy(exc: OperationalError) -> Response:
        if not _unavailable(exc):
            log.exception("database error")
            return error_response(ApiError(500, "internal_error", _MESSAGES[500]))
        log.warning("database unavailable: %s", exc.orig)
        return error_response(
            ApiError(
                503,
                "storage_unavailable",
                _MESSAGES[503],
                headers={"Retry-After": RETRY_AFTER_BUSY},
            )
        )

    @app.errorhandler(DBAPIError)
    def _db(exc: DBAPIError) -> Response:
        log.exception("database error")
        return error_response(ApiError(500, "internal_error", _MESSAGES[500]))

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        log.exception("unhandled error")
        return error_response(ApiError(500, "internal_error", _MESSAGES[500]))
