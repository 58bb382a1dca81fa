"""Parley: self-hosted comments, ratings and reviews for any web page."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from service import cli, config, database, migrations, startup, web
from service.extensions import csrf, db
from service.web import admin, api, feeds, i18n, notify, ops, privacy, widgets
from service.web.limits import limiter

ROOT = Path(__file__).resolve().parent.parent


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the application: configuration, extensions, blueprints and error handlers."""
    instance = (test_config or {}).get("PARLEY_INSTANCE_PATH") or os.environ.get(
        "PARLEY_INSTANCE_PATH", str(ROOT / "instance")
    )
    app = Flask(__name__, instance_path=str(instance), template_folder=str(ROOT / "templates"))
    _configure(app, test_config)

    app.json.sort_keys = False  # type: ignore[attr-defined]
    db.init_app(app)
    migrations.attach(app)  # Flask-Migrate: loaded where it is used
    csrf.init_app(app)
    limiter.init_app(app)
    i18n.init_app(app)  # Flask-Babel: the language of each answer (docs/languages.md)
    web.register(app)

    csrf.exempt(api.bp)  # the JSON API is guarded by origin checks, not cookies
    app.register_blueprint(api.bp)
    app.register_blueprint(widgets.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(notify.bp)
    app.register_blueprint(ops.bp)
    app.register_blueprint(feeds.bp)
    app.register_blueprint(privacy.bp)
    cli.register(app)
    _first_owner(app)
    return app


def _configure(app: Flask, test_config: dict[str, Any] | None) -> None:
    """Defaults, then PARLEY_* variables, then the test's own; keys; the engine; proxies."""
    app.config.from_mapping(config.DEFAULTS)
    app.config.update(config.from_environment(os.environ))
    if test_config:
        app.config.update(test_config)
    config.ensure_keys(app.config, Path(app.instance_path))
    config.settle_public_url(app.config)
    app.config.setdefault(
        "SQLALCHEMY_DATABASE_URI", f"sqlite:///{Path(app.instance_path) / 'parley.sqlite'}"
    )
    startup.check(app.config, Path(app.instance_path))  # key strength, owner-only files
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {
        **database.engine_options(app.config["SQLALCHEMY_DATABASE_URI"]),
        **app.config["SQLALCHEMY_ENGINE_OPTIONS"],
    }
    if app.config["PARLEY_ENV"] == "production":
        app.config["SESSION_COOKIE_SECURE"] = True
    proxies = app.config["PARLEY_TRUSTED_PROXIES"]
    if proxies:
        # X-Forwarded-For and -Proto only: the service's own address is PARLEY_PUBLIC_URL,
        # never a forwarded Host.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=0
        )


def _first_owner(app: Flask) -> None:
    """PARLEY_ADMIN_EMAIL and PARLEY_ADMIN_PASSWORD create the first owner at start."""
    if not (app.config["PARLEY_ADMIN_EMAIL"] and app.config["PARLEY_ADMIN_PASSWORD"]):
        return
    import sqlalchemy as sa
    from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError

    from service.sites.accounts import AccountError, ensure_first_owner

    with app.app_context(), database.writing():
        try:
            if not sa.inspect(db.engine).has_table("role"):
                return  # not migrated yet: `flask --app service init` runs this again
            ensure_first_owner(
                app.config["PARLEY_ADMIN_EMAIL"], app.config["PARLEY_ADMIN_PASSWORD"]
            )
            db.session.commit()
        except AccountError as error:
            raise config.ConfigError(f"PARLEY_ADMIN_EMAIL/PARLEY_ADMIN_PASSWORD: {error}") from None
        except (IntegrityError, OperationalError, ProgrammingError):
            db.session.rollback()  # another worker created it first
        finally:
            db.session.remove()
