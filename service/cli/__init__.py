"""The command line, ``flask --app service <command>``: commands that call the same domain
functions as the views."""

from __future__ import annotations

from flask import Flask

from service.cli import export, imports, notify, privacy, setup, sites


def register(app: Flask) -> None:
    """Add every command to the app's CLI."""
    for command in (
        *setup.COMMANDS,
        *sites.COMMANDS,
        *notify.COMMANDS,
        *export.COMMANDS,
        *privacy.COMMANDS,
        *imports.COMMANDS,
    ):
        app.cli.add_command(command)
