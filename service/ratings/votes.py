"""Votes and reviews' ratings: one rating per visitor and page, and the page's aggregate.

A page row carries its aggregate (count, sum, one counter per value), changed with
``UPDATE ... SET n = n + d`` in the same transaction as the vote, so a summary is one row
and concurrent votes can neither lose nor double-count. On PostgreSQL the page row is
locked (``FOR UPDATE``) before a vote is read and changed; on SQLite the write transaction
already holds the lock. A review's rating is its author's one rating row, counted only
while the review is approved; while the review waits for moderation its rating waits beside
the author's vote, which keeps counting (``reviews``).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from service.data import Comment, Page, Rating, Site, utcnow
from service.data.bounds import RATING_SCALES
from service.database import commit_keeping_loaded
from service.extensions import db
from service.ratings import reviews
from service.ratings.aggregate import apply, load_row
from service.ratings.reviews import review_rating as review_rating
from service.ratings.reviews import review_value as review_value
from service.rules.errors import DomainError, ValidationError


def clean_value(value: Any, scale: int, field: str = "value") -> int:
    """A vote: a whole number from 1 to the site's scale (not a bool, not a float)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError({field: _l("Give a whole number from 1 to %(scale)s.", scale=scale)})
    if not 1 <= value <= scale:
        raise ValidationError({field: _l("Give a whole number from 1 to %(scale)s.", scale=scale)})
    return value


def lock_page(page: Page) -> None:
    """Lock the page row for the rest of the transaction (PostgreSQL; SQLite's write
    transaction holds the whole database already)."""
    if db.session.get_bind().dialect.name == "sqlite":
        return
    db.session.execute(sa.select(Page.id).where(Page.id == page.id).with_for_update())


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


def find_vote(page: Page, visitor: str) -> Rating | None:
    """The visitor's rating row for the page, read fresh."""
    return db.session.scalar(_FIND_VOTE, {"page_id": page.id, "visitor": visitor})


def _locked_vote(page: Page, visitor: str) -> Rating | None:
    """The visitor's rating for the page, read after locking the page row."""
    lock_page(page)
    return find_vote(page, visitor)


# Built once: what a vote decides by, of the visitor's rating, without loading an object.
_VOTE_COLUMNS = ("id", "value", "counted", "comment_id", "pending_value", "pending_comment_id")
_VOTE_ROW = sa.select(*(_RATINGS.c[name] for name in _VOTE_COLUMNS)).where(
    _RATINGS.c.page_id == sa.bindparam("page_id"), _RATINGS.c.visitor == sa.bindparam("visitor")
)


def _locked_row(page: Page, visitor: str) -> sa.Row[Any] | None:
    """The visitor's rating for the page (id, value, counted, comment_id and the pending
    review's), read after locking the page row."""
    lock_page(page)
    return (
        db.session.connection().execute(_VOTE_ROW, {"page_id": page.id, "visitor": visitor}).first()
    )


def _set(
    page: Page,
    visitor: str,
    value: int,
    *,
    comment: Comment | None,
    counted: bool,
    address: str | None,
    rating: Rating | sa.Row[Any] | None,
) -> bool:
    """Make ``value`` the visitor's one rating for the page, keeping the aggregate right.

    ``rating``: the visitor's rating as read after ``lock_page`` (``_locked_row``). The row
    is written with one prebuilt statement, and a loaded object of it is told the stored
    values. A pending review's rating beside it stays.
    True when the vote counts: the page object then holds its row as this transaction
    leaves it (from the aggregate's ``UPDATE``)."""
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
            apply(page.id, rating.value, -1)
        changes: dict[str, Any] = {"value": value, "counted": counted, "updated": utcnow()}
        if comment is not None:
            changes["comment_id"] = comment.id
        reviews.write(rating.id, changes)
    if not counted:
        return False
    row = apply(page.id, value, +1)
    if row is None:
        return False
    load_row(page, row)
    return True


