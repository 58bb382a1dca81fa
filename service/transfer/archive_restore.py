"""Restoring an export (``archive``) into an empty database: ``import parley FILE``.

Everything is checked before anything is written: the document against its schema
(pydantic models made from the tables, ``archive_schema``), every id unique, every link
(a reply's parent, a rating's comment, an audit entry's moderator) pointing to a row of the
document, the data key the same as this service's (named, both ids, when it is not) and the
database empty. Then the rows go in with their own ids, in one transaction, links first,
and each table's id counter is set past them (``archive_ids``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pydantic
import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError

from service.database import writing
from service.extensions import db
from service.rules.errors import DomainError, ValidationError
from service.rules.privacy import encrypt_email, keyed_hash, parse_data_key
from service.transfer.archive_ids import restore_counters
from service.transfer.archive_schema import (
    CLEAR_EMAIL,
    EMAIL_COLUMN,
    FORMAT,
    SECTIONS,
    VERSION,
    Section,
    document_model,
    field_name,
    stored_value,
)

BATCH = 1000  # rows per INSERT
MAX_PROBLEMS = 20  # problems named in one refusal

Rows = dict[str, list[dict[str, Any]]]  # section name -> rows as stored, in writing order


def restore_file(path: Path, *, dry_run: bool) -> dict[str, int]:
    """Restore an export into this service's empty database; rows per section.

    With ``dry_run`` everything is checked and nothing written. Refused, with nothing
    written: a file that is not a valid export (``validation_failed``, naming each problem),
    another data key or a database that is not empty (``conflict``).
    """
    document = _read(path)
    clear = document.get("emails") == "clear"
    try:
        checked = document_model(clear).model_validate(document)
    except pydantic.ValidationError as error:
        raise _invalid(error) from None
    del document
    _same_key(checked.data_key_id, checked.data_key_check)
    counters = checked.id_counters
    unknown = sorted(set(counters) - {section.name for section in SECTIONS})
    if unknown:
        raise ValidationError({"id_counters": f"no such section: {', '.join(unknown)}"})
    rows = _rows(checked, clear)
    del checked
    _linked(rows)
    counts = {section.name: len(rows[section.name]) for section in SECTIONS}
    if dry_run:
        _empty()
        return counts
    with writing():
        _empty()
        try:
            for section in SECTIONS:
                _insert(section.table, rows[section.name])
            restore_counters(counters)
            db.session.commit()
        except IntegrityError as error:
            db.session.rollback()
            refusal = f"The database refused a row of the export: {error.orig}"
            raise DomainError("validation_failed", refusal + "; nothing was restored.") from None
    return counts


def _read(path: Path) -> dict[str, Any]:
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise ValidationError({"file": f"cannot read {path}: {error.strerror}"}) from None

    def refuse(constant: str) -> None:
        raise ValueError(f"{constant} is not a number JSON allows")

    try:
        document = json.loads(raw, parse_constant=refuse)
    except (ValueError, RecursionError) as error:
        raise ValidationError({"file": f"{path.name} is not JSON: {error}"}) from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ValidationError(
            {"file": f'{path.name} is not a Parley export (no "format": "{FORMAT}")'}
        )
    version = document.get("version")
    if version != VERSION:
        raise ValidationError(
            {"version": f"this Parley reads export version {VERSION}, not {version!r}"}
        )
    return document


def _invalid(error: pydantic.ValidationError) -> ValidationError:
    """Each problem of the document, where it is: ``comments[3].status``."""
    fields: dict[str, str] = {}
    for problem in error.errors()[:MAX_PROBLEMS]:
        where = ""
        for part in problem["loc"]:
            where += f"[{part}]" if isinstance(part, int) else f".{part}" if where else str(part)
        fields[where or "file"] = problem["msg"]
    more = error.error_count() - len(fields)
    message = "The export file is not valid; nothing was restored."
    if more > 0:
        message += f" ({more} more problems not listed.)"
    return ValidationError(fields, message)


def _same_key(kid: str, check: str) -> None:
    ours = parse_data_key(current_app.config["PARLEY_DATA_KEY"])[0]
    if kid != ours:
        raise DomainError(
            "conflict",
            f"The export was made with data key {kid!r}, but this service runs with data key "
            f"{ours!r}. Its emails, blind indexes and keyed hashes work only under key "
            f"{kid!r}: set PARLEY_DATA_KEY to that key and restore again.",
        )
    if check != keyed_hash("export-check", FORMAT)[:32]:
        raise DomainError(
            "conflict",
            f"The export was made with a data key named {kid!r}, and this service's key "
            f"named {ours!r} is a different key. Set PARLEY_DATA_KEY to the key the export "
            f"was made with and restore again.",
        )


def _rows(checked: pydantic.BaseModel, clear: bool) -> Rows:
    """The document's rows as the database stores them (clear emails encrypted again)."""
    rows: Rows = {}
    for section in SECTIONS:
        columns = [(column, field_name(column, clear)) for column in section.table.columns]
        found = []
        for model in getattr(checked, section.name):
            row = {}
            for column, name in columns:
                value = getattr(model, name)
                if name == CLEAR_EMAIL and column.name == EMAIL_COLUMN and value is not None:
                    value = encrypt_email(value)
                row[column.name] = stored_value(section, column, value)
            found.append(row)
        rows[section.name] = found
    return rows


