"""Command line for imports: ``flask --app service import FORMAT FILE --site KEY``.

FORMAT is a comment system's export (docs/imports.md) or ``parley``, Parley's own export,
restored by ``service.transfer.archive``.
"""

from __future__ import annotations

from pathlib import Path

import click
import sqlalchemy as sa
from flask.cli import with_appcontext

from service.data import Site
from service.data.bounds import IMPORT_FORMATS
from service.extensions import db
from service.rules.errors import DomainError
from service.transfer import jobs
from service.transfer.sources import FileRefused, parse_prefixes
from service.transfer.worker import run_queued

FORMATS = (*IMPORT_FORMATS, "parley")


@click.command("import")
@click.argument("source", metavar="FORMAT", type=click.Choice(FORMATS, case_sensitive=False))
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--site", "site_key", metavar="KEY", help="The site the comments go to.")
@click.option("--dry-run", is_flag=True, help="Validate and report; store nothing.")
@click.option(
    "--map-prefix",
    "prefixes",
    multiple=True,
    metavar="OLD=NEW",
    help="Rewrite source URLs starting with OLD to start with NEW (repeatable; first wins).",
)
@with_appcontext
def import_command(
    source: str, file: Path, site_key: str | None, dry_run: bool, prefixes: tuple[str, ...]
) -> None:
    """Import comments from another system's export into a site, or restore Parley's own.

    FORMAT is wordpress (WXR), disqus (XML export), isso (its SQLite database), remark42
    (its backup), commento (Commento or Comentario JSON) or parley (Parley's export, into
    an empty database; --site is not used). See docs/imports.md.
    """
    source = source.lower()
    if source == "parley":
        from service.transfer.archive import restore_file  # written apart from the importers

        try:
            counts = restore_file(file, dry_run=dry_run)
        except DomainError as error:
            db.session.rollback()
            problems = "".join(f"\n  {name}: {text}" for name, text in error.fields.items())
            raise click.ClickException(f"Nothing was restored: {error.message}{problems}") from None
        verb = "Would restore" if dry_run else "Restored"
        click.echo(f"{verb}: " + ", ".join(f"{n} {what}" for what, n in counts.items()))
        return
    if not site_key:
        raise click.UsageError("Give the site the comments go to: --site KEY.")
    site = db.session.scalar(sa.select(Site).where(Site.key == site_key))
    if site is None:
        raise click.ClickException(f"There is no site {site_key!r}.")
    try:
        report = jobs.import_file(
            site, source, file, parse_prefixes(list(prefixes)), dry_run=dry_run
        )
    except FileRefused as error:
        db.session.rollback()
        raise click.ClickException(f"Nothing was imported: {error.message}") from None
    if dry_run:
        click.echo("Dry run: nothing was stored.")
    for line in report.lines(dry_run=dry_run):
        click.echo(line)


def run_import_jobs() -> None:
    """Run the import jobs the admin views queued (the outbox loop calls this each round)."""
    ran = run_queued()
    if ran:
        click.echo(f"{ran} import job{'s' if ran != 1 else ''} ran.")


COMMANDS = (import_command,)
