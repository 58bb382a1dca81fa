"""Sites and pages: lookup, and creation of a page on first sight."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import cast

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import make_transient_to_detached

from service.data import Page, Site, versions
from service.extensions import db
from service.rules.errors import DomainError
from service.rules.validation import like_pattern
from service.sites.origins import allowed_origins, origin_of

SNAPSHOTS = 64  # sites whose rows each process keeps, by version


def get_site(key: str) -> Site:
    """The site with this key; ``site_not_found`` when there is none.

    Every request that posts or votes asks this. The site's id and version are read in one
    small query (``versions.stamp``); the row itself comes from this process's snapshot of
    that version when it has one (merged into the session without a query), else it is
    read and kept. Every change of a site's row gives it a new version (``versions``), so a
    snapshot is never older than the row.
    """
    found = versions.stamp(key, ())
    if found is None:
        raise DomainError("site_not_found", f"There is no site {key!r} on this service.")
    present = db.session.identity_map.get(sa.orm.util.identity_key(Site, found.site_id))
    if present is not None:
        return cast(Site, present)
    snapshots = _snapshots()
    with snapshots.lock:
        snapshot = snapshots.sites.get((found.site_id, found.site_version))
    if snapshot is not None:
        return db.session.merge(snapshot, load=False)
    site = db.session.get(Site, found.site_id)
    if site is None:
        raise DomainError("site_not_found", f"There is no site {key!r} on this service.")
    if site.version == found.site_version:
        snapshots.keep((site.id, site.version), _detached_copy(site))
    return site


class _Snapshots:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.sites: OrderedDict[tuple[int, int], Site] = OrderedDict()

    def keep(self, key: tuple[int, int], site: Site) -> None:
        with self.lock:
            self.sites[key] = site
            while len(self.sites) > SNAPSHOTS:
                self.sites.popitem(last=False)


def _snapshots() -> _Snapshots:
    found = current_app.extensions.get("parley_sites")
    if found is None:
        found = current_app.extensions.setdefault("parley_sites", _Snapshots())
    return cast(_Snapshots, found)


def _detached_copy(site: Site) -> Site:
    """A copy of the row's columns, not in any session, that ``merge(load=False)`` takes."""
    columns = sa.inspect(Site).column_attrs
    copy = Site(**{column.key: getattr(site, column.key) for column in columns})
    make_transient_to_detached(copy)
    return copy


# Built once: every post and vote asks it.
_FIND_PAGE = sa.select(Page).where(
    Page.site_id == sa.bindparam("site_id"), Page.key == sa.bindparam("page_key")
)


def find_page(site: Site, key: str) -> Page | None:
    """The page with this key, or None if nobody has commented or rated there yet."""
    return db.session.scalar(_FIND_PAGE, {"site_id": site.id, "page_key": key})


def get_or_create_page(
    site: Site, key: str, *, title: str | None, url: str | None, service_origin: str
) -> Page:
    """The page, created on first sight with a title and URL from an allowed origin only."""
    page = find_page(site, key)
    if page is not None:
        return page
    if url is None or origin_of(url) not in allowed_origins(site, service_origin):
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


def pages_of(site: Site, search: str, offset: int, limit: int = 50) -> tuple[list[Page], bool]:
    """A site's pages, newest first, whose id contains ``search``; and whether more follow."""
    query = sa.select(Page).where(Page.site_id == site.id)
    if search:
        query = query.where(Page.key.like(like_pattern(search), escape="\\"))
    found = list(
        db.session.scalars(
            query.order_by(Page.created.desc(), Page.id.desc()).offset(offset).limit(limit + 1)
        )
    )
    return found[:limit], len(found) > limit
