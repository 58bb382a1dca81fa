"""Votes and reviews' ratings: one rating per visitor and page, and the page's aggregate.

A page row carries its aggregate (count, sum, one counter per value), changed with
``UPDATE ... SET n = n + d`` in the same transaction as the vote, so a summary is one row
and concurrent votes can neither lose nor double-count. On PostgreSQL the page row is
locked (``FOR UPDATE``) before a vote is read and changed; on SQLite the write transaction
already holds the lock. A review's rating is its author's one rating row, counted only
while the review is approved.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm.attributes import set_committed_value

from service.data import Comment, Page, Rating, Site, utcnow
from service.data.bounds import RATING_SCALES
from service.data.models import new_version
from service.database import commit_keeping_loaded
from service.extensions import db
from service.rules.errors import DomainError, ValidationError


def clean_value(value: Any, scale: int, field: str = "value") -> int:
    """A vote: a whole number from 1 to the site's scale (not a bool, not a float)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError({field: f"Give a whole number from 1 to {scale}."})
    if not 1 <= value <= scale:
        raise ValidationError({field: f"Give a whole number from 1 to {scale}."})
    return value


def lock_page(page: Page) -> None:
    """Lock the page row for the rest of the transaction (PostgreSQL; SQLite's write
    transaction holds the whole database already)."""
    if db.session.get_bind().dialect.name == "sqlite":
        return
    db.session.execute(sa.select(Page.id).where(Page.id == page.id).with_for_update())


def _aggregate_update(value: int) -> sa.Update:
    page = Page.__table__
    column = page.c[f"h{value}"]
    return (
        sa.update(page)
        .where(page.c.id == sa.bindparam("page_id"))
        .values(
            {
                page.c.rating_count: page.c.rating_count + sa.bindparam("delta"),
                page.c.rating_sum: page.c.rating_sum + sa.bindparam("weighted"),
                column: column + sa.bindparam("delta"),
                page.c.version: sa.bindparam("new_version", type_=sa.BigInteger),
            }
        )
    )


# Built once, one per value a vote can have (the scales go up to 10).
_AGGREGATE = {value: _aggregate_update(value) for value in range(1, max(RATING_SCALES) + 1)}


def _apply(page_id: int, value: int, delta: int) -> None:
    # The aggregate and, in the same statement, the page's version: readers see the change.
    db.session.connection().execute(
        _AGGREGATE[value],
        {
            "page_id": page_id,
            "delta": delta,
            "weighted": delta * value,
            "new_version": new_version(),
        },
    )


# Built once: every vote reads the visitor's row. populate_existing: after the page lock,
# read the row as it is now, not as this session saw it before the lock (a concurrent vote
# may have changed it).
_FIND_VOTE = (
    sa.select(Rating)
    .where(Rating.page_id == sa.bindparam("page_id"), Rating.visitor == sa.bindparam("visitor"))
    .execution_options(populate_existing=True)
)
_RATINGS = Rating.__table__
_INSERT_VOTE = sa.insert(_RATINGS)
# The SET clause is the parameters given: value, counted, updated, and a review's link.
_UPDATE_VOTE = sa.update(_RATINGS).where(_RATINGS.c.id == sa.bindparam("rating_id"))


def find_vote(page: Page, visitor: str) -> Rating | None:
    """The visitor's rating row for the page, read fresh."""
    return db.session.scalar(_FIND_VOTE, {"page_id": page.id, "visitor": visitor})


def _locked_vote(page: Page, visitor: str) -> Rating | None:
    """The visitor's rating for the page, read after locking the page row."""
    lock_page(page)
    return find_vote(page, visitor)


def _set(
    page: Page,
    visitor: str,
    value: int,
    *,
    comment: Comment | None,
    counted: bool,
    address: str | None,
    rating: Rating | None,
) -> None:
    """Make ``value`` the visitor's one rating for the page, keeping the aggregate right.

    ``rating``: the visitor's rating as read after ``lock_page`` (``_locked_vote``). The row
    is written with one prebuilt statement, and the loaded object is told the stored values."""
    db.session.flush()  # anything pending is written first, as the ORM's flush did
    connection = db.session.connection()
    if rating is None:
        connection.execute(
            _INSERT_VOTE,
            {
                "page_id": page.id,
                "visitor": visitor,
                "value": value,
                "counted": counted,
                "comment_id": comment.id if comment else None,
                "remote_addr": address,
            },
        )
    else:
        if rating.counted:
            _apply(page.id, rating.value, -1)
        changes: dict[str, Any] = {"value": value, "counted": counted, "updated": utcnow()}
        if comment is not None:
            changes["comment_id"] = comment.id
        connection.execute(_UPDATE_VOTE, {"rating_id": rating.id, **changes})
        for key, changed in changes.items():
            set_committed_value(rating, key, changed)
    if counted:
        _apply(page.id, value, +1)


# Built once: the page row as a vote's answer shows it, read after the commit, and the
# attribute each of its columns loads.
_PAGE_ROW = sa.select(Page.__table__).where(Page.__table__.c.id == sa.bindparam("page_id"))
_PAGE_ATTRIBUTES = tuple(
    sa.inspect(Page).get_property_by_column(column).key for column in Page.__table__.columns
)


