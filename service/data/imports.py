"""What imports from other comment systems keep: each imported comment's id in its source,
and the jobs the admin views queue for the background worker (docs/imports.md)."""

from __future__ import annotations

import json
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from service.data.bounds import IMPORT_FORMATS, IMPORT_STATES, SOURCE_ID_MAX, sql_in
from service.data.models import utcnow
from service.extensions import db


class ImportedComment(db.Model):  # type: ignore[name-defined]
    """A comment brought in by an import: (site, source format, source id) is unique, so a
    re-run after a crash, or the same file imported twice, adds nothing twice.

    The comment may be removed later; the row stays (``comment_id`` NULL), so importing the
    file again does not bring it back.
    """

    __tablename__ = "imported_comment"
    __table_args__ = (
        sa.UniqueConstraint("site_id", "source", "source_id", name="imported_comment_source"),
        sa.CheckConstraint(sql_in("source", tuple(IMPORT_FORMATS)), name="source"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(sa.ForeignKey("site.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(sa.String(16))
    source_id: Mapped[str] = mapped_column(sa.String(SOURCE_ID_MAX))
    comment_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("comment.id", ondelete="SET NULL"), index=True
    )


class ImportJob(db.Model):  # type: ignore[name-defined]
    """An uploaded file waiting for (or going through) the background worker, and how far
    it got: queued, validating, importing N of M, done or failed with a message."""

    __tablename__ = "import_job"
    __table_args__ = (
        sa.CheckConstraint(sql_in("source", tuple(IMPORT_FORMATS)), name="source"),
        sa.CheckConstraint(sql_in("state", IMPORT_STATES), name="state"),
        sa.Index("import_job_state", "state", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(sa.ForeignKey("site.id", ondelete="CASCADE"))
    moderator_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("moderator.id", ondelete="SET NULL")
    )
    source: Mapped[str] = mapped_column(sa.String(16))
    # The upload's file name in the instance folder's imports/ (removed when the job ends).
    stored_name: Mapped[str] = mapped_column(sa.String(100))
    filename: Mapped[str] = mapped_column(sa.String(255), default="")  # as uploaded, shown
    prefixes_json: Mapped[str] = mapped_column("prefixes", sa.Text, default="[]")
    state: Mapped[str] = mapped_column(sa.String(16), default="queued")
    total: Mapped[int] = mapped_column(default=0)  # comments in the file
    processed: Mapped[int] = mapped_column(default=0)  # of them, written or skipped
    created_count: Mapped[int] = mapped_column(default=0)
    message: Mapped[str] = mapped_column(sa.Text, default="")
    created: Mapped[datetime] = mapped_column(default=utcnow)
    started: Mapped[datetime | None] = mapped_column()
    finished: Mapped[datetime | None] = mapped_column()

    @property
    def prefixes(self) -> list[tuple[str, str]]:
        return [(str(old), str(new)) for old, new in json.loads(self.prefixes_json or "[]")]

    @prefixes.setter
    def prefixes(self, value: list[tuple[str, str]]) -> None:
        self.prefixes_json = json.dumps([list(pair) for pair in value])
