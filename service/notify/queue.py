"""Queueing in the outbox: mail and webhook calls, added in the caller's transaction and
sent after its commit by ``notify.outbox``.

Internal data rides in ``headers_json`` under keys starting with "_" (a reference for
de-duplication, the webhook id, the event, the site the row is for); only the other keys
become mail headers. The site is kept as text, so ``outbox.for_sites`` can find its rows
by an exact match in the stored JSON.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from service.data import OutboxMessage, Webhook, utcnow
from service.extensions import db
from service.notify.mailer import one_line


def pack_headers(headers: dict[str, str], meta: dict[str, Any]) -> str:
    """A row's ``headers_json``: mail headers, and internal data under keys starting with _."""
    data: dict[str, Any] = dict(headers)
    data.update({f"_{key}": value for key, value in meta.items()})
    return json.dumps(data, sort_keys=True)


def queue_mail(
    *,
    recipient: str,
    subject: str,
    text: str,
    html: str,
    headers: dict[str, str] | None = None,
    ref: str | None = None,
    site_id: int | None = None,
) -> OutboxMessage:
    """Queue a mail to an encrypted address, about one site (caller commits)."""
    meta = {"ref": ref} if ref else {}
    if site_id is not None:
        meta["site"] = str(site_id)
    row = OutboxMessage(
        kind="mail",
        recipient=recipient,
        subject=one_line(subject),
        body=text,
        html=html,
        headers_json=pack_headers(headers or {}, meta),
        send_after=utcnow(),
    )
    db.session.add(row)
    return row


def queue_webhook(webhook: Webhook, body: str, *, event: str, ref: str) -> OutboxMessage:
    """Queue one signed call of a webhook (caller commits); it is signed when sent."""
    row = OutboxMessage(
        kind="webhook",
        recipient=webhook.url,
        subject=event,
        body=body,
        headers_json=pack_headers(
            {},
            {"ref": ref, "webhook": webhook.id, "event": event, "site": str(webhook.site_id)},
        ),
        send_after=utcnow(),
    )
    db.session.add(row)
    return row


def already_queued(ref: str, since: datetime | None = None) -> bool:
    """Whether a row with this reference exists (queued, sent and kept, or given up)."""
    marker = f'"_ref": {json.dumps(ref)}'
    query = sa.select(OutboxMessage.id).where(
        OutboxMessage.headers_json.contains(marker, autoescape=True)
    )
    if since is not None:
        query = query.where(OutboxMessage.created >= since)
    return db.session.scalar(query.limit(1)) is not None


def unpack_headers(stored: str | None) -> tuple[dict[str, str], dict[str, Any]]:
    """A row's mail headers and its internal data, from ``headers_json``."""
    try:
        data = json.loads(stored or "{}")
    except ValueError:
        data = {}
    headers = {k: str(v) for k, v in data.items() if not k.startswith("_")}
    meta = {k[1:]: v for k, v in data.items() if k.startswith("_")}
    return headers, meta
