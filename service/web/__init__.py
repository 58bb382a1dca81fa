"""The web layer: one subpackage per blueprint (``api``, ``widgets``, ``admin``, ``notify``)
and what they share: error mapping, request helpers, origin checks and CORS, rate limits,
headers and session cookies. It parses requests, calls the domain with plain values, and
renders answers.
"""

from __future__ import annotations

from flask import Flask, request

from service import database
from service.data import bounds
from service.web import errors, headers, origins
from service.web.requests import UNSAFE_METHODS
from service.web.sessions import ScopedSessionInterface


def _mark_writes() -> None:
    # SQLite: a request that may write takes the write lock when it begins.
    if request.method in UNSAFE_METHODS:
        request.environ["parley.write"] = database.set_write_intent(True)


def _unmark_writes(_exc: BaseException | None) -> None:
    token = request.environ.pop("parley.write", None)
    if token is not None:
        database.reset_write_intent(token)


def register(app: Flask) -> None:
    """What every request shares: sessions, errors, write intent, origins, headers."""
    app.session_interface = ScopedSessionInterface()
    app.jinja_env.globals["bounds"] = bounds
    errors.register(app)
    app.before_request(_mark_writes)
    origins.register(app)  # after _mark_writes: its reads join the write transaction
    app.teardown_request(_unmark_writes)
    headers.register(app)
