"""Id counters across an export and a restore.

A restore writes rows with their own ids; the next row a restored service writes must
still get a new one, and a comment must never get the id of a comment removed before the
export (a stale reply or permalink would land on a stranger's newer comment: the comment
table is ``AUTOINCREMENT`` on SQLite for this). So the export's header carries each
table's counter, the highest id it ever handed out (PostgreSQL: its id sequence; SQLite:
``sqlite_sequence``, kept for ``AUTOINCREMENT`` tables), and a restore sets each counter
past both that and the highest id it wrote.
"""

from __future__ import annotations

import sqlalchemy as sa

from service.extensions import db
from service.transfer.archive_schema import SECTIONS

_LAST_VALUE = sa.text(
    "SELECT pg_sequence_last_value(CAST(pg_get_serial_sequence(:name, 'id') AS regclass))"
)


def _autoincrement(table: sa.Table) -> bool:
    return bool(table.dialect_options["sqlite"].get("autoincrement"))


def read_counters(connection: sa.Connection) -> dict[str, int]:
    """The highest id each exported table's counter handed out, by section (tables whose
    counter never moved are left out)."""
    counters: dict[str, int] = {}
    dialect = connection.dialect.name
    if dialect == "postgresql":
        for section in SECTIONS:
            value = connection.execute(_LAST_VALUE, {"name": section.table.name}).scalar()
            if value is not None:
                counters[section.name] = int(value)
    elif dialect == "sqlite" and sa.inspect(connection).has_table("sqlite_sequence"):
        rows = connection.execute(sa.text("SELECT name, seq FROM sqlite_sequence")).all()
        stored: dict[str, int] = {str(name): int(seq) for name, seq in rows}
        for section in SECTIONS:
            value = stored.get(section.table.name)
            if value is not None and _autoincrement(section.table):
                counters[section.name] = int(value)
    return counters


def restore_counters(counters: dict[str, int]) -> None:
    """Each table's counter past the highest id written and the export's counter (in the
    restore's transaction)."""
    dialect = db.session.get_bind().dialect.name
    for section in SECTIONS:
        table = section.table
        highest = db.session.scalar(sa.select(sa.func.max(table.c.id))) or 0
        value = max(highest, counters.get(section.name, 0))
        if dialect == "postgresql":
            sequence = sa.func.pg_get_serial_sequence(table.name, "id")
            db.session.execute(sa.select(sa.func.setval(sequence, max(value, 1), value > 0)))
        elif dialect == "sqlite" and _autoincrement(table) and value > highest:
            # SQLite keeps the row once an id was written; a table restored empty has none.
            params = {"name": table.name, "seq": value}
            updated = db.session.execute(
                sa.text("UPDATE sqlite_sequence SET seq = :seq WHERE name = :name"), params
            )
            if not updated.rowcount:  # type: ignore[attr-defined]
                db.session.execute(
                    sa.text("INSERT INTO sqlite_sequence (name, seq) VALUES (:name, :seq)"),
                    params,
                )
