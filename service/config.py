"""Configuration: defaults in code, overrides from documented ``PARLEY_*`` variables.

Every variable is read explicitly as a string and converted on purpose, so a
password made of digits stays a string and a typo fails loudly at start-up.
"""

from __future__ import annotations

import base64
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from service.data.bounds import MODERATION_POLICIES, TOKENLESS_POSTS


class ConfigError(RuntimeError):
    """The configuration cannot be used; the message says what to set."""


DEFAULTS: dict[str, Any] = {
    "PARLEY_ENV": "development",
    "PARLEY_PORT": 8000,
    "PARLEY_MODERATION": "none",
    "PARLEY_TRUSTED_PROXIES": 0,
    "PARLEY_ALLOWED_ORIGINS": [],
    "PARLEY_EDIT_WINDOW": 15 * 60,
    "PARLEY_MAX_DEPTH": 4,
    "PARLEY_REPLIES_PER_PARENT": 5,
    "PARLEY_PAGE_SIZE": 20,
    "PARLEY_FORM_MIN_SECONDS": 3,
    "PARLEY_FORM_MAX_AGE": 12 * 60 * 60,
    "PARLEY_POST_LIMIT": "5 per minute;40 per hour;200 per day",
    "PARLEY_VISITOR_LIMIT": "10 per minute;60 per hour;300 per day",
    "PARLEY_LOGIN_LIMIT": "5 per 15 minutes",  # failed logins per address (or known device)
    "PARLEY_LOGIN_BLOCK": 15 * 60,  # seconds an address waits once it spent that budget
    "PARLEY_KNOWN_DEVICE_MAX_AGE": 90 * 24 * 60 * 60,  # the known-device cookie, renewed each login
    "PARLEY_PAGE_POST_LIMIT": "30 per minute;300 per hour",
    # Votes (and taking them back) and likes, API and standalone page alike: per client
    # address, and per visitor key. Counted votes on a page from one address are bounded by
    # the keys it can get (PARLEY_VISITOR_LIMIT, one budget for every way of getting one).
    "PARLEY_VOTE_LIMIT": "20 per minute;100 per hour;500 per day",
    "PARLEY_LIKE_LIMIT": "30 per minute;300 per hour;1500 per day",
    "PARLEY_VISITOR_VOTE_LIMIT": "10 per minute;60 per hour",
    "PARLEY_VISITOR_LIKE_LIMIT": "20 per minute;200 per hour",
    # What a post without a form token gets from a client that is neither a browser nor
    # brings an API token (bounds.TOKENLESS_POSTS); a site's own setting overrides it.
    "PARLEY_TOKENLESS_POSTS": "moderate",
    "PARLEY_RETENTION_DAYS": 90,  # stored client addresses: `flask --app service purge`
    "PARLEY_PRIVACY_LIMIT": "5 per hour;20 per day",  # privacy requests per client address
    "PARLEY_IMPORT_MAX_BYTES": 200 * 1024 * 1024,  # an upload to the admin's import form
    "PARLEY_MAX_LINKS": 10,
    "PARLEY_DUPLICATE_WINDOW": 10 * 60,
    "PARLEY_ADMIN_EMAIL": None,
    "PARLEY_ADMIN_PASSWORD": None,
    "PARLEY_PUBLIC_URL": None,
    "PARLEY_METRICS_TOKEN": None,  # GET /metrics answers only with this bearer token
    "PARLEY_SMTP_HOST": None,
    "PARLEY_SMTP_PORT": None,  # None: 25, 587 or 465 by PARLEY_SMTP_SECURITY
    "PARLEY_SMTP_USER": None,
    "PARLEY_SMTP_PASSWORD": None,
    "PARLEY_SMTP_FROM": None,  # None: parley@<host of PARLEY_PUBLIC_URL>
    "PARLEY_SMTP_SECURITY": "starttls",
    "PARLEY_SMTP_TIMEOUT": 10,
    "PARLEY_WEBHOOK_ALLOW_PRIVATE": False,
    "PARLEY_WEBHOOK_TIMEOUT": 10,
    "PARLEY_OUTBOX_MAX_ATTEMPTS": 8,
    "PARLEY_OUTBOX_RETRY_SECONDS": 60,
    "PARLEY_OUTBOX_INTERVAL": 5,
    "PARLEY_OUTBOX_KEEP_DAYS": 7,
    "PARLEY_MAIL_LINK_MAX_AGE": 3 * 24 * 60 * 60,
    "PARLEY_CONFIRM_INTERVAL": 24 * 60 * 60,
    "PERMANENT_SESSION_LIFETIME": 12 * 60 * 60,
    # Flask and extensions
    "MAX_CONTENT_LENGTH": 128 * 1024,
    "SQLALCHEMY_ENGINE_OPTIONS": {},
    "RATELIMIT_ENABLED": True,
    "RATELIMIT_STORAGE_URI": "memory://",
    "RATELIMIT_HEADERS_ENABLED": True,
    "RATELIMIT_KEY_PREFIX": "parley",
    "WTF_CSRF_TIME_LIMIT": 12 * 60 * 60,
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "SESSION_COOKIE_NAME": "parley_session",
}


