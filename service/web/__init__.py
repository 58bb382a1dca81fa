"""The web layer: one subpackage per blueprint (``api``, ``widgets``, ``admin``, ``notify``)
and what they share: error mapping, request helpers, origin checks and CORS, rate limits,
headers and session cookies. It parses requests, calls the domain with plain values, and
renders answers.
"""

from __future__ import annotations

from flask import Flask, request

from service.data import bounds
from service.web import errors, headers, origins
from service.web.requests import UNSAFE_METHODS
from service.web.sessions import ScopedSessionInterface


def _read_body_first() -> None:
    # The whole body is in memory before any lookup (bounded by MAX_CONTENT_LENGTH: 413), so
    # a client that trickles it holds a thread, never a transaction or the write lock.
    if request.method in UNSAFE_METHODS:
        request.get_data(cache=True)


def register(app: Flask) -> None:
    """What every request shares: sessions, errors, the body read first, origins, headers."""
    app.session_interface = ScopedSessionInterface()
    app.jinja_env.globals["bounds"] = bounds
    errors.register(app)
    app.before_request(_read_body_first)
    origins.register(app)  # after the body is read: its lookups are a read transaction
    headers.register(app)
