"""Start-up checks that refuse an unsafe service (docs/security.md).

- Production refuses keys that are malformed or too short, not only missing ones: the
  secret key (and each old one still verifying) signs sessions, form tokens and visitor
  keys, so a short or repetitive one can be guessed offline; the data keys must have the
  format ``flask --app service keys`` prints. Errors name the variable, never its value.
- The instance folder, the development key files and the SQLite database with its
  ``-wal`` and ``-shm`` are the owner's alone: existing ones are tightened here (0700,
  0600), and a file whose mode cannot be tightened stops the start, naming it.
"""

from __future__ import annotations

from contextlib import suppress
from pathlib import Path
from typing import Any

from service import files
from service.config import ConfigError
from service.rules import privacy

SECRET_KEY_MIN = 32  # characters; `flask --app service keys` prints 64
SECRET_KEY_DISTINCT = 8  # different characters: refuses "xxxx…" and repeated words
KEY_FILES = ("secret_key", "data_key")
REFUSED = "Parley refuses to start in production: "


def check(config: dict[str, Any], instance_path: Path) -> None:
    """Run every start-up check; raises ``ConfigError`` with what to fix."""
    if config["PARLEY_ENV"] == "production":
        check_keys(config)
    tighten_files(config, instance_path)


def _weak(value: object) -> bool:
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    return (
        not isinstance(value, str)
        or len(value) < SECRET_KEY_MIN
        or len(set(value)) < SECRET_KEY_DISTINCT
    )


def check_keys(config: dict[str, Any]) -> None:
    """Refuse a weak secret key (or old one) and a malformed data key (or fallback)."""
    fallbacks = config.get("SECRET_KEY_FALLBACKS") or []
    named = [("PARLEY_SECRET_KEY", config.get("SECRET_KEY"))] + [
        (f"PARLEY_SECRET_KEY_FALLBACKS[{index}]", key) for index, key in enumerate(fallbacks)
    ]
    for name, value in named:
        if _weak(value):
            raise ConfigError(
                f"{REFUSED}{name} is too weak: it must be a random value of at least "
                f"{SECRET_KEY_MIN} characters, with at least {SECRET_KEY_DISTINCT} different "
                "ones. Generate one with `flask --app service keys`."
            )
    try:
        privacy.data_keys(config.get("PARLEY_DATA_KEY"), config.get("PARLEY_DATA_KEY_FALLBACKS"))
    except privacy.DataKeyError as error:
        raise ConfigError(f"{REFUSED}{error}.") from None


def tighten_files(config: dict[str, Any], instance_path: Path) -> None:
    """Owner-only modes for the instance folder, the key files and the SQLite files."""
    with suppress(OSError):  # not ours to change (a mount): its files are checked one by one
        files.owner_only(instance_path)
    paths = [instance_path / name for name in KEY_FILES]
    database = files.sqlite_file(config.get("SQLALCHEMY_DATABASE_URI") or "", instance_path)
    if database is not None:
        paths += files.database_files(database)
    for path in paths:
        try:
            files.owner_only(path)
        except OSError as error:
            raise ConfigError(
                f"{path} can be read by other accounts and its mode cannot be changed "
                f"({error.strerror}): make it readable by Parley's account only "
                f"(`chmod 600 {path}`, as its owner)."
            ) from None
