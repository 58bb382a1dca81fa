"""The audit log: who changed what, written in the transaction that makes the change.

Entries name what changed, never an email or a comment's text: an author's own deletion
must leave nothing of theirs behind. Changes with no moderator (the command line, start-up)
show as "system"; the command line says so in each entry's detail, which starts with
"[cli]" while ``acting(CLI)`` is in force (the log has no column of its own for it).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import sqlalchemy as sa

from service.data import AuditEntry, Moderator
from service.data.bounds import AUDIT_TARGET_MAX
from service.extensions import db

CLI = "cli"
_ACTOR: ContextVar[str] = ContextVar("parley_audit_actor", default="")


@contextmanager
def acting(actor: str) -> Iterator[None]:
    """Entries written without a moderator inside the block name ``actor`` (``CLI``)."""
    token = _ACTOR.set(actor)
    try:
        yield
    finally:
        _ACTOR.reset(token)


def record(
    moderator: Moderator | None, site_id: int | None, action: str, target: str, detail: str = ""
) -> None:
    """Write one audit entry (caller commits, in the same transaction as the action)."""
    actor = _ACTOR.get() if moderator is None else ""
    if actor:
        detail = f"[{actor}] {detail}".rstrip()
    db.session.add(
        AuditEntry(
            moderator_id=moderator.id if moderator else None,
            site_id=site_id,
            action=action,
            target=target[:AUDIT_TARGET_MAX],
            detail=detail,
        )
    )


def changed_fields(row: Any, values: dict[str, Any]) -> list[str]:
    """Set each value on the row; describe the ones that changed ("name: before -> after")."""
    changes = []
    for name, value in values.items():
        before = getattr(row, name)
        if before != value:
            setattr(row, name, value)
            changes.append(f"{name}: {before} -> {value}")
    return changes


def entries(site_ids: list[int], limit: int) -> list[AuditEntry]:
    """The newest entries of these sites and the service-wide ones."""
    return list(
        db.session.scalars(
            sa.select(AuditEntry)
            .where(sa.or_(AuditEntry.site_id.in_(site_ids), AuditEntry.site_id.is_(None)))
            .order_by(AuditEntry.created.desc(), AuditEntry.id.desc())
            .limit(limit)
        )
    )
