"""What a Parley export holds (docs/export.md): its header, its sections, the table each
section copies, and the schema a restore checks a document against.

A section is a table, every column of it: the row models are made from the tables
themselves, so a column added to a model is exported and restored with no change here
(and a test fails until docs/export.md lists it). A table added to the models must be put
in ``SECTIONS`` or ``TRANSIENT`` (a test fails until it is).

Rows keep their stored values: ids, hashes, ciphertexts, versions and counters. Two columns
change shape on the way out and back: ``site.origins`` (JSON text) is written as the list it
holds, and with clear emails each ``email_encrypted`` is written as ``email``, the address.
Times are UTC, ISO 8601 with a ``Z``.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from typing import Annotated, Any, Literal

import sqlalchemy as sa
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    StringConstraints,
    create_model,
)

from service.data import (
    Address,
    ApiToken,
    AuditEntry,
    Ban,
    BlockedWord,
    Comment,
    EditorialScore,
    ImportedComment,
    Like,
    Moderator,
    Page,
    PrivacyRequest,
    Rating,
    Report,
    Role,
    Site,
    VisitorProof,
    Webhook,
)

FORMAT = "parley-export"
VERSION = 1
EMAIL_COLUMN = "email_encrypted"
CLEAR_EMAIL = "email"  # what an ``email_encrypted`` column is called in a clear export

Where = Callable[[int], sa.ColumnElement[bool]]

_SITE, _PAGE, _COMMENT = Site.__table__, Page.__table__, Comment.__table__
_ROLE, _AUDIT, _BAN, _TOKEN = (
    Role.__table__,
    AuditEntry.__table__,
    Ban.__table__,
    ApiToken.__table__,
)


def _pages_of(site_id: int) -> sa.Select[Any]:
    return sa.select(_PAGE.c.id).where(_PAGE.c.site_id == site_id)


def _comments_of(site_id: int) -> sa.Select[Any]:
    return sa.select(_COMMENT.c.id).where(_COMMENT.c.page_id.in_(_pages_of(site_id)))


def _emails_of(site_id: int) -> sa.Select[Any]:
    """The blind indexes of the site's commenters: whose subscriptions and proofs go along."""
    return sa.select(_COMMENT.c.email_index).where(
        _COMMENT.c.page_id.in_(_pages_of(site_id)), _COMMENT.c.email_index.is_not(None)
    )


def _moderators_of(site_id: int) -> sa.ColumnElement[bool]:
    """Accounts with a role on the site, and those its audit log, bans and tokens name."""
    named = sa.union(
        sa.select(_ROLE.c.moderator_id).where(_ROLE.c.site_id == site_id),
        *(
            sa.select(table.c.moderator_id).where(
                table.c.site_id == site_id, table.c.moderator_id.is_not(None)
            )
            for table in (_AUDIT, _BAN, _TOKEN)
        ),
    )
    return Moderator.__table__.c.id.in_(named)


@dataclass(frozen=True, eq=False)
class Section:
    """One list of the document: ``name`` in the file, the ``table`` it copies, which of its
    rows belong to one site (``of_site``), and its columns stored as JSON text."""

    name: str
    table: sa.Table
    of_site: Where
    json_columns: dict[str, Any] = field(default_factory=dict)


def _by_site(table: sa.Table) -> Where:
    return lambda site_id: table.c.site_id == site_id


def _by_page(table: sa.Table) -> Where:
    return lambda site_id: table.c.page_id.in_(_pages_of(site_id))


def _by_email(table: sa.Table) -> Where:
    return lambda site_id: table.c.email_index.in_(_emails_of(site_id))


_LIKE, _ADDRESS, _PROOF = Like.__table__, Address.__table__, VisitorProof.__table__
_REPORT = Report.__table__

# In the order a restore writes them (every link points to a row written before).
SECTIONS: tuple[Section, ...] = (
    Section("sites", _SITE, lambda site_id: _SITE.c.id == site_id, {"origins": list[StrictStr]}),
    Section("moderators", Moderator.__table__, _moderators_of),
    Section("roles", _ROLE, _by_site(_ROLE)),
    Section("pages", _PAGE, _by_site(_PAGE)),
    Section("editorial_scores", EditorialScore.__table__, _by_page(EditorialScore.__table__)),
    Section("comments", _COMMENT, _by_page(_COMMENT)),
    Section("ratings", Rating.__table__, _by_page(Rating.__table__)),
    Section("likes", _LIKE, lambda site_id: _LIKE.c.comment_id.in_(_comments_of(site_id))),
    Section("reports", _REPORT, lambda site_id: _REPORT.c.comment_id.in_(_comments_of(site_id))),
    Section("bans", _BAN, _by_site(_BAN)),
    Section("blocklist", BlockedWord.__table__, _by_site(BlockedWord.__table__)),
    Section("webhooks", Webhook.__table__, _by_site(Webhook.__table__)),
    Section("api_tokens", _TOKEN, _by_site(_TOKEN)),
    Section("subscriptions", _ADDRESS, _by_email(_ADDRESS)),
    Section("visitor_proofs", _PROOF, _by_email(_PROOF)),
    Section("imported_comments", ImportedComment.__table__, _by_site(ImportedComment.__table__)),
    Section("privacy_requests", PrivacyRequest.__table__, _by_site(PrivacyRequest.__table__)),
    Section("audit_log", _AUDIT, _by_site(_AUDIT)),
)

