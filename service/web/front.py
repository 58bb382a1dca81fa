"""The front of the cache: finished public answers replayed before Flask is entered.

A public read is the same for everyone until a version it depends on changes
(``service.web.cache``). Once Flask has answered one, this middleware keeps the finished
answer (status, headers and body, exactly as they left the application) under a key made
of the request's method, path, raw query and the two request headers public answers vary
with (``Accept-Encoding`` and ``Origin``), together with the versions the answer was made
from and the site and pages to read them again for. The next identical request reads those
versions (one small indexed query, ``service.data.versions``) and, while they are still the
same, gets the kept answer, or 304 when it holds the answer's ``ETag``, without a request
context, a session or a view. Any write in between has replaced a version, so the request
goes on to Flask, whose answer replaces the kept one: what every worker serves is never
older than the last write. The stamp also holds each page's closing phase (``data.stamps``):
an answer made while a page was open is not replayed once its closing time has passed.

Nothing here parses or checks a request: only answers Flask made for the very same method,
path, query and headers are replayed, so every check, default and error stays in the views.
Kept are only answers a view marked as shared (``PublicRead.shared``), with
``Cache-Control`` public, no cookie, and a ``Vary`` this key covers. Requests with a
cookie or a visitor key, anything but ``GET``, and oversized headers go straight to Flask.

The entries live in the same Flask-Caching store as the rest of the cache (in-process and
bounded, or Redis), under keys of their own. An unreachable store or database costs this
shortcut, never an answer: the request goes on to Flask, which answers it or says 503.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from cachelib import SimpleCache
from flask import Flask
from sqlalchemy.engine import Engine
from werkzeug.datastructures import Headers
from werkzeug.http import is_entity_header, parse_etags

from service.data import versions
from service.extensions import db
from service.web import metrics

log = logging.getLogger(__name__)

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

MARK = "parley.front"  # the environ entry a shared public read leaves for this middleware
KEYED_HEADERS = ("HTTP_ACCEPT_ENCODING", "HTTP_ORIGIN")
# Vary names a kept answer may carry: the keyed headers, and the two whose presence sends
# a request past this middleware.
COVERED_VARY = {"accept-encoding", "origin", "x-parley-visitor", "cookie"}
PERSONAL_HEADERS = ("HTTP_COOKIE", "HTTP_X_PARLEY_VISITOR", "HTTP_AUTHORIZATION")
MAX_KEYED = 2048  # bytes of path, query and keyed headers; longer requests are not kept
MAX_BODY = 512 * 1024  # bytes; larger answers are not kept
STATUS_TEXT = {200: "200 OK", 304: "304 NOT MODIFIED"}
LOCAL_ENTRIES = 500  # kept in each process besides a shared store


@dataclass(frozen=True)
class Mark:
    """What a view's shared public read tells this middleware about its answer."""

    site: str
    pages: tuple[str, ...]
    stamp: versions.Stamp
    etag: str
    endpoint: str


@dataclass(frozen=True)
class Entry:
    """A kept answer: what to check before replaying it, and the answer itself (``body`` is
    None when Flask answered 304, so only a conditional request can be answered from it)."""

    site: str
    pages: tuple[str, ...]
    stamp: versions.Stamp
    etag: str
    endpoint: str
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes | None


def _request_key(environ: dict[str, Any], namespace: str) -> str | None:
    parts = [
        namespace,
        str(environ.get("SCRIPT_NAME", "")),
        str(environ.get("PATH_INFO", "")),
        str(environ.get("QUERY_STRING", "")),
        *(str(environ.get(name, "")) for name in KEYED_HEADERS),
    ]
    if sum(len(part) for part in parts) > MAX_KEYED + len(namespace):
        return None
    return "front:" + hashlib.sha256("\0".join(parts).encode()).hexdigest()


def _kept_in_304(name: str) -> bool:
    # werkzeug.http.remove_entity_headers's rule, which Werkzeug applies to a 304.
    return not is_entity_header(name) or name.lower() in ("expires", "content-location")


def _keepable(status: int, headers: Headers) -> bool:
    """An answer a view marked shared that may be replayed to anyone asking the same."""
    if status not in STATUS_TEXT or "Set-Cookie" in headers:
        return False
    if not headers.get("Cache-Control", "").startswith("public"):
        return False
    vary = {name.strip().lower() for name in headers.get("Vary", "").split(",") if name.strip()}
    return vary <= COVERED_VARY


