"""Bans, blocked words and webhooks are kept by each process while the site's version holds:
a change made anywhere (another worker, the command line) renews that version in its own
transaction, so the next post everywhere applies it; an unchanged site reads none of them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from support import base_config, default_site, json_of, trace_statements

from service import create_app
from service.comments import bans, blocklist
from service.data import OutboxMessage, Site, Webhook
from service.database import writing
from service.extensions import db

URL = "/api/v1/comments?site=default&page=/kept"
EMAIL = "kept@example.org"


def _post(client: FlaskClient, text: str) -> tuple[int, dict[str, Any]]:
    body = {"name": "Kept", "email": EMAIL, "text": text}
    response = client.post(URL, json=body)
    return response.status_code, json_of(response)


@pytest.fixture
def elsewhere(app: Flask, tmp_path: Any) -> Iterator[Flask]:
    """Another process on the same database (a second worker, or the command line)."""
    other = create_app(base_config(tmp_path))
    yield other
    with other.app_context():
        db.engine.dispose()


def _version(app: Flask) -> int:
    with app.app_context():
        return db.session.get(Site, default_site().id).version  # type: ignore[union-attr]


def test_a_ban_added_elsewhere_refuses_the_next_post(
    app: Flask, client: FlaskClient, elsewhere: Flask
) -> None:
    assert _post(client, "Before the ban.")[0] == 201  # this process keeps "no bans"
    before = _version(app)
    with elsewhere.app_context(), writing():
        bans.ban_email(None, default_site(), EMAIL, shadow=False, reason="test")
        db.session.commit()
    assert _version(app) != before
    status, body = _post(client, "After the ban.")
    assert status == 403, body
    with elsewhere.app_context(), writing():
        for ban in bans.for_sites([default_site().id]):
            bans.remove(None, ban)
        db.session.commit()
    assert _post(client, "The ban is lifted.")[0] == 201


def test_a_word_blocked_elsewhere_holds_the_next_post(
    app: Flask, client: FlaskClient, elsewhere: Flask
) -> None:
    assert _post(client, "Nothing blocked here, wombat.")[1]["status"] == "approved"
    with elsewhere.app_context(), writing():
        blocklist.block(None, default_site(), "wombat")
        db.session.commit()
    assert _post(client, "A second wombat.")[1]["status"] == "pending"
    with elsewhere.app_context(), writing():
        site = default_site()
        entry = blocklist.find(site, "wombat")
        assert entry is not None
        blocklist.unblock(None, site, entry)
        db.session.commit()
    assert _post(client, "A third wombat.")[1]["status"] == "approved"


def test_a_webhook_added_elsewhere_is_called_for_the_next_post(
    app: Flask, client: FlaskClient, elsewhere: Flask
) -> None:
    def queued() -> int:
        with app.app_context():
            return db.session.query(OutboxMessage).filter_by(kind="webhook").count()

    assert _post(client, "No webhook yet.")[0] == 201
    assert queued() == 0
    with elsewhere.app_context(), writing():
        hook = Webhook(site_id=default_site().id, url="https://hooks.example/x", secret="s")
        db.session.add(hook)
        db.session.commit()
    assert _post(client, "Announced.")[0] == 201
    assert queued() == 1


@pytest.mark.sqlite_only("SQLite's statements, traced through the driver")
def test_an_unchanged_site_reads_no_bans_words_or_webhooks(app: Flask, client: FlaskClient) -> None:
    assert _post(client, "The rules are read once.")[0] == 201
    traced = trace_statements(app)
    assert _post(client, "And kept.")[0] == 201
    kept = ("FROM BAN", "FROM BLOCKED_WORD", "FROM WEBHOOK")
    assert not [s for s in traced if any(table in s for table in kept)], traced