def _unique_sets(table: sa.Table) -> list[tuple[str, ...]]:
    sets = [tuple(c.name for c in table.primary_key.columns)]
    sets += [(column.name,) for column in table.columns if column.unique]
    for constraint in table.constraints:
        if isinstance(constraint, sa.UniqueConstraint):
            sets.append(tuple(c.name for c in constraint.columns))
    sets += [tuple(c.name for c in index.columns) for index in table.indexes if index.unique]
    return list(dict.fromkeys(sets))


def _linked(rows: Rows) -> None:
    """Ids and unique values unique, every link to a row of the document, replies after
    what they answer; else ``validation_failed`` naming the rows."""
    problems: dict[str, str] = {}
    sections = {section.table.name: section for section in SECTIONS}
    ids = {section.table.name: {row["id"] for row in rows[section.name]} for section in SECTIONS}
    for section in SECTIONS:
        table, found = section.table, rows[section.name]
        for names in _unique_sets(table):
            seen: set[tuple[Any, ...]] = set()
            for index, row in enumerate(found):
                value = tuple(row[name] for name in names)
                if None not in value and value in seen:
                    problems[f"{section.name}[{index}]"] = f"{', '.join(names)} repeated"
                seen.add(value)
        for key in table.foreign_keys:
            target = sections.get(key.column.table.name)
            column = key.parent.name
            for index, row in enumerate(found):
                value = row[column]
                if value is not None and (target is None or value not in ids[target.table.name]):
                    name = target.name if target else key.column.table.name
                    problems[f"{section.name}[{index}].{column}"] = f"no {name} row with id {value}"
        try:
            rows[section.name] = _parents_first(section, found)
        except ValueError as error:
            problems[section.name] = str(error)
    if problems:
        listed = dict(list(problems.items())[:MAX_PROBLEMS])
        more = len(problems) - len(listed)
        message = "The export file is not valid; nothing was restored."
        raise ValidationError(listed, message + (f" ({more} more.)" if more > 0 else ""))


def _parents_first(section: Section, found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows that link rows of their own table (a reply and its parent) after those."""
    own = [
        key.parent.name for key in section.table.foreign_keys if key.column.table is section.table
    ]
    if not own:
        return found
    by_id = {row["id"]: row for row in found}
    done: set[Any] = set()
    ordered: list[dict[str, Any]] = []
    for start in sorted(by_id):
        path, on_path = [start], {start}
        while path:
            ident = path[-1]
            if ident in done:
                path.pop()
                continue
            waiting = [
                parent
                for parent in (by_id[ident][name] for name in own)
                if parent in by_id and parent != ident and parent not in done
            ]
            if not waiting:
                done.add(ident)
                on_path.discard(ident)
                ordered.append(by_id[ident])
                path.pop()
            elif waiting[0] in on_path:
                raise ValueError(f"{section.name} {ident} and {waiting[0]} link each other")
            else:
                path.append(waiting[0])
                on_path.add(waiting[0])
    return ordered


def _empty() -> None:
    """Refuse unless every table a restore writes is empty."""
    found = []
    for section in SECTIONS:
        count = db.session.scalar(sa.select(sa.func.count()).select_from(section.table))
        if count:
            found.append(f"{section.name}: {count}")
    if found:
        raise DomainError(
            "conflict",
            "A restore goes into an empty database only, and this one has data "
            f"({', '.join(found)}). Create a new database with `flask --app service db "
            "upgrade` (not `init` or `serve`, which add the default site, and without "
            "PARLEY_ADMIN_EMAIL, which adds an owner) and restore into that.",
        )


def _insert(table: sa.Table, rows: Iterable[dict[str, Any]]) -> None:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= BATCH:
            db.session.execute(sa.insert(table), batch)
            batch = []
    if batch:
        db.session.execute(sa.insert(table), batch)
