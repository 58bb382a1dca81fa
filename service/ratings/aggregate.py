"""A page's rating aggregate (count, sum, one counter per value), kept in SQL.

Every change is one ``UPDATE ... SET n = n + d`` that also renews the page's version, in the
vote's own transaction, and returns the row as that transaction leaves it: the answer to a
vote shows the page without reading it again.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm.attributes import set_committed_value

from service.data import Page
from service.data.bounds import RATING_SCALES
from service.data.models import new_version
from service.extensions import db

_PAGE = Page.__table__


def _update(value: int) -> sa.Update:
    column = _PAGE.c[f"h{value}"]
    return (
        sa.update(_PAGE)
        .where(_PAGE.c.id == sa.bindparam("page_id"))
        .values(
            {
                _PAGE.c.rating_count: _PAGE.c.rating_count + sa.bindparam("delta"),
                _PAGE.c.rating_sum: _PAGE.c.rating_sum + sa.bindparam("weighted"),
                column: column + sa.bindparam("delta"),
                _PAGE.c.version: sa.bindparam("new_version", type_=sa.BigInteger),
            }
        )
        .returning(*_PAGE.c)
    )


# Built once, one per value a vote can have (the scales go up to 10).
_UPDATES = {value: _update(value) for value in range(1, max(RATING_SCALES) + 1)}
# The page's row read on its own, and the attribute each of its columns loads.
_ROW = sa.select(_PAGE).where(_PAGE.c.id == sa.bindparam("page_id"))
_ATTRIBUTES = tuple(sa.inspect(Page).get_property_by_column(column).key for column in _PAGE.columns)


def apply(page_id: int, value: int, delta: int) -> sa.Row[Any] | None:
    """Count ``delta`` votes of ``value`` more (or fewer) on the page, renewing its version
    (readers see the change); the page's row as it now stands, or None if it is gone."""
    return (
        db.session.connection()
        .execute(
            _UPDATES[value],
            {
                "page_id": page_id,
                "delta": delta,
                "weighted": delta * value,
                "new_version": new_version(),
            },
        )
        .first()
    )


def load_row(page: Page, row: sa.Row[Any]) -> None:
    """Tell the page object its row's stored values (``apply``'s answer, or ``reread``'s)."""
    for key, stored in zip(_ATTRIBUTES, row, strict=True):
        set_committed_value(page, key, stored)


def reread(page: Page) -> None:
    """Read a page's row again after a vote's commit, in one prebuilt query (the
    relationships stay expired, read when next used); as its next use would, for less.
    Nothing is read when the row is loaded (a vote that counted left it so)."""
    if not sa.inspect(page).expired_attributes:
        return
    # Its key from the identity map, not page.id: that would load the expired row.
    identity: tuple[Any, ...] | None = sa.inspect(page).identity
    if identity is None:
        return
    row = db.session.connection().execute(_ROW, {"page_id": identity[0]}).first()
    if row is not None:  # deleted meanwhile: its next use says so, as it would have
        load_row(page, row)
