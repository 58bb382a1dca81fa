"""The admin outbox page: deliveries that really failed (a webhook to a closed loopback port,
mail to an SMTP server that is down), shown to owners with recipients masked, retried with
CSRF and audited, and refused to moderators who own no site."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import sqlalchemy as sa
from servers import Mailbox, WebhookReceiver, free_port
from support import (
    OWNER,
    PASSWORD,
    csrf_token,
    log_in,
    make_moderator,
    outbox_rows,
    send_outbox,
    set_site,
)

from service.data import AuditEntry, Site, utcnow
from service.database import writing
from service.extensions import db
from service.web.admin.outbox import webhook_host

MOD = "mod@example.org"


@pytest.fixture
def app_config(mailbox: Mailbox) -> dict[str, Any]:
    return {
        "PARLEY_SMTP_HOST": "127.0.0.1",
        "PARLEY_SMTP_PORT": mailbox.port,
        "PARLEY_SMTP_SECURITY": "none",
        "PARLEY_SMTP_FROM": "Parley <parley@parley.test>",
        "PARLEY_WEBHOOK_ALLOW_PRIVATE": True,
    }


@pytest.fixture(autouse=True)
def _one_attempt(app) -> None:
    """A delivery gives up after its first failure (the setting's default is 8)."""
    app.config["PARLEY_OUTBOX_MAX_ATTEMPTS"] = 1


def add_webhook(runner, url: str, site: str = "default") -> str:
    """Add a webhook on the command line; returns its secret (printed once)."""
    result = runner.invoke(args=["webhook", "add", site, url])
    assert result.exit_code == 0, result.output
    match = re.search(r"Secret .*: (\S+)$", result.output, re.M)
    assert match, result.output
    return match.group(1)


def hook_url(port: int) -> str:
    """A webhook URL on a loopback port, with a token in its path and its query."""
    return f"http://127.0.0.1:{port}/hooks/T0K3N-in-the-path?token=query-secret"


def row_of(html: str, row_id: int) -> str:
    found = re.search(rf'<tr id="outbox-{row_id}">.*?</tr>', html, re.S)
    assert found, f"outbox row {row_id} is not listed"
    return found.group(0)


def table_of(html: str) -> str:
    found = re.search(r'<table class="admin-table">.*?</table>', html, re.S)
    assert found, "no table"
    return found.group(0)


def audit_of(app) -> list[tuple[str, str, str, str | None]]:
    with app.app_context():
        entries = db.session.scalars(sa.select(AuditEntry).order_by(AuditEntry.id))
        return [
            (e.action, e.target, e.detail, e.moderator.email if e.moderator else None)
            for e in entries
            if e.action == "retry delivery"
        ]


def refused_mail(app, post, mailbox: Mailbox) -> list[int]:
    """A comment held on the default site, whose mail to each of its moderators the server
    refuses (it is down): the rows give up. Returns their ids."""
    set_site(app, moderation="all", notify_moderators=True)
    mailbox.stop()
    assert post().status_code == 201
    report = send_outbox(app)
    assert report.sent == 0 and report.gave_up >= 1
    return [row.id for row in outbox_rows(app)]


# --- what is listed -------------------------------------------------------------------------


def test_a_failed_webhook_is_listed_without_its_path_query_or_secret(app, owner, runner, post):
    port = free_port()  # nothing listens there: the call is refused
    secret = add_webhook(runner, hook_url(port))
    assert post(text="Hello hooks").status_code == 201
    assert send_outbox(app).gave_up == 1
    (row,) = outbox_rows(app)
    html = owner.get("/admin/outbox").get_data(as_text=True)
    shown = row_of(html, row.id)
    assert "Webhook" in shown and "comment.created" in shown and "default" in shown
    assert f"http://127.0.0.1:{port}/…" in shown
    assert "gave up" in shown and "1/1" in shown
    assert "ConnectionRefused" in shown or "refused" in shown.lower()  # the last error
    assert "T0K3N" not in html and "query-secret" not in html and secret not in html
    assert f'name="ids" value="{row.id}"' in shown  # its Retry button
    # The state filter.
    assert f"outbox-{row.id}" in owner.get("/admin/outbox?state=failed").get_data(as_text=True)
    for state in ("waiting", "retrying", "sent"):
        page = owner.get(f"/admin/outbox?state={state}").get_data(as_text=True)
        assert f"outbox-{row.id}" not in page, state


def test_a_refused_mail_is_listed_with_its_address_masked(app, owner, post, mailbox):
    (row_id,) = refused_mail(app, post, mailbox)
    html = owner.get("/admin/outbox").get_data(as_text=True)
    shown = row_of(html, row_id)
    assert "Mail" in shown and "Comment awaiting review" in shown and "gave up" in shown
    assert "o…@example.org" in shown
    assert OWNER not in table_of(html)  # (the page's header names the one logged in)


def test_a_delivery_that_still_has_attempts_shows_its_next_try_and_no_retry(
    app, owner, runner, post
):
    app.config["PARLEY_OUTBOX_MAX_ATTEMPTS"] = 3
    add_webhook(runner, hook_url(free_port()))
    post()
    assert send_outbox(app).failed == 1
    (row,) = outbox_rows(app)
    page = owner.get("/admin/outbox?state=retrying").get_data(as_text=True)
    shown = row_of(page, row.id)
    assert "retrying" in shown and "1/3" in shown
    assert f'datetime="{row.send_after.isoformat()}Z"' in shown  # the next try
    assert 'name="ids"' not in shown
    answer = owner.post("/admin/outbox/retry", data={"csrf_token": csrf_token(page), "ids": row.id})
    assert answer.status_code == 303
    assert "Nothing to retry" in owner.get("/admin/outbox").get_data(as_text=True)
    (same,) = outbox_rows(app)
    assert (same.attempts, same.send_after) == (1, row.send_after)
    assert audit_of(app) == []


# --- retrying ------------------------------------------------------------------------------


def test_retrying_a_mail_that_gave_up_is_audited_and_it_is_sent(app, owner, post, mailbox):
    (row_id,) = refused_mail(app, post, mailbox)
    page = owner.get("/admin/outbox").get_data(as_text=True)
    answer = owner.post("/admin/outbox/retry", data={"csrf_token": csrf_token(page), "ids": row_id})
    assert answer.status_code == 303 and answer.headers["Location"] == "/admin/outbox"
    (row,) = outbox_rows(app)
    assert (row.attempts, row.last_error, row.sent) == (0, "", None)
    assert row.send_after <= utcnow()
    assert "1 delivery is queued again." in owner.get("/admin/outbox").get_data(as_text=True)
    assert audit_of(app) == [
        ("retry delivery", f"outbox {row_id}", "mail, after 1 attempts", OWNER)
    ]
    assert f"outbox {row_id}" in owner.get("/admin/audit").get_data(as_text=True)
    mailbox.start()
    assert send_outbox(app).sent == 1
    assert [rcpt for _sender, rcpt in mailbox.envelopes] == [[OWNER]]
    sent = owner.get("/admin/outbox?state=sent").get_data(as_text=True)
    assert "sent" in row_of(sent, row_id)


def test_retry_every_delivery_that_gave_up_reaches_the_webhook_once_it_listens(
    app, owner, runner, post
):
    port = free_port()
    add_webhook(runner, hook_url(port))
    post(text="one")
    post(text="two")
    assert send_outbox(app).gave_up == 2
    page = owner.get("/admin/outbox").get_data(as_text=True)
    answer = owner.post(
        "/admin/outbox/retry",
        data={"csrf_token": csrf_token(page), "every": "1", "state": "failed"},
    )
    assert answer.headers["Location"] == "/admin/outbox?state=failed"
    assert "2 deliveries are queued again." in owner.get("/admin/").get_data(as_text=True)
    assert len(audit_of(app)) == 2
    receiver = WebhookReceiver()
    receiver.port = port  # now something listens where the webhook points
    with receiver:
        assert send_outbox(app).sent == 2
    assert [r["path"] for r in receiver.requests] == [
        "/hooks/T0K3N-in-the-path?token=query-secret"
    ] * 2


def test_retry_needs_the_csrf_token(app, owner, post, mailbox):
    (row_id,) = refused_mail(app, post, mailbox)
    answer = owner.post("/admin/outbox/retry", data={"ids": row_id})
    assert answer.status_code == 400
    (row,) = outbox_rows(app)
    assert row.attempts == 1 and audit_of(app) == []


# --- who sees what ----------------------------------------------------------------------------


def test_a_moderator_who_owns_no_site_gets_no_outbox(app, client, post, mailbox):
    make_moderator(app)
    make_moderator(app, MOD, {"default": "moderator"})
    row_id = refused_mail(app, post, mailbox)[0]
    before = [(row.id, row.attempts, row.send_after) for row in outbox_rows(app)]
    assert log_in(client, MOD, PASSWORD).status_code == 303
    dashboard = client.get("/admin/").get_data(as_text=True)
    assert "/admin/outbox" not in dashboard  # no link in the menu
    answer = client.get("/admin/outbox")
    html = answer.get_data(as_text=True)
    assert answer.status_code == 403 and "you own no site" in html
    assert f"outbox-{row_id}" not in html and "o…@example.org" not in html
    refused = client.post(
        "/admin/outbox/retry", data={"csrf_token": csrf_token(dashboard), "ids": row_id}
    )
    assert refused.status_code == 403
    after = [(row.id, row.attempts, row.send_after) for row in outbox_rows(app)]
    assert after == before and audit_of(app) == []


def test_an_owner_sees_and_retries_only_the_sites_they_own(app, client, runner, post):
    with app.app_context(), writing():
        db.session.add(Site(key="other", name="Other"))
        db.session.commit()
    add_webhook(runner, hook_url(free_port()))
    add_webhook(runner, hook_url(free_port()), site="other")
    post(site="default", text="on default")
    post(site="other", text="on other")
    assert send_outbox(app).gave_up == 2
    rows = {json.loads(row.body)["site"]: row.id for row in outbox_rows(app)}
    make_moderator(app, "two@example.org", {"other": "owner", "default": "moderator"})
    assert log_in(client, "two@example.org", PASSWORD).status_code == 303
    assert "/admin/outbox" in client.get("/admin/").get_data(as_text=True)  # in the menu
    html = client.get("/admin/outbox").get_data(as_text=True)
    assert [int(n) for n in re.findall(r'<tr id="outbox-(\d+)">', html)] == [rows["other"]]
    assert "other" in row_of(html, rows["other"])
    token = csrf_token(html)
    client.post("/admin/outbox/retry", data={"csrf_token": token, "every": "1"})
    attempts = {row.id: row.attempts for row in outbox_rows(app)}
    assert attempts == {rows["other"]: 0, rows["default"]: 1}
    # Asking for the other site's row by its id changes nothing either.
    client.post("/admin/outbox/retry", data={"csrf_token": token, "ids": rows["default"]})
    assert {row.id: row.attempts for row in outbox_rows(app)}[rows["default"]] == 1
    assert [target for _a, target, _d, _m in audit_of(app)] == [f"outbox {rows['other']}"]


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            "https://user:pw@Hooks.Example:8443/services/T0/B0/XYZ?x=1",
            "https://hooks.example:8443/…",
        ),
        ("https://hooks.example/", "https://hooks.example"),
        ("http://[::1]:9000/hook", "http://[::1]:9000/…"),
    ],
)
def test_a_webhook_is_shown_by_its_host_only(url, shown):
    assert webhook_host(url) == shown
