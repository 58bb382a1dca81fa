"""Roles on the command line: ``flask --app service grant EMAIL --site KEY --role ROLE``.

The same rules as the admin views' moderators page (``sites.roles``), written to the audit
log with no moderator and "[cli]" in the detail. New accounts are made with
``create-admin`` (``cli.setup``).
"""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from service.data.bounds import ROLES
from service.database import writing
from service.extensions import db
from service.rules.errors import DomainError
from service.sites import accounts, audit, roles
from service.sites.lookup import get_site


@click.command("grant")
@click.argument("email")
@click.option("--site", "site_key", required=True, help="The site's key.")
@click.option("--role", type=click.Choice(ROLES), required=True)
@with_appcontext
def grant_command(email: str, site_key: str, role: str) -> None:
    """Give an existing account a role on a site, or change the one it holds there."""
    address = accounts.normalise_email(email)
    moderator = accounts.find(address)
    if moderator is None:
        raise click.ClickException(
            f"There is no account {address}: create it with "
            f"`flask --app service create-admin {address} --site {site_key} --role {role}`."
        )
    try:
        with writing(), audit.acting(audit.CLI):
            site = get_site(site_key)
            before = roles.set_role(moderator, site, role, by=None)
            db.session.commit()
    except DomainError as error:
        db.session.rollback()
        raise click.ClickException(str(error.first_message())) from None
    if before == role:
        click.echo(f"{address} is {role} of {site_key} already: nothing changed.")
    else:
        click.echo(
            f"{address} is now {role} of {site_key}" + (f" (was {before})." if before else ".")
        )


COMMANDS = (grant_command,)
