"""Command line: ``flask --app service <command>``."""

from __future__ import annotations

import secrets

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from flask_migrate import upgrade

from . import config
from .database import writing


@click.command("keys")
def keys_command() -> None:
    """Print a new PARLEY_SECRET_KEY and PARLEY_DATA_KEY for production."""
    click.echo(f"PARLEY_SECRET_KEY={secrets.token_urlsafe(48)}")
    click.echo(f"PARLEY_DATA_KEY={config.new_data_key()}")


@click.command("init")
@with_appcontext
def init_command() -> None:
    """Upgrade the database to the latest schema and create the default site."""
    from .demo import ensure_demo_page

    upgrade()
    with writing():
        ensure_demo_page()
    click.echo("Database ready; site 'default' exists.")


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=None, help="Default: PARLEY_PORT or 8000.")
@with_appcontext
def serve_command(host: str, port: int | None) -> None:
    """Prepare the database and serve Parley with a demo page (development server)."""
    from werkzeug.serving import run_simple

    from .demo import DEMO_PAGE, ensure_demo_page

    upgrade()
    with writing():
        ensure_demo_page()
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    port = port or int(app.config["PARLEY_PORT"])
    base = f"http://{host}:{port}"
    click.echo("")
    click.echo(f"  Parley is running on {base}")
    click.echo(f"  Demo page:  {base}{DEMO_PAGE}")
    click.echo(f"  Standalone: {base}/thread?site=default&page={DEMO_PAGE}")
    click.echo("")
    run_simple(host, port, app, threaded=True, use_reloader=False)


def register(app: Flask) -> None:
    """Add the commands to the app's CLI."""
    from .cli_manage import COMMANDS

    for command in (keys_command, init_command, serve_command, *COMMANDS):
        app.cli.add_command(command)
