"""What the Atom feeds show: a page's or a site's newest published comments.

Only approved comments that everyone sees (no shadow-banned author's), newest first, with
their pages; never an email. The thread indexes serve both reads: a page's by
``comment_thread`` (page, status), a site's by ``comment_queue`` (status, created).
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from service.data import Comment, Page, Site
from service.extensions import db


@dataclass(frozen=True)
class Entry:
    """One comment of a feed, with the page it is on."""

    comment: Comment
    page: Page


def newest(site: Site, page: Page | None, limit: int) -> list[Entry]:
    """The newest ``limit`` published comments of the page, or of every page of the site."""
    query = (
        sa.select(Comment, Page)
        .join(Page, Page.id == Comment.page_id)
        .where(Comment.status == "approved", Comment.shadow.is_(False))
    )
    if page is not None:
        query = query.where(Comment.page_id == page.id)
    else:
        query = query.where(Page.site_id == site.id)
    query = query.order_by(Comment.created.desc(), Comment.id.desc()).limit(limit)
    return [Entry(comment, found) for comment, found in db.session.execute(query).all()]
