"""Setting up: keys, the database, the server with its demo page, and admin accounts (created,
given a new password, removed)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from service import config, migrations
from service.cli import server
from service.data.bounds import ROLES
from service.database import writing
from service.extensions import db
from service.rules.errors import DomainError
from service.sites import audit, demo_login, roles
from service.sites.accounts import (
    ensure_first_owner,
    find,
    new_password,
    remove_role,
    set_password,
)
from service.sites.demo import DEMO_PAGE, ensure_demo_page
from service.sites.lookup import get_site


@click.command("keys")
def keys_command() -> None:
    """Print a new PARLEY_SECRET_KEY and PARLEY_DATA_KEY for production."""
    click.echo(f"PARLEY_SECRET_KEY={secrets.token_urlsafe(48)}")
    click.echo(f"PARLEY_DATA_KEY={config.new_data_key()}")


@click.command("init")
@with_appcontext
def init_command() -> None:
    """Upgrade the database to the latest schema and create the default site."""
    migrations.upgrade()
    with writing():
        ensure_demo_page()
        config = current_app.config
        if ensure_first_owner(config["PARLEY_ADMIN_EMAIL"], config["PARLEY_ADMIN_PASSWORD"]):
            click.echo(f"Owner account {config['PARLEY_ADMIN_EMAIL']} created.")
        db.session.commit()
    click.echo("Database ready; site 'default' exists.")


def prepare_serving() -> demo_login.DemoLogin | None:
    """What ``serve`` does before serving: migrate, the demo page, the first owner from the
    configuration, and (in development only) the demo login, kept in the instance folder."""
    migrations.upgrade()
    config = current_app.config
    with writing():
        ensure_demo_page()
        ensure_first_owner(config["PARLEY_ADMIN_EMAIL"], config["PARLEY_ADMIN_PASSWORD"])
        # The demo login is for development only: production has no such account or file.
        login = None if _production() else demo_login.prepare(Path(current_app.instance_path))
        db.session.commit()
    return login


def _production() -> bool:
    return bool(current_app.config["PARLEY_ENV"] == "production")


def _admin_line(login: demo_login.DemoLogin, public: str) -> str:
    if login.password is None:
        return (
            f"  Admin:      {public}/admin/  {login.email}  (its password was changed since "
            "it was kept; `flask --app service demo-login --reset` makes a new one)"
        )
    return f"  Admin:      {public}/admin/  {login.email} / {login.password}  ({_kept(login)})"


def _kept(login: demo_login.DemoLogin) -> str:
    return f"{'new, ' if login.new else ''}kept in {login.path}"


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=None, help="Default: PARLEY_PORT or 8000.")
@with_appcontext
def serve_command(host: str, port: int | None) -> None:
    """Prepare the database and serve Parley with a demo page (waitress, one process with
    threads; docs/deployment.md)."""
    login = prepare_serving()
    config = current_app.config
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    port = port or int(config["PARLEY_PORT"])
    if not _production() and not os.environ.get("PARLEY_PUBLIC_URL", "").strip():
        config["PARLEY_PUBLIC_URL"] = f"http://127.0.0.1:{port}"  # --port moves the default
    public = config["PARLEY_PUBLIC_URL"]

    def announce() -> None:
        click.echo("")
        click.echo(f"  Parley is running on http://{host}:{port}")
        click.echo(f"  Demo page:  {public}{DEMO_PAGE}")
        click.echo(f"  Standalone: {public}/thread?site=default&page={DEMO_PAGE}")
        if login:
            click.echo(_admin_line(login, public))
        click.echo("")

    server.serve(app, host, port, announce)


@click.command("demo-login")
@click.option(
    "--reset", is_flag=True, help="Make a new password; every session of the account ends."
)
@with_appcontext
def demo_login_command(reset: bool) -> None:
    """Show the development demo login, or make it a new password (--reset). The password
    is kept in the instance folder and stays the same across restarts."""
    if _production():
        raise click.ClickException(
            "Production has no demo login: create an account with create-admin."
        )
    instance = Path(current_app.instance_path)
    try:
        with writing():
            login = demo_login.reset(instance) if reset else demo_login.prepare(instance)
            db.session.commit()
    except DomainError as error:
        db.session.rollback()
        raise click.ClickException(error.first_message()) from None
    if login is None:
        raise click.ClickException(
            f"There is no demo account: another owner exists, and {demo_login.DEMO_EMAIL} "
            "is made only while none does."
        )
    if login.password is None:
        raise click.ClickException(
            f"The password of {login.email} was changed since it was kept in {login.path}: "
            "`flask --app service demo-login --reset` makes a new one."
        )
    ended = "; its sessions are logged out" if reset else ""
    click.echo(f"Demo login: {login.email} / {login.password} ({_kept(login)}{ended}).")


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
    """Create a moderator account with a role on one or more sites (audited)."""
    with writing(), audit.acting(audit.CLI):
        try:
            roles.create_account(email, password, {key: role for key in sites})
        except DomainError as error:
            db.session.rollback()
            raise click.ClickException(str(error.first_message())) from None
        db.session.commit()
    click.echo(f"Account {email.strip().lower()} created: {role} of {', '.join(sites)}.")


@click.command("set-password")
@click.argument("email")
@click.password_option(help="Asked for when not given (at least 10 characters).")
@with_appcontext
def set_password_command(email: str, password: str) -> None:
    """Set a moderator's password; every session of the account is logged out."""
    moderator = find(email)
    if moderator is None:
        raise click.ClickException(f"There is no account {email.strip().lower()}.")
    address = moderator.email
    try:
        password_hash = new_password(moderator, password, current=None)
        with writing(), audit.acting(audit.CLI):
            set_password(moderator, password_hash, by=None)
            db.session.commit()
    except DomainError as error:
        db.session.rollback()
        raise click.ClickException(error.first_message()) from None
    click.echo(f"Password of {address} changed; its sessions are logged out.")


@click.command("remove-admin")
@click.argument("email")
@click.option("--site", "site_key", default=None, help="Only this site's role (default: all).")
@with_appcontext
def remove_admin_command(email: str, site_key: str | None) -> None:
    """Take a moderator's role on a site, or every role; every session of the account is
    logged out, and an account left without a role is disabled."""
    moderator = find(email)
    if moderator is None:
        raise click.ClickException(f"There is no account {email.strip().lower()}.")
    address = moderator.email
    try:
        site = get_site(site_key) if site_key is not None else None
        with writing(), audit.acting(audit.CLI):
            disabled = remove_role(moderator, site, by=None)
            db.session.commit()
    except DomainError as error:
        db.session.rollback()
        raise click.ClickException(error.first_message()) from None
    where = f"site {site_key}" if site_key is not None else "every site"
    click.echo(
        f"{address} removed from {where}"
        + ("; the account is disabled." if disabled else "; its sessions are logged out.")
    )


COMMANDS = (
    keys_command,
    init_command,
    serve_command,
    demo_login_command,
    create_admin_command,
    set_password_command,
    remove_admin_command,
)
