"""Moderator accounts, login, the admin cookie, the queue and the audit log."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from support import OWNER, csrf_token, log_in, make_moderator, set_site, visitor_key

from service.data import AuditEntry, Comment, Moderator, Site
from service.extensions import db


@pytest.fixture
def moderator(app):
    make_moderator(app)


def test_create_admin_command_makes_an_owner_with_a_hashed_password(app, runner):
    result = runner.invoke(
        args=["create-admin", "Boss@Example.org", "--password", "long enough password"]
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        moderator = db.session.scalars(sa.select(Moderator)).one()
        assert moderator.email == "boss@example.org"
        assert moderator.password_hash.startswith("scrypt:")
        assert "long enough password" not in moderator.password_hash
        assert [(r.site.key, r.role) for r in moderator.roles] == [("default", "owner")]


def test_create_admin_refuses_a_short_password(runner):
    result = runner.invoke(args=["create-admin", "a@example.org", "--password", "short"])
    assert result.exit_code != 0 and "10" in result.output


def test_admin_email_and_password_variables_create_the_first_owner(
    tmp_path, database_url, monkeypatch
):
    from support import base_config

    from service import create_app

    monkeypatch.setenv("PARLEY_ADMIN_EMAIL", "first@example.org")
    monkeypatch.setenv("PARLEY_ADMIN_PASSWORD", "a very good password")
    app = create_app(base_config(tmp_path, SQLALCHEMY_DATABASE_URI=database_url))
    assert log_in(app.test_client(), "first@example.org", "a very good password").status_code == 303
    create_app(base_config(tmp_path, SQLALCHEMY_DATABASE_URI=database_url))  # changes nothing
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Moderator)) == 1
        db.engine.dispose()


def test_login_sets_an_admin_cookie_scoped_strict_and_http_only(client, moderator):
    response = log_in(client)
    assert response.status_code == 303
    assert response.headers["Location"] == "/admin/"
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if "parley_admin=" in c)
    assert "Path=/admin" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=Strict" in cookie
    assert client.get("/admin/").status_code == 200


def test_the_public_cookie_does_not_open_the_admin(client, moderator):
    log_in(client)
    admin_cookie = client.get_cookie("parley_admin", path="/admin").value
    other = client.application.test_client()
    other.set_cookie("parley_session", admin_cookie)
    assert other.get("/admin/").status_code == 302


def test_wrong_passwords_never_lock_the_account(app, client, moderator):
    """Failed logins are throttled per address (tests/test_admin_sessions.py), never per
    account: with limits off, any number of wrong passwords leaves the owner's way in."""
    for _ in range(8):
        assert log_in(client, password="wrong password!").status_code == 401
    assert log_in(client).status_code == 303


def test_unknown_account_and_wrong_password_look_the_same(client, moderator):
    unknown = log_in(client, email="nobody@example.org").get_data(as_text=True)
    wrong = log_in(client, password="not the password").get_data(as_text=True)
    message = "Wrong email or password"
    assert message in unknown and message in wrong


@pytest.mark.parametrize(
    "app_config", [{"RATELIMIT_ENABLED": True, "PARLEY_LOGIN_LIMIT": "3 per minute"}]
)
def test_login_attempts_are_limited_per_address(client, moderator):
    codes = [log_in(client, password="wrong password!").status_code for _ in range(4)]
    assert codes == [401, 401, 401, 429]
    assert log_in(client).status_code == 429  # the right password waits too


def test_browsers_without_a_session_go_to_the_login_page_and_come_back(client, moderator):
    response = client.get("/admin/queue?status=spam")
    assert response.status_code == 302
    assert "/admin/login?next=" in response.headers["Location"]
    back = log_in(client, next_path="/admin/queue?status=spam")
    assert back.headers["Location"] == "/admin/queue?status=spam"


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/", "/thread"])
def test_login_redirects_only_to_admin_paths(client, moderator, target):
    assert log_in(client, next_path=target).headers["Location"] == "/admin/"


def test_json_callers_without_a_session_get_401(client):
    response = client.get("/admin/queue", headers={"Accept": "application/json"})
    assert response.status_code == 401


def test_admin_pages_refuse_framing_and_caching(owner):
    response = owner.get("/admin/")
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["Cache-Control"] == "no-store"


def test_logout_needs_a_csrf_token(owner):
    assert owner.post("/admin/logout").status_code == 400
    page = owner.get("/admin/").get_data(as_text=True)
    assert owner.post("/admin/logout", data={"csrf_token": csrf_token(page)}).status_code == 303
    assert owner.get("/admin/").status_code == 302


def test_queue_shows_pending_comments_with_email_and_why(app, owner, post):
    set_site(app, moderation="all")
    post("/article", text="Please review me", email="Writer@Example.org")
    html = owner.get("/admin/queue").get_data(as_text=True)
    assert "Please review me" in html
    assert "Writer@example.org" in html  # as given, with the domain normalised
    assert "Why pending:" in html and "holds every new comment" in html