def _flag(name: str, value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name} must be true or false, not {value!r}")


def _int(name: str, value: str, low: int, high: int) -> int:
    try:
        number = int(value.strip())
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {value!r}") from None
    if not low <= number <= high:
        raise ConfigError(f"{name} must be between {low} and {high}, not {number}")
    return number


def _origins(value: str) -> list[str]:
    return [item.strip().rstrip("/") for item in value.split(",") if item.strip()]


SMTP_SECURITY = ("none", "starttls", "ssl")
# Whole-number variables and their bounds.
WHOLE_NUMBERS = {"PARLEY_PORT": (1, 65535), "PARLEY_TRUSTED_PROXIES": (0, 10)}
WHOLE_NUMBERS |= {"PARLEY_FORM_MIN_SECONDS": (0, 60), "PARLEY_RETENTION_DAYS": (1, 36500)}
WHOLE_NUMBERS |= {"PARLEY_IMPORT_MAX_BYTES": (1024, 1 << 40)}
METRICS_TOKEN_MIN = 16


def _metrics_token(value: str) -> str:
    """The bearer token GET /metrics asks for: long enough not to be guessed."""
    token = value.strip()
    if len(token) < METRICS_TOKEN_MIN or any(c.isspace() for c in token):
        raise ConfigError(
            f"PARLEY_METRICS_TOKEN must be at least {METRICS_TOKEN_MIN} characters without "
            "spaces, such as the output of `openssl rand -hex 32`"
        )
    return token


def _public_url(value: str) -> str:
    url = value.strip().rstrip("/")
    parts = urlsplit(url)
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or "@" in parts.netloc
        or parts.query
        or parts.fragment
    ):
        raise ConfigError(
            f"PARLEY_PUBLIC_URL must be an http(s) URL such as "
            f"https://comments.example.org, not {value!r}"
        )
    return url


def settle_public_url(config: dict[str, Any]) -> None:
    """The service's own address, from which every absolute URL and the origin checks come.

    Never from the request's ``Host`` or ``X-Forwarded-Host``: answers that are cached,
    mail and stored page URLs would follow whoever sent the request. Production requires
    PARLEY_PUBLIC_URL; development defaults to http://127.0.0.1:PARLEY_PORT (what
    ``make run`` prints).
    """
    given = config.get("PARLEY_PUBLIC_URL")
    if given:
        config["PARLEY_PUBLIC_URL"] = _public_url(str(given))
    elif config["PARLEY_ENV"] == "production":
        raise ConfigError(
            "Parley refuses to start in production without PARLEY_PUBLIC_URL: the service's "
            "own address, such as https://comments.example.org. Every absolute URL it gives "
            "(avatars, the loader's assets, mail and webhook links) and its origin checks "
            "use it; the request's Host header is never trusted for them."
        )
    else:
        config["PARLEY_PUBLIC_URL"] = f"http://127.0.0.1:{config['PARLEY_PORT']}"


def _notifications(environ: Mapping[str, str]) -> dict[str, Any]:
    """The mail and webhook variables (docs/notifications.md)."""
    out: dict[str, Any] = {}
    for name in ("PARLEY_SMTP_HOST", "PARLEY_SMTP_USER", "PARLEY_SMTP_FROM"):
        if environ.get(name, "").strip():
            out[name] = environ[name].strip()
    if environ.get("PARLEY_SMTP_PASSWORD"):
        out["PARLEY_SMTP_PASSWORD"] = environ["PARLEY_SMTP_PASSWORD"]  # as given
    if environ.get("PARLEY_SMTP_PORT", "").strip():
        out["PARLEY_SMTP_PORT"] = _int("PARLEY_SMTP_PORT", environ["PARLEY_SMTP_PORT"], 1, 65535)
    if environ.get("PARLEY_SMTP_SECURITY", "").strip():
        security = environ["PARLEY_SMTP_SECURITY"].strip().lower()
        if security not in SMTP_SECURITY:
            raise ConfigError(
                f"PARLEY_SMTP_SECURITY must be one of {', '.join(SMTP_SECURITY)}, not {security!r}"
            )
        out["PARLEY_SMTP_SECURITY"] = security
    if environ.get("PARLEY_PUBLIC_URL", "").strip():
        out["PARLEY_PUBLIC_URL"] = _public_url(environ["PARLEY_PUBLIC_URL"])
    if "PARLEY_WEBHOOK_ALLOW_PRIVATE" in environ:
        out["PARLEY_WEBHOOK_ALLOW_PRIVATE"] = _flag(
            "PARLEY_WEBHOOK_ALLOW_PRIVATE", environ["PARLEY_WEBHOOK_ALLOW_PRIVATE"]
        )
    return out


