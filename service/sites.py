"""Sites and pages: lookup, creation on first sight, allowed origins."""

from __future__ import annotations

from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError

from .errors import ApiError
from .extensions import db
from .models import Page, Site


def origin_of(url: str) -> str:
    """The origin (scheme://host[:port]) of an absolute URL, lowercased."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    default_port = {"http": 80, "https": 443}.get(parts.scheme.lower())
    port = "" if parts.port in (None, default_port) else f":{parts.port}"
    return f"{parts.scheme.lower()}://{host}{port}"


def get_site(key: str) -> Site:
    """The site with this key, or a 404 API error."""
    site = db.session.scalar(sa.select(Site).where(Site.key == key))
    if site is None:
        raise ApiError(404, "site_not_found", f"There is no site {key!r} on this service.")
    return site


def find_page(site: Site, key: str) -> Page | None:
    """The page with this key, or None if nobody has commented or rated there yet."""
    return db.session.scalar(sa.select(Page).where(Page.site_id == site.id, Page.key == key))


def get_or_create_page(
    site: Site, key: str, *, title: str | None, url: str | None, service_origin: str
) -> Page:
    """The page, created on first sight with a title and URL from an allowed origin only."""
    page = find_page(site, key)
    if page is not None:
        return page
    allowed = {*site.origins, service_origin}
    if url is None or origin_of(url) not in allowed:
        title = url = None  # metadata from an unknown origin is not believed
    try:
        with db.session.begin_nested():
            page = Page(site_id=site.id, key=key, title=title, url=url)
            db.session.add(page)
    except IntegrityError:  # created meanwhile by a concurrent first post
        page = find_page(site, key)
        assert page is not None
    return page


def ensure_default_site() -> Site:
    """Create the ``default`` site if it is missing; keep its configured origins current."""
    site = db.session.scalar(sa.select(Site).where(Site.key == "default"))
    origins = list(current_app.config["PARLEY_ALLOWED_ORIGINS"])
    if site is None:
        site = Site(
            key="default",
            name="Default site",
            moderation=current_app.config["PARLEY_MODERATION"],
            edit_window=current_app.config["PARLEY_EDIT_WINDOW"],
        )
        site.origins = origins
        db.session.add(site)
    elif origins and not set(origins) <= set(site.origins):
        site.origins = [*site.origins, *origins]
    db.session.commit()
    return site
