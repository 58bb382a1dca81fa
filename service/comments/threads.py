"""Reading threads: paged top-level comments with replies nested and capped.

One query fetches a page of comments, a second fetches their replies with a
window function that keeps only the first few per parent and counts the rest,
so a thread read costs two indexed queries however large the thread is (three on
a first page: its pinned comments, from their own partial index).

Pinned comments (``comments.pins``) come first, in the sort asked for, at the top of
the first page only; the paged order leaves them out, so no cursor shows one twice.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l

from service.data import Comment, Page, Rating
from service.data.bounds import MAX_ID, PINS_MAX
from service.data.models import PINNED
from service.extensions import db
from service.ratings import reviews
from service.rules.errors import DomainError

VISIBLE = ("approved", "deleted")


@dataclass
class Node:
    """A comment as shown in a thread, with the replies shown under it."""

    comment: Comment
    replies: list[Node] = field(default_factory=list)
    more_replies: int = 0
    # Where the replies not shown start: GET ...?parent=<id>&cursor=<this>.
    replies_cursor: str | None = None
    rating: int | None = None


@dataclass
class Thread:
    """One page of a thread and the cursor to the next."""

    nodes: list[Node]
    next_cursor: str | None


def encode_cursor(sort: str, comment: Comment) -> str:
    """An opaque position after ``comment`` in the given order."""
    values: list[Any] = [sort, comment.created.isoformat(), comment.id]
    if sort == "top":
        values.append(comment.likes)
    raw = json.dumps(values).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(sort: str, cursor: str) -> tuple[datetime, int, int]:
    """Read a cursor made by ``encode_cursor`` for the same sort, or answer 400."""
    try:
        if len(cursor) > 200:
            raise ValueError("too long")
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        kind, created, ident, *rest = json.loads(raw)
        likes = rest[0] if sort == "top" and len(rest) == 1 else 0
        numbers = (ident, likes)
        if kind != sort or len(rest) != (1 if sort == "top" else 0):
            raise ValueError(kind)
        if any(isinstance(n, bool) or not isinstance(n, int) for n in numbers):
            raise ValueError(numbers)
        if not (0 <= ident <= MAX_ID and 0 <= likes <= MAX_ID):
            raise ValueError(numbers)
        return datetime.fromisoformat(created), ident, likes
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError, RecursionError):
        raise DomainError(
            "invalid_query",
            _l("The cursor is not valid."),
            {"cursor": _l("Use the 'next' value of a previous answer.")},
        ) from None


def _ordered(query: sa.Select[Any], sort: str, cursor: str | None) -> sa.Select[Any]:
    newest = sort == "newest"
    if cursor:
        created, ident, likes = decode_cursor(sort, cursor)
        if newest:
            after = sa.or_(
                Comment.created < created, sa.and_(Comment.created == created, Comment.id < ident)
            )
        else:
            after = sa.or_(
                Comment.created > created, sa.and_(Comment.created == created, Comment.id > ident)
            )
        if sort == "top":
            after = sa.or_(Comment.likes < likes, sa.and_(Comment.likes == likes, after))
        query = query.where(after)
    if newest:
        return query.order_by(Comment.created.desc(), Comment.id.desc())
    if sort == "top":
        return query.order_by(Comment.likes.desc(), Comment.created, Comment.id)
    return query.order_by(Comment.created, Comment.id)


def read_thread(
    page: Page | None,
    *,
    sort: str = "oldest",
    cursor: str | None = None,
    limit: int = 20,
    parent_id: int | None = None,
    viewer: str | None = None,
) -> Thread:
    """A page of top-level comments (or of one comment's replies), replies nested; the
    first page of top-level comments starts with the pinned ones."""
    if cursor:
        decode_cursor(sort, cursor)  # a bad cursor is refused even on an empty page
    if page is None:
        return Thread([], None)
    query = sa.select(Comment).where(
        Comment.page_id == page.id,
        _visible_to(viewer),
        Comment.parent_id.is_(None) if parent_id is None else Comment.parent_id == parent_id,
    )
    if parent_id is None:
        query = query.where(Comment.pinned.is_(False))  # shown above the first page instead
    rows = list(db.session.scalars(_ordered(query, sort, cursor).limit(limit + 1)))
    next_cursor = encode_cursor(sort, rows[limit - 1]) if len(rows) > limit else None
    nodes = [Node(c) for c in rows[:limit]]
    if parent_id is None and not cursor:
        nodes = [Node(c) for c in _pinned(page, sort, viewer)] + nodes
    _attach_replies(page, nodes, viewer)
    nodes = [n for n in nodes if _shown(n)]
    attach_ratings(nodes)
    return Thread(nodes, next_cursor)


def _pinned(page: Page, sort: str, viewer: str | None) -> list[Comment]:
    """The page's pinned top-level comments shown to this viewer, in the sort's order.

    Read by their partial index alone (``page_id = ? AND pinned``: a page has at most
    ``PINS_MAX``), then chosen and ordered here as ``_visible_to`` and ``_ordered`` would:
    with those terms in SQL the planners prefer a thread index and read every top-level
    comment of the page."""
    rows = db.session.scalars(sa.select(Comment).where(Comment.page_id == page.id, PINNED))
    shown = [c for c in rows if c.parent_id is None and _sees(c, viewer)]
    if sort == "top":
        shown.sort(key=lambda c: (-c.likes, c.created, c.id))
    else:
        shown.sort(key=lambda c: (c.created, c.id), reverse=sort == "newest")
    return shown[:PINS_MAX]


def single(comment: Comment) -> Node:
    """One comment on its own (a PATCH answer), with its review rating (counted, or waiting
    with the review for moderation)."""
    node = Node(comment)
    node.rating = reviews.review_value(comment)
    return node


def _walk(nodes: list[Node]) -> list[Node]:
    out: list[Node] = []
    for node in nodes:
        out.append(node)
        out.extend(_walk(node.replies))
    return out


def attach_ratings(nodes: list[Node]) -> None:
    """Fill in each review's rating with one query."""
    by_id = {n.comment.id: n for n in _walk(nodes)}
    if not by_id:
        return
    rows = db.session.execute(
        sa.select(Rating.comment_id, Rating.value).where(Rating.comment_id.in_(by_id))
    )
    for comment_id, value in rows:
        if comment_id is not None:
            by_id[comment_id].rating = value


def _visible_to(viewer: str | None) -> sa.ColumnElement[bool]:
    """Published comments, and a shadow-banned viewer's own, which only they see."""
    visible = Comment.status.in_(VISIBLE)
    if viewer is None:
        return visible
    return sa.or_(visible, sa.and_(Comment.shadow.is_(True), Comment.visitor == viewer))


def _sees(comment: Comment, viewer: str | None) -> bool:
    """``_visible_to`` for one loaded comment."""
    if comment.status in VISIBLE:
        return True
    return viewer is not None and comment.shadow and comment.visitor == viewer


def hides_from_others(page: Page | None, viewer: str) -> bool:
    """Whether the page has comments only this viewer sees (a shadow-banned author's own):
    then their thread is not the public one."""
    if page is None:
        return False
    found = db.session.scalar(
        sa.select(Comment.id)
        .where(
            Comment.visitor == viewer,
            Comment.page_id == page.id,
            Comment.shadow.is_(True),
            Comment.status.not_in(VISIBLE),
        )
        .limit(1)
    )
    return found is not None


def _attach_replies(page: Page, nodes: list[Node], viewer: str | None = None) -> None:
    if not nodes:
        return
    cap = current_app.config["PARLEY_REPLIES_PER_PARENT"]
    roots = {n.comment.root_id for n in nodes}
    min_depth = min(n.comment.depth for n in nodes)
    order = (Comment.created, Comment.id)
    ranked = (
        sa.select(
            Comment.id.label("cid"),
            sa.func.row_number().over(partition_by=Comment.parent_id, order_by=order).label("rank"),
            sa.func.count().over(partition_by=Comment.parent_id).label("siblings"),
        )
        .where(
            # root_id pins the page; naming page_id too made SQLite pick the page
            # index and read the whole thread (bench/thread_read.py).
            Comment.root_id.in_(roots),
            Comment.depth > min_depth,
            _visible_to(viewer),
        )
        .subquery()
    )
    query = (
        sa.select(Comment, ranked.c.siblings)
        .join(ranked, ranked.c.cid == Comment.id)
        .where(ranked.c.rank <= cap)
        .order_by(Comment.depth, Comment.created, Comment.id)
    )
    by_id = {n.comment.id: n for n in nodes}
    siblings: dict[int, int] = defaultdict(int)
    for comment, count in db.session.execute(query):
        parent = by_id.get(comment.parent_id)
        if parent is None:  # its parent was itself cut off by the cap
            continue
        node = Node(comment)
        parent.replies.append(node)
        siblings[parent.comment.id] = count
        by_id[comment.id] = node
    for ident, count in siblings.items():
        node = by_id[ident]
        node.more_replies = count - len(node.replies)
        if node.more_replies > 0:
            node.replies_cursor = encode_cursor("oldest", node.replies[-1].comment)
    for node in by_id.values():
        node.replies = [r for r in node.replies if _shown(r)]


def _shown(node: Node) -> bool:
    """A deleted comment is shown, as a placeholder, only while replies hang from it."""
    return node.comment.status != "deleted" or bool(node.replies) or node.more_replies > 0


def comment_counts(site_id: int, keys: list[str]) -> dict[str, int]:
    """Approved comment counts for many pages at once (unknown pages count 0)."""
    rows = db.session.execute(
        sa.select(Page.key, Page.comment_count).where(Page.site_id == site_id, Page.key.in_(keys))
    )
    found = {key: count for key, count in rows}
    return {key: found.get(key, 0) for key in keys}
