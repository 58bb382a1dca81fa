"""Commenters' rights: a mailed, signed, expiring, single-use link to download everything
stored about an address or to erase it; the same answer whether the address is known or
not; limits per address (shared by every worker) and per client; the owners' admin tools;
and the retention of stored client addresses (``flask --app service purge``).

Mail goes through the outbox to a real SMTP server on loopback (aiosmtpd).
"""

from __future__ import annotations

import json
import re
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from servers import Mailbox
from support import (
    EMAIL,
    PASSWORD,
    admin_post,
    base_config,
    comment_body,
    csrf_token,
    json_of,
    log_in,
    make_moderator,
    outbox_rows,
    send_outbox,
    set_site,
    visitor_key,
)
from werkzeug.test import TestResponse

from service import create_app
from service.data import (
    Address,
    AuditEntry,
    Comment,
    Like,
    OutboxMessage,
    Page,
    PrivacyRequest,
    Rating,
    VisitorProof,
    utcnow,
)
from service.database import writing
from service.extensions import db
from service.rules import privacy

PAGE = "/rights/article"
OTHER_PAGE = "/rights/other"
STRANGER = "nobody.here@example.org"
LINK = re.compile(r"http://localhost(/privacy/(?:export|erase)/[A-Za-z0-9_.\-]+)")


@pytest.fixture
def app_config(mailbox: Mailbox) -> dict[str, Any]:
    return {
        "PARLEY_SMTP_HOST": "127.0.0.1",
        "PARLEY_SMTP_PORT": mailbox.port,
        "PARLEY_SMTP_SECURITY": "none",
        "PARLEY_SMTP_FROM": "Parley <parley@parley.test>",
    }


# --- helpers --------------------------------------------------------------------------------


def ask(client: FlaskClient, email: str = EMAIL, kind: str = "export") -> TestResponse:
    return client.post("/api/v1/privacy-requests", json={"email": email, "kind": kind})


def mailed_link(app: Flask, mailbox: Mailbox) -> str:
    """Send the outbox; the path of the link in the one privacy mail it sent."""
    send_outbox(app)
    found: list[str] = []
    for message in mailbox.messages:  # reply-mail confirmations too: the privacy one
        body = message.get_body(("plain",))
        assert body is not None
        found += LINK.findall(str(body.get_content()))
    (path,) = found
    return str(path)


def follow(client: FlaskClient, path: str) -> TestResponse:
    """Open a link's page, then press its button (with the page's CSRF token)."""
    page = client.get(path)
    assert page.status_code == 200, page.get_data(as_text=True)
    return client.post(path, data={"csrf_token": csrf_token(page.get_data(as_text=True))})


