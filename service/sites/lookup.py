"""Sites and pages: lookup, and creation of a page on first sight."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, cast

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import make_transient_to_detached

from service.data import Page, Site, versions
from service.extensions import db
from service.rules.errors import DomainError
from service.rules.validation import like_pattern
from service.sites.origins import allowed_origins, origin_of

SNAPSHOTS = 64  # sites whose rows each process keeps, by version


# Built once: a site's id and version, and one of its pages, in one query (every post and
# vote asks it). Table columns, not entities: the ORM's loading of a selected entity costs
# more than the query, so the page is built from the row (``_page_from``).
_SITE_TABLE, _PAGE_TABLE = Site.__table__, Page.__table__
_PAGE_ATTRIBUTES = tuple((attr.key, attr.columns[0]) for attr in sa.inspect(Page).column_attrs)
_SITE_AND_PAGE = (
    sa.select(
        _SITE_TABLE.c.id,
        _SITE_TABLE.c.version,
        *(column.label(f"page_{key}") for key, column in _PAGE_ATTRIBUTES),
    )
    .select_from(_SITE_TABLE)
    .outerjoin(
        _PAGE_TABLE,
        sa.and_(
            _PAGE_TABLE.c.site_id == _SITE_TABLE.c.id,
            _PAGE_TABLE.c.key == sa.bindparam("page_key"),
        ),
    )
    .where(_SITE_TABLE.c.key == sa.bindparam("site_key"))
)
_FOUND_PAGES = "parley_found_pages"  # session.info: (site id, page key) -> the page


def get_site(key: str, page_key: str | None = None) -> Site:
    """The site with this key; ``site_not_found`` when there is none.

    Every request that posts or votes asks this. The site's id and version are read in one
    small query on the session's connection, which the request goes on to use; the row
    itself comes from this process's snapshot of that version when it has one (merged into
    the session without a query), else it is read and kept. Every change of a site's row
    gives it a new version (``versions``), so a snapshot is never older than the row.

    With ``page_key`` the same query also loads that page, which ``find_page`` then finds in
    the session without asking again.
    """
    if page_key is None:
        found = versions.stamp_in_session(key, ())
        site_id, version = (found.site_id, found.site_version) if found else (None, 0)
    else:
        row = (
            db.session.connection()
            .execute(_SITE_AND_PAGE, {"site_key": key, "page_key": page_key})
            .first()
        )
        site_id, version = (row[0], row[1]) if row else (None, 0)
        if row is not None and row[2] is not None:
            # Held here: the session's identity map alone would let it go.
            db.session.info.setdefault(_FOUND_PAGES, {})[(site_id, page_key)] = _page_from(row)
    if site_id is None:
        raise DomainError(
            "site_not_found", _l("There is no site %(key)r on this service.", key=key)
        )
    present = db.session.identity_map.get(sa.orm.util.identity_key(Site, site_id))
    if present is not None:
        return cast(Site, present)
    snapshots = _snapshots()
    with snapshots.lock:
        snapshot = snapshots.sites.get((site_id, version))
    if snapshot is not None:
        return db.session.merge(snapshot, load=False)
    site = db.session.get(Site, site_id)
    if site is None:
        raise DomainError(
            "site_not_found", _l("There is no site %(key)r on this service.", key=key)
        )
    if site.version == version:
        snapshots.keep((site.id, site.version), _detached_copy(site))
    return site


def _page_from(row: sa.Row[Any]) -> Page:
    """The page in the row, in the session as if the ORM had loaded it (or the one it holds)."""
    values = dict(zip((key for key, _column in _PAGE_ATTRIBUTES), row[2:], strict=True))
    present = db.session.identity_map.get(sa.orm.util.identity_key(Page, values["id"]))
    if present is not None:
        return cast(Page, present)
    page = Page(**values)
    make_transient_to_detached(page)
    db.session.add(page)
    return page


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
    """The page with this key, or None if nobody has commented or rated there yet (a page
    ``get_site`` loaded with its site is taken from the session)."""
    page: Page | None = db.session.info.get(_FOUND_PAGES, {}).get((site.id, key))
    if page is not None and page in db.session:
        return page
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
