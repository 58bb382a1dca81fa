"""Security headers shared by every page the service serves."""

from __future__ import annotations


def page_csp(frame_ancestors: str) -> str:
    """The Content-Security-Policy of a service page: no inline script, no foreign code."""
    return (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        f"frame-ancestors {frame_ancestors}; base-uri 'none'; form-action 'self'; "
        "object-src 'none'"
    )
