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

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from flask import current_app

from service.data.accounts import Ban, BlockedWord
from service.data.mail import Webhook
from service.data.models import Page, Site, new_version
from service.data.stamps import Stamp, stamp_of
from service.extensions import db


@sa.event.listens_for(Site, "before_update")
def _site_changed(_mapper: Any, _connection: Any, site: Site) -> None:
    """Any change of a site's row through the ORM gives it a new version in the same
    ``UPDATE``: answers and the site lookups cached by version never outlive it."""
    state: sa.orm.InstanceState[Site] = sa.inspect(site)
    if state.attrs.version.history.has_changes():
        return
    if any(attr.history.has_changes() for attr in state.attrs):
        site.version = new_version()


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


_SITE = Site.__table__
_PAGE = Page.__table__


@lru_cache(maxsize=64)
def _stamp_sql(dialect: sa.Dialect, count: int) -> tuple[str, tuple[str, ...] | None]:
    """The stamp query for ``count`` page keys, compiled once per dialect and count: its
    text and, for a positional parameter style, the order of its parameters."""
    keys: list[sa.BindParameter[str]] = [sa.bindparam(f"key_{n}") for n in range(count)]
    statement = (
        sa.select(
            _SITE.c.id,
            _SITE.c.version,
            _PAGE.c.key,
            _PAGE.c.id,
            _PAGE.c.version,
            _PAGE.c.comments_close_at,
        )
        .select_from(_SITE)
        .outerjoin(
            _PAGE,
            sa.and_(_PAGE.c.site_id == _SITE.c.id, _PAGE.c.key.in_(keys)) if keys else sa.false(),
        )
        .where(_SITE.c.key == sa.bindparam("site"))
    )
    compiled = statement.compile(dialect=dialect)
    order = compiled.positiontup
    return compiled.string, tuple(order) if order is not None else None


def _read(engine: sa.Engine, sql: str, params: dict[str, Any] | tuple[Any, ...]) -> list[Any]:
    """One statement on a pooled DBAPI connection of its own (checked out with the pool's
    ping), errors raised as SQLAlchemy's so the web layer maps an outage to 503."""
    dbapi_error = engine.dialect.loaded_dbapi.Error
    raw = None
    try:
        raw = engine.raw_connection()
        cursor = raw.cursor()
        try:
            cursor.execute(sql, params)
            return list(cursor.fetchall())
        finally:
            cursor.close()
    except dbapi_error as error:
        lost = raw is None or engine.dialect.is_disconnect(error, raw.dbapi_connection, None)
        if raw is not None and lost:
            raw.invalidate(error)
        raise sa.exc.DBAPIError.instance(
            sql,
            None,
            error,
            dbapi_error,
            hide_parameters=True,
            connection_invalidated=lost,
            dialect=engine.dialect,
        ) from error
    finally:
        if raw is not None:
            raw.close()  # back to the pool, rolled back


def stamp(site_key: str, page_keys: Sequence[str]) -> Stamp | None:
    """The versions of a site and of some of its pages, and where each page stands with its
    closing time (``stamps``), in one indexed query; None when there is no such site.

    Every public read asks this first, so it skips the ORM and SQLAlchemy's execution
    layer: the statement is compiled once per number of pages and runs on a pooled
    connection of its own, outside the request's session. What it reads is what has been
    committed, and a conditional read answered 304 never starts a session.
    """
    return stamp_on(db.engine, site_key, page_keys)


# The page keys of an answer about every page of a site (its feed): no page key holds a
# control character, so none is this one.
WHOLE_SITE = ("\x00site",)
_FOLD = 2**31 - 1  # page versions are summed modulo this: no overflow on any backend


@lru_cache(maxsize=4)
def _site_sql(dialect: sa.Dialect) -> tuple[str, tuple[str, ...] | None]:
    """The whole-site stamp query: the site's version, and its pages' versions folded into
    a count and a sum (a write on any page changes the sum, but once in 2**31)."""
    statement = (
        sa.select(
            _SITE.c.id,
            _SITE.c.version,
            sa.func.count(_PAGE.c.id),
            sa.func.coalesce(
                sa.func.sum(_PAGE.c.version % sa.literal_column(str(_FOLD))),
                sa.literal_column("0"),
            ),
        )
        .select_from(_SITE)
        .outerjoin(_PAGE, _PAGE.c.site_id == _SITE.c.id)
        .where(_SITE.c.key == sa.bindparam("site"))
        .group_by(_SITE.c.id, _SITE.c.version)
    )
    compiled = statement.compile(dialect=dialect)
    order = compiled.positiontup
    return compiled.string, tuple(order) if order is not None else None


