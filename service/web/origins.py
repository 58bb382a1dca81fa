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
from flask import Flask, Response, g, request
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError

from service.data import Comment, Page, Site
from service.data.bounds import MAX_ID
from service.extensions import db
from service.rules import validation
from service.rules.errors import DomainError
from service.sites import origins
from service.web.headers import add_vary
from service.web.requests import UNSAFE_METHODS, asked_site, service_origin

CROSS_SITE_PATHS = ("/api/", "/widget/", "/thread")
# RFC 8058: a mail provider sends the one-click unsubscribe from its servers, with neither
# Origin nor Referer; the link's token is all it needs (a browser always sends Origin).
ONE_CLICK_PATH = "/notify/unsubscribe/"
ALLOW_HEADERS = "Content-Type, X-Parley-Visitor, X-Parley-Edit-Token"
EXPOSE_HEADERS = "Retry-After"
PREFLIGHT_MAX_AGE = "600"


def request_site() -> Site | None:
    """The site a request concerns: the comment's in the path, else the ``site`` parameter."""
    comment_id = (request.view_args or {}).get("comment_id")
    if isinstance(comment_id, int) and 1 <= comment_id <= MAX_ID:
        site = db.session.scalar(
            sa.select(Site)
            .join(Page, Page.site_id == Site.id)
            .join(Comment, Comment.page_id == Page.id)
            .where(Comment.id == comment_id)
        )
        if site is not None:
            return site
    try:
        key = validation.site_key(request.args.get("site") or "default")
    except DomainError:
        return None
    try:  # the page the request names, loaded with its site for the view (one statement)
        page = validation.page_key(request.args["page"]) if "page" in request.args else None
    except DomainError:
        page = None
    try:
        return asked_site(key, page)  # the process's snapshot of the site's current version
    except DomainError:
        return None


def _same_site_form() -> None:
    """A form of the service's own pages (admin, mail links) must come from the service.

    Flask-WTF's own check compares the ``Referer`` with the request's ``Host``, which a
    client or proxy chooses; this one compares the ``Origin`` (else the ``Referer``) with
    ``PARLEY_PUBLIC_URL``. Like Flask-WTF's, it insists on one of them only over HTTPS.
    """
    if request.method not in UNSAFE_METHODS:
        return
    own = service_origin()
    sent = request.headers.get("Origin")
    if sent is None or sent == "null":
        referrer = request.referrer
        sent = origins.origin_of(referrer) if referrer else None
    if sent is None:
        one_click = request.path.startswith(ONE_CLICK_PATH) and (
            request.form.get("List-Unsubscribe") == "One-Click"
        )
        if own.startswith("https:") and not one_click:
            raise CSRFError("The form's page did not say where it came from.")
        return
    if sent != own:
        raise CSRFError("The form was sent from another site.")


def _check() -> None:
    if not request.path.startswith(CROSS_SITE_PATHS):
        _same_site_form()
        return
    origin = request.headers.get("Origin")
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if origin is None and fetch_site is None:
        return  # a non-browser client: nothing to protect, nothing to answer with CORS
    site = request_site()
    allowed = (
        origins.allowed_origins(site, service_origin()) if site is not None else {service_origin()}
    )
    if origin is not None and origin in allowed:
        g.cors_origin = origin
    if request.method not in UNSAFE_METHODS:
        return
    if origin is None:
        if fetch_site == "cross-site":
            raise DomainError(
                "cross_site", _l("Cross-site requests must come from an allowed origin.")
            )
        return
    if origin not in allowed:
        raise DomainError(
            "origin_not_allowed", _l("This site does not allow writes from this origin.")
        )


def _cors(response: Response) -> Response:
    if request.path.startswith(CROSS_SITE_PATHS):
        add_vary(response, "Origin")
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
    own = service_origin()
    return " ".join(
        ["'self'", *sorted(origins.allowed_origins(site, own) - origins.own_origins(own))]
    )


def register(app: Flask) -> None:
    """Check origins before every request and answer CORS after it."""
    # Flask-WTF's own Referer check compares with Host: ours compares with the public URL.
    app.config["WTF_CSRF_SSL_STRICT"] = False
    app.before_request(_check)
    app.after_request(_cors)