def vote(page: Page, visitor: str, value: int, *, address: str | None) -> int | None:
    """A plain vote, or a change of vote. A review keeps its link; the vote counts. A review
    waiting for moderation keeps its rating aside: that rating is returned (else None).

    Commits, keeping the site as loaded. A vote that counts leaves the page object with its
    row as the vote's transaction left it; otherwise the page is read again when next used
    (its aggregate may have changed in SQL), or at once by ``aggregate.reread``."""
    clean_value(value, page.site.rating_scale)
    _refuse_closed(page)
    existing = _locked_row(page, visitor)
    counted = True
    if existing is not None and existing.comment_id is not None:
        review = db.session.get(Comment, existing.comment_id)
        counted = review is None or review.status == "approved"
    if not _set(
        page, visitor, value, comment=None, counted=counted, address=address, rating=existing
    ):
        db.session.expire(page)
    commit_keeping_loaded()
    return reviews.pending_value(existing)


def retract(page: Page, visitor: str, *, commit: bool = True) -> None:
    """Take the visitor's vote back (a review stays as a comment without a rating; one
    waiting for moderation keeps its rating); with ``commit`` false the caller commits (an
    erasure's one transaction)."""
    rating = _locked_vote(page, visitor)
    if rating is not None and not reviews.retract_vote(rating):
        db.session.delete(rating)
    if commit:
        db.session.commit()


def _refuse_closed(page: Page) -> None:
    if page.ratings_closed:
        raise DomainError("ratings_closed", _l("Ratings are closed on this page."))


def attach_review(page: Page, comment: Comment, visitor: str, value: int) -> None:
    """Make a review's rating the visitor's one rating; a review waiting for moderation
    keeps its rating aside until approved (caller commits)."""
    clean_value(value, page.site.rating_scale, "rating")
    _refuse_closed(page)
    existing = _locked_row(page, visitor)
    if comment.status == "pending":
        reviews.hold(page, visitor, value, comment, existing, address=comment.remote_addr)
        return
    _set(
        page,
        visitor,
        value,
        comment=comment,
        counted=comment.status == "approved",
        address=comment.remote_addr,
        rating=existing,
    )


def change_review(comment: Comment, value: int) -> None:
    """An author changes their review's rating (caller commits)."""
    rating = review_rating(comment)
    page = comment.page
    clean_value(value, page.site.rating_scale, "rating")
    _refuse_closed(page)
    if rating is None:
        raise ValidationError({"rating": _l("This comment is not a review.")})
    existing = _locked_row(page, rating.visitor)
    if existing is not None and existing.pending_comment_id == comment.id:
        reviews.change_pending(existing, value)
        return
    _set(
        page,
        rating.visitor,
        value,
        comment=comment,
        counted=rating.counted,
        address=None,
        rating=existing,
    )


def sync_review(comment: Comment, *, removed: bool = False) -> None:
    """After a review's status changed (or it is gone), count its rating only if approved.
    A review that was waiting: approved, its rating becomes the vote; else it is dropped and
    the earlier vote stays (``reviews.settle``)."""
    lock_page(comment.page)
    rating = review_rating(comment)
    if rating is None:
        return
    if rating.pending_comment_id == comment.id:
        reviews.settle(rating, comment, removed=removed)
        return
    if removed:
        if not reviews.retract_vote(rating):
            db.session.delete(rating)
        return
    if rating.counted:
        apply(rating.page_id, rating.value, -1)
    rating.counted = comment.status == "approved"
    if rating.counted:
        apply(rating.page_id, rating.value, +1)


def set_scale(site: Site, scale: int, *, rescale: bool = False) -> None:
    """Change a site's scale: refused once votes exist, unless every vote is rescaled."""
    if scale not in RATING_SCALES:
        raise ValidationError(
            {"rating_scale": _l("One of: %(kinds)s.", kinds=", ".join(map(str, RATING_SCALES)))}
        )
    if scale == site.rating_scale:
        return
    votes = db.session.scalar(
        sa.select(sa.func.count()).select_from(Rating).join(Page).where(Page.site_id == site.id)
    )
    if votes and not rescale:
        raise ValidationError(
            {
                "rating_scale": _l(
                    "Site %(key)s has %(num)s votes on a scale of %(scale)s; changing the scale "
                    "would change their meaning unless the existing votes are rescaled "
                    "(--rescale on the command line).",
                    key=repr(site.key),
                    num=votes,
                    scale=site.rating_scale,
                )
            }
        )
    old = site.rating_scale
    for rating in db.session.scalars(sa.select(Rating).join(Page).where(Page.site_id == site.id)):
        rating.value = max(1, min(scale, round(rating.value * scale / old)))
        if rating.pending_value is not None:  # a review's rating waiting for moderation
            rating.pending_value = max(1, min(scale, round(rating.pending_value * scale / old)))
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
