"""Sending the outbox: the mail and webhook calls ``notify.queue`` put in it, after the
commit that queued them.

Rows are claimed with a compare-and-set update (``send_after`` moves forward by a
lease) before they are sent, so several senders never send one row twice; a
failure is retried with exponential backoff until ``PARLEY_OUTBOX_MAX_ATTEMPTS``,
then kept for inspection: ``retry`` queues such a row again (the admin's outbox page).
"""

from __future__ import annotations

import logging
import threading
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import Flask

from service.data import OutboxMessage, Webhook, utcnow
from service.database import writing
from service.extensions import db
from service.notify import webhooks
from service.notify.mailer import DeliveryError, SmtpConnection, SmtpSettings, setting
from service.notify.queue import unpack_headers
from service.rules import privacy

log = logging.getLogger(__name__)
LEASE = timedelta(minutes=5)
MAX_BACKOFF = timedelta(days=1)


def backoff(attempts: int) -> timedelta:
    """The wait after the n-th failed attempt: the base, doubling, at most a day."""
    base = int(setting("PARLEY_OUTBOX_RETRY_SECONDS"))
    return min(timedelta(seconds=base * 2 ** max(attempts - 1, 0)), MAX_BACKOFF)


@dataclass
class Report:
    """What one round did; ``describe`` says it in a line."""

    sent: int = 0
    failed: int = 0
    gave_up: int = 0
    dropped: int = 0
    waiting: int = 0  # mail that waits for PARLEY_SMTP_HOST

    def describe(self) -> str:
        text = (
            f"sent {self.sent}, failed {self.failed} (will retry), gave up {self.gave_up}, "
            f"dropped {self.dropped}"
        )
        if self.waiting:
            text += f"; {self.waiting} mail waiting: PARLEY_SMTP_HOST is not set"
        return text


@dataclass(frozen=True)
class _Job:
    """A row as read before sending: nothing is held open during the network call."""

    id: int
    kind: str
    recipient: str
    subject: str
    body: str
    html: str
    attempts: int
    send_after: datetime
    headers: dict[str, str] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)


def _job(row: OutboxMessage) -> _Job:
    headers, meta = unpack_headers(row.headers_json)
    fields = (row.id, row.kind, row.recipient, row.subject, row.body, row.html)
    return _Job(*fields, row.attempts, row.send_after, headers, meta)


def _due(now: datetime) -> sa.Select[Any]:
    """Unsent rows whose time has come and that have attempts left."""
    return sa.select(OutboxMessage).where(
        OutboxMessage.sent.is_(None),
        OutboxMessage.send_after <= now,
        OutboxMessage.attempts < int(setting("PARLEY_OUTBOX_MAX_ATTEMPTS")),
    )


