"""Signed webhooks: delivery to a local receiver, signatures, retries, address checks.

Every request goes to 127.0.0.1 (with PARLEY_WEBHOOK_ALLOW_PRIVATE on); the refusal
tests run with connecting forbidden, so a refused URL is never contacted.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import re
import socket
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import Result
from flask.testing import FlaskCliRunner
from servers import WebhookReceiver
from support import EMAIL, make_outbox_due, outbox_rows, send_outbox, set_site

from service.data import Moderator, Site, Webhook, utcnow
from service.database import writing
from service.extensions import db
from service.notify import webhooks


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {"PARLEY_WEBHOOK_ALLOW_PRIVATE": True}


@pytest.fixture
def no_connections(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if anything tries to open a connection."""

    def refuse(*args: Any, **_kwargs: Any) -> None:
        raise AssertionError(f"a connection was attempted: {args!r}")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)


def printed(result: Result, pattern: str) -> str:
    """The first group of ``pattern`` in a command's output (each line on its own)."""
    match = re.search(pattern, result.output, re.M)
    assert match, f"{pattern!r} not in the output: {result.output!r}"
    return match.group(1)


def add_webhook(runner: FlaskCliRunner, url: str, site: str = "default") -> tuple[int, str]:
    result = runner.invoke(args=["webhook", "add", site, url])
    assert result.exit_code == 0, result.output
    ident = int(printed(result, r"Webhook (\d+) added"))
    secret = printed(result, r"Secret .*: (\S+)$")
    return ident, secret


def verify(request: dict[str, Any], secret: str) -> bool:
    stamp = request["headers"]["X-Parley-Timestamp"]
    expected = hmac.new(secret.encode(), f"{stamp}.".encode() + request["body"], hashlib.sha256)
    return hmac.compare_digest(
        "sha256=" + expected.hexdigest(), request["headers"]["X-Parley-Signature"]
    )


def test_add_prints_the_secret_once_and_stores_it_encrypted(app, runner, receiver):
    ident, secret = add_webhook(runner, receiver.url)
    assert len(secret) >= 40
    listing = runner.invoke(args=["webhook", "list"]).output
    assert receiver.url in listing and secret not in listing and f"{ident}: default" in listing
    with app.app_context():
        assert secret not in db.session.get_one(Webhook, ident).secret
    assert runner.invoke(args=["webhook", "add", "nosuchsite", receiver.url]).exit_code != 0


def test_a_new_comment_is_delivered_signed_and_without_the_email(app, runner, receiver, post):
    _ident, secret = add_webhook(runner, receiver.url)
    response = post(text="Hello *hooks*", website="https://ada.example")
    comment_id = response.get_json()["comment"]["id"]
    assert receiver.requests == []  # nothing is sent inside the request
    assert send_outbox(app).sent == 1
    (request,) = receiver.requests
    assert request["path"] == "/hooks/parley?x=1"
    assert request["headers"]["Content-Type"] == "application/json"
    assert request["headers"]["X-Parley-Event"] == "comment.created"
    assert verify(request, secret)
    assert not verify(request, secret + "x")
    body = json.loads(request["body"])
    assert body["event"] == "comment.created" and body["site"] == "default"
    assert body["page"]["id"] == "/article"
    assert body["comment"]["id"] == comment_id and body["comment"]["status"] == "approved"
    assert body["comment"]["author"] == "Ada" and "<em>hooks</em>" in body["comment"]["html"]
    everything = request["body"] + json.dumps(request["headers"]).encode()
    assert EMAIL.encode() not in everything.lower()
    assert send_outbox(app).sent == 0  # delivered once


def test_a_failed_call_is_retried_and_the_same_delivery_id_is_kept(app, runner, receiver, post):
    _ident, secret = add_webhook(runner, receiver.url)
    receiver.status = 500
    post()
    report = send_outbox(app)
    assert (report.sent, report.failed) == (0, 1)
    (row,) = outbox_rows(app)
    assert row.attempts == 1 and "HTTP 500" in row.last_error and row.send_after > utcnow()
    receiver.status = 204
    make_outbox_due(app)
    assert send_outbox(app).sent == 1
    first, second = receiver.requests
    assert first["headers"]["X-Parley-Delivery"] == second["headers"]["X-Parley-Delivery"]
    assert verify(second, secret)


def test_removing_a_webhook_drops_its_queued_calls(app, runner, receiver, post):
    ident, _secret = add_webhook(runner, receiver.url)
    post()
    assert runner.invoke(args=["webhook", "remove", str(ident)]).exit_code == 0
    assert send_outbox(app).dropped == 1
    assert receiver.requests == [] and outbox_rows(app) == []
    assert runner.invoke(args=["webhook", "remove", str(ident)]).exit_code != 0


def test_webhooks_are_per_site(app, runner, receiver, post):
    with app.app_context(), writing():
        db.session.add(Site(key="other", name="Other"))
        db.session.commit()
    add_webhook(runner, receiver.url, site="other")
    post()
    assert send_outbox(app).sent == 0 and receiver.requests == []


