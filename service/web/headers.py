"""Security headers shared by every answer the service gives."""

from __future__ import annotations

from flask import Flask, Response


def page_csp(frame_ancestors: str) -> str:
    """The Content-Security-Policy of a service page: no inline script, no foreign code."""
    return (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        f"frame-ancestors {frame_ancestors}; base-uri 'none'; form-action 'self'; "
        "object-src 'none'"
    )


def _security_headers(response: Response) -> Response:
    if response.status_code not in (429, 503):
        response.headers.pop("Retry-After", None)  # the limiter adds it to every answer
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    response.headers.setdefault("Content-Security-Policy", page_csp("'none'"))
    return response


def register(app: Flask) -> None:
    """Add the headers to every answer (pages set their own CSP first)."""
    app.after_request(_security_headers)
