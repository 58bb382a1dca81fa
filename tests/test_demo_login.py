"""The development demo login: kept in the instance folder (0600), the same at every start,
shown only while it works, changed by `demo-login --reset`; production has none."""

from __future__ import annotations

import re
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from servers import AdminSession, exchange, serving
from support import base_config, log_in

from service import create_app
from service.cli.setup import prepare_serving
from service.data import Moderator
from service.extensions import db
from service.sites.demo_login import DEMO_EMAIL, FILE_NAME, DemoLogin

pytestmark = pytest.mark.db


@pytest.fixture
def start(tmp_path: Path, database_url: str) -> Iterator[Any]:
    """Start the service's preparation as `serve` does, each time with a new app (a
    restart) on the same instance folder and database."""
    apps: list[Flask] = []

    def run(**config: Any) -> tuple[Flask, DemoLogin | None]:
        app = create_app(base_config(tmp_path, SQLALCHEMY_DATABASE_URI=database_url, **config))
        apps.append(app)
        with app.app_context():
            return app, prepare_serving()

    yield run
    for app in apps:
        with app.app_context():
            db.engine.dispose()


def logs_in(app: Flask, password: str) -> bool:
    answer = log_in(app.test_client(), DEMO_EMAIL, password)
    return answer.status_code == 303 and answer.headers["Location"].endswith("/admin/")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def demo_accounts(app: Flask) -> int:
    with app.app_context():
        query = sa.select(sa.func.count()).where(Moderator.email == DEMO_EMAIL)
        return int(db.session.scalar(query) or 0)


def test_the_demo_login_is_the_same_after_a_restart(start, tmp_path):
    app, first = start()
    assert first is not None and first.password and first.new
    assert first.path == tmp_path / FILE_NAME
    assert first.path.read_text().strip() == first.password
    assert mode(first.path) == 0o600
    assert logs_in(app, first.password)

    app, second = start()
    assert second is not None and not second.new
    assert second.password == first.password
    assert logs_in(app, second.password)
    assert mode(second.path) == 0o600
    assert demo_accounts(app) == 1


def test_production_has_no_demo_account_and_no_file(start, tmp_path):
    app, login = start(PARLEY_ENV="production", PARLEY_PUBLIC_URL="https://c.example.org")
    assert login is None
    assert not (tmp_path / FILE_NAME).exists()
    assert demo_accounts(app) == 0
    refused = app.test_cli_runner().invoke(args=["demo-login", "--reset"])
    assert refused.exit_code != 0 and "Production has no demo login" in refused.output
    assert not (tmp_path / FILE_NAME).exists()
    assert demo_accounts(app) == 0


def test_reset_makes_a_new_password_and_logs_the_old_sessions_out(start):
    app, first = start()
    assert first is not None and first.password
    session = app.test_client()
    assert log_in(session, DEMO_EMAIL, first.password).status_code == 303
    assert session.get("/admin/").status_code == 200

    result = app.test_cli_runner().invoke(args=["demo-login", "--reset"])
    assert result.exit_code == 0, result.output
    new = first.path.read_text().strip()
    assert new != first.password and f"{DEMO_EMAIL} / {new} " in result.output
    assert mode(first.path) == 0o600
    assert logs_in(app, new) and not logs_in(app, first.password)
    assert session.get("/admin/").status_code == 302  # its session ended

    app, again = start()
    assert again is not None and again.password == new


def test_a_changed_password_is_not_shown_until_reset(start):
    app, first = start()
    assert first is not None and first.password
    changed = app.test_cli_runner().invoke(
        args=["set-password", DEMO_EMAIL, "--password", "my own long password"]
    )
    assert changed.exit_code == 0, changed.output

    app, after = start()
    assert after is not None and after.password is None  # the kept one no longer works
    assert logs_in(app, "my own long password")
    shown = app.test_cli_runner().invoke(args=["demo-login"])
    assert shown.exit_code != 0 and "demo-login --reset" in shown.output
    assert first.password not in shown.output

    assert app.test_cli_runner().invoke(args=["demo-login", "--reset"]).exit_code == 0
    app, reset = start()
    assert reset is not None and reset.password and reset.password != first.password
    assert logs_in(app, reset.password)


def test_an_account_without_its_file_gets_a_new_kept_password(start):
    app, first = start()
    assert first is not None and first.password
    first.path.unlink()
    app, second = start()
    assert second is not None and second.new and second.password
    assert second.password != first.password and logs_in(app, second.password)
    assert mode(second.path) == 0o600 and demo_accounts(app) == 1


def test_a_kept_file_with_a_loose_mode_is_made_owner_only(start):
    _, first = start()
    assert first is not None
    first.path.chmod(0o644)
    app, second = start()
    assert second is not None and second.password == first.password
    assert mode(second.path) == 0o600


def test_no_demo_account_when_the_configuration_names_an_owner(start, tmp_path):
    app, login = start(
        PARLEY_ADMIN_EMAIL="boss@example.org", PARLEY_ADMIN_PASSWORD="a long owner password"
    )
    assert login is None and demo_accounts(app) == 0
    assert not (tmp_path / FILE_NAME).exists()
    refused = app.test_cli_runner().invoke(args=["demo-login", "--reset"])
    assert refused.exit_code != 0 and "no demo account" in refused.output
    assert not (tmp_path / FILE_NAME).exists()


@pytest.mark.slow
def test_make_runs_banner_shows_the_same_login_after_a_restart(tmp_path):
    passwords = []
    for _ in range(2):
        with serving(tmp_path) as server:
            banner = (tmp_path / "serve.out").read_text()
            found = re.search(rf"{re.escape(DEMO_EMAIL)} / (\S+)", banner)
            assert found, banner
            passwords.append(found.group(1))

            def send(method: str, path: str, **options: Any) -> Any:
                return exchange(server.host, server.port, method, path, **options)

            AdminSession(send, DEMO_EMAIL, found.group(1), server.base_url)  # 303 to /admin/
    assert passwords[0] == passwords[1]
    assert (tmp_path / FILE_NAME).read_text().strip() == passwords[0]
    assert mode(tmp_path / FILE_NAME) == 0o600