def test_bulk_approve_publishes_and_counts_and_is_audited(app, owner, post, client):
    set_site(app, moderation="all")
    ids = [post("/article", text=f"held {i}").json["comment"]["id"] for i in range(3)]
    page = owner.get("/admin/queue").get_data(as_text=True)
    response = owner.post(
        "/admin/queue",
        data={
            "csrf_token": csrf_token(page),
            "action": "approve",
            "ids": [str(i) for i in ids[:2]],
        },
    )
    assert response.status_code == 303
    thread = client.get("/api/v1/comments?page=/article").json
    assert thread["page"]["comment_count"] == 2
    assert {c["id"] for c in thread["comments"]} == set(ids[:2])
    with app.app_context():
        entries = db.session.scalars(sa.select(AuditEntry)).all()
        assert sorted(e.target for e in entries) == [f"comment {i}" for i in sorted(ids[:2])]
        assert all(e.moderator is not None and e.moderator.email == OWNER for e in entries)
    assert "approve" in owner.get("/admin/audit").get_data(as_text=True)


def test_bulk_actions_need_a_csrf_token(app, owner, post):
    set_site(app, moderation="all")
    comment_id = post("/article").json["comment"]["id"]
    response = owner.post("/admin/queue", data={"action": "approve", "ids": [comment_id]})
    assert response.status_code == 400
    with app.app_context():
        assert db.session.get_one(Comment, comment_id).status == "pending"


def test_spam_and_restore_keep_review_ratings_exact(app, owner, client):
    key = visitor_key(client)
    review = client.post(
        "/api/v1/comments?page=/article",
        headers={"X-Parley-Visitor": key},
        json={"name": "R", "email": "r@example.org", "text": "ok", "rating": 4},
    ).json["comment"]
    token = csrf_token(owner.get("/admin/queue").get_data(as_text=True))
    owner.post("/admin/queue", data={"csrf_token": token, "action": "spam", "ids": [review["id"]]})
    assert client.get("/api/v1/ratings?page=/article").json["count"] == 0
    assert client.get("/api/v1/comments?page=/article").json["page"]["comment_count"] == 0
    owner.post(
        "/admin/queue", data={"csrf_token": token, "action": "restore", "ids": [review["id"]]}
    )
    assert client.get("/api/v1/ratings?page=/article").json["count"] == 1
    assert client.get("/api/v1/comments?page=/article").json["page"]["comment_count"] == 1


def test_moderators_see_and_act_only_on_their_own_sites(app, client, post):
    with app.app_context():
        other = Site(key="other", name="Other", moderation="all", edit_window=900)
        db.session.add(other)
        db.session.commit()
    make_moderator(app, "mod@example.org", {"other": "moderator"})
    set_site(app, moderation="all")
    mine = post("/p", site="other", text="on other").json["comment"]["id"]
    theirs = post("/p", site="default", text="on default").json["comment"]["id"]
    log_in(client, "mod@example.org")
    html = client.get("/admin/queue").get_data(as_text=True)
    assert "on other" in html and "on default" not in html
    token = csrf_token(html)
    client.post(
        "/admin/queue", data={"csrf_token": token, "action": "approve", "ids": [mine, theirs]}
    )
    with app.app_context():
        assert db.session.get_one(Comment, mine).status == "approved"
        assert db.session.get_one(Comment, theirs).status == "pending"


def test_search_wildcards_match_literally(app, owner, post):
    set_site(app, moderation="all")
    post("/a", text="100% sure")
    post("/a", text="100 percent")
    html = owner.get("/admin/queue?q=100%25").get_data(as_text=True)
    assert "100% sure" in html and "100 percent" not in html
    assert "Nothing here." in owner.get("/admin/queue?q=_").get_data(as_text=True)


def test_email_filter_finds_comments_through_the_blind_index(app, owner, post):
    set_site(app, moderation="all")
    post("/a", text="from grace", email="grace@example.org")
    post("/a", text="from ada", email="ada@example.org")
    page = owner.get("/admin/queue").get_data(as_text=True)
    answer = owner.post(
        "/admin/queue/email",
        data={"csrf_token": csrf_token(page), "email": "GRACE@example.org"},
        follow_redirects=True,
    )
    html = answer.get_data(as_text=True)
    assert "from grace" in html and "from ada" not in html


def test_dashboard_shows_pending_counts_and_latest_activity(app, owner, post, client):
    set_site(app, moderation="all")
    post("/a", text="waiting")
    key = visitor_key(client)
    client.put("/api/v1/ratings?page=/a", json={"value": 5}, headers={"X-Parley-Visitor": key})
    html = owner.get("/admin/").get_data(as_text=True)
    assert re.search(r'data-site="default">1</strong> pending', html)
    assert "waiting" in html and "5/5" in html
