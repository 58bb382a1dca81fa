"""Moderator accounts and their roles, the audit log, bans and the word blocklist."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.data.bounds import (
    API_TOKEN_LABEL_MAX,
    AUDIT_TARGET_MAX,
    BAN_KINDS,
    BAN_LABEL_MAX,
    EMAIL_MAX,
    NAME_MAX,
    REASON_MAX,
    ROLES,
    WORD_MAX,
    sql_in,
)
from service.data.models import Site, utcnow
from service.extensions import db


class Moderator(db.Model):  # type: ignore[name-defined]
    """An admin account. Passwords are stored only as a scrypt hash.

    ``session_version`` is stored in each admin session and checked on every request:
    logging out, a new password or a removal bumps it, which ends every session of the
    account at once. An account whose last role was removed is ``disabled`` (kept, so the
    audit log still names who did what) and can neither log in nor keep a session.
    """

    __tablename__ = "moderator"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(EMAIL_MAX), unique=True)
    name: Mapped[str] = mapped_column(sa.String(NAME_MAX))
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    session_version: Mapped[int] = mapped_column(default=1, server_default="1")
    disabled: Mapped[datetime | None] = mapped_column()
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
        sa.CheckConstraint(sql_in("role", ROLES), name="role"),
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
    target: Mapped[str] = mapped_column(sa.String(AUDIT_TARGET_MAX), default="")
    detail: Mapped[str] = mapped_column(sa.Text, default="")
    created: Mapped[datetime] = mapped_column(default=utcnow)

    moderator: Mapped[Moderator | None] = relationship()


class Ban(db.Model):  # type: ignore[name-defined]
    """A banned author: by email (blind index), address prefix (keyed) or visitor key (hash).

    An email ban keeps the address only encrypted (``email_encrypted``), for moderators to
    see; its ``label`` stays empty, so no plain address is stored.
    """

    __tablename__ = "ban"
    __table_args__ = (
        sa.UniqueConstraint("site_id", "kind", "value", name="ban_site_kind_value"),
        sa.CheckConstraint(sql_in("kind", BAN_KINDS), name="kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(sa.ForeignKey("site.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(sa.String(16))
    value: Mapped[str] = mapped_column(sa.String(64))  # a keyed hash, never the plain value
    label: Mapped[str] = mapped_column(sa.String(BAN_LABEL_MAX), default="")  # what moderators see
    email_encrypted: Mapped[str | None] = mapped_column(sa.Text)  # email bans only
    shadow: Mapped[bool] = mapped_column(default=False)
    reason: Mapped[str] = mapped_column(sa.String(REASON_MAX), default="")
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
    word: Mapped[str] = mapped_column(sa.String(WORD_MAX))
    created: Mapped[datetime] = mapped_column(default=utcnow)


class ApiToken(db.Model):  # type: ignore[name-defined]
    """A site's API token: lets a server post like the widget's form. Issued by an owner,
    shown once, stored only as a keyed hash; revoked, it stays listed (who, when)."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(sa.ForeignKey("site.id", ondelete="CASCADE"), index=True)
    label: Mapped[str] = mapped_column(sa.String(API_TOKEN_LABEL_MAX))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    moderator_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("moderator.id", ondelete="SET NULL")
    )
    created: Mapped[datetime] = mapped_column(default=utcnow)
    last_used: Mapped[datetime | None] = mapped_column()
    revoked: Mapped[datetime | None] = mapped_column()