def vote(page: Page, visitor: str, value: int, *, address: str | None) -> None:
    """A plain vote, or a change of vote. A review keeps its link; the vote counts.

    Commits, keeping the site as loaded; the page is read again when next used (its
    aggregate changed in SQL), or at once by ``reread``."""
    clean_value(value, page.site.rating_scale)
    _refuse_closed(page)
    existing = _locked_vote(page, visitor)
    counted = True
    if existing is not None and existing.comment_id is not None:
        review = db.session.get(Comment, existing.comment_id)
        counted = review is None or review.status == "approved"
    _set(page, visitor, value, comment=None, counted=counted, address=address, rating=existing)
    db.session.expire(page)
    commit_keeping_loaded()


def reread(page: Page) -> None:
    """Read a page's row again after a vote's commit, in one prebuilt query (the
    relationships stay expired, read when next used); as its next use would, for less."""
    # Its key from the identity map, not page.id: that would load the expired row.
    identity: tuple[Any, ...] | None = sa.inspect(page).identity
    if identity is None:
        return
    row = db.session.connection().execute(_PAGE_ROW, {"page_id": identity[0]}).first()
    if row is None:  # deleted meanwhile: its next use says so, as it would have
        return
    for key, stored in zip(_PAGE_ATTRIBUTES, row, strict=True):
        set_committed_value(page, key, stored)


def retract(page: Page, visitor: str) -> None:
    """Take the visitor's vote back (a review stays as a comment without a rating)."""
    rating = _locked_vote(page, visitor)
    if rating is not None:
        if rating.counted:
            _apply(page.id, rating.value, -1)
        db.session.delete(rating)
    db.session.commit()


def _refuse_closed(page: Page) -> None:
    if page.ratings_closed:
        raise DomainError("ratings_closed", "Ratings are closed on this page.")


def attach_review(page: Page, comment: Comment, visitor: str, value: int) -> None:
    """Make a review's rating the visitor's one rating (caller commits)."""
    clean_value(value, page.site.rating_scale, "rating")
    _refuse_closed(page)
    _set(
        page,
        visitor,
        value,
        comment=comment,
        counted=comment.status == "approved",
        address=comment.remote_addr,
        rating=_locked_vote(page, visitor),
    )


def change_review(comment: Comment, value: int) -> None:
    """An author changes their review's rating (caller commits)."""
    rating = review_rating(comment)
    page = comment.page
    clean_value(value, page.site.rating_scale, "rating")
    _refuse_closed(page)
    if rating is None:
        raise ValidationError({"rating": "This comment is not a review."})
    _set(
        page,
        rating.visitor,
        value,
        comment=comment,
        counted=rating.counted,
        address=None,
        rating=_locked_vote(page, rating.visitor),
    )


def review_rating(comment: Comment) -> Rating | None:
    """The rating row a review carries, if the comment is one."""
    return db.session.scalar(
        sa.select(Rating)
        .where(Rating.comment_id == comment.id)
        .execution_options(populate_existing=True)
    )


def sync_review(comment: Comment, *, removed: bool = False) -> None:
    """After a review's status changed (or it is gone), count its rating only if approved."""
    rating = review_rating(comment)
    if rating is None:
        return
    lock_page(comment.page)
    if rating.counted:
        _apply(rating.page_id, rating.value, -1)
    if removed:
        db.session.delete(rating)
        return
    rating.counted = comment.status == "approved"
    if rating.counted:
        _apply(rating.page_id, rating.value, +1)


def set_scale(site: Site, scale: int, *, rescale: bool = False) -> None:
    """Change a site's scale: refused once votes exist, unless every vote is rescaled."""
    if scale not in RATING_SCALES:
        raise ValidationError({"rating_scale": f"The scale is one of {RATING_SCALES}."})
    if scale == site.rating_scale:
        return
    votes = db.session.scalar(
        sa.select(sa.func.count()).select_from(Rating).join(Page).where(Page.site_id == site.id)
    )
    if votes and not rescale:
        raise ValidationError(
            {
                "rating_scale": f"Site {site.key!r} has {votes} votes on a scale of "
                f"{site.rating_scale}; changing the scale would change their meaning unless "
                "the existing votes are rescaled (--rescale on the command line)."
            }
        )
    old = site.rating_scale
    for rating in db.session.scalars(sa.select(Rating).join(Page).where(Page.site_id == site.id)):
        rating.value = max(1, min(scale, round(rating.value * scale / old)))
    site.rating_scale = scale
    db.session.flush()
    for page in db.session.scalars(sa.select(Page).where(Page.site_id == site.id)):
        recount(page)


def recount(page: Page) -> None:
    """Rebuild a page's aggregate from its counted rating rows."""
    rows = db.session.execute(
        sa.select(Rating.value, sa.func.count())
        .where(Rating.page_id == page.id, Rating.counted.is_(True))
        .group_by(Rating.value)
    ).all()
    values: dict[str, int] = {f"h{v}": 0 for v in range(1, 11)}
    for value, n in rows:
        values[f"h{value}"] = n
    page.rating_count = sum(n for _, n in rows)
    page.rating_sum = sum(value * n for value, n in rows)
    for name, n in values.items():
        setattr(page, name, n)
