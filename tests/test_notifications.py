"""Mail through the outbox to a real SMTP server on loopback (aiosmtpd).

Moderator mail and its signed links, double opt-in, reply notifications, one-click
unsubscribe, retries after an SMTP failure, the worker thread and the CLI.
"""

from __future__ import annotations

import hashlib
import re
import time
from datetime import timedelta
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlsplit

import itsdangerous
import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from servers import Mailbox
from support import (
    EMAIL,
    OWNER,
    PASSWORD,
    csrf_token,
    make_outbox_due,
    outbox_rows,
    send_outbox,
    set_site,
)

from service.comments import moderation
from service.config import new_data_key
from service.data import (
    Address,
    AuditEntry,
    Comment,
    Moderator,
    OutboxMessage,
    Page,
    Site,
    utcnow,
)
from service.database import writing
from service.extensions import db
from service.notify import events as notify
from service.notify import outbox
from service.sites import accounts

PUBLIC = "http://parley.test"
MOD = "mod@example.org"
BOB = "bob.builder@example.net"
LINK = re.compile(re.escape(PUBLIC) + r"(/notify/[A-Za-z0-9_.\-/]+)")


@pytest.fixture
def app_config(mailbox: Mailbox) -> dict[str, Any]:
    return {
        "PARLEY_SMTP_HOST": "127.0.0.1",
        "PARLEY_SMTP_PORT": mailbox.port,
        "PARLEY_SMTP_SECURITY": "none",
        "PARLEY_SMTP_FROM": "Parley <parley@parley.test>",
        "PARLEY_PUBLIC_URL": PUBLIC,
    }


# --- helpers ------------------------------------------------------------------------------


def part_of(message: EmailMessage, subtype: str) -> str:
    """The text of the message's ``text/<subtype>`` part."""
    part = message.get_body((subtype,))
    assert part is not None, f"the message has no text/{subtype} part"
    return str(part.get_content())


def text_of(message: EmailMessage) -> str:
    return part_of(message, "plain")


def html_of(message: EmailMessage) -> str:
    return part_of(message, "html")


def links(message: EmailMessage) -> list[str]:
    return LINK.findall(text_of(message))


def setup_site(app: Flask, *, policy_name: str = "none", notify_moderators: bool = True) -> None:
    """The default site with an owner and a moderator, and another site with its own owner."""
    set_site(app, moderation=policy_name, notify_moderators=notify_moderators)
    with app.app_context(), writing():
        db.session.add(Site(key="other", name="Other site"))
        db.session.flush()
        accounts.create_moderator(OWNER, PASSWORD, sites={"default": "owner"})
        accounts.create_moderator(MOD, PASSWORD, sites={"default": "moderator"})
        accounts.create_moderator("elsewhere@example.org", PASSWORD, sites={"other": "owner"})
        db.session.commit()


def status_of(app: Flask, comment_id: int) -> str:
    with app.app_context():
        return db.session.get_one(Comment, comment_id).status


def approve(app: Flask, comment_id: int, action: str = "approve") -> None:
    with app.app_context(), writing():
        owner = db.session.scalars(sa.select(Moderator).where(Moderator.email == OWNER)).one()
        moderation.apply(owner, [comment_id], action, accounts.site_ids(owner))


def confirm_address(client: FlaskClient, message: EmailMessage) -> None:
    (path,) = [p for p in links(message) if p.startswith("/notify/confirm/")]
    page = client.get(path)
    assert page.status_code == 200
    assert (
        client.post(path, data={"csrf_token": csrf_token(page.get_data(as_text=True))}).status_code
        == 200
    )


# --- moderators ---------------------------------------------------------------------------

HOSTILE = 'Nice <script>alert("x")</script> & <b>bold</b> claim'


