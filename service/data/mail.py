"""What the service sends: known mail addresses, the outbox, webhooks."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from service.data.bounds import OUTBOX_KINDS, URL_MAX, sql_in
from service.data.models import utcnow
from service.extensions import db


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


class VisitorProof(db.Model):  # type: ignore[name-defined]
    """An address and a visitor key proven to belong together: the key asked for the
    confirmation mail, and the link in it was followed. "Hold first-time authors" trusts
    that key with that address."""

    __tablename__ = "visitor_proof"
    __table_args__ = (sa.UniqueConstraint("email_index", "visitor", name="proof_email_visitor"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email_index: Mapped[str] = mapped_column(sa.String(64))
    visitor: Mapped[str] = mapped_column(sa.String(64))  # keyed hash of the visitor key
    created: Mapped[datetime] = mapped_column(default=utcnow)


class OutboxMessage(db.Model):  # type: ignore[name-defined]
    """Mail or a webhook call to send after the commit, retried until it goes."""

    __tablename__ = "outbox"
    __table_args__ = (
        sa.Index("outbox_due", "sent", "send_after"),
        sa.CheckConstraint(sql_in("kind", OUTBOX_KINDS), name="kind"),
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
