"""Parley's own export, and its restore into an empty database (docs/export.md).

An export is one JSON document: a header (format, version, time, the data key's id and a
check of the key itself, the schema revision, the id counters) and one list per section
(``archive_schema.SECTIONS``), every column of every row as stored. It is read in one
transaction (on PostgreSQL ``REPEATABLE READ``), so it is one moment of the database, and
written out as it is read, a few hundred rows at a time: memory stays flat whatever the
size. Emails stay encrypted, with their blind index, unless the owner asks for them in
clear.

``restore_file`` (``archive_restore``) reads such a document back: the ``import parley``
command calls it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l

from service.data import Moderator, Site, utcnow
from service.extensions import db
from service.rules.errors import DomainError
from service.rules.privacy import decrypt_email, keyed_hash, parse_data_key
from service.sites import audit
from service.transfer.archive_ids import read_counters
from service.transfer.archive_restore import restore_file
from service.transfer.archive_schema import (
    CLEAR_EMAIL,
    EMAIL_COLUMN,
    FORMAT,
    SECTIONS,
    VERSION,
    Section,
    export_value,
)

__all__ = ["Export", "data_key_check", "data_key_id", "prepare_export", "restore_file"]

BATCH = 500  # rows read, and written out, at a time


def data_key_id() -> str:
    """The id of the data key this service encrypts and hashes with."""
    return parse_data_key(current_app.config["PARLEY_DATA_KEY"])[0]


def data_key_check() -> str:
    """A keyed hash of a fixed text: equal only under the very same data key, so a restore
    tells a different key that reuses an id from the right one. Reveals nothing of it."""
    return keyed_hash("export-check", FORMAT)[:32]


@dataclass
class Export:
    """An export about to be written: of every site, or of one (``site_id``)."""

    site_key: str | None
    site_id: int | None
    clear_emails: bool
    counts: dict[str, int] = field(default_factory=dict)

    def filename(self) -> str:
        """What a download of it is called."""
        scope = self.site_key or "all-sites"
        return f"parley-export-{scope}-{utcnow():%Y%m%d-%H%M%S}.json"

    def chunks(self) -> Iterator[str]:
        """The document, in pieces of text to write one after the other; ``counts`` holds
        the rows of each section once they are all out."""
        engine = db.engine
        with engine.connect() as connection:
            if engine.dialect.name == "postgresql":
                connection = connection.execution_options(isolation_level="REPEATABLE READ")
            yield "{\n"
            for key, value in self._header(connection).items():
                yield f"  {json.dumps(key)}: {json.dumps(value)},\n"
            for index, section in enumerate(SECTIONS):
                yield from self._section(connection, section)
                yield ",\n" if index < len(SECTIONS) - 1 else "\n"
            yield "}\n"
            connection.rollback()  # it only read

    def _header(self, connection: sa.Connection) -> dict[str, Any]:
        revision = None
        if sa.inspect(connection).has_table("alembic_version"):
            revision = connection.execute(sa.text("SELECT version_num FROM alembic_version"))
            revision = revision.scalar()
        return {
            "format": FORMAT,
            "version": VERSION,
            "exported_at": utcnow().isoformat() + "Z",
            "data_key_id": data_key_id(),
            "data_key_check": data_key_check(),
            "schema_revision": revision,
            "id_counters": read_counters(connection),
            "site": self.site_key,
            "emails": "clear" if self.clear_emails else "encrypted",
        }

    def _section(self, connection: sa.Connection, section: Section) -> Iterator[str]:
        table = section.table
        query = sa.select(table).order_by(*table.primary_key.columns)
        if self.site_id is not None:
            query = query.where(section.of_site(self.site_id))
        result = connection.execution_options(yield_per=BATCH).execute(query)
        count = 0
        yield f"  {json.dumps(section.name)}: ["
        for rows in result.partitions():
            lines = [json.dumps(self._row(section, row._mapping)) for row in rows]
            yield ("\n    " if count == 0 else ",\n    ") + ",\n    ".join(lines)
            count += len(lines)
        yield "\n  ]" if count else "]"
        self.counts[section.name] = count

    def _row(self, section: Section, stored: sa.RowMapping) -> dict[str, Any]:
        row: dict[str, Any] = {}
        for column in section.table.columns:
            value = stored[column]
            if self.clear_emails and column.name == EMAIL_COLUMN:
                row[CLEAR_EMAIL] = decrypt_email(value) if value is not None else None
            else:
                row[column.name] = export_value(section, column, value)
        return row


def prepare_export(site_key: str | None, *, clear_emails: bool) -> Export:
    """An export of one site (by key) or of every site; ``site_not_found`` for an unknown
    key, before anything is written."""
    if site_key is None:
        return Export(None, None, clear_emails)
    site = db.session.scalar(sa.select(Site).where(Site.key == site_key))
    if site is None:
        raise DomainError(
            "site_not_found", _l("There is no site %(key)r on this service.", key=site_key)
        )
    return Export(site.key, site.id, clear_emails)


def record_download(moderator: Moderator, export: Export) -> None:
    """Write who downloaded an export in the admin views to the audit log (caller commits):
    an export holds every account's password hash, and maybe every address."""
    emails = "emails in clear" if export.clear_emails else "emails encrypted"
    target = f"site {export.site_key}" if export.site_key else "every site"
    audit.record(moderator, export.site_id, "export", target, emails)