def test_a_held_comment_mails_every_moderator_of_its_site(app, post, mailbox):
    setup_site(app, policy_name="all")
    response = post(text=HOSTILE)
    assert response.status_code == 201 and response.get_json()["status"] == "pending"
    assert mailbox.messages == []  # the post did not wait for mail
    assert send_outbox(app).sent == 2
    recipients = sorted(rcpt for _sender, (rcpt,) in mailbox.envelopes)
    assert recipients == [MOD, OWNER]  # not the owner of the other site
    for message, raw in zip(mailbox.messages, mailbox.raw, strict=True):
        assert message["Subject"].startswith("[Default site] Comment awaiting review on ")
        assert message["From"] == "Parley <parley@parley.test>"
        assert len(message.get_all("To")) == 1
        assert HOSTILE in text_of(message)  # the text part is plain text
        html = html_of(message)
        assert "<script>" not in html and "<b>bold" not in html
        assert "&lt;script&gt;alert(" in html and "&amp; &lt;b&gt;bold" in html
        assert EMAIL.encode() not in raw  # the commenter's address stays private
        assert {p.split("/")[2] for p in links(message)} == {"moderate"}
        assert len(links(message)) == 3
    assert send_outbox(app).sent == 0  # sent once


def test_no_moderator_mail_when_the_site_opts_out(app, post, mailbox):
    setup_site(app, policy_name="all", notify_moderators=False)
    assert post().status_code == 201
    assert send_outbox(app).sent == 0 and outbox_rows(app) == []


def test_moderation_link_get_does_nothing_and_the_post_approves(app, client, post, mailbox):
    setup_site(app, policy_name="all")
    comment_id = post(text=HOSTILE).get_json()["comment"]["id"]
    send_outbox(app)
    approve_path = links(mailbox.messages[0])[0]
    page = client.get(approve_path)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "&lt;script&gt;" in html and "<script>alert" not in html
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert page.headers["Cache-Control"] == "no-store"
    assert client.get(approve_path).status_code == 200  # a scanner's second look
    assert status_of(app, comment_id) == "pending"
    assert client.post(approve_path).status_code == 400  # no CSRF token
    assert status_of(app, comment_id) == "pending"
    done = client.post(approve_path, data={"csrf_token": csrf_token(html)})
    assert done.status_code == 200 and "approved" in done.get_data(as_text=True)
    assert status_of(app, comment_id) == "approved"
    with app.app_context():
        assert db.session.scalar(sa.select(Page.comment_count).where(Page.key == "/article")) == 1
        entry = db.session.scalars(sa.select(AuditEntry)).one()
        assert entry.action == "approve" and entry.target == f"comment {comment_id}"
        assert entry.moderator is not None and entry.moderator.email in (OWNER, MOD)
    again = client.post(approve_path, data={"csrf_token": csrf_token(html)})
    assert again.status_code == 409


def test_spam_link_marks_spam_and_later_links_change_nothing(app, client, post, mailbox):
    setup_site(app, policy_name="all")
    comment_id = post().get_json()["comment"]["id"]
    send_outbox(app)
    _approve, spam, delete = links(mailbox.messages[0])
    token = csrf_token(client.get(spam).get_data(as_text=True))
    assert client.post(spam, data={"csrf_token": token}).status_code == 200
    assert status_of(app, comment_id) == "spam"
    assert "already" in client.get(delete).get_data(as_text=True)
    assert client.post(delete, data={"csrf_token": token}).status_code == 409
    assert status_of(app, comment_id) == "spam"


