"""Cross-site rules: which origins may write, CORS answers, and framing.

A write whose ``Origin`` is present and not one of the site's allowed origins
(or the service's own) is refused, as is a browser request marked cross-site
without an ``Origin``. A request with no ``Origin`` at all is a non-browser
client: allowed, under rate limits and the site's moderation policy. CORS
headers are sent only to an allowed origin. Origin checks keep browsers from
being used against a visitor; spam is the job of the limits and rules.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask, Response, current_app, g, request

from .errors import ApiError
from .extensions import db
from .models import Comment, Page, Site

UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CROSS_SITE_PATHS = ("/api/", "/widget/", "/thread")
ALLOW_HEADERS = "Content-Type, X-Parley-Visitor, X-Parley-Edit-Token"
EXPOSE_HEADERS = "Retry-After"
PREFLIGHT_MAX_AGE = "600"


def service_origin() -> str:
    return request.host_url.rstrip("/")


def allowed_origins(site: Site) -> set[str]:
    """The origins that may embed and write to a site, the service's own included."""
    origins = {*site.origins, service_origin()}
    if site.key == "default":
        origins.update(current_app.config["PARLEY_ALLOWED_ORIGINS"])
    return origins


def request_site() -> Site | None:
    """The site a request concerns: the comment's in the path, else the ``site`` parameter."""
    comment_id = (request.view_args or {}).get("comment_id")
    if isinstance(comment_id, int) and 1 <= comment_id < 2**31:
        site = db.session.scalar(
            sa.select(Site)
            .join(Page, Page.site_id == Site.id)
            .join(Comment, Comment.page_id == Page.id)
            .where(Comment.id == comment_id)
        )
        if site is not None:
            return site
    key = request.args.get("site") or "default"
    if len(key) > 64:
        return None
    return db.session.scalar(sa.select(Site).where(Site.key == key))


def _check() -> None:
    if not request.path.startswith(CROSS_SITE_PATHS):
        return
    origin = request.headers.get("Origin")
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if origin is None and fetch_site is None:
        return  # a non-browser client: nothing to protect, nothing to answer with CORS
    site = request_site()
    allowed = allowed_origins(site) if site is not None else {service_origin()}
    if origin is not None and origin in allowed:
        g.cors_origin = origin
    if request.method not in UNSAFE:
        return
    if origin is None:
        if fetch_site == "cross-site":
            raise ApiError(
                403, "cross_site", "Cross-site requests must come from an allowed origin."
            )
        return
    if origin not in allowed:
        raise ApiError(
            403, "origin_not_allowed", "This site does not allow writes from this origin."
        )


def _cors(response: Response) -> Response:
    if request.path.startswith(CROSS_SITE_PATHS):
        response.vary.add("Origin")
    origin = g.get("cors_origin")
    if not origin:
        return response
    response.headers["Access-Control-Allow-Origin"] = origin
    response.headers["Access-Control-Expose-Headers"] = EXPOSE_HEADERS
    if request.method == "OPTIONS":
        response.headers["Access-Control-Allow-Methods"] = "GET, POST, PUT, PATCH, DELETE"
        response.headers["Access-Control-Allow-Headers"] = ALLOW_HEADERS
        response.headers["Access-Control-Max-Age"] = PREFLIGHT_MAX_AGE
    return response


def frame_ancestors(site: Site) -> str:
    """The CSP frame-ancestors of a site's standalone page: itself and its allowed origins."""
    return " ".join(["'self'", *sorted(allowed_origins(site) - {service_origin()})])


def register(app: Flask) -> None:
    """Check origins before every request and answer CORS after it."""
    app.before_request(_check)
    app.after_request(_cors)
