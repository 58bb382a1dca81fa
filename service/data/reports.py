"""Readers' reports of published comments (``service.comments.reports``)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from service.data.bounds import REPORT_REASON_MAX
from service.data.models import utcnow
from service.extensions import db


class Report(db.Model):  # type: ignore[name-defined]
    """One visitor's report of one comment, with their reason: shown to moderators only,
    and kept until a moderator decides on the comment (or the comment goes)."""

    __tablename__ = "comment_report"
    __table_args__ = (
        sa.UniqueConstraint("comment_id", "visitor", name="report_comment_visitor"),
        sa.Index("report_visitor", "visitor"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    comment_id: Mapped[int] = mapped_column(sa.ForeignKey("comment.id", ondelete="CASCADE"))
    visitor: Mapped[str] = mapped_column(sa.String(64))  # keyed hash of the visitor key
    reason: Mapped[str] = mapped_column(sa.String(REPORT_REASON_MAX), default="")
    created: Mapped[datetime] = mapped_column(default=utcnow)
