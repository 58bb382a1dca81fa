"""Privacy at rest: bans keep no plain address, files are the owner's alone, keys are strong.

- A ban by email stores the address encrypted and its blind index; moderators still see
  the address (decrypted when shown); the database file never holds it in plain text.
- The instance folder (0700), the key files and the SQLite file with its -wal and -shm
  (0600) are readable by the owner only: new ones are created so, and start-up tightens
  existing ones (or refuses, naming the file it cannot tighten).
- Production refuses to start with a secret key that is short or repetitive, or a data
  key (or fallback) that is malformed, naming the variable and never echoing its value.
"""

from __future__ import annotations

import os
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade
from support import EMAIL, admin_post, base_config, default_site

from service import create_app
from service.comments import bans
from service.config import ConfigError, new_data_key
from service.data import Ban, Comment
from service.database import writing
from service.extensions import db
from service.rules import privacy

TROLL = "Troll.Person@Example.org"


def database_bytes(app: Flask) -> bytes:
    """Everything SQLite keeps on disk for the app's database, lower-cased."""
    path = Path(app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///"))
    found = b""
    for suffix in ("", "-wal"):
        part = path.with_name(path.name + suffix)
        if part.exists():
            found += part.read_bytes()
    return found.lower()


def ban_rows(app: Flask) -> list[Ban]:
    with app.app_context():
        rows = list(db.session.scalars(sa.select(Ban).order_by(Ban.id)))
        db.session.expunge_all()
        return rows


# --- bans by email ----------------------------------------------------------------------------


def test_a_typed_email_ban_stores_the_address_encrypted_and_shows_it(
    app: Flask, owner: FlaskClient
) -> None:
    response = admin_post(owner, "/admin/bans", site="default", email=TROLL, reason="abuse")
    assert response.status_code == 303
    [ban] = ban_rows(app)
    assert ban.kind == "email" and ban.label == ""
    assert ban.email_encrypted and TROLL.lower() not in ban.email_encrypted.lower()
    with app.app_context():
        assert privacy.decrypt_email(ban.email_encrypted) == "Troll.Person@example.org"
        assert ban.value == privacy.email_index(TROLL)
    assert "Troll.Person@example.org" in owner.get("/admin/bans").get_data(as_text=True)
    with app.app_context():
        db.engine.dispose()  # the WAL is written back into the file
    assert TROLL.lower().encode() not in database_bytes(app)


def test_a_ban_from_a_comment_keeps_the_comments_ciphertext(
    app: Flask, owner: FlaskClient, post: Any
) -> None:
    first = post("/a").json["comment"]["id"]
    assert admin_post(owner, f"/admin/comments/{first}/ban", kinds="email").status_code == 303
    [ban] = ban_rows(app)
    with app.app_context():
        row = db.session.get(Comment, first)
        assert row is not None
        assert ban.label == "" and ban.email_encrypted == row.email_encrypted
        assert ban.value == row.email_index
    assert EMAIL in owner.get("/admin/bans").get_data(as_text=True)
    assert post("/b").json["error"]["code"] == "banned"


def test_a_ban_whose_key_is_gone_says_so_instead_of_failing(app: Flask) -> None:
    with app.app_context(), writing():
        ban = bans.ban_email(None, default_site(), TROLL, shadow=False, reason="")
        db.session.commit()
        assert bans.shown(ban) == "Troll.Person@example.org"
        ban.email_encrypted = "gone$" + "A" * 40
        assert "no longer configured" in bans.shown(ban)
        db.session.rollback()


# --- owner-only files -------------------------------------------------------------------------


@pytest.fixture
def loose_umask() -> Iterator[None]:
    """A umask that would make new files readable by everyone (0644) and folders 0755."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def development_app(instance: Path) -> Flask:
    """A development app that makes its own keys and database in ``instance``."""
    return create_app({"PARLEY_INSTANCE_PATH": str(instance), "TESTING": True})


def test_new_instance_files_are_the_owners_only(tmp_path: Path, loose_umask: None) -> None:
    instance = tmp_path / "instance"
    app = development_app(instance)
    assert mode(instance) == 0o700
    assert mode(instance / "secret_key") == mode(instance / "data_key") == 0o600
    database = instance / "parley.sqlite"
    with app.app_context():
        upgrade()  # SQLite creates the file, and WAL its -wal and -shm
        with db.engine.connect() as connection:
            connection.exec_driver_sql("SELECT count(*) FROM comment").scalar()
            companions = [database.with_name(database.name + s) for s in ("-wal", "-shm")]
            assert all(path.exists() for path in companions)
            assert {path.name: mode(path) for path in [database, *companions]} == {
                "parley.sqlite": 0o600,
                "parley.sqlite-wal": 0o600,
                "parley.sqlite-shm": 0o600,
            }
        db.engine.dispose()


def test_start_up_tightens_existing_files(tmp_path: Path, loose_umask: None) -> None:
    instance = tmp_path / "instance"
    app = development_app(instance)
    with app.app_context():
        upgrade()
        db.engine.dispose()
    database = instance / "parley.sqlite"
    loose = [database.with_name(database.name + s) for s in ("-wal", "-shm")]
    for path in loose:
        path.touch()
    files = [instance / "secret_key", instance / "data_key", database, *loose]
    for path in files:
        path.chmod(0o644)
    instance.chmod(0o755)

    development_app(instance)
    assert mode(instance) == 0o700
    assert {path.name: mode(path) for path in files} == {path.name: 0o600 for path in files}
    for path in loose:
        path.unlink()


def test_start_up_refuses_a_file_it_cannot_tighten(
    tmp_path: Path, loose_umask: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    instance = tmp_path / "instance"
    development_app(instance)
    (instance / "data_key").chmod(0o644)

    def refuse(path: Any, mode: int) -> None:
        raise PermissionError(1, "Operation not permitted", str(path))

    monkeypatch.setattr(os, "chmod", refuse)
    with pytest.raises(ConfigError, match=r"data_key can be read by other accounts.*chmod 600"):
        development_app(instance)


# --- keys in production -----------------------------------------------------------------------

STRONG = secrets.token_urlsafe(48)


def production(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, **variables: str) -> Flask:
    monkeypatch.setenv("PARLEY_ENV", "production")
    monkeypatch.setenv("PARLEY_PUBLIC_URL", "https://comments.example.org")
    monkeypatch.setenv("PARLEY_SECRET_KEY", STRONG)
    monkeypatch.setenv("PARLEY_DATA_KEY", new_data_key())
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    return create_app({"PARLEY_INSTANCE_PATH": str(tmp_path)})


def test_production_starts_with_strong_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    app = production(
        monkeypatch,
        tmp_path,
        PARLEY_SECRET_KEY_FALLBACKS=secrets.token_urlsafe(32),
        PARLEY_DATA_KEY_FALLBACKS=new_data_key(),
    )
    assert app.config["SECRET_KEY"] == STRONG


OLD_KEY = new_data_key()


@pytest.mark.parametrize(
    ("variables", "named"),
    [
        ({"PARLEY_SECRET_KEY": "short-but-random-Zq9"}, "PARLEY_SECRET_KEY is too weak"),
        ({"PARLEY_SECRET_KEY": "x" * 64}, "PARLEY_SECRET_KEY is too weak"),
        ({"PARLEY_SECRET_KEY": "changeme" * 6}, "PARLEY_SECRET_KEY is too weak"),
        (
            {"PARLEY_SECRET_KEY_FALLBACKS": f"{secrets.token_urlsafe(32)}, hunter2"},
            "PARLEY_SECRET_KEY_FALLBACKS[1] is too weak",
        ),
        ({"PARLEY_DATA_KEY": "k1:tooshort"}, "PARLEY_DATA_KEY: a data key must look like"),
        ({"PARLEY_DATA_KEY": secrets.token_urlsafe(32)}, "PARLEY_DATA_KEY: a data key must"),
        (
            {"PARLEY_DATA_KEY_FALLBACKS": f"{OLD_KEY},k2:{'A' * 43}x"},
            "PARLEY_DATA_KEY_FALLBACKS[1]: a data key must look like",
        ),
        (
            {"PARLEY_DATA_KEY": OLD_KEY, "PARLEY_DATA_KEY_FALLBACKS": OLD_KEY[:-3] + "AAA"},
            "PARLEY_DATA_KEY_FALLBACKS[0]: key id",
        ),
    ],
    ids=["short", "repetitive", "a-word", "old-secret", "data", "no-kid", "old-data", "kid-reused"],
)
def test_production_refuses_weak_or_malformed_keys_naming_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, variables: dict[str, str], named: str
) -> None:
    with pytest.raises(ConfigError) as refused:
        production(monkeypatch, tmp_path, **variables)
    message = str(refused.value)
    assert named in message and message.startswith("Parley refuses to start in production")
    for value in variables.values():
        for part in value.split(","):
            assert part.strip() not in message, "a key's value must never be echoed"


def test_development_still_takes_a_key_it_is_given(tmp_path: Path) -> None:
    app = create_app(base_config(tmp_path, SECRET_KEY="dev"))
    assert app.config["SECRET_KEY"] == "dev"