class FrontCache:
    """WSGI middleware between the access log and Flask (``service.web.register``)."""

    def __init__(self, app: WSGIApp, flask_app: Flask) -> None:
        self.app = app
        self.flask_app = flask_app
        self._engine: Engine | None = None
        # Where the store is shared (Redis), the entries last used are also kept here: an
        # entry is checked against the versions whichever copy it is, so a local one saves
        # the round trip and can never serve what the versions rule out.
        self._local: SimpleCache | None = None
        if not isinstance(self._store(), SimpleCache):  # the cache is attached before this
            self._local = SimpleCache(threshold=LOCAL_ENTRIES, default_timeout=0)

    def engine(self) -> Engine:
        if self._engine is None:
            with self.flask_app.app_context():
                self._engine = db.engine
        return self._engine

    def _store(self) -> Any:
        backend = self.flask_app.extensions["cache"]
        return next(iter(backend.values()))

    def _entry(self, key: str) -> Entry | None:
        """The kept entry, from this process's copy while it matches the versions, else
        from the store (a write since: one more query, right after writes only)."""
        local = self._local.get(key) if self._local is not None else None
        if isinstance(local, Entry) and self._current(local):
            return local
        shared = self._store().get(key)
        if not isinstance(shared, Entry) or not self._current(shared):
            return None
        if self._local is not None:
            self._local.set(key, shared)
        return shared

    def _current(self, entry: Entry) -> bool:
        return versions.stamp_on(self.engine(), entry.site, entry.pages) == entry.stamp

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") != "GET" or any(
            environ.get(name) for name in PERSONAL_HEADERS
        ):
            return self.app(environ, start_response)
        key = _request_key(environ, self.flask_app.extensions["parley_cache"]["namespace"])
        if key is None:
            return self.app(environ, start_response)
        answered = self._replay(key, environ, start_response)
        if answered is not None:
            return answered
        return self._through(key, environ, start_response)

    def _replay(
        self, key: str, environ: dict[str, Any], start_response: StartResponse
    ) -> Iterable[bytes] | None:
        started = time.perf_counter()
        try:
            entry = self._entry(key)
        except Exception:  # the store or the database: Flask answers, or says 503
            log.debug("front cache unavailable", exc_info=True)
            return None
        if entry is None:
            return None
        conditional = environ.get("HTTP_IF_NONE_MATCH")
        if conditional and parse_etags(conditional).contains_weak(entry.etag):
            # What Werkzeug sends with a 304: the answer's headers but the entity ones.
            headers = [(name, value) for name, value in entry.headers if _kept_in_304(name)]
            status, body = 304, b""
            self._count("not_modified")
        elif entry.body is None:
            return None
        else:
            headers, status, body = list(entry.headers), entry.status, entry.body
            self._count("hit")
            metrics.cache_event(True, "front")
        start_response(STATUS_TEXT[status], headers)
        metrics.observe(entry.endpoint, "GET", status, time.perf_counter() - started)
        return [body]

    def _count(self, result: str) -> None:
        self.flask_app.extensions["parley_cache"]["stats"][result] += 1

    def _through(
        self, key: str, environ: dict[str, Any], start_response: StartResponse
    ) -> Iterable[bytes]:
        answer: dict[str, Any] = {}

        def recording(status: str, headers: list[tuple[str, str]], *args: Any) -> Any:
            answer["status"], answer["headers"] = status, headers
            return start_response(status, headers, *args)

        body = self.app(environ, recording)
        mark: Mark | None = environ.get(MARK)
        if mark is None or "status" not in answer:
            return body
        status = int(answer["status"].split(" ", 1)[0])
        headers = Headers(answer["headers"])
        if not _keepable(status, headers):
            return body
        try:
            data = b"".join(body)
        finally:
            close = getattr(body, "close", None)
            if close is not None:
                close()
        if len(data) <= MAX_BODY:
            entry = Entry(
                mark.site,
                mark.pages,
                mark.stamp,
                mark.etag,
                mark.endpoint,
                status,
                tuple((name, value) for name, value in headers if name.lower() != "date"),
                data if status == 200 else None,
            )
            if self._local is not None:
                self._local.set(key, entry)
            try:
                self._store().set(key, entry)
            except Exception:
                log.debug("front cache unavailable: answer not kept", exc_info=True)
        return [data]
