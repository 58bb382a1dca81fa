"""Helpers shared by the test modules (imported as ``support``; fixtures live in conftest)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from service.config import new_data_key

SECRET = "test-secret-key-" + "x" * 32
DATA_KEY = new_data_key()
EMAIL = "ada.lovelace@example.org"


def base_config(instance: Path, **overrides: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "TESTING": True,
        "PARLEY_INSTANCE_PATH": str(instance),
        "SECRET_KEY": SECRET,
        "PARLEY_DATA_KEY": DATA_KEY,
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{instance / 'parley.sqlite'}",
        "RATELIMIT_ENABLED": False,
        "PARLEY_FORM_MIN_SECONDS": 0,
    }
    config.update(overrides)
    return config


def comment_body(**fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"name": "Ada", "email": EMAIL, "text": "A *fine* article."}
    body.update(fields)
    return {k: v for k, v in body.items() if v is not None}


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)
    assert match, "the form has no CSRF token"
    return match.group(1)
