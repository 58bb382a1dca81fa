"""Command line for retention: ``flask --app service purge``."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from service.database import writing
from service.extensions import db
from service.rights import retention


@click.command("purge")
@click.option(
    "--days",
    type=click.IntRange(1, 36500),
    default=None,
    help="Keep client addresses this many days (default: PARLEY_RETENTION_DAYS, 90).",
)
@click.option("--dry-run", is_flag=True, help="Count what would be cleared; change nothing.")
@with_appcontext
def purge(days: int | None, dry_run: bool) -> None:
    """Clear stored client addresses older than the retention period (run it daily)."""
    keep = int(current_app.config["PARLEY_RETENTION_DAYS"]) if days is None else days
    with writing():
        found = retention.purge(keep, dry_run=dry_run)
        if dry_run:
            db.session.rollback()
        else:
            db.session.commit()
    prefix = "would be " if dry_run else ""
    click.echo(f"{prefix}{found.describe()} (older than {keep} days)")


COMMANDS = [purge]
