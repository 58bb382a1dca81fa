"""The rating a review carries, and a review's rating while it waits for moderation.

A visitor's rating row holds their vote (``value``, in the aggregate while ``counted``)
and, beside it, the rating of their review that waits for moderation (``pending_value``,
the review in ``pending_comment_id``). The vote keeps counting meanwhile. Approval makes the
pending rating the vote (the aggregate loses the old vote and gains the new one); spam or
deletion drops it and leaves the vote as it was; a plain vote or its retraction changes the
vote only. A row may hold a pending rating and no vote of its own: ``counted`` false, no
``comment_id``, and ``value`` repeating the pending rating (the column is never empty).

``votes`` calls these with the page row locked; this module never imports it.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm.attributes import set_committed_value

from service.data import Comment, Page, Rating, utcnow
from service.extensions import db
from service.ratings.aggregate import apply

_RATINGS = Rating.__table__
_INSERT = sa.insert(_RATINGS)
# The SET clause is the parameters given.
_UPDATE = sa.update(_RATINGS).where(_RATINGS.c.id == sa.bindparam("rating_id"))
# Built once: the row a review's rating is on, as the review that counts or the one waiting.
_REVIEW = (
    sa.select(Rating)
    .where(
        sa.or_(
            Rating.comment_id == sa.bindparam("comment_id"),
            Rating.pending_comment_id == sa.bindparam("comment_id"),
        )
    )
    .execution_options(populate_existing=True)
)


def write(rating_id: int, changes: dict[str, Any]) -> None:
    """Change a rating row with one prebuilt statement; a loaded object of it is told the
    stored values."""
    db.session.connection().execute(_UPDATE, {"rating_id": rating_id, **changes})
    loaded = db.session.identity_map.get(sa.orm.util.identity_key(Rating, rating_id))
    for key, changed in changes.items() if loaded is not None else ():
        set_committed_value(loaded, key, changed)


def has_vote(rating: Rating | sa.Row[Any]) -> bool:
    """Whether the row holds a vote of its own: counted, or a review's rating (an approved
    review's, or one a moderator took back, which counts again if approved again)."""
    return bool(rating.counted) or rating.comment_id is not None


def own_value(rating: Rating | sa.Row[Any] | None) -> int | None:
    """The visitor's vote (``yours``): None when the row holds only a pending rating."""
    return rating.value if rating is not None and has_vote(rating) else None


def pending_value(rating: Rating | sa.Row[Any] | None) -> int | None:
    """The rating of the visitor's review waiting for moderation (``yours_pending``)."""
    if rating is None or rating.pending_comment_id is None:
        return None
    return int(rating.pending_value) if rating.pending_value is not None else None


def review_rating(comment: Comment) -> Rating | None:
    """The rating row a review's rating is on, if the comment is a review."""
    return db.session.scalar(_REVIEW, {"comment_id": comment.id})


def review_value(comment: Comment) -> int | None:
    """The rating a review carries (counted, or waiting with the review), else None."""
    rating = review_rating(comment)
    if rating is None:
        return None
    return rating.pending_value if rating.pending_comment_id == comment.id else rating.value


def hold(
    page: Page,
    visitor: str,
    value: int,
    comment: Comment,
    rating: Rating | sa.Row[Any] | None,
    *,
    address: str | None,
) -> None:
    """A review waiting for moderation: its rating waits beside the visitor's vote (read
    after the page was locked), which keeps counting; no vote, nothing counts."""
    db.session.flush()  # anything pending is written first, as the ORM's flush did
    waiting = {"pending_value": value, "pending_comment_id": comment.id}
    if rating is None:
        db.session.connection().execute(
            _INSERT,
            {
                "page_id": page.id,
                "visitor": visitor,
                "value": value,
                "counted": False,
                "comment_id": None,
                "remote_addr": address,
                **waiting,
            },
        )
        return
    changes: dict[str, Any] = {**waiting, "updated": utcnow()}
    if not has_vote(rating):
        changes["value"] = value
    write(rating.id, changes)


def change_pending(rating: Rating | sa.Row[Any], value: int) -> None:
    """The author changes the rating of their review while it waits (nothing counts)."""
    changes: dict[str, Any] = {"pending_value": value, "updated": utcnow()}
    if not has_vote(rating):
        changes["value"] = value
    write(rating.id, changes)


def settle(rating: Rating, comment: Comment, *, removed: bool = False) -> None:
    """The waiting review's status changed (or it is gone): approved, its rating becomes
    the vote; spam, deleted or gone, its rating is dropped and the vote stays as it was (a
    row left with no vote goes). The page is locked."""
    waiting = rating.pending_value
    if not removed and comment.status == "approved" and waiting is not None:
        if rating.counted:
            apply(rating.page_id, rating.value, -1)
        rating.value, rating.comment_id, rating.counted = waiting, comment.id, True
        rating.pending_value = rating.pending_comment_id = None
        apply(rating.page_id, waiting, +1)
    elif removed or comment.status != "pending":
        rating.pending_value = rating.pending_comment_id = None
        if not has_vote(rating):
            db.session.delete(rating)


def retract_vote(rating: Rating) -> bool:
    """Take the vote out of the aggregate and the row. True when the row stays for a
    review's rating still waiting (it becomes a row with no vote of its own); else the
    caller deletes the row."""
    if rating.counted:
        apply(rating.page_id, rating.value, -1)
    waiting = pending_value(rating)
    if waiting is None:
        return False
    rating.value, rating.comment_id, rating.counted = waiting, None, False
    return True
