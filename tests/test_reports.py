"""Readers' reports: once per visitor, a site's threshold puts a published comment back in the
queue with the reasons, moderators see the reasons and nobody else does, the standalone
page's plain form, rate limits, and reports that go once a moderator decides."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from support import (
    admin_post,
    csrf_token,
    json_of,
    log_in,
    make_moderator,
    set_site,
    thread,
    visitor_key,
)

from service.comments import reports
from service.data import AuditEntry, Comment, Page, Report
from service.data.bounds import REPORT_REASON_MAX, REPORT_THRESHOLD_DEFAULT
from service.database import writing
from service.extensions import db

PAGE = "/reported"
MODERATOR = "mod@example.org"
REASON = "Insults another reader: zebra-quartz"  # a word found nowhere else


def post(client: FlaskClient, text: str = "A comment.") -> int:
    response = client.post(
        "/api/v1/comments",
        query_string={"page": PAGE},
        json={"name": "Ada", "email": "ada@example.org", "text": text},
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    return int(json_of(response)["comment"]["id"])


def report(client: FlaskClient, ident: int, key: str | None, reason: Any = REASON) -> Any:
    headers = {"X-Parley-Visitor": key} if key else {}
    return client.post(f"/api/v1/comments/{ident}/report", json={"reason": reason}, headers=headers)


def stored(app: Flask, ident: int) -> list[Report]:
    with app.app_context():
        found = reports.of_comment(ident)
        db.session.expunge_all()
        return found


def comment_row(app: Flask, ident: int) -> Comment:
    with app.app_context():
        comment = db.session.get_one(Comment, ident)
        db.session.expunge(comment)
        return comment


def test_a_report_is_accepted_once_per_visitor(app: Flask, client: FlaskClient) -> None:
    ident = post(client)
    key = visitor_key(client)
    first = report(client, ident, key)
    assert first.status_code == 202 and json_of(first) == {"reported": True}
    assert first.headers["Cache-Control"] == "no-store"
    again = report(client, ident, key, "Another reason, the same reader.")
    assert again.status_code == 202
    found = stored(app, ident)
    assert [r.reason for r in found] == [REASON]  # the first report stands, once
    assert comment_row(app, ident).status == "approved"  # one reader is not enough


def test_the_threshold_puts_the_comment_back_in_the_queue_with_the_reasons(
    app: Flask, client: FlaskClient
) -> None:
    ident = post(client)
    other = post(client, "Another comment.")
    before = client.get("/api/v1/comments", query_string={"page": PAGE})
    reasons = [REASON, "", "Spam link"]
    for reason in reasons:
        assert report(client, ident, visitor_key(client), reason).status_code == 202
    assert REPORT_THRESHOLD_DEFAULT == len(reasons)
    row = comment_row(app, ident)
    assert row.status == "pending"
    assert row.pending_reason == f"{reports.REPORTED} (3): {REASON}; Spam link"
    # Gone from the thread at once (a new version, not a stale cached answer).
    after = client.get(
        "/api/v1/comments",
        query_string={"page": PAGE},
        headers={"If-None-Match": before.headers["ETag"]},
    )
    assert after.status_code == 200
    body = json_of(after)
    assert [c["id"] for c in body["comments"]] == [other]
    assert body["page"]["comment_count"] == 1
    # Moderators see why, in the queue and on the comment's page.
    make_moderator(app, MODERATOR, {"default": "moderator"})
    assert log_in(client, MODERATOR).status_code == 303
    queue = client.get("/admin/queue?status=pending").get_data(as_text=True)
    assert "zebra-quartz" in queue and "Spam link" in queue
    detail = client.get(f"/admin/comments/{ident}").get_data(as_text=True)
    assert "3 reports by readers" in detail and "zebra-quartz" in detail
    assert "(no reason given)" in detail
    with app.app_context():
        entry = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "reported"))
        assert [e.target for e in entry] == [f"comment {ident}"]
    # A report of a comment that is not published is refused.
    assert report(client, ident, visitor_key(client)).status_code == 404


def test_a_sites_threshold_is_its_own(app: Flask, client: FlaskClient) -> None:
    set_site(app, report_threshold=1)
    ident = post(client)
    assert report(client, ident, visitor_key(client)).status_code == 202
    assert comment_row(app, ident).status == "pending"


def test_a_moderators_decision_settles_the_reports(app: Flask, client: FlaskClient) -> None:
    set_site(app, report_threshold=2)
    ident = post(client)
    for _ in range(2):
        report(client, ident, visitor_key(client))
    make_moderator(app)
    assert log_in(client).status_code == 303
    assert admin_post(client, f"/admin/comments/{ident}/moderate", action="approve").status_code
    row = comment_row(app, ident)
    assert (row.status, row.pending_reason) == ("approved", None)
    assert stored(app, ident) == []  # dealt with: the reasons go
    assert report(client, ident, visitor_key(client)).status_code == 202  # a new round
    assert comment_row(app, ident).status == "approved"


def test_the_reason_is_never_shown_publicly(app: Flask, client: FlaskClient) -> None:
    ident = post(client)
    key = visitor_key(client)
    assert report(client, ident, key).status_code == 202
    public = [
        client.get("/api/v1/comments", query_string={"page": PAGE}),
        client.get(
            "/api/v1/comments", query_string={"page": PAGE}, headers={"X-Parley-Visitor": key}
        ),
        client.get("/widget/comments", query_string={"page": PAGE}),
        client.get("/thread", query_string={"page": PAGE}),
        client.get("/thread", query_string={"page": PAGE, "report": ident}),
        client.get("/feed/comments.atom", query_string={"page": PAGE}),
        client.get("/feed/comments.atom"),
    ]
    for response in public:
        assert response.status_code == 200, response.request.path
        assert "zebra-quartz" not in response.get_data(as_text=True), response.request.path


def test_reasons_are_plain_one_line_text_of_bounded_length(app: Flask, client: FlaskClient) -> None:
    ident = post(client)
    messy = "  Rude\x00 and\u202e hidden\n\n\tspaced  <b>out</b> "
    assert report(client, ident, visitor_key(client), messy).status_code == 202
    assert [r.reason for r in stored(app, ident)] == ["Rude and hidden spaced <b>out</b>"]
    too_long = report(client, ident, visitor_key(client), "x" * (REPORT_REASON_MAX + 1))
    assert too_long.status_code == 422
    assert "reason" in json_of(too_long)["error"]["fields"]
    for body in ({}, {"reason": 3}, {"reason": None}, {"reason": "ok", "more": 1}):
        refused = client.post(
            f"/api/v1/comments/{ident}/report",
            json=body,
            headers={"X-Parley-Visitor": visitor_key(client)},
        )
        assert refused.status_code == 422, body
    assert len(stored(app, ident)) == 1


def test_a_report_needs_a_visitor_key_for_the_comments_site(
    app: Flask, client: FlaskClient, runner: Any
) -> None:
    ident = post(client)
    missing = report(client, ident, None)
    assert missing.status_code == 400
    assert json_of(missing)["error"]["code"] == "visitor_required"
    assert runner.invoke(args=["site", "add", "other", "--name", "Other"]).exit_code == 0
    foreign = client.post("/api/v1/visitors", query_string={"site": "other"})
    elsewhere = report(client, ident, json_of(foreign)["visitor"])
    assert elsewhere.status_code == 403
    assert report(client, 2**31, visitor_key(client)).status_code == 404
    assert report(client, ident + 1000, visitor_key(client)).status_code == 404


def test_the_standalone_page_has_a_plain_report_form(app: Flask, client: FlaskClient) -> None:
    ident = post(client)
    page = client.get("/thread", query_string={"page": PAGE, "report": ident})
    html = page.get_data(as_text=True)
    assert 'id="report"' in html and f'name="comment" value="{ident}"' in html
    assert f'href="/thread?site=default&amp;page=/reported&amp;report={ident}#report"' in (
        client.get("/thread", query_string={"page": PAGE}).get_data(as_text=True)
    )
    sent = client.post(
        f"/thread/report?page={PAGE}",
        data={"csrf_token": csrf_token(html), "comment": str(ident), "reason": REASON},
    )
    assert sent.status_code == 303
    assert sent.headers["Location"].endswith(f"report={ident}#report")
    assert any("parley_visitor" in c for c in sent.headers.getlist("Set-Cookie"))
    shown = client.get(sent.headers["Location"]).get_data(as_text=True)
    assert "Thank you. The moderators will look at it." in shown
    assert 'name="reason"' not in shown  # done: the form does not come back
    assert [r.reason for r in stored(app, ident)] == [REASON]
    # The same reader again (the cookie's key): still one report.
    html = client.get("/thread", query_string={"page": PAGE, "report": ident}).get_data(
        as_text=True
    )
    repeat = client.post(
        f"/thread/report?page={PAGE}",
        data={"csrf_token": csrf_token(html), "comment": str(ident), "reason": "Again."},
    )
    assert "Thank you." in client.get(repeat.headers["Location"]).get_data(as_text=True)
    assert len(stored(app, ident)) == 1
    # A refusal is said where the form is, and the form stays.
    refused = client.post(
        f"/thread/report?page={PAGE}",
        data={"csrf_token": csrf_token(html), "comment": "999999", "reason": "x"},
    )
    again = client.get(refused.headers["Location"]).get_data(as_text=True)
    assert "There is no such comment." in again and 'name="reason"' in again


def test_erasing_a_commenters_data_removes_their_reports(app: Flask, client: FlaskClient) -> None:
    from service.rights.erase import erase
    from service.rights.export import Scope
    from service.rules import privacy

    key = visitor_key(client)
    mine = client.post(
        "/api/v1/comments",
        query_string={"page": PAGE},
        json={"name": "Bo", "email": "bo@example.org", "text": "Mine."},
        headers={"X-Parley-Visitor": key},
    )
    assert mine.status_code == 201
    ident = post(client, "Someone else's.")
    assert report(client, ident, key).status_code == 202
    with app.app_context(), writing():
        erase(Scope(privacy.email_index("bo@example.org"), None))
        db.session.commit()
    assert stored(app, ident) == []


@pytest.mark.parametrize(
    "app_config",
    [{"RATELIMIT_ENABLED": True, "PARLEY_VISITOR_LIKE_LIMIT": "2 per minute"}],
)
def test_reports_are_rate_limited_per_visitor_key(app: Flask, client: FlaskClient) -> None:
    ids = [post(client, f"Comment {n}.") for n in range(3)]
    key = visitor_key(client)
    answers = [report(client, ident, key).status_code for ident in ids]
    assert answers == [202, 202, 429]
    assert report(client, ids[2], visitor_key(client)).status_code == 202  # another key


def test_reported_comments_keep_their_place_until_the_threshold(
    app: Flask, client: FlaskClient
) -> None:
    ident = post(client)
    report(client, ident, visitor_key(client))
    assert [c["id"] for c in thread(client, PAGE)["comments"]] == [ident]
    with app.app_context():
        page = db.session.scalars(sa.select(Page).where(Page.key == PAGE)).one()
        assert page.comment_count == 1
