"""Command line for rendering stored comments again: ``flask --app service rerender``."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from service.comments.rerender import rerender
from service.data import Site
from service.rules.errors import DomainError
from service.sites.lookup import get_site


@click.command("rerender")
@click.option("--site", "site_key", metavar="KEY", default=None, help="Only this site's comments.")
@click.option(
    "--dry-run", is_flag=True, help="Count the comments that would change; write nothing."
)
@with_appcontext
def rerender_command(site_key: str | None, dry_run: bool) -> None:
    """Render every stored comment's HTML again from its text (after a change of the
    sanitiser), in short batches; pages whose comments changed show the new HTML at once."""
    site: Site | None = None
    if site_key is not None:
        try:
            site = get_site(site_key)
        except DomainError as error:
            raise click.ClickException(error.message) from None
    click.echo(rerender(site, dry_run=dry_run).describe())


COMMANDS = [rerender_command]
