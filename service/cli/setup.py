"""Setting up: keys, the database, the server with its demo page, and admin accounts."""

from __future__ import annotations

import secrets

import click
from flask import current_app
from flask.cli import with_appcontext
from flask_migrate import upgrade

from service import config
from service.data.bounds import ROLES
from service.database import writing
from service.extensions import db
from service.notify.outbox import start_worker
from service.sites.accounts import AccountError, create_moderator, demo_login, ensure_first_owner
from service.sites.demo import DEMO_PAGE, ensure_demo_page


@click.command("keys")
def keys_command() -> None:
    """Print a new PARLEY_SECRET_KEY and PARLEY_DATA_KEY for production."""
    click.echo(f"PARLEY_SECRET_KEY={secrets.token_urlsafe(48)}")
    click.echo(f"PARLEY_DATA_KEY={config.new_data_key()}")


@click.command("init")
@with_appcontext
def init_command() -> None:
    """Upgrade the database to the latest schema and create the default site."""
    upgrade()
    with writing():
        ensure_demo_page()
        config = current_app.config
        if ensure_first_owner(config["PARLEY_ADMIN_EMAIL"], config["PARLEY_ADMIN_PASSWORD"]):
            click.echo(f"Owner account {config['PARLEY_ADMIN_EMAIL']} created.")
        db.session.commit()
    click.echo("Database ready; site 'default' exists.")


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=None, help="Default: PARLEY_PORT or 8000.")
@with_appcontext
def serve_command(host: str, port: int | None) -> None:
    """Prepare the database and serve Parley with a demo page (development server)."""
    from werkzeug.serving import run_simple

    upgrade()
    with writing():
        ensure_demo_page()
        config = current_app.config
        ensure_first_owner(config["PARLEY_ADMIN_EMAIL"], config["PARLEY_ADMIN_PASSWORD"])
        login = demo_login()
        db.session.commit()
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    port = port or int(app.config["PARLEY_PORT"])
    base = f"http://{host}:{port}"
    click.echo("")
    click.echo(f"  Parley is running on {base}")
    click.echo(f"  Demo page:  {base}{DEMO_PAGE}")
    click.echo(f"  Standalone: {base}/thread?site=default&page={DEMO_PAGE}")
    if login:
        click.echo(f"  Admin:      {base}/admin/  {login[0]} / {login[1]}  (new on every start)")
    click.echo("")
    worker = start_worker(app)
    try:
        run_simple(host, port, app, threaded=True, use_reloader=False)
    finally:
        worker.stop()


@click.command("create-admin")
@click.argument("email")
@click.option(
    "--site",
    "sites",
    multiple=True,
    default=["default"],
    show_default=True,
    help="Site key to give a role on (repeatable).",
)
@click.option("--role", type=click.Choice(ROLES), default="owner", show_default=True)
@click.password_option(help="Asked for when not given (at least 10 characters).")
@with_appcontext
def create_admin_command(email: str, sites: tuple[str, ...], role: str, password: str) -> None:
    """Create a moderator account with a role on one or more sites."""
    with writing():
        try:
            create_moderator(email, password, sites={key: role for key in sites})
        except AccountError as error:
            db.session.rollback()
            raise click.ClickException(str(error)) from None
        db.session.commit()
    click.echo(f"Account {email.strip().lower()} created: {role} of {', '.join(sites)}.")


COMMANDS = (keys_command, init_command, serve_command, create_admin_command)
