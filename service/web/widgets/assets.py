"""The loader and the widget's assets.

``/embed.js`` is the one URL host pages put in their HTML, so it changes
name never: it is served with a short max-age and an ETag, compressed, so
sites get fixes within minutes. Everything it loads has the content's hash in
its URL and is cached for a year.
"""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from flask import Response, abort, request
from flask.blueprints import BlueprintSetupState

from service.web.requests import external_url
from service.web.widgets import bp

STATIC = Path(__file__).resolve().parents[2] / "static"
VERSIONED = ("widget.css", "demo.css", "admin.css")
LOADER_MAX_AGE = 300
CSS_PLACEHOLDER = "__PARLEY_CSS_URL__"


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
FILES = (*VERSIONED, "embed.min.js")
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


@lru_cache(maxsize=LOADERS_KEPT)
def _loader_for(css_url: str) -> Asset:
    # The minified build (``make embed``) of the readable embed.js, told where its CSS is.
    source = versioned("embed.min.js").body.decode()
    return _asset(source.replace(CSS_PLACEHOLDER, css_url).encode(), "text/javascript")


def _loader() -> Asset:
    return _loader_for(asset_url("widget.css"))


def _send(asset: Asset, cache_control: str) -> Response:
    if request.if_none_match.contains(asset.etag):
        response = Response(status=304)
    elif "gzip" in request.headers.get("Accept-Encoding", ""):
        response = Response(asset.gzipped, mimetype=asset.mimetype)
        response.headers["Content-Encoding"] = "gzip"
    else:
        response = Response(asset.body, mimetype=asset.mimetype)
    response.set_etag(asset.etag)
    response.vary.add("Accept-Encoding")
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
    return _send(found, "public, max-age=31536000, immutable")


@bp.record_once
def _template_global(state: BlueprintSetupState) -> None:
    """Make ``asset_url`` available to every template."""
    state.app.jinja_env.globals["asset_url"] = asset_url
