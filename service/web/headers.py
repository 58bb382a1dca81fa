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


_DEFAULT_CSP = page_csp("'none'")
SECURITY_HEADERS = (
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "strict-origin-when-cross-origin"),
    ("Content-Security-Policy", _DEFAULT_CSP),
)


def add_vary(response: Response, name: str) -> None:
    """Add a header name to ``Vary`` once (``response.vary.add`` parses and rewrites the
    header on every call; every answer goes through this several times)."""
    current = response.headers.get("Vary")
    if not current:
        response.headers["Vary"] = name
    elif name.lower() not in {part.strip().lower() for part in current.split(",")}:
        response.headers["Vary"] = f"{current}, {name}"


def _security_headers(response: Response) -> Response:
    headers = response.headers
    present = {key.lower() for key, _ in headers.items()}
    if "retry-after" in present and response.status_code not in (429, 503):
        del headers["Retry-After"]  # the limiter adds it to every answer
    for name, value in SECURITY_HEADERS:  # what a view or page set first stays
        if name.lower() not in present:
            headers.add(name, value)
    return response


def register(app: Flask) -> None:
    """Add the headers to every answer (pages set their own CSP first)."""
    app.after_request(_security_headers)
