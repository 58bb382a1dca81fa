"""Closing a page's comments: by any moderator of its site, and by time (a site's delay and a
page's own, counted from the first comment). A closed page refuses posts with JSON and shows
a notice where the form was; a cached fragment stops offering the form once the closing time
has passed, though nothing was written."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from support import (
    admin_post,
    json_of,
    log_in,
    make_moderator,
    open_form,
    set_site,
)

from service.data import AuditEntry, Comment, Page, utcnow
from service.data.stamps import CLOSING_SOON
from service.database import writing
from service.extensions import db
from service.web import cache

PAGE = "/closing"
MODERATOR = "mod@example.org"
NOTICE = "Comments are closed."
FORM = 'class="parley-form"'


def post(client: FlaskClient, text: str = "A comment.", page: str = PAGE) -> Any:
    return client.post(
        "/api/v1/comments",
        query_string={"page": page},
        json={"name": "Ada", "email": "ada@example.org", "text": text},
    )


def fragment(client: FlaskClient, **headers: str) -> Any:
    return client.get("/widget/comments", query_string={"page": PAGE}, headers=headers)


def page_row(app: Flask, key: str = PAGE) -> Page:
    with app.app_context():
        page = db.session.scalars(sa.select(Page).where(Page.key == key)).one()
        db.session.expunge(page)
        return page


def set_closing_time(app: Flask, when: Any, key: str = PAGE) -> None:
    """The stored closing time, moved as the clock would reach it: the row's version is
    left alone (no write that readers see)."""
    with app.app_context(), writing():
        db.session.execute(sa.update(Page).where(Page.key == key).values(comments_close_at=when))
        db.session.commit()


def assert_closed(client: FlaskClient) -> None:
    refused = post(client, "Too late.")
    assert refused.status_code == 403
    assert json_of(refused)["error"]["code"] == "comments_closed"
    html = fragment(client).get_data(as_text=True)
    assert NOTICE in html and FORM not in html and 'data-action="reply"' not in html
    assert "Skip to the comment form" not in html
    page = client.get("/thread", query_string={"page": PAGE}).get_data(as_text=True)
    assert NOTICE in page and 'name="email"' not in page


def test_a_moderator_who_is_not_an_owner_closes_and_reopens_a_thread(
    app: Flask, client: FlaskClient
) -> None:
    first = json_of(post(client))["comment"]["id"]
    make_moderator(app, MODERATOR, {"default": "moderator"})
    assert log_in(client, MODERATOR).status_code == 303
    reader = app.test_client()
    assert FORM in fragment(reader).get_data(as_text=True)

    done = admin_post(
        client, f"/admin/sites/default/thread?page={PAGE}", action="close", comment=str(first)
    )
    assert done.status_code == 303 and done.headers["Location"] == f"/admin/comments/{first}"
    assert_closed(reader)
    detail = client.get(f"/admin/comments/{first}").get_data(as_text=True)
    assert "Comments are closed by a moderator." in detail and 'value="reopen"' in detail

    admin_post(client, f"/admin/sites/default/thread?page={PAGE}", action="reopen")
    assert post(reader, "Open again.").status_code == 201
    assert FORM in fragment(reader).get_data(as_text=True)
    with app.app_context():
        actions = db.session.scalars(sa.select(AuditEntry.action).order_by(AuditEntry.id)).all()
        assert actions[-2:] == ["close comments", "reopen comments"]


def test_moderators_of_other_sites_cannot_close_a_thread(
    app: Flask, client: FlaskClient, runner: Any
) -> None:
    post(client)
    assert runner.invoke(args=["site", "add", "other", "--name", "Other"]).exit_code == 0
    make_moderator(app, MODERATOR, {"other": "moderator"})
    assert log_in(client, MODERATOR).status_code == 303
    refused = admin_post(client, f"/admin/sites/default/thread?page={PAGE}", action="close")
    assert refused.status_code == 404
    assert FORM in fragment(client).get_data(as_text=True)


def test_the_standalone_page_refuses_a_post_to_a_closed_page_and_says_why(
    app: Flask, client: FlaskClient
) -> None:
    post(client)
    tokens = open_form(client, PAGE)
    with app.app_context(), writing():
        db.session.execute(sa.update(Page).values(comments_closed=True))
        db.session.commit()
    refused = client.post(
        f"/thread?page={PAGE}",
        data={**tokens, "name": "Ada", "email": "ada@example.org", "text": "Late."},
    )
    assert refused.status_code == 403
    html = refused.get_data(as_text=True)
    assert NOTICE in html and "Comments are closed on this page." in html


def test_the_first_comment_starts_the_sites_delay_and_the_page_closes_when_it_passes(
    app: Flask, client: FlaskClient
) -> None:
    set_site(app, close_after_days=30)
    assert post(client).status_code == 201
    closes = page_row(app).comments_close_at
    assert closes is not None
    assert timedelta(days=30) - timedelta(minutes=1) < closes - utcnow() <= timedelta(days=30)
    post(client, "A second one.")
    assert page_row(app).comments_close_at == closes  # counted from the first comment only

    set_closing_time(app, utcnow() - timedelta(seconds=1))
    assert_closed(client)


def test_a_cached_fragment_stops_offering_the_form_once_the_closing_time_passed(
    app: Flask, client: FlaskClient
) -> None:
    set_site(app, close_after_days=30)
    post(client)
    first = fragment(client)
    assert first.status_code == 200 and FORM in first.get_data(as_text=True)
    assert first.headers["Cache-Control"] == cache.PUBLIC
    hits = cache.stats(app)["hit"]
    again = fragment(client)
    assert again.get_data() == first.get_data() and cache.stats(app)["hit"] > hits  # kept
    version = page_row(app).version
    thread_etag = client.get("/api/v1/comments", query_string={"page": PAGE}).headers["ETag"]

    # Within the last minute: answers are kept but never reused without asking.
    set_closing_time(app, utcnow() + timedelta(seconds=CLOSING_SOON // 2))
    soon = fragment(client)
    assert soon.headers["Cache-Control"] == cache.REVALIDATE
    assert FORM in soon.get_data(as_text=True)

    # The time passes: no write, the same version, and yet no kept answer offers the form.
    set_closing_time(app, utcnow() - timedelta(seconds=1))
    assert page_row(app).version == version
    closed = fragment(client, **{"If-None-Match": soon.headers["ETag"]})
    assert closed.status_code == 200 and closed.headers["ETag"] != soon.headers["ETag"]
    html = closed.get_data(as_text=True)
    assert NOTICE in html and FORM not in html
    assert closed.headers["Cache-Control"] == cache.PUBLIC
    # Every read of the page is keyed anew: its earlier ETag no longer matches.
    reread = client.get(
        "/api/v1/comments", query_string={"page": PAGE}, headers={"If-None-Match": thread_etag}
    )
    assert reread.status_code == 200


def test_the_front_of_the_cache_never_replays_an_open_fragment_after_the_time(
    app: Flask, client: FlaskClient
) -> None:
    """The WSGI front keeps finished answers by request; the closing phase is part of the
    stamp it checks before replaying one."""
    set_site(app, close_after_days=30)
    post(client)
    for _ in range(3):  # kept by the front, then replayed
        assert FORM in fragment(client).get_data(as_text=True)
    set_closing_time(app, utcnow() - timedelta(seconds=1))
    assert NOTICE in fragment(client).get_data(as_text=True)


def test_changing_the_sites_delay_recomputes_every_pages_time_from_its_first_comment(
    app: Flask, client: FlaskClient, owner: FlaskClient
) -> None:
    post(client)
    post(client, "Elsewhere.", page="/other")
    with app.app_context(), writing():
        old = utcnow() - timedelta(days=10)
        db.session.execute(sa.update(Comment).values(created=old))
        db.session.commit()
    assert page_row(app).comments_close_at is None  # the site never closed anything

    saved = admin_post(
        client, "/admin/sites/default/threads", close_after_days="7", report_threshold="3"
    )
    assert saved.status_code == 303
    for key in (PAGE, "/other"):
        closes = page_row(app, key).comments_close_at
        assert closes is not None and abs(closes - (old + timedelta(days=7))) < timedelta(seconds=1)
    assert_closed(app.test_client())

    admin_post(client, "/admin/sites/default/threads", close_after_days="", report_threshold="3")
    assert page_row(app).comments_close_at is None
    assert post(client, "Open again.").status_code == 201


def test_a_pages_own_delay_overrides_the_sites_and_never_keeps_it_open(
    app: Flask, client: FlaskClient, owner: FlaskClient
) -> None:
    post(client)
    with app.app_context(), writing():
        db.session.execute(sa.update(Comment).values(created=utcnow() - timedelta(days=3)))
        db.session.commit()
    admin_post(client, "/admin/sites/default/threads", close_after_days="2", report_threshold="3")
    assert post(app.test_client(), "Closed.").status_code == 403

    url = f"/admin/sites/default/thread/delay?page={PAGE}"
    assert admin_post(client, url, close_after_days="0").status_code == 303  # never
    assert page_row(app).comments_close_at is None
    assert post(app.test_client(), "Never closes.").status_code == 201
    admin_post(client, url, close_after_days="5")
    assert page_row(app).comments_close_at is not None
    assert post(app.test_client(), "Five days.").status_code == 201
    admin_post(client, url, close_after_days="")  # the site's again: 2 days, passed
    assert post(app.test_client(), "Closed again.").status_code == 403
    refused = admin_post(client, url, close_after_days="soon")
    shown = client.get(refused.headers["Location"]).get_data(as_text=True)
    assert "Whole days from 1 to" in shown


def test_reopening_a_page_closed_by_its_time_keeps_it_open(
    app: Flask, client: FlaskClient, owner: FlaskClient
) -> None:
    set_site(app, close_after_days=1)
    post(client)
    set_closing_time(app, utcnow() - timedelta(hours=1))
    view = client.get(f"/admin/sites/default/pages?page={PAGE}").get_data(as_text=True)
    assert "Comments closed automatically on" in view
    admin_post(client, f"/admin/sites/default/thread?page={PAGE}", action="reopen")
    row = page_row(app)
    assert (row.comments_close_at, row.close_after_days, row.comments_closed) == (None, 0, False)
    assert post(client, "Open for good.").status_code == 201
    assert page_row(app).comments_close_at is None  # a later comment starts no time


def test_the_thread_rules_are_for_owners(app: Flask, client: FlaskClient) -> None:
    make_moderator(app, MODERATOR, {"default": "moderator"})
    assert log_in(client, MODERATOR).status_code == 303
    refused = admin_post(
        client, "/admin/sites/default/threads", close_after_days="3", report_threshold="2"
    )
    assert refused.status_code == 403


def test_threads_from_the_command_line(app: Flask, client: FlaskClient, runner: Any) -> None:
    post(client)
    result = runner.invoke(args=["site", "threads", "default", "--close-after", "9"])
    assert result.exit_code == 0 and "close-after=9 days" in result.output, result.output
    assert page_row(app).comments_close_at is not None
    assert runner.invoke(args=["page", "close", "default", PAGE]).exit_code == 0
    assert post(client, "Closed.").status_code == 403
    result = runner.invoke(args=["page", "reopen", "default", PAGE])
    assert result.exit_code == 0 and "open until" in result.output, result.output
    result = runner.invoke(args=["page", "close-after", "default", PAGE, "never"])
    assert result.exit_code == 0 and result.output.strip().endswith(": open"), result.output
    result = runner.invoke(args=["site", "threads", "default", "--close-after", "x"])
    assert result.exit_code != 0 and "Whole days" in result.output


@pytest.mark.parametrize("when", ["past", "future"])
def test_the_admin_page_view_says_where_a_thread_stands(
    app: Flask, client: FlaskClient, owner: FlaskClient, when: str
) -> None:
    set_site(app, close_after_days=3)
    post(client)
    if when == "past":
        set_closing_time(app, utcnow() - timedelta(days=1))
    html = client.get(f"/admin/sites/default/pages?page={PAGE}").get_data(as_text=True)
    said = "Comments closed automatically on" if when == "past" else "Comments are open until"
    assert said in html
    button = re.search(r'name="action" value="(close|reopen)"', html)
    assert button and button.group(1) == ("reopen" if when == "past" else "close")
