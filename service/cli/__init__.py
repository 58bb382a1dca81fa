"""The command line, ``flask --app service <command>``: commands that call the same domain
functions as the views."""

from __future__ import annotations

from flask import Flask

from service.cli import notify, setup, sites


def register(app: Flask) -> None:
    """Add every command to the app's CLI."""
    for command in (*setup.COMMANDS, *sites.COMMANDS, *notify.COMMANDS):
        app.cli.add_command(command)
