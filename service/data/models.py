"""Sites, pages, comments, votes, likes and editorial scores: the models every read touches.

The database enforces what it can: keys, uniqueness, ranges."""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.data.bounds import (
    EDITORIAL_SCALES,
    ERASURE_MODES,
    LABEL_MAX,
    MODERATION_POLICIES,
    NAME_MAX,
    PAGE_KEY_MAX,
    PRIVACY_KINDS,
    RATING_SCALES,
    SCHEMA_TYPE_MAX,
    SITE_KEY_MAX,
    SITE_NAME_MAX,
    STATUSES,
    TITLE_MAX,
    TOKENLESS_POSTS,
    URL_MAX,
    WEBSITE_MAX,
    sql_in,
)
from service.extensions import db


def utcnow() -> datetime:
    """The current UTC time, naive, as every timestamp is stored."""
    return datetime.now(UTC).replace(tzinfo=None)


def new_version() -> int:
    """A fresh version for a site or a page: random, so no other database (a copy, a backup,
    another service sharing the cache) ever had it (``service.data.versions``)."""
    return secrets.randbits(62) + 1


class Site(db.Model):  # type: ignore[name-defined]
    __tablename__ = "site"
    __table_args__ = (
        sa.CheckConstraint(sql_in("moderation", tuple(MODERATION_POLICIES)), name="moderation"),
        sa.CheckConstraint(sql_in("rating_scale", RATING_SCALES), name="rating_scale"),
        sa.CheckConstraint("edit_window >= 0", name="edit_window"),
        sa.CheckConstraint("link_limit >= 0", name="link_limit"),
        sa.CheckConstraint(
            sql_in("tokenless_posts", tuple(TOKENLESS_POSTS)), name="tokenless_posts"
        ),
        sa.CheckConstraint(sql_in("erasure", tuple(ERASURE_MODES)), name="erasure"),
        sa.CheckConstraint("close_after_days >= 1 AND report_threshold >= 1", name="threads"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(SITE_KEY_MAX), unique=True)
    name: Mapped[str] = mapped_column(sa.String(SITE_NAME_MAX))
    origins_json: Mapped[str] = mapped_column("origins", sa.Text, default="[]")
    moderation: Mapped[str] = mapped_column(sa.String(16), default="none")
    rating_scale: Mapped[int] = mapped_column(default=5)
    language: Mapped[str] = mapped_column(sa.String(16), default="en")
    theme: Mapped[str] = mapped_column(sa.String(16), default="auto")
    edit_window: Mapped[int] = mapped_column(default=15 * 60)
    # Under the "links" policy a comment with more links than this waits for review.
    link_limit: Mapped[int] = mapped_column(default=2, server_default="2")
    notify_moderators: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    # What a post without a form token or API token gets (TOKENLESS_POSTS); None follows
    # PARLEY_TOKENLESS_POSTS.
    tokenless_posts: Mapped[str | None] = mapped_column(sa.String(16))
    # What erasing a commenter's data does to their comments (ERASURE_MODES).
    erasure: Mapped[str] = mapped_column(
        sa.String(16), default="anonymize", server_default="anonymize"
    )
    close_after_days: Mapped[int | None] = mapped_column()  # after a page's first comment
    report_threshold: Mapped[int] = mapped_column(default=3, server_default="3")  # to the queue
    created: Mapped[datetime] = mapped_column(default=utcnow)
    # Replaced by every settings change: part of every cached answer's key for its pages.
    version: Mapped[int] = mapped_column(sa.BigInteger, default=new_version, server_default="0")

    pages: Mapped[list[Page]] = relationship(back_populates="site")

    @property
    def origins(self) -> list[str]:
        value = json.loads(self.origins_json or "[]")
        return [str(item) for item in value]

    @origins.setter
    def origins(self, value: list[str]) -> None:
        self.origins_json = json.dumps(sorted(set(value)))


class Page(db.Model):  # type: ignore[name-defined]
    __tablename__ = "page"
    __table_args__ = (
        sa.UniqueConstraint("site_id", "key", name="page_site_key"),
        sa.CheckConstraint("comment_count >= 0", name="comment_count"),
        sa.CheckConstraint("rating_count >= 0 AND rating_sum >= 0", name="rating_totals"),
        sa.CheckConstraint("close_after_days >= 0", name="close_after_days"),
        sa.CheckConstraint(sql_in("editorial_scale", EDITORIAL_SCALES), name="editorial_scale"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(sa.ForeignKey("site.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(sa.String(PAGE_KEY_MAX))
    title: Mapped[str | None] = mapped_column(sa.String(TITLE_MAX))
    url: Mapped[str | None] = mapped_column(sa.String(URL_MAX))
    comment_count: Mapped[int] = mapped_column(default=0)
    schema_type: Mapped[str | None] = mapped_column(sa.String(SCHEMA_TYPE_MAX))
    # Rating aggregates, kept in the same transaction as every counted vote.
    rating_count: Mapped[int] = mapped_column(default=0, server_default="0")
    rating_sum: Mapped[int] = mapped_column(default=0, server_default="0")
    h1: Mapped[int] = mapped_column(default=0, server_default="0")
    h2: Mapped[int] = mapped_column(default=0, server_default="0")
    h3: Mapped[int] = mapped_column(default=0, server_default="0")
    h4: Mapped[int] = mapped_column(default=0, server_default="0")
    h5: Mapped[int] = mapped_column(default=0, server_default="0")
    h6: Mapped[int] = mapped_column(default=0, server_default="0")
    h7: Mapped[int] = mapped_column(default=0, server_default="0")
    h8: Mapped[int] = mapped_column(default=0, server_default="0")
    h9: Mapped[int] = mapped_column(default=0, server_default="0")
    h10: Mapped[int] = mapped_column(default=0, server_default="0")
    ratings_closed: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    comments_closed: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    comments_close_at: Mapped[datetime | None] = mapped_column()  # ``comments.closing``
    close_after_days: Mapped[int | None] = mapped_column()  # None: the site's; 0: never
    editorial_scale: Mapped[int | None] = mapped_column()  # Final Summary's; mixed scales
    created: Mapped[datetime] = mapped_column(default=utcnow)
    # Replaced by every write changing what readers see (``data.versions``): keys the cache.
    version: Mapped[int] = mapped_column(sa.BigInteger, default=new_version, server_default="0")

    site: Mapped[Site] = relationship(back_populates="pages")
    editorial: Mapped[list[EditorialScore]] = relationship(
        order_by="EditorialScore.position, EditorialScore.id", cascade="all, delete-orphan"
    )

    def histogram(self, scale: int) -> dict[str, int]:
        """Votes per value, 1..scale, as the API shows them."""
        return {str(v): int(getattr(self, f"h{v}")) for v in range(1, scale + 1)}


TOP_LEVEL, PINNED = sa.text("parent_id IS NULL"), sa.text("pinned")


class Comment(db.Model):  # type: ignore[name-defined]
    __tablename__ = "comment"
    __table_args__ = (
        sa.CheckConstraint(sql_in("status", STATUSES), name="status"),
        sa.CheckConstraint("depth >= 0", name="depth"),
        sa.CheckConstraint("likes >= 0", name="likes"),
        # Thread reads: a page's comments; its top-level ones, and one comment's replies,
        # in the order shown (partial: PostgreSQL cannot order by the columns after an
        # ``IS NULL``); replies by root. The moderation queue: one status, newest first; an
        # author's comments by the email's blind index (migration 0009).
        sa.Index("comment_thread", "page_id", "status", "parent_id", "created", "id"),
        sa.Index(
            "comment_top_level",
            "page_id",
            "created",
            "id",
            "status",
            sqlite_where=TOP_LEVEL,
            postgresql_where=TOP_LEVEL,
        ),
        sa.Index("comment_children", "parent_id", "created", "id", "status"),
        sa.Index("comment_root", "root_id", "status"),
        sa.Index("comment_queue", "status", "created", "id"),
        sa.Index("comment_email_status", "email_index", "status", "created", "id"),
        sa.Index("comment_pinned", "page_id", sqlite_where=PINNED, postgresql_where=PINNED),
        # Never reuse a deleted comment's id: a stale reply or permalink must not
        # land on a stranger's newer comment.
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    page_id: Mapped[int] = mapped_column(sa.ForeignKey("page.id", ondelete="CASCADE"))
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("comment.id", ondelete="CASCADE"))
    # The top-level ancestor (itself for a top-level comment, set after insert).
    root_id: Mapped[int | None] = mapped_column(sa.ForeignKey("comment.id", ondelete="CASCADE"))
    depth: Mapped[int] = mapped_column(default=0)
    author: Mapped[str | None] = mapped_column(sa.String(NAME_MAX))
    email_encrypted: Mapped[str | None] = mapped_column(sa.Text)
    email_index: Mapped[str | None] = mapped_column(sa.String(64))
    avatar: Mapped[str] = mapped_column(sa.String(32), default="")
    website: Mapped[str | None] = mapped_column(sa.String(WEBSITE_MAX))
    text: Mapped[str] = mapped_column(sa.Text, default="")
    html: Mapped[str] = mapped_column(sa.Text, default="")
    status: Mapped[str] = mapped_column(sa.String(16), default="approved")
    created: Mapped[datetime] = mapped_column(default=utcnow)
    edited: Mapped[datetime | None] = mapped_column()
    remote_addr: Mapped[str | None] = mapped_column(sa.String(64))
    edit_token_hash: Mapped[str | None] = mapped_column(sa.String(64))
    likes: Mapped[int] = mapped_column(default=0)
    notify: Mapped[bool] = mapped_column(default=False)
    # Why a comment waits for review, shown to moderators ("why is this pending").
    pending_reason: Mapped[str | None] = mapped_column(sa.String(200))
    # Keyed hash of the visitor key the comment came with (trust, bans, shadow bans).
    visitor: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    # Posted by a moderator from the admin views: shown as such.
    by_moderator: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # A shadow-banned author's comment: their own answers say published, nobody sees it.
    shadow: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    pinned: Mapped[bool] = mapped_column(default=False, server_default=sa.false())  # shown first

    page: Mapped[Page] = relationship()
    parent: Mapped[Comment | None] = relationship(remote_side=[id], foreign_keys=[parent_id])


class Rating(db.Model):  # type: ignore[name-defined]
    """One visitor's vote on one page; a review's rating links its comment.

    ``value`` is the vote and counts while ``counted``; a review waiting for moderation
    keeps its rating aside (``pending_value``, ``pending_comment_id``) until it is approved,
    so the earlier vote counts meanwhile. A row holding only a pending rating has
    ``counted`` false, no ``comment_id``, and ``value`` equal to the pending one."""

    __tablename__ = "rating"
    __table_args__ = (
        sa.UniqueConstraint("page_id", "visitor", name="rating_page_visitor"),
        sa.CheckConstraint("value BETWEEN 1 AND 10", name="value"),
        sa.CheckConstraint("pending_value BETWEEN 1 AND 10", name="pending_value"),
        sa.Index("rating_visitor", "visitor"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    page_id: Mapped[int] = mapped_column(sa.ForeignKey("page.id", ondelete="CASCADE"))
    visitor: Mapped[str] = mapped_column(sa.String(64))  # keyed hash of the visitor key
    value: Mapped[int] = mapped_column()
    # A review's rating counts only while its comment is approved.
    comment_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("comment.id", ondelete="SET NULL"), unique=True
    )
    counted: Mapped[bool] = mapped_column(default=True)
    # A review waiting for moderation: its rating, which becomes the vote once approved.
    pending_value: Mapped[int | None] = mapped_column()
    pending_comment_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("comment.id", ondelete="SET NULL"), unique=True
    )
    remote_addr: Mapped[str | None] = mapped_column(sa.String(64))
    created: Mapped[datetime] = mapped_column(default=utcnow)
    updated: Mapped[datetime] = mapped_column(default=utcnow)


class Like(db.Model):  # type: ignore[name-defined]
    """One visitor's like of one comment."""

    __tablename__ = "comment_like"
    __table_args__ = (
        sa.UniqueConstraint("comment_id", "visitor", name="like_comment_visitor"),
        sa.Index("like_visitor", "visitor"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    comment_id: Mapped[int] = mapped_column(sa.ForeignKey("comment.id", ondelete="CASCADE"))
    visitor: Mapped[str] = mapped_column(sa.String(64))
    created: Mapped[datetime] = mapped_column(default=utcnow)


class EditorialScore(db.Model):  # type: ignore[name-defined]
    """A score the site owner gives a page ("IMDB 5.9/10"): shown, never mixed into votes."""

    __tablename__ = "editorial_score"
    __table_args__ = (
        sa.UniqueConstraint("page_id", "label", name="editorial_page_label"),
        sa.CheckConstraint(sql_in("scale", EDITORIAL_SCALES), name="scale"),
        sa.CheckConstraint("score >= 0 AND score <= scale", name="score"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    page_id: Mapped[int] = mapped_column(sa.ForeignKey("page.id", ondelete="CASCADE"))
    label: Mapped[str] = mapped_column(sa.String(LABEL_MAX))
    score: Mapped[float] = mapped_column(sa.Numeric(5, 1, asdecimal=False))
    scale: Mapped[int] = mapped_column(default=10)
    url: Mapped[str | None] = mapped_column(sa.String(URL_MAX))
    position: Mapped[int] = mapped_column(default=0)


class PrivacyRequest(db.Model):  # type: ignore[name-defined]
    """A commenter's request, by address, for their data or its erasure: the mailed link's
    record. Its ``used`` time makes the link single-use; the rows of the last day are the
    per-address budget every worker shares."""

    __tablename__ = "privacy_request"
    __table_args__ = (
        sa.CheckConstraint(sql_in("kind", PRIVACY_KINDS), name="kind"),
        sa.Index("privacy_request_email", "email_index", "created"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(sa.ForeignKey("site.id", ondelete="CASCADE"))
    email_index: Mapped[str] = mapped_column(sa.String(64))  # blind index, never the address
    kind: Mapped[str] = mapped_column(sa.String(16))
    mailed: Mapped[bool] = mapped_column(default=False)  # a link went out for it
    created: Mapped[datetime] = mapped_column(default=utcnow)
    used: Mapped[datetime | None] = mapped_column()
