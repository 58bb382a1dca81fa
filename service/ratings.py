"""Votes, reviews' ratings, aggregates, editorial scores and rating JSON-LD.

A page row carries its aggregate (count, sum, one counter per value), changed
with ``UPDATE ... SET n = n + d`` in the same transaction as the vote, so a
summary is one row and concurrent votes can neither lose nor double-count.
On PostgreSQL the page row is locked (``FOR UPDATE``) before a vote is read
and changed; on SQLite the write transaction already holds the lock.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from .errors import ApiError, ValidationError
from .extensions import db
from .models import Comment, EditorialScore, Page, Rating, Site, utcnow

# Types for which search engines show review stars from an AggregateRating.
# Never Article or BlogPosting, never from editorial scores.
JSONLD_TYPES = frozenset(
    {
        "Book",
        "Course",
        "CreativeWorkSeason",
        "CreativeWorkSeries",
        "Episode",
        "Event",
        "Game",
        "HowTo",
        "LocalBusiness",
        "MediaObject",
        "Movie",
        "MusicAlbum",
        "MusicPlaylist",
        "MusicRecording",
        "Organization",
        "Product",
        "Recipe",
        "SoftwareApplication",
        "MobileApplication",
        "WebApplication",
        "TVSeries",
        "TVSeason",
        "TVEpisode",
        "VideoGame",
    }
)
EDITORIAL_SCALES = (5, 10, 100)


def clean_value(value: Any, scale: int, field: str = "value") -> int:
    """A vote: a whole number from 1 to the site's scale (not a bool, not a float)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError({field: f"Give a whole number from 1 to {scale}."})
    if not 1 <= value <= scale:
        raise ValidationError({field: f"Give a whole number from 1 to {scale}."})
    return value


def _lock(page: Page) -> None:
    db.session.execute(sa.select(Page.id).where(Page.id == page.id).with_for_update())


def _apply(page_id: int, value: int, delta: int) -> None:
    column = f"h{value}"
    db.session.execute(
        sa.update(Page)
        .where(Page.id == page_id)
        .values(
            {
                Page.rating_count: Page.rating_count + delta,
                Page.rating_sum: Page.rating_sum + delta * value,
                getattr(Page, column): getattr(Page, column) + delta,
            }
        )
        .execution_options(synchronize_session=False)
    )


def _find(page: Page, visitor: str) -> Rating | None:
    # populate_existing: after the page lock, read the row as it is now, not as
    # this session saw it before the lock (a concurrent vote may have changed it).
    return db.session.scalar(
        sa.select(Rating)
        .where(Rating.page_id == page.id, Rating.visitor == visitor)
        .execution_options(populate_existing=True)
    )


def _set(
    page: Page,
    visitor: str,
    value: int,
    *,
    comment: Comment | None,
    counted: bool,
    address: str | None,
) -> Rating:
    """Make ``value`` the visitor's one rating for the page, keeping the aggregate right."""
    _lock(page)
    rating = _find(page, visitor)
    if rating is None:
        rating = Rating(
            page_id=page.id,
            visitor=visitor,
            value=value,
            counted=counted,
            comment_id=comment.id if comment else None,
            remote_addr=address,
        )
        db.session.add(rating)
    else:
        if rating.counted:
            _apply(page.id, rating.value, -1)
        rating.value, rating.counted, rating.updated = value, counted, utcnow()
        if comment is not None:
            rating.comment_id = comment.id
    db.session.flush()
    if counted:
        _apply(page.id, value, +1)
    return rating


def vote(page: Page, visitor: str, value: int, *, address: str | None) -> None:
    """A plain vote, or a change of vote. A review keeps its link; the vote counts."""
    clean_value(value, page.site.rating_scale)
    _refuse_closed(page)
    existing = _find(page, visitor)
    counted = True
    if existing is not None and existing.comment_id is not None:
        review = db.session.get(Comment, existing.comment_id)
        counted = review is None or review.status == "approved"
    _set(page, visitor, value, comment=None, counted=counted, address=address)
    db.session.commit()


def retract(page: Page, visitor: str) -> None:
    """Take the visitor's vote back (a review stays as a comment without a rating)."""
    _lock(page)
    rating = _find(page, visitor)
    if rating is not None:
        if rating.counted:
            _apply(page.id, rating.value, -1)
        db.session.delete(rating)
    db.session.commit()


def _refuse_closed(page: Page) -> None:
    if page.ratings_closed:
        raise ApiError(403, "ratings_closed", "Ratings are closed on this page.")


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
    )