def _claim(job: _Job) -> bool:
    """Take the row for this sender: only if nobody changed it since it was read."""
    result = db.session.execute(
        sa.update(OutboxMessage)
        .where(
            OutboxMessage.id == job.id,
            OutboxMessage.sent.is_(None),
            OutboxMessage.attempts == job.attempts,
            OutboxMessage.send_after == job.send_after,
        )
        .values(send_after=utcnow() + LEASE)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return bool(getattr(result, "rowcount", 0))


def _record(job: _Job, error: DeliveryError | None) -> str:
    """Write the outcome of one attempt; returns sent, failed or gave_up."""
    values: dict[str, Any] = {"attempts": job.attempts + 1}
    outcome = "sent"
    if error is None:
        values.update(sent=utcnow(), last_error="")
    else:
        maximum = int(setting("PARLEY_OUTBOX_MAX_ATTEMPTS"))
        outcome = "gave_up" if error.permanent or job.attempts + 1 >= maximum else "failed"
        if error.permanent:
            values["attempts"] = max(job.attempts + 1, maximum)
        values["last_error"] = (("permanent: " if error.permanent else "") + str(error))[:500]
        values["send_after"] = utcnow() + backoff(job.attempts + 1)
    db.session.execute(
        sa.update(OutboxMessage)
        .where(OutboxMessage.id == job.id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return outcome


def _deliver(job: _Job, connection: SmtpConnection | None) -> None:
    """Send one job; raises DeliveryError."""
    if job.kind == "mail":
        if connection is None:
            raise DeliveryError("PARLEY_SMTP_HOST is not set")
        try:
            to = privacy.decrypt_email(job.recipient)
        except privacy.DataKeyError as error:
            raise DeliveryError(f"cannot decrypt the recipient: {error}", permanent=True) from None
        connection.send(to, job.subject, job.body, job.html, job.headers)
        return
    secret = job.meta.get("secret")
    if not isinstance(secret, str):
        raise DeliveryError("cannot decrypt the webhook's secret", permanent=True)
    webhooks.deliver(job.recipient, secret, job.body, event=job.subject, delivery=job.id)


def _webhook_secret(job: _Job) -> str | None:
    """The webhook's secret, or None when the webhook is gone or switched off."""
    webhook = db.session.get(Webhook, job.meta.get("webhook") or 0)
    if webhook is None or not webhook.active:
        return None
    try:
        return privacy.decrypt_email(webhook.secret)
    except privacy.DataKeyError:
        return ""  # recorded as a permanent failure when it is sent


def _prepare(now: datetime, limit: int, report: Report) -> list[_Job]:
    """Read the due rows (a read transaction: an idle round takes no write lock)."""
    smtp_set = SmtpSettings.from_config() is not None
    query = _due(now) if smtp_set else _due(now).where(OutboxMessage.kind != "mail")
    order = (OutboxMessage.send_after, OutboxMessage.id)
    jobs: list[_Job] = []
    gone: list[int] = []
    for row in db.session.scalars(query.order_by(*order).limit(limit)).all():
        job = _job(row)
        if job.kind == "webhook":
            secret = _webhook_secret(job)
            if secret is None:
                gone.append(job.id)
                continue
            job.meta["secret"] = secret or None
        jobs.append(job)
    if not smtp_set:
        waiting = _due(now).where(OutboxMessage.kind == "mail").subquery()
        report.waiting = db.session.scalar(sa.select(sa.func.count()).select_from(waiting)) or 0
    cutoff = now - timedelta(days=int(setting("PARLEY_OUTBOX_KEEP_DAYS")))
    old = db.session.scalar(sa.select(OutboxMessage.id).where(OutboxMessage.sent < cutoff).limit(1))
    db.session.commit()
    if gone or old is not None:
        with writing():  # calls of removed webhooks, and sent rows past keeping
            stale = sa.or_(OutboxMessage.id.in_(gone), OutboxMessage.sent < cutoff)
            db.session.execute(sa.delete(OutboxMessage).where(stale))
            db.session.commit()
        report.dropped = len(gone)
    return jobs


def send_due(*, limit: int = 100) -> Report:
    """Send every due row once (at most ``limit``); needs an app context."""
    report = Report()
    jobs = _prepare(utcnow(), limit, report)
    if not jobs:
        return report
    smtp = SmtpSettings.from_config()
    with SmtpConnection(smtp) if smtp else nullcontext() as connection:
        mail_down = False
        for job in jobs:
            if job.kind == "mail" and mail_down:
                continue  # the server is down this round: leave the rest for the next
            with writing():
                if not _claim(job):
                    continue  # another sender has it
            error: DeliveryError | None = None
            try:
                _deliver(job, connection)
            except DeliveryError as failure:
                error = failure
                log.warning("outbox %s %d failed: %s", job.kind, job.id, failure)
                connected = isinstance(connection, SmtpConnection) and connection.connected
                if job.kind == "mail" and not failure.permanent and not connected:
                    mail_down = True
            with writing():
                outcome = _record(job, error)
            setattr(report, outcome, getattr(report, outcome) + 1)
    return report


def for_sites(site_ids: list[int]) -> Any:
    """The rows queued for one of these sites (``queue`` marks each row with its site, as
    text, so the quoted value matches exactly: "1" never finds "12")."""
    marks = [f'"_site": "{site_id}"' for site_id in site_ids]
    if not marks:
        return sa.false()
    return sa.or_(*(OutboxMessage.headers_json.contains(m, autoescape=True) for m in marks))


def gave_up() -> Any:
    """Unsent rows that have no attempts left: kept for inspection, never sent again."""
    maximum = int(setting("PARLEY_OUTBOX_MAX_ATTEMPTS"))
    return sa.and_(OutboxMessage.sent.is_(None), OutboxMessage.attempts >= maximum)


@dataclass(frozen=True)
class Retried:
    """A row queued again, as the audit log names it."""

    id: int
    kind: str
    site_id: int
    attempts: int


def retry(row_ids: list[int] | None, site_ids: list[int]) -> list[Retried]:
    """Queue rows of these sites that gave up again (these ids, or None: all of them): no
    attempts made, due now (caller commits, in a write transaction). No sender holds such
    a row, so none is sent twice."""
    query = sa.select(OutboxMessage).where(gave_up(), for_sites(site_ids))
    if row_ids is not None:
        query = query.where(OutboxMessage.id.in_(row_ids[:500]))
    done = []
    for row in db.session.scalars(query.order_by(OutboxMessage.id).with_for_update()):
        site = unpack_headers(row.headers_json)[1].get("site")
        done.append(Retried(row.id, row.kind, int(site or 0), row.attempts))
        row.attempts, row.last_error, row.send_after = 0, "", utcnow()
    return done


class OutboxWorker(threading.Thread):
    """A daemon thread that sends the outbox every ``interval`` seconds until stopped."""

    def __init__(self, app: Flask, interval: float) -> None:
        super().__init__(name="parley-outbox", daemon=True)
        self.app = app
        self.interval = interval
        self.stop_event = threading.Event()

    def run(self) -> None:
        while not self.stop_event.is_set():
            try:
                with self.app.app_context():
                    send_due()
            except Exception:  # keep going: the next round may work
                log.exception("outbox worker: a round failed")
            self.stop_event.wait(self.interval)

    def stop(self, timeout: float = 10.0) -> None:
        """Ask the thread to stop and wait for it (a send in progress finishes first)."""
        self.stop_event.set()
        self.join(timeout)


def start_worker(app: Flask, interval: float | None = None) -> OutboxWorker:
    """Start sending the outbox in a background thread; ``thread.stop()`` ends it."""
    with app.app_context():
        interval = float(setting("PARLEY_OUTBOX_INTERVAL")) if interval is None else interval
    worker = OutboxWorker(app, interval)
    worker.start()
    return worker
