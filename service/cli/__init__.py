"""The command line, ``flask --app service <command>``: commands that call the same domain
functions as the views."""

from __future__ import annotations

from flask import Flask

from service.cli import accounts, export, imports, notify, privacy, rerender, setup, sites
from service.cli import threads as _threads  # noqa: F401  (commands in sites' groups)


def register(app: Flask) -> None:
    """Add every command to the app's CLI."""
    for command in (
        *setup.COMMANDS,
        *accounts.COMMANDS,
        *sites.COMMANDS,
        *notify.COMMANDS,
        *export.COMMANDS,
        *privacy.COMMANDS,
        *imports.COMMANDS,
        *rerender.COMMANDS,
    ):
        app.cli.add_command(command)
