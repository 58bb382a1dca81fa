"""The public shape of comments and pages, for the JSON API and the widget templates alike.

An allow-list of fields: never an email, never a hash of one anyone could compute.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from service.comments.threads import Node
from service.data import Page
from service.web.requests import external_url


def iso(value: datetime | None) -> str | None:
    """A stored (UTC) time as ISO 8601 with a Z."""
    return value.isoformat(timespec="seconds") + "Z" if value else None


def public_comment(node: Node) -> dict[str, Any]:
    """The public fields of a comment and its shown replies. Never an email."""
    comment = node.comment
    deleted = comment.status == "deleted"
    return {
        "id": comment.id,
        "parent": comment.parent_id,
        "author": None if deleted else comment.author,
        "website": None if deleted else comment.website,
        "avatar": None if deleted or not comment.avatar else avatar_url(comment.avatar),
        "html": "" if deleted else comment.html,
        "created": iso(comment.created),
        "edited": iso(comment.edited),
        "likes": comment.likes,
        "rating": None if deleted else node.rating,
        "deleted": deleted,
        "moderator": comment.by_moderator,
        "pinned": comment.pinned,
        "replies": [public_comment(r) for r in node.replies],
        "more_replies": node.more_replies,
        "replies_cursor": node.replies_cursor,
    }


def avatar_url(avatar: str) -> str:
    """The absolute URL of an avatar drawn by the service."""
    return external_url("widgets.avatar", avatar=avatar)


def public_page(page: Page | None, key: str) -> dict[str, Any]:
    """The page block of a thread answer, also for a page nobody wrote on yet."""
    return {
        "id": key,
        "title": page.title if page else None,
        "url": page.url if page else None,
        "comment_count": page.comment_count if page else 0,
    }
