"""Command line for notifications: ``flask --app service outbox|webhook ...``."""

from __future__ import annotations

import time

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from service.cli.imports import run_import_jobs
from service.data import OutboxMessage, Site, Webhook, utcnow
from service.database import writing
from service.extensions import db
from service.notify.mailer import SmtpSettings, setting
from service.notify.outbox import send_due
from service.notify.webhooks import SIGNATURE_HEADER, WebhookError, add
from service.transfer.jobs import requeue_interrupted

outbox_cli = AppGroup("outbox", help="Mail and webhook calls waiting to be sent.")


@outbox_cli.command("send")
@click.option("--loop", is_flag=True, help="Keep sending until interrupted.")
@click.option("--interval", type=float, default=None, help="Seconds between rounds (--loop).")
def outbox_send(loop: bool, interval: float | None) -> None:
    """Send what is due once (or keep going with --loop); run queued import jobs too."""
    pause = float(setting("PARLEY_OUTBOX_INTERVAL")) if interval is None else interval
    if loop:
        requeue_interrupted()  # jobs this loop was running when it stopped
    while True:
        report = send_due()
        db.session.remove()
        run_import_jobs()
        if not loop or report.sent or report.failed or report.gave_up:
            click.echo(report.describe())
        if not loop:
            return
        try:
            time.sleep(pause)
        except KeyboardInterrupt:
            return


@outbox_cli.command("status")
def outbox_status() -> None:
    """Counts of queued, waiting and given-up rows, and the last errors of given-up ones."""
    maximum = int(setting("PARLEY_OUTBOX_MAX_ATTEMPTS"))
    unsent = sa.select(OutboxMessage).where(OutboxMessage.sent.is_(None))
    queued = [row for row in db.session.scalars(unsent) if row.attempts < maximum]
    failed = list(db.session.scalars(unsent.where(OutboxMessage.attempts >= maximum)))
    click.echo(
        f"queued: {len(queued)} (of which retrying: "
        f"{sum(1 for row in queued if row.attempts)}), gave up: {len(failed)}"
    )
    if not SmtpSettings.from_config():
        click.echo("PARLEY_SMTP_HOST is not set: mail stays queued.")
    for row in failed:
        click.echo(
            f"{row.id}: {row.kind} {row.subject!r} created {row.created:%F %T}, "
            f"{row.attempts} attempts: {row.last_error}"
        )


@outbox_cli.command("retry")
@click.argument("row_id", type=int, required=False, metavar="[ID]")
@click.option("--failed", "all_failed", is_flag=True, help="Every row that gave up.")
def outbox_retry(row_id: int | None, all_failed: bool) -> None:
    """Queue a given-up row (or all of them) again."""
    if row_id is None and not all_failed:
        raise click.UsageError("Give an ID or --failed.")
    query = sa.update(OutboxMessage).where(OutboxMessage.sent.is_(None))
    if row_id is not None:
        query = query.where(OutboxMessage.id == row_id)
    else:
        maximum = int(setting("PARLEY_OUTBOX_MAX_ATTEMPTS"))
        query = query.where(OutboxMessage.attempts >= maximum)
    with writing():
        result = db.session.execute(query.values(attempts=0, last_error="", send_after=utcnow()))
        db.session.commit()
    click.echo(f"{getattr(result, 'rowcount', 0)} queued again.")


webhook_cli = AppGroup("webhook", help="Signed webhooks told about new comments.")


@webhook_cli.command("add")
@click.argument("site_key", metavar="SITE")
@click.argument("url")
def webhook_add(site_key: str, url: str) -> None:
    """Add a webhook to a site; prints its secret once."""
    with writing():
        site = db.session.scalar(sa.select(Site).where(Site.key == site_key))
        if site is None:
            raise click.ClickException(f"There is no site {site_key!r}.")
        try:
            webhook, secret = add(site, url)
        except WebhookError as error:
            db.session.rollback()
            raise click.ClickException(str(error)) from None
        db.session.commit()
    click.echo(f"Webhook {webhook.id} added for site {site_key}: {webhook.url}")
    click.echo(f"Secret (shown only now; verify {SIGNATURE_HEADER} with it): {secret}")


@webhook_cli.command("list")
def webhook_list() -> None:
    """List every webhook (never its secret)."""
    rows = db.session.execute(
        sa.select(Webhook, Site.key).join(Site, Site.id == Webhook.site_id).order_by(Webhook.id)
    )
    for webhook, site_key in rows:
        state = "active" if webhook.active else "inactive"
        click.echo(f"{webhook.id}: {site_key} {webhook.url} ({state}, added {webhook.created:%F})")


@webhook_cli.command("remove")
@click.argument("webhook_id", type=int, metavar="ID")
def webhook_remove(webhook_id: int) -> None:
    """Remove a webhook; its queued calls are dropped."""
    with writing():
        webhook = db.session.get(Webhook, webhook_id)
        if webhook is None:
            raise click.ClickException(f"There is no webhook {webhook_id}.")
        db.session.delete(webhook)
        db.session.commit()
    click.echo(f"Webhook {webhook_id} removed.")


COMMANDS = (outbox_cli, webhook_cli)