def change_review(comment: Comment, value: int) -> None:
    """An author changes their review's rating (caller commits)."""
    rating = review_rating(comment)
    page = comment.page
    clean_value(value, page.site.rating_scale, "rating")
    _refuse_closed(page)
    if rating is None:
        raise ValidationError({"rating": "This comment is not a review."})
    _set(page, rating.visitor, value, comment=comment, counted=rating.counted, address=None)


def review_rating(comment: Comment) -> Rating | None:
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
    _lock(comment.page)
    if rating.counted:
        _apply(rating.page_id, rating.value, -1)
    if removed:
        db.session.delete(rating)
        return
    rating.counted = comment.status == "approved"
    if rating.counted:
        _apply(rating.page_id, rating.value, +1)


def average(page: Page | None) -> float | None:
    if page is None or page.rating_count == 0:
        return None
    return round(page.rating_sum / page.rating_count, 1)


def editorial(page: Page | None, site_scale: int) -> dict[str, Any]:
    """The owner's scores, and their average normalised to the site's scale."""
    items = list(page.editorial) if page else []
    normalised = [float(item.score) / item.scale * site_scale for item in items]
    return {
        "items": [
            {"label": item.label, "score": float(item.score), "scale": item.scale, "url": item.url}
            for item in items
        ],
        "average": round(sum(normalised) / len(normalised), 1) if normalised else None,
    }


def summary(site: Site, page: Page | None, visitor: str | None) -> dict[str, Any]:
    """The public summary of a page's ratings, plus the visitor's own vote."""
    scale = site.rating_scale
    yours = None
    if page is not None and visitor is not None:
        rating = _find(page, visitor)
        yours = rating.value if rating else None
    return {
        "scale": scale,
        "count": page.rating_count if page else 0,
        "average": average(page),
        "histogram": page.histogram(scale) if page else {str(v): 0 for v in range(1, scale + 1)},
        "yours": yours,
        "editorial": editorial(page, scale),
        "closed": bool(page and page.ratings_closed),
    }


def jsonld(site: Site, page: Page | None) -> dict[str, Any] | None:
    """schema.org AggregateRating for the page, only where search engines accept it."""
    if page is None or page.rating_count < 1 or not page.title:
        return None
    if page.schema_type not in JSONLD_TYPES:
        return None
    item: dict[str, Any] = {"@type": page.schema_type, "name": page.title}
    if page.url:
        item["url"] = page.url
    return {
        "@context": "https://schema.org",
        "@type": "AggregateRating",
        "itemReviewed": item,
        "ratingValue": average(page),
        "ratingCount": page.rating_count,
        "bestRating": site.rating_scale,
        "worstRating": 1,
    }


def counts(site: Site, keys: list[str]) -> dict[str, tuple[int, float | None]]:
    """Rating count and average for many pages at once."""
    rows = db.session.execute(
        sa.select(Page.key, Page.rating_count, Page.rating_sum).where(
            Page.site_id == site.id, Page.key.in_(keys)
        )
    )
    found = {key: (n, round(total / n, 1) if n else None) for key, n, total in rows}
    return {key: found.get(key, (0, None)) for key in keys}


def set_scale(site: Site, scale: int, *, rescale: bool = False) -> None:
    """Change a site's scale: refused once votes exist, unless every vote is rescaled."""
    if scale not in (5, 10):
        raise ValueError("The scale is 5 or 10.")
    if scale == site.rating_scale:
        return
    votes = db.session.scalar(
        sa.select(sa.func.count()).select_from(Rating).join(Page).where(Page.site_id == site.id)
    )
    if votes and not rescale:
        raise ValueError(
            f"Site {site.key!r} has {votes} votes on a scale of {site.rating_scale}; "
            "changing the scale would change their meaning unless the existing votes are "
            "rescaled (--rescale on the command line)."
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


def set_editorial(page: Page, label: str, score: float, scale: int, url: str | None) -> None:
    """Add or replace one named editorial score on a page."""
    if scale not in EDITORIAL_SCALES:
        raise ValueError(f"The scale is one of {EDITORIAL_SCALES}.")
    if not 0 <= score <= scale:
        raise ValueError(f"The score must be between 0 and {scale}.")
    existing = db.session.scalar(
        sa.select(EditorialScore).where(
            EditorialScore.page_id == page.id, EditorialScore.label == label
        )
    )
    if existing is None:
        position = len(page.editorial)
        page.editorial.append(
            EditorialScore(label=label, score=score, scale=scale, url=url, position=position)
        )
    else:
        existing.score, existing.scale, existing.url = score, scale, url