def test_forged_expired_and_revoked_links_are_refused_with_a_page(
    app, client, post, mailbox, monkeypatch
):
    setup_site(app, policy_name="all")
    comment_id = post().get_json()["comment"]["id"]
    send_outbox(app)
    path = links(mailbox.messages[0])[0]
    forged = path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB")
    for bad in (forged, "/notify/moderate/nonsense", "/notify/moderate/" + "x" * 2000):
        answer = client.get(bad)
        assert answer.status_code == 403
        assert "This link cannot be used" in answer.get_data(as_text=True)
    later = int(time.time()) + 4 * 24 * 60 * 60
    with monkeypatch.context() as patch:
        patch.setattr(itsdangerous.TimestampSigner, "get_timestamp", lambda self: later)
        expired = client.get(path)
        assert expired.status_code == 410 and "expired" in expired.get_data(as_text=True)
        assert client.post(path).status_code in (400, 410)
    # A moderator who lost their role cannot use the links they were sent.
    with app.app_context(), writing():
        for moderator in db.session.scalars(sa.select(Moderator)):
            moderator.roles.clear()
        db.session.commit()
    assert client.get(path).status_code == 403
    assert status_of(app, comment_id) == "pending"


# --- outbox -------------------------------------------------------------------------------


def test_a_failed_delivery_is_retried_with_backoff(app, post, mailbox):
    setup_site(app, policy_name="all")
    with app.app_context(), writing():
        other = db.session.scalar(sa.select(Moderator).where(Moderator.email == MOD))
        db.session.delete(other)  # one recipient only
        db.session.commit()
    mailbox.stop()
    assert post().status_code == 201  # the server is down: posting does not notice
    report = send_outbox(app)
    assert (report.sent, report.failed) == (0, 1)
    (row,) = outbox_rows(app)
    assert row.attempts == 1 and row.sent is None
    assert row.send_after - row.created >= timedelta(seconds=50)
    assert "Connection" in row.last_error or "refused" in row.last_error.lower()
    assert OWNER not in row.last_error and OWNER not in row.recipient  # encrypted at rest
    assert send_outbox(app).failed == 0  # not due yet
    mailbox.start()
    make_outbox_due(app)
    assert send_outbox(app).sent == 1
    (row,) = outbox_rows(app)
    assert row.sent is not None and row.attempts == 2
    assert [rcpt for _sender, rcpt in mailbox.envelopes] == [[OWNER]]


def test_after_the_last_attempt_the_row_is_kept_and_can_be_retried(app, post, mailbox, runner):
    app.config["PARLEY_OUTBOX_MAX_ATTEMPTS"] = 2
    setup_site(app, policy_name="all")
    mailbox.stop()
    post()
    rounds = 0
    while rounds < 10:  # one connection attempt per round while the server is down
        make_outbox_due(app)
        report = send_outbox(app)
        if report.failed == report.gave_up == 0:
            break
        rounds += 1
    assert rounds == 4  # two rows, two attempts each; then nothing is tried any more
    assert {(row.attempts, row.sent) for row in outbox_rows(app)} == {(2, None)}
    status = runner.invoke(args=["outbox", "status"])
    assert "gave up: 2" in status.output and OWNER not in status.output
    assert "queued again" in runner.invoke(args=["outbox", "retry", "--failed"]).output
    mailbox.start()
    result = runner.invoke(args=["outbox", "send"])
    assert result.exit_code == 0 and "sent 2" in result.output
    assert len(mailbox.messages) == 2


@pytest.mark.parametrize("app_config", [{"PARLEY_PUBLIC_URL": PUBLIC}])
def test_without_an_smtp_host_mail_waits_in_the_outbox(app, post, runner):
    setup_site(app, policy_name="all")
    assert post().status_code == 201
    report = send_outbox(app)
    assert (report.sent, report.failed, report.waiting) == (0, 0, 2)
    assert {row.attempts for row in outbox_rows(app)} == {0}
    assert "PARLEY_SMTP_HOST is not set" in runner.invoke(args=["outbox", "send"]).output


def test_a_failure_while_queueing_never_fails_the_post(app, post, mailbox, monkeypatch):
    setup_site(app, policy_name="all")

    def broken(*_args: Any, **_kwargs: Any) -> str:
        raise RuntimeError("template exploded")

    monkeypatch.setattr(notify, "render_template", broken)
    response = post()
    assert response.status_code == 201
    assert status_of(app, response.get_json()["comment"]["id"]) == "pending"
    assert outbox_rows(app) == []


