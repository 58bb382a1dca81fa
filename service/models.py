"""Typed models. The database enforces what it can: keys, uniqueness, ranges."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .extensions import db

SITE_KEY_MAX = 64
PAGE_KEY_MAX = 512
TITLE_MAX = 200
URL_MAX = 2048
NAME_MAX = 80
EMAIL_MAX = 254
WEBSITE_MAX = 512
TEXT_MAX = 10_000

STATUSES = ("pending", "approved", "spam", "deleted")


def utcnow() -> datetime:
    """The current UTC time, naive, as every timestamp is stored."""
    return datetime.now(UTC).replace(tzinfo=None)


class Site(db.Model):  # type: ignore[name-defined]
    __tablename__ = "site"
    __table_args__ = (
        sa.CheckConstraint(
            "moderation IN ('none', 'all', 'first-time', 'links')", name="moderation"
        ),
        sa.CheckConstraint("rating_scale IN (5, 10)", name="rating_scale"),
        sa.CheckConstraint("edit_window >= 0", name="edit_window"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(SITE_KEY_MAX), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    origins_json: Mapped[str] = mapped_column("origins", sa.Text, default="[]")
    moderation: Mapped[str] = mapped_column(sa.String(16), default="none")
    rating_scale: Mapped[int] = mapped_column(default=5)
    language: Mapped[str] = mapped_column(sa.String(16), default="en")
    theme: Mapped[str] = mapped_column(sa.String(16), default="auto")
    edit_window: Mapped[int] = mapped_column(default=15 * 60)
    created: Mapped[datetime] = mapped_column(default=utcnow)

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
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(sa.ForeignKey("site.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(sa.String(PAGE_KEY_MAX))
    title: Mapped[str | None] = mapped_column(sa.String(TITLE_MAX))
    url: Mapped[str | None] = mapped_column(sa.String(URL_MAX))
    comment_count: Mapped[int] = mapped_column(default=0)
    created: Mapped[datetime] = mapped_column(default=utcnow)

    site: Mapped[Site] = relationship(back_populates="pages")


class Comment(db.Model):  # type: ignore[name-defined]
    __tablename__ = "comment"
    __table_args__ = (
        sa.CheckConstraint("status IN ('pending', 'approved', 'spam', 'deleted')", name="status"),
        sa.CheckConstraint("depth >= 0", name="depth"),
        sa.CheckConstraint("likes >= 0", name="likes"),
        # Thread reads: top-level comments of a page in order, and replies by root.
        sa.Index("comment_thread", "page_id", "status", "parent_id", "created", "id"),
        sa.Index("comment_root", "root_id", "status"),
        sa.Index("comment_email_index", "email_index"),
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

    page: Mapped[Page] = relationship()
    parent: Mapped[Comment | None] = relationship(remote_side=[id], foreign_keys=[parent_id])
