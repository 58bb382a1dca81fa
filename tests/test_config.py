"""Configuration from the environment, keys, and the command line."""

from __future__ import annotations

import stat

import pytest
import sqlalchemy as sa

from service import create_app
from service.config import ConfigError, from_environment
from service.data import Site
from service.extensions import db


def test_production_refuses_to_start_without_its_keys(tmp_path, monkeypatch):
    monkeypatch.setenv("PARLEY_ENV", "production")
    with pytest.raises(ConfigError, match="PARLEY_SECRET_KEY and PARLEY_DATA_KEY"):
        create_app({"PARLEY_INSTANCE_PATH": str(tmp_path)})
    monkeypatch.setenv("PARLEY_SECRET_KEY", "s" * 40)
    with pytest.raises(ConfigError, match="PARLEY_DATA_KEY"):
        create_app({"PARLEY_INSTANCE_PATH": str(tmp_path)})
    assert not (tmp_path / "secret_key").exists()


def test_production_starts_with_both_keys_and_secure_cookies(tmp_path, monkeypatch):
    from service.config import new_data_key

    secret = "s3cret-" + "qwertyuiopasdfghjklzxcvbnm" * 2  # production refuses "s" * 40
    monkeypatch.setenv("PARLEY_ENV", "production")
    monkeypatch.setenv("PARLEY_SECRET_KEY", secret)
    monkeypatch.setenv("PARLEY_DATA_KEY", new_data_key())
    monkeypatch.setenv("PARLEY_PUBLIC_URL", "https://comments.example.org/")
    app = create_app({"PARLEY_INSTANCE_PATH": str(tmp_path)})
    assert app.config["SECRET_KEY"] == secret
    assert app.config["PARLEY_PUBLIC_URL"] == "https://comments.example.org"
    assert app.config["SESSION_COOKIE_SECURE"] is True


def test_development_generates_private_keys_once_into_the_instance_folder(tmp_path):
    first = create_app({"PARLEY_INSTANCE_PATH": str(tmp_path)})
    second = create_app({"PARLEY_INSTANCE_PATH": str(tmp_path)})
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"]
    assert first.config["PARLEY_DATA_KEY"] == second.config["PARLEY_DATA_KEY"]
    for name in ("secret_key", "data_key"):
        mode = stat.S_IMODE((tmp_path / name).stat().st_mode)
        assert mode == 0o600


def test_variables_are_read_as_strings_and_converted_on_purpose():
    config = from_environment(
        {
            "PARLEY_SECRET_KEY": "1234567890",
            "PARLEY_PORT": "8123",
            "PARLEY_TRUSTED_PROXIES": "2",
            "PARLEY_RATELIMIT_ENABLED": "false",
            "PARLEY_MODERATION": "all",
            "PARLEY_ALLOWED_ORIGINS": "https://a.example, https://b.example/",
            "PARLEY_DATABASE_URL": "postgresql+psycopg://u@localhost/parley",
        }
    )
    assert config["SECRET_KEY"] == "1234567890"
    assert config["PARLEY_PORT"] == 8123
    assert config["PARLEY_TRUSTED_PROXIES"] == 2
    assert config["RATELIMIT_ENABLED"] is False
    assert config["PARLEY_MODERATION"] == "all"
    assert config["PARLEY_ALLOWED_ORIGINS"] == ["https://a.example", "https://b.example"]
    assert config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@localhost/parley"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PARLEY_ENV", "staging"),
        ("PARLEY_PORT", "eighty"),
        ("PARLEY_PORT", "70000"),
        ("PARLEY_MODERATION", "sometimes"),
        ("PARLEY_RATELIMIT_ENABLED", "maybe"),
        ("PARLEY_TRUSTED_PROXIES", "-1"),
    ],
)
def test_bad_values_fail_at_start_with_a_message_naming_the_variable(name, value):
    with pytest.raises(ConfigError, match=name):
        from_environment({name: value})


def test_database_url_from_the_environment_is_used(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'elsewhere.sqlite'}"
    monkeypatch.setenv("PARLEY_DATABASE_URL", url)
    app = create_app({"PARLEY_INSTANCE_PATH": str(tmp_path)})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == url


def test_ratelimit_can_be_switched_off_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("PARLEY_RATELIMIT_ENABLED", "false")
    app = create_app({"PARLEY_INSTANCE_PATH": str(tmp_path)})
    assert app.config["RATELIMIT_ENABLED"] is False


def test_init_command_migrates_an_empty_database_and_creates_the_default_site(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("PARLEY_MODERATION", "all")
    app = create_app({"PARLEY_INSTANCE_PATH": str(tmp_path)})
    result = app.test_cli_runner().invoke(args=["init"])
    assert result.exit_code == 0, result.output
    assert "site 'default' exists" in result.output
    with app.app_context():
        site = db.session.scalar(sa.select(Site).where(Site.key == "default"))
        assert site is not None and site.moderation == "all"
        db.engine.dispose()
    assert (tmp_path / "parley.sqlite").exists()


def test_keys_command_prints_fresh_production_keys(runner):
    result = runner.invoke(args=["keys"])
    lines = dict(line.split("=", 1) for line in result.output.split())
    assert len(lines["PARLEY_SECRET_KEY"]) >= 40
    assert ":" in lines["PARLEY_DATA_KEY"]


def test_wsgi_module_exposes_the_app(tmp_path, monkeypatch):
    import importlib

    monkeypatch.setenv("PARLEY_INSTANCE_PATH", str(tmp_path))
    wsgi = importlib.import_module("wsgi")
    assert wsgi.app.name == "service"