def from_environment(environ: Mapping[str, str]) -> dict[str, Any]:
    """Translate the documented ``PARLEY_*`` variables into config keys."""
    out: dict[str, Any] = {}
    if "PARLEY_ENV" in environ:
        env = environ["PARLEY_ENV"].strip().lower()
        if env not in {"development", "production"}:
            raise ConfigError(f"PARLEY_ENV must be development or production, not {env!r}")
        out["PARLEY_ENV"] = env
    if "PARLEY_SECRET_KEY" in environ:
        out["SECRET_KEY"] = environ["PARLEY_SECRET_KEY"]
    if "PARLEY_SECRET_KEY_FALLBACKS" in environ:
        raw = environ["PARLEY_SECRET_KEY_FALLBACKS"]
        out["SECRET_KEY_FALLBACKS"] = [k.strip() for k in raw.split(",") if k.strip()]
    if "PARLEY_DATA_KEY" in environ:
        out["PARLEY_DATA_KEY"] = environ["PARLEY_DATA_KEY"].strip()
    if "PARLEY_DATA_KEY_FALLBACKS" in environ:
        raw = environ["PARLEY_DATA_KEY_FALLBACKS"]
        out["PARLEY_DATA_KEY_FALLBACKS"] = [k.strip() for k in raw.split(",") if k.strip()]
    if "PARLEY_DATABASE_URL" in environ:
        out["SQLALCHEMY_DATABASE_URI"] = environ["PARLEY_DATABASE_URL"].strip()
    for name, (low, high) in WHOLE_NUMBERS.items():
        if name in environ:
            out[name] = _int(name, environ[name], low, high)
    if "PARLEY_MODERATION" in environ:
        policy = environ["PARLEY_MODERATION"].strip().lower()
        if policy not in MODERATION_POLICIES:
            raise ConfigError(
                f"PARLEY_MODERATION must be one of {', '.join(MODERATION_POLICIES)}, not {policy!r}"
            )
        out["PARLEY_MODERATION"] = policy
    if "PARLEY_TOKENLESS_POSTS" in environ:
        tokenless = environ["PARLEY_TOKENLESS_POSTS"].strip().lower()
        if tokenless not in TOKENLESS_POSTS:
            raise ConfigError(
                f"PARLEY_TOKENLESS_POSTS must be one of {', '.join(TOKENLESS_POSTS)}, "
                f"not {tokenless!r}"
            )
        out["PARLEY_TOKENLESS_POSTS"] = tokenless
    if "PARLEY_ALLOWED_ORIGINS" in environ:
        out["PARLEY_ALLOWED_ORIGINS"] = _origins(environ["PARLEY_ALLOWED_ORIGINS"])
    if "PARLEY_RATELIMIT_ENABLED" in environ:
        out["RATELIMIT_ENABLED"] = _flag(
            "PARLEY_RATELIMIT_ENABLED", environ["PARLEY_RATELIMIT_ENABLED"]
        )
    for name in ("PARLEY_ADMIN_EMAIL", "PARLEY_ADMIN_PASSWORD"):
        if environ.get(name):
            out[name] = environ[name]
    if environ.get("PARLEY_METRICS_TOKEN", "").strip():
        out["PARLEY_METRICS_TOKEN"] = _metrics_token(environ["PARLEY_METRICS_TOKEN"])
    if "PARLEY_REDIS_URL" in environ and environ["PARLEY_REDIS_URL"].strip():
        out["RATELIMIT_STORAGE_URI"] = environ["PARLEY_REDIS_URL"].strip()
        out["CACHE_REDIS_URL"] = out["RATELIMIT_STORAGE_URI"]  # cached reads: web/cache.py
    out.update(_notifications(environ))
    return out


def new_data_key() -> str:
    """A fresh data key: a key id, a colon and 32 random bytes in URL-safe base64."""
    raw = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")
    return f"k{secrets.token_hex(3)}:{raw}"


def _read_or_create(path: Path, make: Any) -> str:
    """Read a development key from the instance folder, creating it (mode 0600) once."""
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    value = str(make())
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another worker won the race: use its key
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    return value


def ensure_keys(config: dict[str, Any], instance_path: Path) -> None:
    """Refuse a production start without keys; generate development keys once."""
    if config["PARLEY_ENV"] == "production":
        missing = [
            name
            for name, key in (("PARLEY_SECRET_KEY", "SECRET_KEY"), ("PARLEY_DATA_KEY",) * 2)
            if not config.get(key)
        ]
        if missing:
            raise ConfigError(
                "Parley refuses to start in production without "
                + " and ".join(missing)
                + ". Generate them with `flask --app service keys` and set them in the "
                "environment."
            )
        if config.get("PARLEY_WEBHOOK_ALLOW_PRIVATE"):
            raise ConfigError("PARLEY_WEBHOOK_ALLOW_PRIVATE is for tests and development only.")
        return
    instance_path.mkdir(mode=0o700, parents=True, exist_ok=True)  # owner only
    if not config.get("SECRET_KEY"):
        config["SECRET_KEY"] = _read_or_create(
            instance_path / "secret_key", lambda: secrets.token_urlsafe(48)
        )
    if not config.get("PARLEY_DATA_KEY"):
        config["PARLEY_DATA_KEY"] = _read_or_create(instance_path / "data_key", new_data_key)
