"""Helpers shared by the test modules (imported as ``support``; fixtures live in conftest).

The database helpers that take an ``app`` open its app context themselves.
"""

from __future__ import annotations

import re
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from backends import current_database, unavailable
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from service.config import new_data_key
from service.data import OutboxMessage, Site, utcnow
from service.database import writing
from service.extensions import db
from service.notify import outbox
from service.sites import accounts

SECRET = "test-secret-key-" + "x" * 32
DATA_KEY = new_data_key()
EMAIL = "ada.lovelace@example.org"
OWNER = "owner@example.org"
PASSWORD = "correct horse battery"


def base_config(instance: Path, **overrides: Any) -> dict[str, Any]:
    """A test app's configuration; its database is the SQLite file in ``instance`` (which
    conftest's ``database_url`` fills), or the running test's PostgreSQL database under
    ``make test-postgres`` (``backends.current_database``)."""
    database = current_database() or f"sqlite:///{instance / 'parley.sqlite'}"
    config: dict[str, Any] = {
        "TESTING": True,
        "PARLEY_INSTANCE_PATH": str(instance),
        "SECRET_KEY": SECRET,
        "PARLEY_DATA_KEY": DATA_KEY,
        "SQLALCHEMY_DATABASE_URI": database,
        "RATELIMIT_ENABLED": False,
        "PARLEY_FORM_MIN_SECONDS": 0,
        # The tests' API posts are a non-browser client's, without a form token: judged by
        # the site's policy, as such posts were before PARLEY_TOKENLESS_POSTS (whose default,
        # `moderate`, and the other rules have their own tests: test_post_tokens.py).
        "PARLEY_TOKENLESS_POSTS": "policy",
        # The test client's own address: what the service's absolute URLs and origin
        # checks use (never the request's Host).
        "PARLEY_PUBLIC_URL": "http://localhost",
    }
    config.update(overrides)
    return config


def comment_body(**fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"name": "Ada", "email": EMAIL, "text": "A *fine* article."}
    body.update(fields)
    return {k: v for k, v in body.items() if v is not None}


# --- answers --------------------------------------------------------------------------------


def json_of(response: TestResponse) -> dict[str, Any]:
    """The JSON object a response carries; fails the test, showing the body, if it has none."""
    body = response.get_json(silent=True) if response.is_json else None
    assert isinstance(body, dict), (
        f"no JSON object in {response.status}: {response.get_data(as_text=True)[:500]!r}"
    )
    return body


def thread(client: FlaskClient, page: str, **params: Any) -> dict[str, Any]:
    """The JSON API's answer for a page's comments, with ``params`` in the query."""
    response = client.get("/api/v1/comments", query_string={"page": page, **params})
    assert response.status_code == 200, response.get_data(as_text=True)
    return json_of(response)


def every_comment(client: FlaskClient, page: str, **params: Any) -> list[dict[str, Any]]:
    """The comments of every page of a cursored list (a thread, or one parent's replies)."""
    found: list[dict[str, Any]] = []
    cursor = None
    for _ in range(1_000):
        answer = thread(client, page, **params, **({"cursor": cursor} if cursor else {}))
        found += answer["comments"]
        cursor = answer["next"]
        if not cursor:
            return found
    raise AssertionError("cursor paging did not end")


def visitor_key(client: FlaskClient) -> str:
    """A fresh visitor key (each call: another visitor)."""
    response = client.post("/api/v1/visitors")
    assert response.status_code == 201, response.get_data(as_text=True)
    return str(json_of(response)["visitor"])


def form_token(client: FlaskClient) -> str:
    """A fresh form token, got as the widget gets one before a post (the tests' config lets
    it come back at once: PARLEY_FORM_MIN_SECONDS=0). Browser posts must bring one."""
    response = client.get("/api/v1/form-token")
    assert response.status_code == 200, response.get_data(as_text=True)
    return str(json_of(response)["form_token"])


def csrf_token(html: str) -> str:
    """The CSRF token of a page's form: a WTForms field (``type`` after the ``name``) or a
    hand-written hidden input; every form of one page carries the same token."""
    match = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', html)
    assert match, "the form has no CSRF token"
    return match.group(1)


def form_tokens(html: str) -> dict[str, str]:
    """The hidden tokens of the standalone page's comment form: CSRF and the time trap's."""
    match = re.search(r'name="form_token" type="hidden" value="([^"]+)"', html)
    assert match, "the form has no form_token"
    return {"csrf_token": csrf_token(html), "form_token": match.group(1)}


def open_form(client: FlaskClient, page: str, site: str = "default") -> dict[str, str]:
    """Show a page's standalone thread and return the hidden tokens its form carries."""
    response = client.get("/thread", query_string={"site": site, "page": page})
    assert response.status_code == 200, response.status
    return form_tokens(response.get_data(as_text=True))


# --- sites ----------------------------------------------------------------------------------


def default_site() -> Site:
    """The default site's row (inside an app context)."""
    return db.session.scalars(sa.select(Site).where(Site.key == "default")).one()


