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
SCHEMA_TYPE_MAX = 40
LABEL_MAX = 80


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
        sa.CheckConstraint("link_limit >= 0", name="link_limit"),
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
    # Under the "links" policy a comment with more links than this waits for review.
    link_limit: Mapped[int] = mapped_column(default=2, server_default="2")
    notify_moderators: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
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
        sa.CheckConstraint("rating_count >= 0 AND rating_sum >= 0", name="rating_totals"),
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
    created: Mapped[datetime] = mapped_column(default=utcnow)

    site: Mapped[Site] = relationship(back_populates="pages")
    editorial: Mapped[list[EditorialScore]] = relationship(
        order_by="EditorialScore.position, EditorialScore.id", cascade="all, delete-orphan"
    )

    def histogram(self, scale: int) -> dict[str, int]:
        """Votes per value, 1..scale, as the API shows them."""
        return {str(v): int(getattr(self, f"h{v}")) for v in range(1, scale + 1)}


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

    page: Mapped[Page] = relationship()
    parent: Mapped[Comment | None] = relationship(remote_side=[id], foreign_keys=[parent_id])


class Rating(db.Model):  # type: ignore[name-defined]
    """One visitor's vote on one page; a review's rating links its comment."""

    __tablename__ = "rating"
    __table_args__ = (
        sa.UniqueConstraint("page_id", "visitor", name="rating_page_visitor"),
        sa.CheckConstraint("value BETWEEN 1 AND 10", name="value"),
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
        sa.CheckConstraint("scale IN (5, 10, 100)", name="scale"),
        sa.CheckConstraint("score >= 0 AND score <= scale", name="score"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    page_id: Mapped[int] = mapped_column(sa.ForeignKey("page.id", ondelete="CASCADE"))
    label: Mapped[str] = mapped_column(sa.String(LABEL_MAX))
    score: Mapped[float] = mapped_column(sa.Numeric(5, 1, asdecimal=False))
    scale: Mapped[int] = mapped_column(default=10)
    url: Mapped[str | None] = mapped_column(sa.String(URL_MAX))
    position: Mapped[int] = mapped_column(default=0)


ROLES = ("owner", "moderator")


class Moderator(db.Model):  # type: ignore[name-defined]
    """An admin account. Passwords are stored only as a scrypt hash."""

    __tablename__ = "moderator"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(EMAIL_MAX), unique=True)
    name: Mapped[str] = mapped_column(sa.String(NAME_MAX))
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None] = mapped_column()
    last_login: Mapped[datetime | None] = mapped_column()
    created: Mapped[datetime] = mapped_column(default=utcnow)

    roles: Mapped[list[Role]] = relationship(
        back_populates="moderator", cascade="all, delete-orphan"
    )


class Role(db.Model):  # type: ignore[name-defined]
    """A moderator's role on one site: owner (settings too) or moderator."""

    __tablename__ = "role"
    __table_args__ = (
        sa.UniqueConstraint("moderator_id", "site_id", name="role_moderator_site"),
        sa.CheckConstraint("role IN ('owner', 'moderator')", name="role"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    moderator_id: Mapped[int] = mapped_column(sa.ForeignKey("moderator.id", ondelete="CASCADE"))
    site_id: Mapped[int] = mapped_column(sa.ForeignKey("site.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(sa.String(16))

    moderator: Mapped[Moderator] = relationship(back_populates="roles")
    site: Mapped[Site] = relationship()


class AuditEntry(db.Model):  # type: ignore[name-defined]
    """One moderation action: who did what to which comment, page or site, and when."""

    __tablename__ = "audit_log"
    __table_args__ = (sa.Index("audit_site_created", "site_id", "created"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    moderator_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("moderator.id", ondelete="SET NULL")
    )
    site_id: Mapped[int | None] = mapped_column(sa.ForeignKey("site.id", ondelete="CASCADE"))
    action: Mapped[str] = mapped_column(sa.String(40))
    target: Mapped[str] = mapped_column(sa.String(120), default="")
    detail: Mapped[str] = mapped_column(sa.Text, default="")
    created: Mapped[datetime] = mapped_column(default=utcnow)

    moderator: Mapped[Moderator | None] = relationship()


BAN_KINDS = ("email", "address", "visitor")


class Ban(db.Model):  # type: ignore[name-defined]
    """A banned author: by email (blind index), address prefix (keyed) or visitor key (hash)."""

    __tablename__ = "ban"
    __table_args__ = (
        sa.UniqueConstraint("site_id", "kind", "value", name="ban_site_kind_value"),
        sa.CheckConstraint("kind IN ('email', 'address', 'visitor')", name="kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(sa.ForeignKey("site.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(sa.String(16))
    value: Mapped[str] = mapped_column(sa.String(64))  # a keyed hash, never the plain value
    label: Mapped[str] = mapped_column(sa.String(300), default="")  # what moderators see
    shadow: Mapped[bool] = mapped_column(default=False)
    reason: Mapped[str] = mapped_column(sa.String(300), default="")
    moderator_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("moderator.id", ondelete="SET NULL")
    )
    created: Mapped[datetime] = mapped_column(default=utcnow)


class BlockedWord(db.Model):  # type: ignore[name-defined]
    """A word or phrase that sends a comment to the queue."""

    __tablename__ = "blocked_word"
    __table_args__ = (sa.UniqueConstraint("site_id", "word", name="blocked_site_word"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(sa.ForeignKey("site.id", ondelete="CASCADE"))
    word: Mapped[str] = mapped_column(sa.String(100))
    created: Mapped[datetime] = mapped_column(default=utcnow)


class Address(db.Model):  # type: ignore[name-defined]
    """A commenter's email address as the mailer knows it: confirmed or not, unsubscribed."""

    __tablename__ = "email_address"

    id: Mapped[int] = mapped_column(primary_key=True)
    email_index: Mapped[str] = mapped_column(sa.String(64), unique=True)
    email_encrypted: Mapped[str] = mapped_column(sa.Text)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)  # opaque link token
    confirmed: Mapped[datetime | None] = mapped_column()
    unsubscribed: Mapped[datetime | None] = mapped_column()
    created: Mapped[datetime] = mapped_column(default=utcnow)


class OutboxMessage(db.Model):  # type: ignore[name-defined]
    """Mail or a webhook call to send after the commit, retried until it goes."""

    __tablename__ = "outbox"
    __table_args__ = (
        sa.Index("outbox_due", "sent", "send_after"),
        sa.CheckConstraint("kind IN ('mail', 'webhook')", name="kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(16))
    recipient: Mapped[str] = mapped_column(sa.Text)  # encrypted email, or the webhook URL
    subject: Mapped[str] = mapped_column(sa.String(300), default="")
    body: Mapped[str] = mapped_column(sa.Text, default="")
    html: Mapped[str] = mapped_column(sa.Text, default="")
    headers_json: Mapped[str] = mapped_column(sa.Text, default="{}")
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(sa.String(500), default="")
    send_after: Mapped[datetime] = mapped_column(default=utcnow)
    sent: Mapped[datetime | None] = mapped_column()
    created: Mapped[datetime] = mapped_column(default=utcnow)


class Webhook(db.Model):  # type: ignore[name-defined]
    """A URL told about new comments, signed with HMAC-SHA256 under its secret."""

    __tablename__ = "webhook"

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(sa.ForeignKey("site.id", ondelete="CASCADE"))
    url: Mapped[str] = mapped_column(sa.String(URL_MAX))
    secret: Mapped[str] = mapped_column(sa.String(128))
    active: Mapped[bool] = mapped_column(default=True)
    created: Mapped[datetime] = mapped_column(default=utcnow)