# Tables left out on purpose, and why (docs/export.md says the same).
TRANSIENT: dict[str, str] = {
    "outbox": "mail and webhook calls waiting to be sent: a restored copy must not send "
    "them again, nor to the old service's readers",
    "import_job": "uploads waiting for the background worker: their files stay in the old "
    "instance folder",
    "alembic_version": "the schema's revision, written by the migrations (the header's "
    "schema_revision)",
}

# --- the schema a restore checks ----------------------------------------------------------

_IN = re.compile(r"^\s*(\w+) IN \((.*)\)\s*$", re.DOTALL)


def enums(table: sa.Table) -> dict[str, tuple[Any, ...]]:
    """The closed sets a table's CHECK constraints give its columns (``x IN (...)``)."""
    found: dict[str, tuple[Any, ...]] = {}
    for constraint in table.constraints:
        if isinstance(constraint, sa.CheckConstraint):
            match = _IN.match(str(constraint.sqltext))
            if match:
                found[match[1]] = tuple(ast.literal_eval(f"({match[2]},)"))
    return found


def _text_time(value: Any) -> Any:
    if not isinstance(value, str):
        raise ValueError("a time is an ISO 8601 string, like 2026-12-01T10:30:00Z")
    return value


def _utc(value: datetime) -> datetime:
    """Stored times are naive UTC."""
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


Time = Annotated[datetime, BeforeValidator(_text_time), AfterValidator(_utc)]


def field_name(column: sa.Column[Any], clear: bool) -> str:
    """The key of a column in a row of the document."""
    return CLEAR_EMAIL if clear and column.name == EMAIL_COLUMN else column.name


def _annotation(section: Section, column: sa.Column[Any], clear: bool) -> Any:
    closed = enums(section.table).get(column.name)
    if column.name in section.json_columns:
        kind: Any = section.json_columns[column.name]
    elif closed:
        kind = Literal[closed]
    else:
        python = column.type.python_type
        length = getattr(column.type, "length", None)
        if python is bool:
            kind = StrictBool
        elif python is int:
            kind = StrictInt
        elif python is float:
            kind = StrictFloat
        elif python is datetime:
            kind = Time
        elif python is str and length and not (clear and column.name == EMAIL_COLUMN):
            kind = Annotated[StrictStr, StringConstraints(max_length=length)]
        elif python is str:
            kind = StrictStr
        else:  # pragma: no cover - a column type this format does not know yet
            raise TypeError(f"{section.table.name}.{column.name}: no export type for {python}")
    return kind | None if column.nullable else kind


def _default(column: sa.Column[Any]) -> Any:
    """A column with a default may be missing from a row (an export made before the column
    existed); it then gets the default, as a new row would."""
    if column.nullable:
        return None
    default = column.default
    if isinstance(default, sa.ColumnDefault) and default.is_scalar:
        return default.arg
    if isinstance(default, sa.ColumnDefault) and default.is_callable:
        make = default.arg
        return Field(default_factory=lambda: make(None))
    return ...


_STRICT = ConfigDict(extra="forbid")


@cache
def row_model(section: Section, clear: bool) -> type[BaseModel]:
    """The pydantic model of one row of a section: every column, typed, bounded, required
    unless it has a default."""
    fields: dict[str, Any] = {
        field_name(column, clear): (_annotation(section, column, clear), _default(column))
        for column in section.table.columns
    }
    return create_model(f"{section.name}_row", __config__=_STRICT, **fields)


class Header(BaseModel):
    """The fields of a document before its sections."""

    model_config = _STRICT

    format: Literal["parley-export"]
    version: Literal[1]
    exported_at: Time
    data_key_id: StrictStr
    data_key_check: StrictStr
    schema_revision: StrictStr | None = None
    id_counters: dict[StrictStr, StrictInt] = Field(default_factory=dict)
    site: StrictStr | None = None
    emails: Literal["encrypted", "clear"]


@cache
def document_model(clear: bool) -> type[Header]:
    """The pydantic model of a whole document with encrypted or clear emails."""
    emails: Any = Literal["clear"] if clear else Literal["encrypted"]
    sections: dict[str, Any] = {
        section.name: (list[row_model(section, clear)], Field(default_factory=list))  # type: ignore[misc]
        for section in SECTIONS
    }
    return create_model("parley_export", __base__=Header, emails=(emails, ...), **sections)


def export_value(section: Section, column: sa.Column[Any], value: Any) -> Any:
    """A stored value as the document writes it (clear emails aside)."""
    if value is None:
        return None
    if column.name in section.json_columns:
        return json.loads(value)
    if isinstance(value, datetime):
        return _utc(value).isoformat() + "Z"
    return value


def stored_value(section: Section, column: sa.Column[Any], value: Any) -> Any:
    """A checked value of the document as the database stores it (clear emails aside)."""
    if value is not None and column.name in section.json_columns:
        return json.dumps(value)
    return value
