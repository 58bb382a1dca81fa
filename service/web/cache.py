"""Public reads from a shared cache, conditional and compressed.

A public read (a thread, its fragments, a rating summary, counts) is the same for every
visitor. Its answer is stored under a key made of the versions of what it shows (the
site's and each page's, ``service.data.versions``, read in one small query) and of every
parameter that changes it, and carries an ``ETag`` made from that key: a client or proxy
holding it gets 304 without a comment row being read or a template rendered. Each write
that changes what readers see replaces a version in its own transaction, so every worker's
next read has a new key: nothing is ever deleted from the cache, old answers age out.

The cache is Flask-Caching's: in-process and bounded (``SimpleCache``, ``CACHE_THRESHOLD``
answers) by default, Redis with ``PARLEY_REDIS_URL``. Keys also hold a stamp of the code
and templates, the public URL and the settings that shape answers, so a new release or
another configuration never serves what an older one stored. Each answer is stored in its
br and gzip forms, compressed once: about 10 KB for a 100-comment thread.

A page's closing time passes without a write: the stamp also holds where each page stands
with it (``data.stamps``), so the key changes when it passes, and answers made in its last
minute are marked to be revalidated every time (``REVALIDATE``), so no copy outlives it.

Answers that depend on the visitor never go through here as shared answers: ``personal``
gives such a caller the public body with ``Cache-Control: private, no-store`` and no
``ETag``.
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from functools import cache as once
from pathlib import Path
from typing import Any

from flask import Flask, Response, current_app, request
from flask_caching import Cache

from service.data import stamps, versions
from service.data.bounds import LANGUAGE_MAX, LANGUAGE_PATTERN
from service.rules import visitors
from service.sites.lookup import get_site
from service.web import compress, front, metrics
from service.web.headers import add_vary

log = logging.getLogger(__name__)

cache = Cache()

MAX_AGE = 10  # seconds a browser or proxy may reuse an answer without asking
STALE = 30  # and serve it stale while it asks again in the background
PUBLIC = f"public, max-age={MAX_AGE}, stale-while-revalidate={STALE}"
# A page whose comments close within stamps.CLOSING_SOON seconds: its answers are kept, but
# never reused without asking, so none outlives the closing time (docs/decisions.md).
REVALIDATE = "public, max-age=0, must-revalidate"
assert MAX_AGE + STALE < stamps.CLOSING_SOON
PRIVATE = "private, no-store"
ROOT = Path(__file__).resolve().parents[2]
# The settings that shape public answers besides the stored rows.
SHAPING = (
    "PARLEY_PUBLIC_URL",
    "PARLEY_ALLOWED_ORIGINS",
    "PARLEY_REPLIES_PER_PARENT",
    "PARLEY_PAGE_SIZE",
)


@once
def code_stamp() -> str:
    """A hash of the service's code and templates: answers stored by another release never
    match."""
    digest = hashlib.sha256()
    for folder in ("service", "templates"):
        for path in sorted((ROOT / folder).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                digest.update(str(path.relative_to(ROOT)).encode() + b"\0")
                digest.update(path.read_bytes())
    return digest.hexdigest()


# Flask-Caching's settings, unless the configuration gives them: Redis where
# PARLEY_REDIS_URL gave CACHE_REDIS_URL, else in this process and bounded.
SETTINGS: dict[str, Any] = {
    "CACHE_THRESHOLD": 1000,  # answers kept per process, about 10 KB each at most sizes
    "CACHE_DEFAULT_TIMEOUT": 60 * 60,  # answers of old versions age out
    "CACHE_KEY_PREFIX": "parley:",
}


def init_app(app: Flask) -> None:
    """Attach the cache: its namespace (code, public URL, shaping settings) and counters."""
    app.config.setdefault(
        "CACHE_TYPE", "RedisCache" if app.config.get("CACHE_REDIS_URL") else "SimpleCache"
    )
    for name, value in SETTINGS.items():
        app.config.setdefault(name, value)
    cache.init_app(app)
    shaping = [str(app.config.get(name)) for name in SHAPING]
    app.extensions["parley_cache"] = {
        "namespace": hashlib.sha256("\n".join([code_stamp(), *shaping]).encode()).hexdigest(),
        "stats": Counter(),
    }


def stats(app: Flask | None = None) -> Counter[str]:
    """How public reads were answered: ``hit``, ``miss``, ``not_modified`` (304)."""
    found: Counter[str] = (app or current_app).extensions["parley_cache"]["stats"]
    return found


def lang() -> str | None:
    """The ``lang`` parameter, when it is a language tag (anything else is ignored)."""
    value = request.args.get("lang") or ""
    if len(value) > LANGUAGE_MAX or not re.fullmatch(LANGUAGE_PATTERN, value):
        return None
    return value.lower()


def _key(kind: str, stamp: versions.Stamp, params: Iterable[Any]) -> str:
    namespace = current_app.extensions["parley_cache"]["namespace"]
    parts = [namespace, kind, f"{stamp.site_id}.{stamp.site_version}"]
    parts += [repr(page) for page in stamp.pages]  # (key, (id, version) or None)
    parts.append(repr(stamp.closing))  # closing times pass without a write
    parts += [repr(value) for value in params]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def _stored(response: Response) -> dict[str, Any]:
    """What the cache keeps of an answer: its br and gzip forms only (a tenth of its size;
    the rare client that takes neither gets the gzip form unpacked), or a small one as is."""
    body = response.get_data()
    entry: dict[str, Any] = {"mimetype": response.mimetype}
    if len(body) >= compress.MIN_SIZE and compress.is_text(response.mimetype):
        for coding in compress.CODINGS:
            entry[coding] = compress.encode(body, coding)
    else:
        entry["body"] = body
    return entry


def _fetch(key: str, render: Callable[[], Response]) -> dict[str, Any]:
    counted = stats()
    try:
        entry = cache.get(key)
    except Exception:  # an unreachable Redis costs speed, never an answer
        log.warning("cache unavailable: reading without it", exc_info=True)
        entry = None
    if isinstance(entry, dict):
        counted["hit"] += 1
        metrics.cache_event(True)
        return entry
    counted["miss"] += 1
    metrics.cache_event(False)
    entry = _stored(render())
    try:
        cache.set(key, entry)
    except Exception:
        log.warning("cache unavailable: answer not stored", exc_info=True)
    return entry


def _answer(entry: dict[str, Any]) -> Response:
    codings = tuple(c for c in compress.CODINGS if c in entry)
    coding = compress.chosen(codings) if codings else None
    if coding:
        response = Response(entry[coding], mimetype=entry["mimetype"])
        response.headers["Content-Encoding"] = coding
        return response
    body = entry["body"] if "body" in entry else gzip.decompress(entry["gzip"])
    return Response(body, mimetype=entry["mimetype"])


def personal_answer(response: Response) -> Response:
    """An answer for one visitor: kept by nobody, and said to vary with their key."""
    response.headers["Cache-Control"] = PRIVATE
    add_vary(response, visitors.HEADER)
    return response


class PublicRead:
    """One public read: its kind, the site and pages it shows, the parameters that change it,
    and the request headers its answer varies with besides ``Accept-Encoding``."""

    def __init__(
        self,
        kind: str,
        site: str,
        pages: Sequence[str],
        params: Iterable[Any] = (),
        vary: Iterable[str] = (),
    ) -> None:
        found = versions.stamp(site, pages)
        if found is None:
            get_site(site)  # site_not_found
            raise AssertionError(site)  # pragma: no cover  (get_site raised)
        self.key = _key(kind, found, params)
        self.etag = self.key[:32]
        self.vary = tuple(vary)
        self.site, self.pages, self.stamp = site, tuple(pages), found

    def shared(self, render: Callable[[], Response]) -> Response:
        """The answer for everyone: from the cache (``render`` on a miss), with the ETag and
        a Cache-Control proxies can use; 304 when the client holds it already."""
        if request.if_none_match.contains_weak(self.etag):
            stats()["not_modified"] += 1
            response = Response(status=304)
        else:
            response = _answer(_fetch(self.key, render))
        response.set_etag(self.etag, weak=True)
        closing = stamps.CLOSING in self.stamp.closing
        response.headers["Cache-Control"] = REVALIDATE if closing else PUBLIC
        # A 304 carries what the 200 would: one Vary for every size of answer.
        for header in ("Accept-Encoding", *self.vary):
            add_vary(response, header)
        # The finished answer may be replayed for the same request (service.web.front).
        request.environ[front.MARK] = front.Mark(
            self.site, self.pages, self.stamp, self.etag, request.endpoint or ""
        )
        return response

    def personal(self, render: Callable[[], Response]) -> Response:
        """The same body for a caller whose answer depends on who they are (a visitor key,
        a POST): from the cache, never marked for anyone else to keep."""
        response = _answer(_fetch(self.key, render))
        response.headers["Cache-Control"] = PRIVATE
        for header in ("Accept-Encoding", *self.vary):
            add_vary(response, header)
        return response
