"""What readers see of a page's rating: its summary, the editorial scores, counts, JSON-LD."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import sqlalchemy as sa

from service.data import EditorialScore, Page, Site
from service.data.bounds import REVIEW_STAR_TYPES
from service.extensions import db
from service.ratings.reviews import own_value, pending_value
from service.ratings.votes import find_vote


def average(page: Page | None) -> float | None:
    """The votes' average, one decimal; None without votes."""
    if page is None or page.rating_count == 0:
        return None
    return round(page.rating_sum / page.rating_count, 1)


# Built once: the scores of a page, as ``Page.editorial`` orders them.
_SCORES = (
    sa.select(EditorialScore.label, EditorialScore.score, EditorialScore.scale, EditorialScore.url)
    .where(EditorialScore.page_id == sa.bindparam("page_id"))
    .order_by(EditorialScore.position, EditorialScore.id)
)


def scores(page: Page | None) -> Sequence[Any]:
    """The page's scores: the loaded list, else one small read of the stored rows (only
    while the session holds no unflushed change, which the relationship would flush)."""
    if page is None:
        return []
    session = db.session()
    if "editorial" in sa.inspect(page).unloaded and not (
        session.new or session.dirty or session.deleted
    ):
        return session.connection().execute(_SCORES, {"page_id": page.id}).all()
    return list(page.editorial)


def box_scale(page: Page | None, items: Sequence[Any]) -> int | None:
    """The Final Summary's scale: its scores' own when they share one; where they differ, the
    one the owner chose for the page (``Page.editorial_scale``), else the largest of theirs.
    None without scores."""
    scales = {int(item.scale) for item in items}
    if len(scales) < 2:
        return scales.pop() if scales else None
    return (page.editorial_scale if page is not None else None) or max(scales)


def half_up(value: Decimal, step: str = "0.1") -> Decimal:
    """``value`` to a multiple of ``step``, halves rounded up (6.05 gives 6.1)."""
    unit = Decimal(step)
    return (value / unit).quantize(Decimal(1), rounding=ROUND_HALF_UP) * unit


def editorial_average(items: Sequence[Any], scale: int) -> float | None:
    """The mean of the scores normalised to ``scale``, one decimal, halves up: in decimal
    arithmetic on the stored one-decimal values (6.0 and 6.1 give 6.1, where the mean in
    binary floats is a hair under 6.05 and rounds to 6.0). None without scores."""
    if not items:
        return None
    total = sum((Decimal(str(item.score)) * scale / item.scale for item in items), Decimal(0))
    return float(half_up(total / len(items)))


def editorial(page: Page | None, items: Sequence[Any] | None = None) -> dict[str, Any]:
    """The owner's scores (``items``: as ``scores`` read them), the Final Summary's scale
    (``box_scale``) and their average on it."""
    items = scores(page) if items is None else items
    scale = box_scale(page, items)
    return {
        "items": [
            {"label": item.label, "score": float(item.score), "scale": item.scale, "url": item.url}
            for item in items
        ],
        "scale": scale,
        "average": editorial_average(items, scale) if scale else None,
    }


def star_row(value: float | None, scale: int) -> list[str]:
    """``scale`` stars drawing ``value`` to the nearest half star (halves up, so 3.75 gives
    four stars and 3.74 three and a half): each "full", "half" or "empty"."""
    halves = int(half_up(Decimal(str(value or 0)), "0.5") * 2)
    halves = max(0, min(halves, 2 * scale))
    full, half = divmod(halves, 2)
    return ["full"] * full + ["half"] * half + ["empty"] * (scale - full - half)


def summary(
    site: Site,
    page: Page | None,
    visitor: str | None,
    *,
    vote: int | None = None,
    pending: int | None = None,
    items: Sequence[Any] | None = None,
) -> dict[str, Any]:
    """The public summary of a page's ratings, plus the visitor's own vote and the rating
    of their review waiting for moderation (``vote`` and ``pending``: the caller just stored
    the vote and read the other, so neither need be read; ``items``: the editorial scores,
    read by ``scores`` before a vote's write, which does not change them)."""
    scale = site.rating_scale
    yours, yours_pending = vote, pending
    if vote is None and page is not None and visitor is not None:
        rating = find_vote(page, visitor)
        yours, yours_pending = own_value(rating), pending_value(rating)
    return {
        "scale": scale,
        "count": page.rating_count if page else 0,
        "average": average(page),
        "histogram": page.histogram(scale) if page else {str(v): 0 for v in range(1, scale + 1)},
        "yours": yours,
        "yours_pending": yours_pending,
        "editorial": editorial(page, items),
        "closed": bool(page and page.ratings_closed),
    }


def has_review_stars(schema_type: str | None) -> bool:
    """Whether search engines show review stars for a page of this schema.org type."""
    return schema_type in REVIEW_STAR_TYPES


def jsonld(site: Site, page: Page | None) -> dict[str, Any] | None:
    """schema.org AggregateRating for the page, only where search engines accept it."""
    if page is None or page.rating_count < 1 or not page.title:
        return None
    if not has_review_stars(page.schema_type):
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
