"""Fixtures: a fresh, migrated SQLite file per test, helpers to post, an admin session,
and the loopback servers that receive the service's mail and webhook calls."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
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
    app = create_app(base_config(folder))
    with app.app_context(), writing():
        upgrade()
        from service.sites.demo import ensure_demo_page

        ensure_demo_page()
        db.engine.dispose()
    return folder / "parley.sqlite"


@pytest.fixture
def app_config() -> dict[str, Any]:
    """Per-test overrides; a test module can override this fixture."""
    return {}


@pytest.fixture
def app(tmp_path: Path, migrated_template: Path, app_config: dict[str, Any]) -> Iterator[Flask]:
    shutil.copy(migrated_template, tmp_path / "parley.sqlite")
    app = create_app(base_config(tmp_path, **app_config))
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
