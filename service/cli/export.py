"""Command line for Parley's own export: ``flask --app service export`` (docs/export.md).

The restore is ``flask --app service import parley FILE``, beside the other importers.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click
from flask.cli import with_appcontext

from service.files import OWNER_FILE
from service.rules.errors import DomainError
from service.transfer.archive import prepare_export


@click.command("export")
@click.option("--site", "site_key", default=None, help="Only this site (by key); default: all.")
@click.option(
    "--clear-emails",
    is_flag=True,
    help="Write commenters' addresses in clear rather than encrypted (for leaving Parley).",
)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    default=None,
    help="Write to this file (owner-only) rather than to standard output.",
)
@with_appcontext
def export_command(site_key: str | None, clear_emails: bool, output: Path | None) -> None:
    """Write every site (or one) to one JSON document: settings, pages, comments, votes,
    accounts, the audit log and the rest."""
    try:
        export = prepare_export(site_key, clear_emails=clear_emails)
    except DomainError as error:
        raise click.ClickException(error.message) from None
    if output is None:
        for chunk in export.chunks():
            sys.stdout.write(chunk)
        sys.stdout.flush()
    else:
        # Written beside the target and renamed when complete: a failed export never
        # leaves a file that looks whole. Owner-only: it holds password hashes and keyed
        # hashes, and maybe addresses in clear.
        partial = output.with_name(output.name + ".partial")
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, OWNER_FILE)
        os.fchmod(descriptor, OWNER_FILE)  # an older partial file kept its own mode
        try:
            with os.fdopen(descriptor, "w", encoding="ascii", newline="\n") as stream:
                for chunk in export.chunks():
                    stream.write(chunk)
            os.replace(partial, output)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
    counts = ", ".join(f"{name}: {count}" for name, count in export.counts.items())
    where = str(output) if output else "standard output"
    click.echo(f"Exported to {where} ({counts}).", err=True)


COMMANDS = (export_command,)
