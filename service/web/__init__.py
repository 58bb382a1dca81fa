"""The web layer: one subpackage per blueprint (``api``, ``widgets``, ``admin``, ``notify``,
``ops``) and what they share: error mapping, request helpers, origin checks and CORS, rate
limits, headers, session cookies and metrics. It parses requests, calls the domain with plain
values, and renders answers.
"""

from __future__ import annotations

from flask import Flask, current_app, request
from werkzeug.exceptions import RequestEntityTooLarge

from service.data import bounds
from service.web import access, cache, compress, errors, front, headers, limits, metrics, origins
from service.web.requests import UNSAFE_METHODS, external_url
from service.web.sessions import ScopedSessionInterface

# Uploads streamed to a temporary file, under a limit of their own, instead of read whole.
STREAMED_UPLOADS = {"admin.import_upload": "PARLEY_IMPORT_MAX_BYTES"}


def _read_body_first() -> None:
    # The whole body is in memory before any lookup (bounded by MAX_CONTENT_LENGTH: 413), so
    # a client that trickles it holds a thread, never a transaction or the write lock.
    if request.method not in UNSAFE_METHODS:
        return
    if request.endpoint in STREAMED_UPLOADS:
        request.max_content_length = int(current_app.config[STREAMED_UPLOADS[request.endpoint]])
        return
    data = request.get_data(cache=True)
    limit = request.max_content_length
    if limit is not None and request.content_length is None and len(data) >= limit:
        # A streamed (chunked) body is cut at the limit rather than refused: refuse it as a
        # sized one would be, instead of reading a truncated body.
        raise RequestEntityTooLarge()


def register(app: Flask) -> None:
    """What every request shares: sessions, errors, the body read first, origins, headers."""
    app.session_interface = ScopedSessionInterface()
    compress.register(app)  # first registered, so it runs last, on the finished answer
    cache.init_app(app)  # public reads: service.web.cache
    app.jinja_env.globals.update(bounds=bounds, external_url=external_url)
    errors.register(app)
    metrics.register(app)  # every request counted, errors too (GET /metrics)
    app.before_request(_read_body_first)
    origins.register(app)  # after the body is read: its lookups are a read transaction
    headers.register(app)
    app.after_request(limits.refund_unstored)
    # Kept public answers replayed before Flask is entered (service.web.front); outermost,
    # around the proxy handling too: one access line per request, no personal data.
    app.wsgi_app = access.AccessLog(  # type: ignore[method-assign]
        front.FrontCache(app.wsgi_app, app), int(app.config["PARLEY_TRUSTED_PROXIES"])
    )