def test_the_worker_thread_sends_and_stops(app, post, mailbox):
    setup_site(app, policy_name="all")
    worker = outbox.start_worker(app, interval=0.05)
    try:
        post()
        deadline = time.monotonic() + 10
        while len(mailbox.messages) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        worker.stop()
    assert len(mailbox.messages) == 2
    assert not worker.is_alive() and worker.stop_event.is_set()


# --- subscribers --------------------------------------------------------------------------


def test_double_opt_in_reply_mail_and_one_click_unsubscribe(app, client, post, mailbox):
    setup_site(app)
    ada = post(text="First, and tell me about replies.", notify=True).get_json()["comment"]["id"]
    post(text="Second, notify again.", notify=True)  # no second confirmation mail
    post(parent=ada, name="Bob", email=BOB, text="A reply before Ada confirmed.")
    assert send_outbox(app).sent == 1
    (confirmation,) = mailbox.messages
    assert mailbox.envelopes[0][1] == [EMAIL]
    assert "Confirm" in confirmation["Subject"]
    unsubscribe = confirmation["List-Unsubscribe"]
    assert re.fullmatch(r"<http://parley\.test/notify/unsubscribe/[A-Za-z0-9_-]{43}>", unsubscribe)
    assert confirmation["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    token = unsubscribe[1:-1].rsplit("/", 1)[1]
    plain = [hashlib.new(name, EMAIL.encode()).hexdigest() for name in ("md5", "sha1", "sha256")]
    assert EMAIL not in token and not any(digest.startswith(token) for digest in plain)
    with app.app_context():
        address = db.session.scalars(sa.select(Address)).one()
        assert address.token_hash != token and token not in address.token_hash
        assert address.confirmed is None
    confirm_address(client, confirmation)
    with app.app_context():
        assert db.session.scalar(sa.select(Address.confirmed)) is not None

    reply = 'Bob\'s answer <img src=x onerror="alert(1)">'
    post(parent=ada, name="Bob", email=BOB, text=reply)
    post(parent=ada, text="Ada answering herself.")  # never mailed to its own author
    assert send_outbox(app).sent == 1
    message = mailbox.messages[-1]
    assert mailbox.envelopes[-1][1] == [EMAIL]
    assert "Bob replied to your comment" in message["Subject"]
    assert reply in text_of(message) and "&lt;img src=x" in html_of(message)
    assert "<img" not in html_of(message)
    assert BOB.encode() not in mailbox.raw[-1]  # the replier's address is never shown
    assert message["List-Unsubscribe"] == unsubscribe

    # One-click: the mail client POSTs without a cookie or CSRF token.
    path = urlsplit(unsubscribe[1:-1]).path
    assert "Unsubscribe" in client.get(path).get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(Address.unsubscribed)) is None  # GET changes nothing
    other = app.test_client()
    answer = other.post(path, data={"List-Unsubscribe": "One-Click"})
    assert answer.status_code == 200 and "no more mail" in answer.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(Address.unsubscribed)) is not None
    post(parent=ada, name="Bob", email=BOB, text="Nobody will be told about this one.")
    post(text="Notify me once more.", notify=True)  # unsubscribed: no confirmation either
    assert send_outbox(app).sent == 0
    assert "Subscribe again" in client.get(path).get_data(as_text=True)
    other.post(path, data={"action": "resubscribe"})
    post(parent=ada, name="Bob", email=BOB, text="Back in the loop.")
    assert send_outbox(app).sent == 1


def test_confirmation_mail_is_rate_limited_per_address(app, post, mailbox):
    setup_site(app)
    for n in range(3):
        post(text=f"Comment {n}", notify=True)
    assert send_outbox(app).sent == 1
    with app.app_context(), writing():
        db.session.execute(sa.update(OutboxMessage).values(created=utcnow() - timedelta(days=2)))
        db.session.commit()
    post(text="A day later", notify=True)
    assert send_outbox(app).sent == 1
    assert all(rcpt == [EMAIL] for _sender, rcpt in mailbox.envelopes)