def _site_stamp_on(engine: sa.Engine, site_key: str) -> Stamp | None:
    sql, order = _site_sql(engine.dialect)
    rows = _read(engine, sql, (site_key,) if order is not None else {"site": site_key})
    if not rows:
        return None
    site_id, site_version, count, folded = rows[0]
    return Stamp(site_id, site_version, ((WHOLE_SITE[0], (int(count), int(folded))),))


def stamp_in_session(site_key: str, page_keys: Sequence[str]) -> Stamp | None:
    """``stamp`` read on the session's connection, in its transaction: for a request that
    goes on to use the session anyway (a post, a vote), one checkout serves both."""
    connection = db.session.connection()
    keys = list(dict.fromkeys(page_keys))
    sql, order = _stamp_sql(connection.dialect, len(keys))
    named: dict[str, Any] = {"site": site_key, **{f"key_{n}": key for n, key in enumerate(keys)}}
    params = tuple(named[name] for name in order) if order is not None else named
    return stamp_of(connection.exec_driver_sql(sql, params).all(), page_keys)


def stamp_on(engine: sa.Engine, site_key: str, page_keys: Sequence[str]) -> Stamp | None:
    """``stamp`` with the engine given, for callers outside an application context.

    ``WHOLE_SITE`` as the page keys stands for every page of the site, read in one query
    (one indexed range of the site's pages): answers about the whole site follow every
    write on any of its pages."""
    if tuple(page_keys) == WHOLE_SITE:
        return _site_stamp_on(engine, site_key)
    keys = list(dict.fromkeys(page_keys))
    sql, order = _stamp_sql(engine.dialect, len(keys))
    named: dict[str, Any] = {"site": site_key, **{f"key_{n}": key for n, key in enumerate(keys)}}
    rows = _read(engine, sql, tuple(named[name] for name in order) if order is not None else named)
    return stamp_of(rows, page_keys)


# --- What a process keeps of a site's rules ---------------------------------------------
# Bans, blocked words and webhooks are read by every post and change rarely. Any change of
# one of their rows through the ORM renews its site's version in the same transaction, so
# a process may keep what it read of them for as long as the site's version holds.


def _rules_changed(
    _mapper: Any, connection: sa.Connection, row: Ban | BlockedWord | Webhook
) -> None:
    connection.execute(
        sa.update(_SITE).where(_SITE.c.id == row.site_id).values(version=new_version())
    )


for _model in (Ban, BlockedWord, Webhook):
    for _event in ("after_insert", "after_update", "after_delete"):
        sa.event.listen(_model, _event, _rules_changed)

T = TypeVar("T")
_SITE_VERSION = sa.select(_SITE.c.version).where(_SITE.c.id == sa.bindparam("site_id"))


class SiteMemo(Generic[T]):
    """``load(site_id)`` kept per site and site version, for at most ``sites`` sites of each
    application (each has its own database).

    Only for what the rows above decide: their every change renews the site's version, and
    a version is never reused, so a kept value is right for as long as its key is current.
    On a miss the site's version is read first, then the rows, in the session: what is
    stored under a version was read no earlier than that version (under snapshot and
    read-committed isolation alike).
    """

    def __init__(self, name: str, load: Callable[[int], T], *, sites: int = 256) -> None:
        self._name = f"parley_memo_{name}"
        self._load = load
        self._sites = sites
        self._lock = threading.Lock()

    def kept(self, site: Site) -> T | None:
        """The value kept for the site's version, without reading anything; None if none."""
        found = self._store().get(site.id)
        return found[1] if found is not None and found[0] == site.version else None

    def get(self, site: Site) -> T:
        kept = self._store()
        found = kept.get(site.id)
        if found is not None and found[0] == site.version:
            return found[1]
        version = db.session.connection().scalar(_SITE_VERSION, {"site_id": site.id})
        value = self._load(site.id)
        if version is None:  # the site is gone
            return value
        with self._lock:
            kept[site.id] = (version, value)
            kept.move_to_end(site.id)
            while len(kept) > self._sites:
                kept.popitem(last=False)
        return value

    def _store(self) -> OrderedDict[int, tuple[int, T]]:
        store: OrderedDict[int, tuple[int, T]] = current_app.extensions.setdefault(
            self._name, OrderedDict()
        )
        return store
