"""Flask-Migrate, loaded where it is used: Alembic costs each process about 10 MB, and a
server's workers never run a migration.

Under the command line (``flask --app service ...``) it is attached at once, so ``flask db``
is there. Anywhere else ``app.extensions["migrate"]`` holds a stand-in that attaches it on
first use, so ``flask_migrate.upgrade()`` in an application context works as ever.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from flask import Flask

from service.extensions import db

DIRECTORY = Path(__file__).resolve().parent / "data" / "migrations"


def attach(app: Flask) -> None:
    """Flask-Migrate now on the command line, on first use anywhere else."""
    if click.get_current_context(silent=True) is not None:
        _load(app)
    else:
        app.extensions["migrate"] = _OnFirstUse(app)


def _load(app: Flask) -> Any:
    from flask_migrate import Migrate

    Migrate().init_app(app, db, directory=str(DIRECTORY), render_as_batch=True)
    return app.extensions["migrate"]


def upgrade() -> None:
    """Bring the database to the newest schema (in an application context)."""
    from flask_migrate import upgrade as to_newest

    to_newest()


class _OnFirstUse:
    """Stands in for Flask-Migrate's configuration until something reads it."""

    def __init__(self, app: Flask) -> None:
        self._app = app

    def __getattr__(self, name: str) -> Any:
        return getattr(_load(self._app), name)
