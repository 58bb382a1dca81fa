"""The suite's own rules about backends and missing services (``backends``)."""

from __future__ import annotations

import backends
import pytest


def test_a_missing_service_skips_the_test_on_a_workstation(monkeypatch) -> None:
    monkeypatch.setattr(backends, "STRICT", False)
    with pytest.raises(pytest.skip.Exception, match="Redis is down"):
        backends.unavailable("Redis is down")


def test_a_missing_service_fails_the_test_in_ci(monkeypatch) -> None:
    monkeypatch.setattr(backends, "STRICT", True)
    with pytest.raises(pytest.fail.Exception, match=r"Redis is down \(TEST_REQUIRE_SERVICES"):
        backends.unavailable("Redis is down")


def test_apps_a_test_makes_share_its_database(tmp_path, database_url) -> None:
    """A second app (another worker) made with ``base_config`` uses the test's database,
    whichever backend the suite runs on."""
    from support import base_config

    assert base_config(tmp_path)["SQLALCHEMY_DATABASE_URI"] == database_url
