"""Fixtures: a fresh, migrated database per test (a copy of one SQLite file, or with
``TEST_DATABASE=postgresql`` the worker's PostgreSQL database reset: ``backends``), helpers
to post, an admin session, and the loopback servers that receive the service's mail and
webhook calls."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from backends import PostgresWorkerDatabase, on_postgres, require_postgres, using
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from servers import Mailbox, WebhookReceiver
from support import base_config, comment_body, log_in, make_moderator
from werkzeug.test import TestResponse

from service import create_app
from service.database import writing
from service.extensions import db


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests see only the configuration they set, never the developer's shell."""
    for name in list(os.environ):
        if name.startswith("PARLEY_"):
            monkeypatch.delenv(name)


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One database upgraded through every migration; each test gets a copy."""
    from flask_migrate import upgrade

    folder = tmp_path_factory.mktemp("template")
    sqlite = f"sqlite:///{folder / 'parley.sqlite'}"  # SQLite, whatever the tests follow
    app = create_app(base_config(folder, SQLALCHEMY_DATABASE_URI=sqlite))
    with app.app_context(), writing():
        upgrade()
        from service.sites.demo import ensure_demo_page

        ensure_demo_page()
        db.engine.dispose()
    return folder / "parley.sqlite"


@pytest.fixture(scope="session")
def postgres_worker_database(
    tmp_path_factory: pytest.TempPathFactory, worker_id: str
) -> Iterator[PostgresWorkerDatabase]:
    """This worker's PostgreSQL database, migrated once (make test-postgres)."""
    require_postgres()
    from flask_migrate import upgrade

    from service.sites.demo import ensure_demo_page

    def migrate(url: str) -> None:
        with pytest.MonkeyPatch.context() as mp:
            for name in [n for n in os.environ if n.startswith("PARLEY_")]:
                mp.delenv(name)
            folder = tmp_path_factory.mktemp("pg-template")
            app = create_app(base_config(folder, SQLALCHEMY_DATABASE_URI=url))
            with app.app_context():
                with writing():
                    upgrade()
                    ensure_demo_page()
                db.engine.dispose()

    database = PostgresWorkerDatabase(worker_id, migrate)
    database.create()
    yield database
    database.drop()


@pytest.fixture
def database_url(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """A freshly migrated database for this test: a copy of the SQLite template in the
    test's folder, or (make test-postgres) this worker's PostgreSQL database, reset; the
    connections the test opened to it are closed at its end."""
    if on_postgres():
        worker: PostgresWorkerDatabase = request.getfixturevalue("postgres_worker_database")
        url = worker.reset()
        with worker.connections_closed_after(), using(url):
            yield url
        return
    template: Path = request.getfixturevalue("migrated_template")
    shutil.copy(template, tmp_path / "parley.sqlite")
    yield f"sqlite:///{tmp_path / 'parley.sqlite'}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """``db`` on every test that touches the database through ``database_url`` (``app``,
    ``client``...); on PostgreSQL, the SQLite-only tests are skipped with their reason."""
    for item in items:
        if "database_url" in getattr(item, "fixturenames", ()) or item.get_closest_marker(
            "browser"
        ):  # the browser tests' server has a database of its own, on the same backend
            item.add_marker(pytest.mark.db)
        if on_postgres():
            for mark in item.iter_markers("sqlite_only"):
                why = mark.args[0] if mark.args else "about SQLite itself"
                item.add_marker(pytest.mark.skip(reason=f"SQLite only: {why}"))


@pytest.fixture
def app_config() -> dict[str, Any]:
    """Per-test overrides; a test module can override this fixture."""
    return {}


@pytest.fixture
def app(tmp_path: Path, database_url: str, app_config: dict[str, Any]) -> Iterator[Flask]:
    overrides = {"SQLALCHEMY_DATABASE_URI": database_url, **app_config}
    app = create_app(base_config(tmp_path, **overrides))
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


@pytest.fixture
def post(client: FlaskClient) -> Callable[..., TestResponse]:
    """Post a comment through the JSON API; returns the response."""

    def _post(page: str = "/article", site: str = "default", **fields: Any) -> TestResponse:
        return client.post(
            "/api/v1/comments",
            query_string={"site": site, "page": page},
            json=comment_body(**fields),
        )

    return _post


@pytest.fixture
def owner(app: Flask, client: FlaskClient) -> FlaskClient:
    """The test client, logged in to the admin as the owner of the default site."""
    make_moderator(app)
    assert log_in(client).status_code == 303
    return client


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    """An SMTP server on loopback that keeps every message it receives."""
    with Mailbox() as box:
        yield box


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    """An HTTP server on loopback that records every webhook call."""
    with WebhookReceiver() as server:
        yield server
