"""Fixtures: a fresh, migrated SQLite file per test, and helpers to post."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from support import EMAIL, base_config, comment_body, csrf_token  # noqa: F401

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
def post(client: FlaskClient) -> Callable[..., Any]:
    """Post a comment through the JSON API; returns the response."""

    def _post(page: str = "/article", site: str = "default", **fields: Any) -> Any:
        return client.post(
            "/api/v1/comments",
            query_string={"site": site, "page": page},
            json=comment_body(**fields),
        )

    return _post