def test_a_held_reply_notifies_when_it_is_approved_once(app, client, post, mailbox):
    setup_site(app)
    ada = post(text="Tell me about replies.", notify=True).get_json()["comment"]["id"]
    send_outbox(app)
    confirm_address(client, mailbox.messages[0])
    set_site(app, moderation="all")
    reply = post(parent=ada, name="Bob", email=BOB, text="Held for review.").get_json()
    assert reply["status"] == "pending"
    before = len(mailbox.messages)
    send_outbox(app)  # the moderators' mail only
    assert all(rcpt != [EMAIL] for _sender, rcpt in mailbox.envelopes[before:])
    approve(app, reply["comment"]["id"])
    approve(app, reply["comment"]["id"], "hold")
    approve(app, reply["comment"]["id"])
    assert send_outbox(app).sent == 1
    assert mailbox.envelopes[-1][1] == [EMAIL]
    assert "Held for review." in text_of(mailbox.messages[-1])


def test_confirmation_links_expire_and_get_changes_nothing(app, client, post, mailbox, monkeypatch):
    setup_site(app)
    post(text="Notify me", notify=True)
    send_outbox(app)
    (path,) = [p for p in links(mailbox.messages[0]) if p.startswith("/notify/confirm/")]
    assert client.get(path).status_code == 200
    later = int(time.time()) + 8 * 24 * 60 * 60
    monkeypatch.setattr(itsdangerous.TimestampSigner, "get_timestamp", lambda self: later)
    assert client.get(path).status_code == 410
    assert client.get(path[:-4] + "abcd").status_code in (403, 410)
    with app.app_context():
        assert db.session.scalar(sa.select(Address.confirmed)) is None


def test_unsubscribe_links_keep_working_after_the_data_key_is_rotated(app, client, post, mailbox):
    setup_site(app)
    ada = post(text="Tell me about replies.", notify=True).get_json()["comment"]["id"]
    send_outbox(app)
    confirm_address(client, mailbox.messages[0])
    old_key = app.config["PARLEY_DATA_KEY"]
    app.config["PARLEY_DATA_KEY"] = new_data_key()
    app.config["PARLEY_DATA_KEY_FALLBACKS"] = [old_key]
    post(parent=ada, name="Bob", email=BOB, text="After the rotation.")
    assert send_outbox(app).sent == 1
    path = urlsplit(mailbox.messages[-1]["List-Unsubscribe"][1:-1]).path
    assert app.test_client().post(path, data={"List-Unsubscribe": "One-Click"}).status_code == 200
    with app.app_context():
        assert db.session.scalar(sa.select(Address.unsubscribed)) is not None


def test_starttls_is_required_when_configured_and_never_downgraded(app, post, mailbox):
    app.config["PARLEY_SMTP_SECURITY"] = "starttls"  # the test server does not offer it
    setup_site(app, policy_name="all")
    post()
    report = send_outbox(app)
    assert report.sent == 0 and report.failed == 1  # one try per round while it fails
    assert mailbox.messages == []
    assert any("STARTTLS" in row.last_error for row in outbox_rows(app))


def test_a_held_comments_opt_in_is_confirmed_only_once_it_is_published(app, post, mailbox):
    setup_site(app, policy_name="all", notify_moderators=False)
    held = post(text="Held, notify me.", notify=True).get_json()["comment"]["id"]
    spam = post(text="Spam in someone else's name.", notify=True).get_json()["comment"]["id"]
    approve(app, spam, "spam")
    assert send_outbox(app).sent == 0  # nothing is mailed for a comment nobody approved
    approve(app, held)
    assert send_outbox(app).sent == 1
    assert mailbox.envelopes[0][1] == [EMAIL] and "Confirm" in mailbox.messages[0]["Subject"]
