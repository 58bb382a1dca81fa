"""Versions of what readers see: the key of every cached public answer.

Each page has a version, and each site one that covers all its pages. Every write that
changes what readers see of a page replaces the page's version in its own transaction
(``bump_pages``, or the ``VERSION`` value in the same ``UPDATE`` as a counter); a change of
a site's settings replaces the site's (``bump_site``). The web layer keys cached answers by
these versions, so an answer is never served after the write that changed it, by any
worker, and a write on one page leaves every other page's answers alone.

A version is random, not a counter: after restoring a backup, or in another database that
shares the cache, a page can never come back to a version whose cached answer showed
something else.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa

from service.data.models import Page, Site, new_version
from service.extensions import db


def version_value() -> sa.ColumnElement[int]:
    """A fresh version as a value for an ``UPDATE ... SET`` (one per statement)."""
    return sa.literal(new_version(), sa.BigInteger)


def bump_pages(*page_ids: int) -> None:
    """Readers of these pages must see a new answer (caller commits)."""
    ids = sorted({ident for ident in page_ids if ident is not None})
    if ids:
        db.session.execute(
            sa.update(Page)
            .where(Page.id.in_(ids))
            .values(version=version_value())
            .execution_options(synchronize_session=False)
        )


def bump_site(site_id: int) -> None:
    """Readers of every page of the site must see a new answer (caller commits)."""
    db.session.execute(
        sa.update(Site)
        .where(Site.id == site_id)
        .values(version=version_value())
        .execution_options(synchronize_session=False)
    )


@dataclass(frozen=True)
class Stamp:
    """The versions a public answer about some pages of a site depends on.

    ``pages`` holds, for each page key asked for, in order, the page's id and version, or
    None where nobody wrote on that page yet.
    """

    site_id: int
    site_version: int
    pages: tuple[tuple[str, tuple[int, int] | None], ...]


def stamp(site_key: str, page_keys: Sequence[str]) -> Stamp | None:
    """The versions of a site and of some of its pages, in one indexed query; None when
    there is no such site."""
    keys = list(dict.fromkeys(page_keys))
    rows = db.session.execute(
        sa.select(Site.id, Site.version, Page.key, Page.id, Page.version)
        .select_from(Site)
        .outerjoin(Page, sa.and_(Page.site_id == Site.id, Page.key.in_(keys)))
        .where(Site.key == site_key)
    ).all()
    if not rows:
        return None
    found = {key: (ident, version) for _, _, key, ident, version in rows if key is not None}
    return Stamp(rows[0][0], rows[0][1], tuple((key, found.get(key)) for key in page_keys))