REFUSED = [
    "http://10.0.0.1/hook",
    "http://127.0.0.1/hook",
    "http://127.1/hook",
    "http://2130706433/hook",
    "http://169.254.169.254/latest/meta-data/",
    "http://[::1]/hook",
    "http://[::ffff:127.0.0.1]/hook",
    "http://[fe80::1]/hook",
    "http://0.0.0.0/hook",
    "http://100.64.0.1/hook",
    "http://localhost/hook",
    "http://LocalHost:8080/hook",
]


@pytest.mark.parametrize("url", REFUSED)
def test_private_loopback_and_link_local_urls_are_refused(app, runner, url, no_connections):
    app.config["PARLEY_WEBHOOK_ALLOW_PRIVATE"] = False
    result = runner.invoke(args=["webhook", "add", "default", url])
    assert result.exit_code != 0
    assert "private, loopback or link-local" in result.output
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Webhook)) == 0


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://example.com/hook", "Only http and https"),
        ("file:///etc/passwd", "Only http and https"),
        ("http://user:secret@example.com/hook", "user name or password"),
        ("http://@example.com/hook", "user name or password"),
        ("http://example.com:99999/hook", "port"),
        ("http:///hook", "no host"),
        ("http://exa mple.com/", "spaces"),
    ],
)
def test_other_bad_urls_are_refused_without_resolving(app, runner, url, message, no_connections):
    result = runner.invoke(args=["webhook", "add", "default", url])
    assert result.exit_code != 0 and message in result.output


def test_a_name_that_rebinds_to_loopback_is_refused_at_sending(
    app, runner, post, monkeypatch, no_connections
):
    app.config["PARLEY_WEBHOOK_ALLOW_PRIVATE"] = False
    answers = {"now": "93.184.216.34"}  # a public address, never contacted

    def fake_getaddrinfo(host: str, port: int, *args: Any, **kwargs: Any) -> list[Any]:
        assert host == "hooks.example.test"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answers["now"], port))]

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)
    add_webhook(runner, "https://hooks.example.test/parley")
    post()
    answers["now"] = "127.0.0.1"  # the name now points inside
    report = send_outbox(app)
    assert (report.sent, report.failed) == (0, 1)
    (row,) = outbox_rows(app)
    assert row.last_error.startswith("refused:") and "private, loopback" in row.last_error


def test_allow_private_off_refuses_a_configured_loopback_hook_at_sending(
    app, runner, receiver, post
):
    add_webhook(runner, receiver.url)
    post()
    app.config["PARLEY_WEBHOOK_ALLOW_PRIVATE"] = False
    assert send_outbox(app).failed == 1
    assert receiver.requests == []


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("93.184.216.34", True),
        ("2606:4700:4700::1111", True),
        ("192.168.1.1", False),
        ("172.16.0.1", False),
        ("fc00::1", False),
        ("::ffff:10.0.0.1", False),
        ("2002:7f00:1::", False),  # 6to4 wrapping 127.0.0.1
        ("224.0.0.1", False),
        ("255.255.255.255", False),
        ("::", False),
    ],
)
def test_only_public_addresses_count_as_public(address, public):
    assert webhooks.is_public(ipaddress.ip_address(address)) is public


def test_signature_covers_the_timestamp_and_the_body():
    value = webhooks.signature("s3cret", "1700000000", b'{"a":1}')
    expected = hmac.new(b"s3cret", b'1700000000.{"a":1}', hashlib.sha256).hexdigest()
    assert value == "sha256=" + expected
    assert webhooks.signature("s3cret", "1700000001", b'{"a":1}') != value


def events(receiver: WebhookReceiver) -> list[tuple[str, str, int]]:
    found = []
    for request in receiver.requests:
        body = json.loads(request["body"])
        found.append((body["event"], body["comment"]["status"], body["comment"]["id"]))
    return found


def test_a_held_comment_is_announced_and_its_approval_once(app, runner, receiver, post):
    from service.comments import moderation
    from service.sites import accounts

    add_webhook(runner, receiver.url)
    set_site(app, moderation="all")
    with app.app_context(), writing():
        accounts.create_moderator("o@example.org", "long enough pw", sites={"default": "owner"})
        db.session.commit()
    comment_id = post().get_json()["comment"]["id"]
    send_outbox(app)
    with app.app_context(), writing():
        owner = db.session.scalars(sa.select(Moderator)).one()
        for action in ("approve", "hold", "approve"):
            moderation.apply(owner, [comment_id], action, accounts.site_ids(owner))
    send_outbox(app)
    assert events(receiver) == [
        ("comment.created", "pending", comment_id),
        ("comment.approved", "approved", comment_id),
    ]


def test_a_moderators_reply_is_announced_once(app, runner, receiver, post):
    from service.comments.moderation import reply_as_moderator
    from service.data import Comment
    from service.sites import accounts

    add_webhook(runner, receiver.url)
    parent_id = post().get_json()["comment"]["id"]
    with app.app_context(), writing():
        owner = accounts.create_moderator(
            "o@example.org", "long enough pw", sites={"default": "owner"}
        )
        reply = reply_as_moderator(owner, db.session.get_one(Comment, parent_id), "Thanks!")
        db.session.commit()
        reply_id = reply.id
    send_outbox(app)
    assert events(receiver) == [
        ("comment.created", "approved", parent_id),
        ("comment.created", "approved", reply_id),
    ]