def set_site(app: Flask, **values: Any) -> None:
    """Change settings of the default site: ``set_site(app, moderation="all")``."""
    with app.app_context(), writing():
        site = default_site()
        for name, value in values.items():
            assert hasattr(site, name), f"a site has no setting {name!r}"
            setattr(site, name, value)
        db.session.commit()


# --- moderators -----------------------------------------------------------------------------


def make_moderator(
    app: Flask,
    email: str = OWNER,
    sites: dict[str, str] | None = None,
    password: str = PASSWORD,
) -> None:
    """An account with roles per site key; by default the owner of the default site."""
    with app.app_context(), writing():
        accounts.create_moderator(email, password, sites=sites or {"default": "owner"})
        db.session.commit()


def log_in(
    client: FlaskClient,
    email: str = OWNER,
    password: str = PASSWORD,
    next_path: str | None = None,
) -> TestResponse:
    """Send the admin login form (with its CSRF token); returns the answer."""
    page = client.get("/admin/login").get_data(as_text=True)
    url = "/admin/login" + (f"?next={next_path}" if next_path else "")
    return client.post(
        url, data={"csrf_token": csrf_token(page), "email": email, "password": password}
    )


# --- the outbox (mail and webhook calls) ----------------------------------------------------


def send_outbox(app: Flask) -> outbox.Report:
    """One round of the outbox: send what is due."""
    with app.app_context():
        return outbox.send_due()


def outbox_rows(app: Flask) -> list[OutboxMessage]:
    """Every outbox row, oldest first (detached, to read after the context ends)."""
    with app.app_context():
        found = list(db.session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)))
        db.session.expunge_all()
        return found


def make_outbox_due(app: Flask) -> None:
    """Make every waiting row due now, as if its back-off had passed."""
    with app.app_context(), writing():
        db.session.execute(
            sa.update(OutboxMessage).values(send_after=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()


# --- admin forms ----------------------------------------------------------------------------


def admin_post(client: FlaskClient, path: str, /, **data: Any) -> TestResponse:
    """POST an admin form with the session's CSRF token."""
    token = csrf_token(client.get("/admin/").get_data(as_text=True))
    return client.post(path, data={"csrf_token": token, **data})


def site_form(**changes: str | None) -> dict[str, str]:
    """The site settings form as an owner sends it, with some fields changed (None: left out)."""
    form: dict[str, str | None] = {
        "name": "My blog",
        "origins": "https://blog.example\nhttp://LOCALHOST:8000/",
        "moderation": "none",
        "link_limit": "2",
        "rating_scale": "5",
        "edit_window": "15",
        "language": "en",
        "theme": "auto",
        "notify_moderators": "y",
    }
    form.update(changes)
    return {k: v for k, v in form.items() if v is not None}


# --- Redis ----------------------------------------------------------------------------------

REDIS_URL = "redis://127.0.0.1:6379/0"


def redis_url() -> str:
    """The test Redis server's URL; the calling test is skipped when Redis does not answer
    (fails, in CI: ``backends.unavailable``)."""
    try:
        import redis
    except ImportError:
        unavailable("redis (the client library) is not installed")
    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.exceptions.ConnectionError:
        unavailable(f"Redis on {REDIS_URL} is not running")
    return REDIS_URL


def redis_limited_config(instance: Path, database_url: str, **overrides: Any) -> dict[str, Any]:
    """An app's configuration with rate limits on, kept in Redis under a prefix of its own
    (a fresh budget), on the test's database (conftest's ``database_url``): run two apps on
    it as two workers."""
    return base_config(
        instance,
        SQLALCHEMY_DATABASE_URI=database_url,
        RATELIMIT_ENABLED=True,
        RATELIMIT_STORAGE_URI=redis_url(),
        RATELIMIT_KEY_PREFIX=f"parley-test-{secrets.token_hex(4)}",
        **overrides,
    )


# --- the statements SQLite runs ----------------------------------------------------------------


def trace_statements(app: Flask) -> list[str]:
    """Every statement SQLite runs for this app from now on, as the driver sends it (raw
    pooled connections too)."""
    statements: list[str] = []

    def trace(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.set_trace_callback(statements.append)

    with app.app_context():
        db.engine.dispose()  # new connections only, so every one is traced
        sa.event.listen(db.engine, "connect", trace)
    return statements


def begins_during(statements: list[str], request: Any) -> tuple[list[str], list[str]]:
    """Run ``request``; the BEGINs it caused, and every statement it caused (normalised)."""
    start = len(statements)
    request()
    during = [" ".join(s.split()).upper() for s in statements[start:]]
    return [s for s in during if s.startswith("BEGIN")], during


def transactions(statements: list[str]) -> list[tuple[str, list[str]]]:
    """The statements grouped by transaction: (its BEGIN, what ran in it)."""
    found: list[tuple[str, list[str]]] = []
    for statement in statements:
        if statement.startswith("BEGIN"):
            found.append((statement, []))
        elif found and not statement.startswith(("COMMIT", "ROLLBACK")):
            found[-1][1].append(statement)
    return found