def post_as(
    client: FlaskClient, page: str, visitor: str | None = None, **fields: Any
) -> dict[str, Any]:
    headers = {"X-Parley-Visitor": visitor} if visitor else {}
    response = client.post(
        "/api/v1/comments",
        query_string={"page": page},
        json=comment_body(**fields),
        headers=headers,
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    return dict(json_of(response)["comment"])


def rating_of(client: FlaskClient, page: str) -> dict[str, Any]:
    return json_of(client.get("/api/v1/ratings", query_string={"page": page}))


def a_commenter_with_everything(app: Flask, client: FlaskClient) -> dict[str, Any]:
    """Ada's review (rating 4), her vote on another page, her like of Grace's comment, a
    reply to her from Grace, and a proof that her visitor key is hers."""
    key = visitor_key(client)
    grace = post_as(client, OTHER_PAGE, name="Grace", email="grace@example.org", text="Hi.")
    review = post_as(client, PAGE, visitor=key, text="Four stars.", rating=4, notify=True)
    reply = post_as(client, PAGE, name="Grace", email="grace@example.org", parent=review["id"])
    headers = {"X-Parley-Visitor": key}
    vote = client.put("/api/v1/ratings", query_string={"page": OTHER_PAGE}, json={"value": 2})
    assert vote.status_code == 400  # a vote needs the key: the one below is Ada's
    vote = client.put(
        "/api/v1/ratings", query_string={"page": OTHER_PAGE}, json={"value": 2}, headers=headers
    )
    assert vote.status_code == 200, vote.get_data(as_text=True)
    like = client.put(f"/api/v1/comments/{grace['id']}/like", headers=headers)
    assert like.status_code == 200
    with app.app_context(), writing():
        comment = db.session.get_one(Comment, review["id"])
        db.session.add(VisitorProof(email_index=comment.email_index, visitor=comment.visitor))
        # Her reply-mail opt-in made the address row; say she confirmed it.
        address = db.session.scalars(sa.select(Address)).one()
        address.confirmed = utcnow()
        db.session.commit()
    assert rating_of(client, PAGE)["count"] == 1
    assert rating_of(client, OTHER_PAGE)["count"] == 1
    return {"key": key, "grace": grace, "review": review, "reply": reply}


def count(app: Flask, model: Any, *where: Any) -> int:
    with app.app_context():
        query = sa.select(sa.func.count()).select_from(model)
        return int(db.session.scalar(query.where(*where) if where else query) or 0)


# --- asking ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["export", "erase"])
def test_asking_answers_the_same_whether_the_address_is_known_or_not(
    app: Flask, client: FlaskClient, mailbox: Mailbox, kind: str
) -> None:
    post_as(client, PAGE)
    known, unknown = ask(client, EMAIL, kind), ask(client, STRANGER, kind)
    assert (known.status_code, unknown.status_code) == (202, 202)
    assert known.get_data() == unknown.get_data()
    assert known.headers["Cache-Control"] == unknown.headers["Cache-Control"]
    send_outbox(app)
    assert [rcpt for _sender, (rcpt,) in mailbox.envelopes] == [EMAIL]
    assert count(app, PrivacyRequest) == 2  # both recorded: both count against a budget


def test_the_privacy_page_is_a_plain_form_with_csrf_and_the_same_answer_for_anyone(
    app: Flask, client: FlaskClient, mailbox: Mailbox
) -> None:
    post_as(client, PAGE)
    page = client.get("/privacy", query_string={"site": "default"})
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    html = page.get_data(as_text=True)
    assert 'method="post"' in html and "<script" not in html
    assert client.post("/privacy", data={"email": EMAIL, "kind": "export"}).status_code == 400
    answers = []
    for email in (EMAIL, STRANGER):
        token = csrf_token(client.get("/privacy").get_data(as_text=True))
        sent = client.post(
            "/privacy?site=default", data={"csrf_token": token, "email": email, "kind": "erase"}
        )
        assert sent.status_code == 303
        answers.append(client.get(sent.headers["Location"]).get_data(as_text=True))
    assert answers[0] == answers[1] and "a link is on its way" in answers[0]
    token = csrf_token(client.get("/privacy").get_data(as_text=True))
    refused = client.post("/privacy", data={"csrf_token": token, "email": "no", "kind": "erase"})
    assert refused.status_code == 422
    assert "This is not a valid email address." in refused.get_data(as_text=True)
    send_outbox(app)
    assert len(mailbox.messages) == 1 and "erasing" in str(mailbox.messages[0]["Subject"])


def test_bad_api_requests_are_refused_with_their_fields(client: FlaskClient) -> None:
    refused = ask(client, EMAIL, "delete-everything")
    assert refused.status_code == 422
    assert json_of(refused)["error"]["fields"] == {"kind": "One of: export, erase."}
    missing = client.post("/api/v1/privacy-requests", json={"kind": "export"})
    assert missing.status_code == 422 and "email" in json_of(missing)["error"]["fields"]
    extra = client.post("/api/v1/privacy-requests", json={"email": EMAIL, "kind": "export", "x": 1})
    assert extra.status_code == 422
    assert client.post("/api/v1/privacy-requests?site=nope", json={}).status_code == 404
    assert client.post("/api/v1/privacy-requests", data="x").status_code == 415


def test_an_address_gets_one_mail_an_hour_and_five_a_day_across_workers(
    app: Flask, client: FlaskClient, tmp_path: Path, database_url: str
) -> None:
    post_as(client, PAGE)
    second_worker = create_app(
        base_config(tmp_path / "second", SQLALCHEMY_DATABASE_URI=database_url)
    ).test_client()
    assert ask(client).status_code == 202
    assert ask(second_worker).status_code == 202  # another process, the same budget
    mailed = sa.select(sa.func.count()).where(PrivacyRequest.mailed.is_(True))
    with app.app_context():
        assert db.session.scalar(mailed) == 1
    for n in range(5):  # each earlier request an hour older than the next
        with app.app_context(), writing():
            for row in db.session.scalars(sa.select(PrivacyRequest)):
                row.created -= timedelta(hours=1, minutes=1)
            db.session.commit()
        assert ask(second_worker if n % 2 else client).status_code == 202
    with app.app_context():
        assert db.session.scalar(mailed) == 5  # the sixth within a day is not sent
    assert sum(1 for row in outbox_rows(app) if row.kind == "mail") == 5


def test_a_client_is_limited_however_many_addresses_it_tries(
    tmp_path: Path, database_url: str
) -> None:
    config = base_config(tmp_path, SQLALCHEMY_DATABASE_URI=database_url, RATELIMIT_ENABLED=True)
    config["PARLEY_PRIVACY_LIMIT"] = "3 per hour"
    client = create_app(config).test_client()
    answers = [ask(client, f"person{n}@example.org").status_code for n in range(3)]
    assert answers == [202, 202, 202]
    limited = ask(client, "person4@example.org")
    assert limited.status_code == 429 and limited.headers["Retry-After"]
    token = csrf_token(client.get("/privacy").get_data(as_text=True))
    form = client.post("/privacy", data={"csrf_token": token, "email": EMAIL, "kind": "export"})
    assert form.status_code == 429  # the form and the API share the budget


# --- the links ------------------------------------------------------------------------------


def test_the_export_link_downloads_everything_about_the_address_once(
    app: Flask, client: FlaskClient, mailbox: Mailbox
) -> None:
    made = a_commenter_with_everything(app, client)
    assert ask(client).status_code == 202
    path = mailed_link(app, mailbox)
    assert client.get(path).headers["Referrer-Policy"] == "no-referrer"
    download = follow(client, path)
    assert download.status_code == 200 and download.mimetype == "application/json"
    assert "attachment" in download.headers["Content-Disposition"]
    data = json.loads(download.get_data())
    assert data["email"] == EMAIL and data["format"] == "parley-personal-data"
    assert [c["id"] for c in data["comments"]] == [made["review"]["id"]]
    (comment,) = data["comments"]
    assert (comment["page"], comment["site"], comment["rating"]) == (PAGE, "default", 4)
    assert comment["text"] == "Four stars." and comment["reply_mail"] is True
    assert sorted((r["page"], r["value"]) for r in data["ratings"]) == [(PAGE, 4), (OTHER_PAGE, 2)]
    assert [like["comment"] for like in data["likes"]] == [made["grace"]["id"]]
    assert data["reply_mail"]["confirmed"] and len(data["proven_browsers"]) == 1
    body = download.get_data(as_text=True)
    assert "grace@example.org" not in body and "Hi." not in body  # nobody else's data
    again = client.get(path)
    assert again.status_code == 410 and "used already" in again.get_data(as_text=True)
    token = csrf_token(client.get("/privacy").get_data(as_text=True))
    assert client.post(path, data={"csrf_token": token}).status_code == 410  # pressed again


def test_a_link_is_refused_when_forged_expired_or_for_the_other_kind(
    app: Flask, client: FlaskClient, mailbox: Mailbox
) -> None:
    post_as(client, PAGE)
    ask(client, kind="erase")
    path = mailed_link(app, mailbox)
    token = path.rsplit("/", 1)[1]
    assert client.get(f"/privacy/export/{token}").status_code == 403  # an erase link
    assert client.get(path[:-3] + "abc").status_code == 403
    assert client.get("/privacy/erase/" + "x" * 2000).status_code == 403

    class DayOld(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - 25 * 3600

    with app.app_context():
        request = db.session.scalars(sa.select(PrivacyRequest)).one()
        signer = URLSafeTimedSerializer(
            app.config["SECRET_KEY"], salt="parley.privacy", signer=DayOld
        )
        binding = privacy.keyed_hash("privacy-link", f"{request.id}:{request.email_index}")
        old = signer.dumps({"r": request.id, "b": binding[:16]})
    expired = client.get(f"/privacy/erase/{old}")
    assert expired.status_code == 410 and "expired" in expired.get_data(as_text=True)
    assert client.get(path).status_code == 200  # the fresh one still works
    with app.app_context():
        assert db.session.get_one(PrivacyRequest, request.id).used is None  # a GET uses nothing


def test_erasing_anonymises_by_default_and_every_count_follows(
    app: Flask, client: FlaskClient, mailbox: Mailbox
) -> None:
    made = a_commenter_with_everything(app, client)
    fragment = client.get("/widget/comments", query_string={"page": PAGE})
    assert "Ada" in fragment.get_data(as_text=True)
    ask(client, kind="erase")
    done = follow(client, mailed_link(app, mailbox))
    assert done.status_code == 200 and "Your data is erased" in done.get_data(as_text=True)
    with app.app_context():
        comment = db.session.get_one(Comment, made["review"]["id"])
        assert comment.status == "approved" and comment.text == "Four stars."
        assert (comment.author, comment.email_encrypted, comment.email_index) == (None, None, None)
        assert (comment.remote_addr, comment.visitor, comment.notify) == (None, None, False)
        assert db.session.get_one(Comment, made["reply"]["id"]).author == "Grace"
        pages = {p.key: p for p in db.session.scalars(sa.select(Page))}
        assert pages[PAGE].comment_count == 2  # the text stays, counted
        assert (pages[PAGE].rating_count, pages[OTHER_PAGE].rating_count) == (0, 0)
        assert db.session.get_one(Comment, made["grace"]["id"]).likes == 0
    assert count(app, Rating) == count(app, Like) == 0
    assert count(app, VisitorProof) == count(app, Address) == 0
    with app.app_context():  # the outbox kept no mail to her (reply-mail confirmation, link)
        recipients = db.session.scalars(
            sa.select(OutboxMessage.recipient).where(OutboxMessage.kind == "mail")
        )
        assert EMAIL not in [privacy.decrypt_email(r) for r in recipients]
    # Cached reads changed at once: the name is gone, the votes too.
    fresh = client.get(
        "/widget/comments",
        query_string={"page": PAGE},
        headers={"If-None-Match": fragment.headers["ETag"]},
    )
    assert fresh.status_code == 200 and "Ada" not in fresh.get_data(as_text=True)
    assert rating_of(client, PAGE)["count"] == 0


def test_erasing_removes_comments_where_the_site_says_so(
    app: Flask, client: FlaskClient, mailbox: Mailbox
) -> None:
    set_site(app, erasure="remove")
    made = a_commenter_with_everything(app, client)
    alone = post_as(client, OTHER_PAGE, text="Nobody answered this.")
    ask(client, kind="erase")
    assert follow(client, mailed_link(app, mailbox)).status_code == 200
    with app.app_context():
        held = db.session.get_one(Comment, made["review"]["id"])  # Grace replied to it
        assert (held.status, held.author, held.text, held.html) == ("deleted", None, "", "")
        assert db.session.get(Comment, alone["id"]) is None
        pages = {p.key: p for p in db.session.scalars(sa.select(Page))}
        assert (pages[PAGE].comment_count, pages[OTHER_PAGE].comment_count) == (1, 1)
        assert pages[PAGE].rating_count == 0
    thread = json_of(client.get("/api/v1/comments", query_string={"page": PAGE}))
    assert thread["page"]["comment_count"] == 1
    assert thread["comments"][0]["deleted"] is True


# --- owners ---------------------------------------------------------------------------------


def test_owners_download_and_erase_by_address_with_an_audit_entry(
    app: Flask, client: FlaskClient
) -> None:
    made = a_commenter_with_everything(app, client)
    make_moderator(app)
    make_moderator(app, "mod@example.org", sites={"default": "moderator"})
    assert log_in(client).status_code == 303
    assert client.get("/admin/privacy").status_code == 200
    download = admin_post(client, "/admin/privacy", site="default", email=EMAIL, action="export")
    assert download.status_code == 200 and download.mimetype == "application/json"
    assert [c["id"] for c in json.loads(download.get_data())["comments"]] == [made["review"]["id"]]
    erased = admin_post(client, "/admin/privacy", site="default", email=EMAIL, action="erase")
    assert erased.status_code == 200 and "comments anonymised 1" in erased.get_data(as_text=True)
    with app.app_context():
        actions = list(db.session.scalars(sa.select(AuditEntry.action).order_by(AuditEntry.id)))
        assert actions[-2:] == ["privacy export", "privacy erase"]
        details = " ".join(db.session.scalars(sa.select(AuditEntry.detail)))
        targets = " ".join(db.session.scalars(sa.select(AuditEntry.target)))
        assert EMAIL not in details + targets
    assert count(app, Rating) == 0
    bad = admin_post(client, "/admin/privacy", site="default", email="nope", action="erase")
    assert bad.status_code == 422
    client.post("/admin/logout", data={"csrf_token": csrf_token(client.get("/admin/").text)})
    assert log_in(client, "mod@example.org", PASSWORD).status_code == 303
    refused = admin_post(client, "/admin/privacy", site="default", email=EMAIL, action="export")
    assert refused.status_code == 422  # a moderator is no owner: no site to choose


def test_the_erasure_setting_is_saved_from_the_site_settings(
    app: Flask, client: FlaskClient
) -> None:
    from support import site_form

    make_moderator(app)
    assert log_in(client).status_code == 303
    saved = admin_post(client, "/admin/sites/default", **site_form(erasure="remove"))
    assert saved.status_code == 303, saved.get_data(as_text=True)
    refused = admin_post(client, "/admin/sites/default", **site_form(erasure="shred"))
    assert refused.status_code == 422 and "One of: anonymize, remove." in refused.text
    with app.app_context():
        from support import default_site

        assert default_site().erasure == "remove"


# --- retention ------------------------------------------------------------------------------


def test_purge_clears_client_addresses_older_than_the_retention_period(
    app: Flask, client: FlaskClient, runner: FlaskCliRunner
) -> None:
    old = post_as(client, PAGE, text="Long ago.")
    new = post_as(client, PAGE, text="Just now.")
    key = visitor_key(client)
    client.put(
        "/api/v1/ratings",
        query_string={"page": PAGE},
        json={"value": 3},
        headers={"X-Parley-Visitor": key},
    )
    with app.app_context(), writing():
        db.session.get_one(Comment, old["id"]).created = utcnow() - timedelta(days=91)
        db.session.execute(sa.update(Rating).values(updated=utcnow() - timedelta(days=91)))
        db.session.commit()
    dry = runner.invoke(args=["purge", "--dry-run"])
    assert dry.exit_code == 0 and "would be" in dry.output and "1 comments" in dry.output
    with app.app_context():
        assert db.session.get_one(Comment, old["id"]).remote_addr == "127.0.0.0"
    result = runner.invoke(args=["purge"])
    assert result.exit_code == 0, result.output
    assert "1 comments, 1 ratings" in result.output and "90 days" in result.output
    with app.app_context():
        assert db.session.get_one(Comment, old["id"]).remote_addr is None
        assert db.session.get_one(Comment, new["id"]).remote_addr == "127.0.0.0"
        assert db.session.scalars(sa.select(Rating.remote_addr)).one() is None
    shorter = runner.invoke(args=["purge", "--days", "0"])
    assert shorter.exit_code != 0  # at least a day
