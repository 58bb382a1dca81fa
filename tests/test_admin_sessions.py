"""Admin sessions and logins: revocation on the server, the cookie, throttling per address,
known devices, passwords and removals, and the queue's email filter kept out of URLs."""

from __future__ import annotations

import base64
import json
import re
import time
import zlib
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from itsdangerous import URLSafeTimedSerializer
from support import OWNER, PASSWORD, admin_post, csrf_token, log_in, make_moderator, set_site
from werkzeug.test import TestResponse

from service.data import AuditEntry, Moderator, Site
from service.extensions import db

MOD = "mod@example.org"
MOD_PASSWORD = "the moderator's password"
NEW_PASSWORD = "a brand new password"
HOME = "198.51.100.7"  # the owner's address, shared with whoever throttles it
ELSEWHERE = "203.0.113.20"
THROTTLED = {"RATELIMIT_ENABLED": True}


# --- helpers --------------------------------------------------------------------------------


def browser(app: Flask, address: str = HOME) -> FlaskClient:
    """A new browser (its own cookies) at a client address."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def logged_in(app: Flask, email: str = OWNER, password: str = PASSWORD, **kw: Any) -> FlaskClient:
    client = browser(app, **kw)
    answer = log_in(client, email, password)
    assert answer.status_code == 303, answer.get_data(as_text=True)[:300]
    return client


def is_logged_in(client: FlaskClient) -> bool:
    answer = client.get("/admin/")
    assert answer.status_code in (200, 302), answer.status
    return answer.status_code == 200


def cookie_payload(value: str) -> Any:
    """What an itsdangerous-signed cookie says (signed, not encrypted: anyone can read it)."""
    compressed = value.startswith(".")
    body = value.lstrip(".").split(".")[0]
    raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    return json.loads(zlib.decompress(raw) if compressed else raw)


def admin_cookie(client: FlaskClient) -> str:
    found = client.get_cookie("parley_admin", path="/admin")
    assert found is not None, "no admin session cookie"
    return found.value


def device_cookie(client: FlaskClient) -> str | None:
    found = client.get_cookie("parley_device", path="/admin")
    return found.value if found else None


def audit_rows(app: Flask) -> list[tuple[str, str, str, int | None]]:
    with app.app_context():
        return [
            (e.action, e.target, e.detail, e.moderator_id)
            for e in db.session.scalars(sa.select(AuditEntry).order_by(AuditEntry.id))
        ]


def account(app: Flask, email: str) -> Moderator:
    with app.app_context():
        found = db.session.scalars(sa.select(Moderator).where(Moderator.email == email)).one()
        db.session.expunge(found)
        return found


def moderator_id(app: Flask, email: str) -> int:
    return account(app, email).id


def change_password(client: FlaskClient, current: str, new: str, again: str | None = None):
    return admin_post(
        client,
        "/admin/account",
        current=current,
        password=new,
        confirm=new if again is None else again,
    )


def remove(client: FlaskClient, app: Flask, email: str, site: str = "default") -> TestResponse:
    return admin_post(
        client, "/admin/moderators/remove", site=site, moderator=str(moderator_id(app, email))
    )


@pytest.fixture
def accounts(app: Flask) -> None:
    """The owner of the default site and a moderator of it."""
    make_moderator(app)
    make_moderator(app, MOD, {"default": "moderator"}, MOD_PASSWORD)


@pytest.fixture
def other_site(app: Flask) -> None:
    with app.app_context():
        db.session.add(Site(key="other", name="Other", moderation="none", edit_window=900))
        db.session.commit()


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Callable[[float], None]:
    """Move the process's clock forward (the limiter's in-process storage reads it)."""
    real = time.time
    offset = [0.0]
    monkeypatch.setattr(time, "time", lambda: real() + offset[0])

    def advance(seconds: float) -> None:
        offset[0] += seconds

    return advance


# --- sessions are revoked on the server -----------------------------------------------------


def test_logging_out_in_one_browser_ends_the_accounts_other_sessions(app, accounts):
    laptop, phone = logged_in(app), logged_in(app)
    other_account = logged_in(app, MOD, MOD_PASSWORD)
    stolen = admin_cookie(phone)
    assert admin_post(laptop, "/admin/logout").status_code == 303
    assert not is_logged_in(laptop)
    assert not is_logged_in(phone)
    replay = browser(app)
    replay.set_cookie("parley_admin", stolen, path="/admin")
    assert not is_logged_in(replay), "a copied cookie outlived the logout"
    assert is_logged_in(other_account), "another account's sessions are its own"
    assert is_logged_in(logged_in(app)), "logging in again works"


def test_the_admin_cookie_carries_nothing_of_the_password_hash(app, accounts):
    client = logged_in(app)
    password_hash = account(app, OWNER).password_hash
    for value in (admin_cookie(client), device_cookie(client)):
        assert value
        text = value + json.dumps(cookie_payload(value))
        pieces = {password_hash[i : i + 8] for i in range(len(password_hash) - 7)}
        assert not [p for p in pieces if p in text], "the cookie holds part of the hash"
    session = cookie_payload(admin_cookie(client))
    assert session["moderator"] == moderator_id(app, OWNER)
    assert set(session) <= {"moderator", "version", "_permanent", "csrf_token", "_flashes"}


def test_a_new_password_ends_the_other_sessions_and_keeps_this_one(app, accounts):
    here, elsewhere = logged_in(app), logged_in(app)
    assert change_password(here, PASSWORD, NEW_PASSWORD).status_code == 303
    assert is_logged_in(here)
    assert not is_logged_in(elsewhere)
    assert log_in(browser(app), OWNER, PASSWORD).status_code == 401
    assert log_in(browser(app), OWNER, NEW_PASSWORD).status_code == 303
    owner = moderator_id(app, OWNER)
    assert audit_rows(app)[-1] == ("change password", f"moderator {owner}", "", owner)
    everything = json.dumps(audit_rows(app))
    assert PASSWORD not in everything and NEW_PASSWORD not in everything


@pytest.mark.parametrize(
    ("current", "new", "again", "field"),
    [
        ("not my password!", NEW_PASSWORD, None, "This is not your current password."),
        (PASSWORD, "short", None, "A password needs 10 to 512 characters."),
        (PASSWORD, "x" * 513, None, "A password needs 10 to 512 characters."),
        (PASSWORD, NEW_PASSWORD, "a different password", "The two new passwords differ."),
    ],
)
def test_a_password_change_needs_the_current_password_and_a_good_new_one(
    app, accounts, current, new, again, field
):
    client, elsewhere = logged_in(app), logged_in(app)
    answer = change_password(client, current, new, again)
    assert answer.status_code == 422
    assert field in answer.get_data(as_text=True)
    assert is_logged_in(client) and is_logged_in(elsewhere)
    assert log_in(browser(app), OWNER, PASSWORD).status_code == 303
    assert not [row for row in audit_rows(app) if "password" in row[0]]


def test_set_password_on_the_command_line_ends_every_session(app, accounts, runner):
    client = logged_in(app, MOD, MOD_PASSWORD)
    result = runner.invoke(args=["set-password", "MOD@example.org", "--password", NEW_PASSWORD])
    assert result.exit_code == 0, result.output
    assert NEW_PASSWORD not in result.output
    assert not is_logged_in(client)
    assert log_in(browser(app), MOD, NEW_PASSWORD).status_code == 303
    entry = ("set password", f"moderator {moderator_id(app, MOD)}", "[cli]", None)
    assert audit_rows(app)[-1] == entry
    short = runner.invoke(args=["set-password", MOD, "--password", "short"])
    assert short.exit_code != 0 and "10 to 512" in short.output
    unknown = runner.invoke(args=["set-password", "nobody@example.org", "--password", "x" * 12])
    assert unknown.exit_code != 0 and "no account" in unknown.output


# --- owners remove moderators ---------------------------------------------------------------


def test_an_owner_removing_a_moderator_ends_their_sessions_and_disables_the_account(app, accounts):
    owner, moderator = logged_in(app), logged_in(app, MOD, MOD_PASSWORD)
    listed = owner.get("/admin/moderators").get_data(as_text=True)
    assert MOD in listed and OWNER in listed
    assert remove(owner, app, MOD).status_code == 303
    assert not is_logged_in(moderator)
    assert log_in(browser(app), MOD, MOD_PASSWORD).status_code == 401
    assert account(app, MOD).disabled is not None
    mod_id, owner_id = moderator_id(app, MOD), moderator_id(app, OWNER)
    assert f'id="role-default-{mod_id}"' not in owner.get("/admin/moderators").text
    assert audit_rows(app)[-2:] == [
        ("remove role", f"moderator {mod_id}", "moderator", owner_id),
        ("disable account", f"moderator {mod_id}", "", owner_id),
    ]
    # create-admin enables the account again, with a new password.
    again = app.test_cli_runner().invoke(
        args=["create-admin", MOD, "--role", "moderator", "--password", NEW_PASSWORD]
    )
    assert again.exit_code == 0, again.output
    assert log_in(browser(app), MOD, MOD_PASSWORD).status_code == 401
    assert log_in(browser(app), MOD, NEW_PASSWORD).status_code == 303


def test_a_removal_keeps_the_accounts_other_roles(app, other_site):
    make_moderator(app)
    make_moderator(app, MOD, {"default": "moderator", "other": "moderator"}, MOD_PASSWORD)
    owner, moderator = logged_in(app), logged_in(app, MOD, MOD_PASSWORD)
    assert remove(owner, app, MOD).status_code == 303
    assert not is_logged_in(moderator)
    assert account(app, MOD).disabled is None
    again = logged_in(app, MOD, MOD_PASSWORD)
    assert again.get("/admin/sites/default/pages").status_code == 404
    assert "other" in again.get("/admin/sites").get_data(as_text=True)


def test_only_an_owner_of_the_site_removes_and_a_site_keeps_an_owner(app, accounts, other_site):
    moderator = logged_in(app, MOD, MOD_PASSWORD)
    assert remove(moderator, app, OWNER).status_code == 403
    assert moderator.get("/admin/moderators").status_code == 200  # lists nothing to remove
    make_moderator(app, "elsewhere@example.org", {"other": "owner"})
    stranger = logged_in(app, "elsewhere@example.org")
    assert remove(stranger, app, MOD).status_code == 404
    owner = logged_in(app)
    alone = remove(owner, app, OWNER)
    assert alone.status_code == 422
    assert "only owner" in alone.get_data(as_text=True)
    assert is_logged_in(owner) and is_logged_in(moderator)
    assert not [row for row in audit_rows(app) if row[0] == "remove role"]


def test_remove_admin_on_the_command_line(app, accounts, other_site, runner):
    with app.app_context():
        from service.sites import accounts as rules

        rules.grant(rules.find(MOD), "other", "moderator")  # type: ignore[arg-type]
        db.session.commit()
    moderator = logged_in(app, MOD, MOD_PASSWORD)
    one = runner.invoke(args=["remove-admin", MOD, "--site", "other"])
    assert one.exit_code == 0, one.output
    assert not is_logged_in(moderator)
    assert account(app, MOD).disabled is None
    every = runner.invoke(args=["remove-admin", MOD])
    assert every.exit_code == 0 and "disabled" in every.output, every.output
    assert log_in(browser(app), MOD, MOD_PASSWORD).status_code == 401
    last = runner.invoke(args=["remove-admin", OWNER])
    assert last.exit_code != 0 and "only owner" in last.output
    assert runner.invoke(args=["remove-admin", OWNER, "--site", "nope"]).exit_code != 0
    assert runner.invoke(args=["remove-admin", "nobody@example.org"]).exit_code != 0
    actions = [row[0] for row in audit_rows(app)]
    assert actions == ["remove role", "remove role", "disable account"]
    assert all(row[3] is None for row in audit_rows(app))  # the command line: "system"


# --- failed logins throttle the address, not the account ----------------------------------


@pytest.mark.parametrize("app_config", [THROTTLED])
def test_five_wrong_passwords_throttle_the_address_for_fifteen_minutes_not_the_account(
    app, accounts, clock
):
    attacker = browser(app)
    codes = [log_in(attacker, password="wrong password!").status_code for _ in range(5)]
    assert codes == [401] * 5
    refused = log_in(browser(app))  # the right password, from the same address
    assert refused.status_code == 429
    assert 14 * 60 < int(refused.headers["Retry-After"]) <= 15 * 60
    assert "Too many wrong passwords" in refused.get_data(as_text=True)
    assert log_in(browser(app, ELSEWHERE)).status_code == 303  # the account is not locked
    assert browser(app).get("/admin/login").status_code == 200  # the form still shows
    clock(14 * 60)
    assert log_in(browser(app)).status_code == 429
    clock(61)
    assert log_in(browser(app)).status_code == 303


@pytest.mark.parametrize("app_config", [THROTTLED])
def test_wrong_current_passwords_spend_the_same_budget_as_failed_logins(app, accounts):
    client = logged_in(app)  # a known device now: its guesses spend its own budget
    for _ in range(5):
        assert change_password(client, "wrong password!", NEW_PASSWORD).status_code == 422
    assert change_password(client, PASSWORD, NEW_PASSWORD).status_code == 429
    assert log_in(client).status_code == 429
    assert log_in(browser(app)).status_code == 303  # the address's budget is untouched


# --- the known-device cookie ------------------------------------------------------------


@pytest.mark.parametrize("app_config", [{**THROTTLED, "SESSION_COOKIE_SECURE": True}])
def test_the_known_device_cookie_is_scoped_strict_http_only_and_secure(app, accounts):
    answer = log_in(browser(app))
    cookie = next(c for c in answer.headers.getlist("Set-Cookie") if "parley_device=" in c)
    for part in ("Path=/admin", "HttpOnly", "SameSite=Strict", "Secure", "Max-Age="):
        assert part in cookie, cookie


def throttle_home(app: Flask) -> None:
    attacker = browser(app)
    for _ in range(5):
        assert log_in(attacker, password="wrong password!").status_code == 401
    assert log_in(browser(app)).status_code == 429


@pytest.mark.parametrize("app_config", [THROTTLED])
def test_a_known_device_logs_its_owner_in_from_a_throttled_address(app, accounts):
    device = logged_in(app)
    assert admin_post(device, "/admin/logout").status_code == 303  # stays a known device
    throttle_home(app)
    assert log_in(device).status_code == 303
    assert is_logged_in(device)


@pytest.mark.parametrize("app_config", [THROTTLED])
def test_a_known_device_has_a_budget_of_its_own(app, accounts):
    device = logged_in(app)
    throttle_home(app)
    for _ in range(5):
        assert log_in(device, password="wrong password!").status_code == 401
    assert log_in(device).status_code == 429  # a stolen device cookie buys no guessing


def forged(value: str) -> str:
    """The same cookie saying another session version, re-encoded without the key."""
    payload, rest = value.split(".", 1)
    said = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    said[1] += 1
    body = base64.urlsafe_b64encode(json.dumps(said, separators=(",", ":")).encode()).decode()
    return body.rstrip("=") + "." + rest


@pytest.mark.parametrize("app_config", [THROTTLED])
def test_a_forged_or_foreign_device_cookie_does_not_pass_the_throttle(app, accounts):
    mine = device_cookie(logged_in(app))
    theirs = device_cookie(logged_in(app, MOD, MOD_PASSWORD))
    assert mine and theirs
    owner = account(app, OWNER)
    other_key = URLSafeTimedSerializer("another service's key " + "y" * 30, "parley-known-device")
    signed_elsewhere = other_key.dumps([owner.id, owner.session_version, "a-device-id"])
    throttle_home(app)
    for value in (forged(mine), theirs, signed_elsewhere, mine[:-3] + "abc", "garbage"):
        client = browser(app)
        client.set_cookie("parley_device", value, path="/admin")
        assert log_in(client).status_code == 429, value
    genuine = browser(app)
    genuine.set_cookie("parley_device", mine, path="/admin")
    assert log_in(genuine).status_code == 303
    # A new password (here from another address) makes every earlier device unknown.
    assert change_password(genuine, PASSWORD, NEW_PASSWORD).status_code == 303
    old = browser(app)
    old.set_cookie("parley_device", mine, path="/admin")
    assert log_in(old, OWNER, NEW_PASSWORD).status_code == 429
    assert log_in(genuine, OWNER, NEW_PASSWORD).status_code == 303  # it got a new cookie


# --- the queue's email filter -----------------------------------------------------------


def urls_in(html: str) -> list[str]:
    return re.findall(r'(?:href|action|src|formaction)="([^"]*)"', html)


def test_the_queue_email_filter_keeps_the_address_out_of_every_url(app, owner, post):
    set_site(app, moderation="all")
    for n in range(52):
        post("/a", text=f"grace says {n}", email="Grace.Hopper@example.org")
    post("/a", text="ada says hello", email="ada@example.org")
    post("/b", text="grace on b", email="grace.hopper@example.org")
    page = owner.get("/admin/queue?page=/a").get_data(as_text=True)
    answer = owner.post(
        "/admin/queue/email",
        data={
            "csrf_token": csrf_token(page),
            "email": "grace.hopper@EXAMPLE.org",
            "return_to": "/admin/queue?page=/a",
        },
    )
    assert answer.status_code == 303
    assert answer.headers["Location"] == "/admin/queue?page=/a"
    html = owner.get(answer.headers["Location"]).get_data(as_text=True)
    assert html.count('name="ids"') == 50
    assert "ada says hello" not in html and "grace on b" not in html
    assert 'value="grace.hopper@EXAMPLE.org"' in html  # the filter shows what it is
    assert not [url for url in urls_in(html) if "grace" in url.lower() or "%40" in url]
    older = re.search(r'href="([^"]*offset=50[^"]*)"', html)
    assert older, "no link to the older comments"
    rest = owner.get(older.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert rest.count('name="ids"') == 2  # 52 on page /a: paging keeps both filters
    assert "ada says hello" not in rest
    session = json.dumps(cookie_payload(admin_cookie(owner))).lower()
    assert "grace" not in session and "hopper" not in session
    cleared = owner.post(
        "/admin/queue/email",
        data={"csrf_token": csrf_token(page), "clear": "1", "return_to": "/admin/queue?page=/a"},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "ada says hello" in cleared
    # An address in the URL filters nothing: the old way is gone, not silently kept.
    assert "ada says hello" in owner.get("/admin/queue?email=grace.hopper@example.org").text


def test_the_queue_email_filter_ends_with_the_session(app, owner, post):
    set_site(app, moderation="all")
    post("/a", text="grace says hi", email="grace@example.org")
    post("/a", text="ada says hello", email="ada@example.org")
    assert admin_post(owner, "/admin/queue/email", email="grace@example.org").status_code == 303
    assert "ada says hello" not in owner.get("/admin/queue").text
    assert log_in(owner).status_code == 303  # a new session starts unfiltered
    assert "ada says hello" in owner.get("/admin/queue").text


# --- storage: Redis across workers, and the migration -------------------------------------


@pytest.mark.slow
def test_failed_logins_are_counted_across_workers_through_redis(tmp_path, database_url):
    from support import redis_limited_config

    from service import create_app

    config = redis_limited_config(tmp_path, database_url)
    workers = [create_app(config), create_app(config)]
    make_moderator(workers[0])
    try:
        for n in range(5):
            assert log_in(browser(workers[n % 2]), password="wrong password!").status_code == 401
        for worker in workers:
            refused = log_in(browser(worker))
            assert refused.status_code == 429
            assert 14 * 60 < int(refused.headers["Retry-After"]) <= 15 * 60
            assert log_in(browser(worker, ELSEWHERE)).status_code == 303
    finally:
        for worker in workers:
            with worker.app_context():
                db.engine.dispose()


def test_the_migration_ends_the_per_account_lock_and_keeps_accounts(app, accounts):
    from flask_migrate import downgrade, upgrade

    mod_id = moderator_id(app, MOD)
    assert remove(logged_in(app), app, MOD).status_code == 303  # disabled
    with app.app_context():
        downgrade(revision="0004")
        db.session.execute(
            sa.text(
                "UPDATE moderator SET failed_logins = 5, locked_until = :until WHERE email = :email"
            ),
            {"until": "2999-01-01 00:00:00", "email": OWNER},
        )
        db.session.commit()
        upgrade()
        db.session.remove()
    owner = account(app, OWNER)
    assert owner.session_version == 1 and owner.disabled is None
    assert log_in(browser(app)).status_code == 303  # a lock from before is gone
    # 0004 knew no disabled accounts: the way down kept this one out by its password.
    assert account(app, MOD).id == mod_id
    assert log_in(browser(app), MOD, MOD_PASSWORD).status_code == 401
