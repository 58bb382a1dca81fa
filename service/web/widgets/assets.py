"""The loader and the widget's assets.

``/embed.js`` is the one URL host pages put in their HTML, so it changes
name never: it is served with a short max-age and an ETag, compressed, so
sites get fixes within minutes. Everything it loads has the content's hash in
its URL and is cached for a year: the stylesheet, and the chunks of its code
that not every page needs (``embed-NAME.js``, loaded on first use from
``/embed/NAME.HASH.js``), whose URLs the loader is given when it is served.
"""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from flask import Response, abort, request
from flask.blueprints import BlueprintSetupState

from service.web.headers import add_vary
from service.web.requests import external_url
from service.web.widgets import bp

STATIC = Path(__file__).resolve().parents[2] / "static"
VERSIONED = ("widget.css", "demo.css", "admin.css")
LOADER_MAX_AGE = 300
CSS_PLACEHOLDER = "__PARLEY_CSS_URL__"
IMMUTABLE = "public, max-age=31536000, immutable"
# The loader's chunks: service/static/embed-NAME.min.js (built by `make embed` from
# embed-NAME.js), named in the loader by a placeholder the server replaces with its URL.
CHUNKS = ("live", "report")
CHUNK_PLACEHOLDER = "__PARLEY_CHUNK_{}__"


def chunk_file(name: str) -> str:
    """The minified file of a chunk."""
    return f"embed-{name}.min.js"


@dataclass(frozen=True)
class Asset:
    """One file's bytes, compressed bytes and content hash."""

    body: bytes
    gzipped: bytes
    etag: str
    mimetype: str


def _asset(body: bytes, mimetype: str) -> Asset:
    digest = hashlib.sha256(body).hexdigest()[:16]
    return Asset(body, gzip.compress(body, compresslevel=9, mtime=0), digest, mimetype)


def _read(name: str) -> Asset:
    mimetype = "text/css" if name.endswith(".css") else "text/javascript"
    return _asset((STATIC / name).read_bytes(), mimetype)


# Every cache here has a fixed bound: the asset files are a fixed set, and the loader is
# built once per public address (one per app; a few in a test process).
FILES = (*VERSIONED, "embed.min.js", *(chunk_file(name) for name in CHUNKS))
LOADERS_KEPT = 4


@lru_cache(maxsize=len(FILES))
def versioned(name: str) -> Asset:
    """A static asset by name, read once per process."""
    if name not in FILES:
        raise KeyError(name)
    return _read(name)


def asset_url(name: str) -> str:
    """The absolute, versioned URL of an asset (long-cached, changes with its content)."""
    return external_url("widgets.asset", version=versioned(name).etag, name=name)


def chunk_url(name: str) -> str:
    """The absolute, versioned URL of one of the loader's chunks."""
    return external_url("widgets.chunk", name=name, version=versioned(chunk_file(name)).etag)


@lru_cache(maxsize=LOADERS_KEPT)
def _loader_for(css_url: str, chunk_urls: tuple[str, ...]) -> Asset:
    # The minified build (``make embed``) of the readable embed.js, told where its CSS and
    # its chunks are.
    source = versioned("embed.min.js").body.decode().replace(CSS_PLACEHOLDER, css_url)
    for name, url in zip(CHUNKS, chunk_urls, strict=True):
        source = source.replace(CHUNK_PLACEHOLDER.format(name), url)
    return _asset(source.encode(), "text/javascript")


def _loader() -> Asset:
    return _loader_for(asset_url("widget.css"), tuple(chunk_url(name) for name in CHUNKS))


def _send(asset: Asset, cache_control: str) -> Response:
    if request.if_none_match.contains(asset.etag):
        response = Response(status=304)
    elif "gzip" in request.headers.get("Accept-Encoding", ""):
        response = Response(asset.gzipped, mimetype=asset.mimetype)
        response.headers["Content-Encoding"] = "gzip"
    else:
        response = Response(asset.body, mimetype=asset.mimetype)
    response.set_etag(asset.etag)
    add_vary(response, "Accept-Encoding")
    response.headers["Cache-Control"] = cache_control
    # Loaded by pages on other sites: they may read it, nothing more.
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response


@bp.get("/embed.js")
def embed_js() -> Response:
    """The loader: one script tag per host page."""
    return _send(_loader(), f"public, max-age={LOADER_MAX_AGE}")


@bp.get("/assets/<version>/<name>")
def asset(version: str, name: str) -> Response:
    """A versioned asset; an old version's URL answers 404 rather than new content."""
    if name not in VERSIONED:
        abort(404)
    found = versioned(name)
    if version != found.etag:
        abort(404)
    return _send(found, IMMUTABLE)


@bp.get("/embed/<name>.<version>.js")
def chunk(name: str, version: str) -> Response:
    """A chunk of the loader's code, loaded on first use: long-cached like the other
    versioned assets, and an old version's URL answers 404 too."""
    if name not in CHUNKS:
        abort(404)
    found = versioned(chunk_file(name))
    if version != found.etag:
        abort(404)
    return _send(found, IMMUTABLE)


@bp.record_once
def _template_global(state: BlueprintSetupState) -> None:
    """Make ``asset_url`` available to every template."""
    state.app.jinja_env.globals["asset_url"] = asset_url
