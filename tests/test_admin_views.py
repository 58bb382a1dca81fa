"""Admin views: one comment in detail, bans, the blocklist, site and page settings."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from support import (
    EMAIL,
    OWNER,
    admin_post,
    comment_body,
    default_site,
    log_in,
    make_moderator,
    set_site,
    site_form,
    visitor_key,
)

from service.data import AuditEntry, BlockedWord, Comment, Page, Site
from service.extensions import db

MOD_EMAIL = "mod@example.org"


@pytest.fixture
def other_site(app):
    with app.app_context():
        db.session.add(Site(key="other", name="Other", moderation="none", edit_window=900))
        db.session.commit()


def post_as(client, page="/a", key=None, **fields):
    headers = {"X-Parley-Visitor": key} if key else {}
    return client.post(
        f"/api/v1/comments?page={page}", headers=headers, json=comment_body(**fields)
    )


def thread(client, page="/a", key=None):
    headers = {"X-Parley-Visitor": key} if key else {}
    return client.get(f"/api/v1/comments?page={page}", headers=headers).json


def ban_ids(html):
    """The ids of the bans the bans page lists."""
    found = re.findall(r'id="ban-(\d+)"', html)
    assert found, "the page lists no ban"
    return found


def audit_actions(app):
    with app.app_context():
        return [e.action for e in db.session.scalars(sa.select(AuditEntry).order_by(AuditEntry.id))]


def status_of(app, comment_id):
    with app.app_context():
        return db.session.get_one(Comment, comment_id).status


# ---- access -------------------------------------------------------------------------------


ADMIN_PAGES = [
    "/admin/comments/1",
    "/admin/bans",
    "/admin/blocklist",
    "/admin/sites",
    "/admin/sites/default",
    "/admin/sites/default/pages",
]


def test_admin_views_send_visitors_without_a_session_to_the_login_page(client):
    for path in ADMIN_PAGES:
        response = client.get(path)
        assert response.status_code == 302, path
        assert "/admin/login?next=" in response.headers["Location"]


CSRF_POSTS = [
    ("/admin/comments/{id}/moderate", {"action": "spam"}),
    ("/admin/comments/{id}/edit", {"text": "changed"}),
    ("/admin/comments/{id}/reply", {"text": "a reply"}),
    ("/admin/comments/{id}/ban", {"kinds": "email"}),
    ("/admin/bans", {"site": "default", "email": "x@example.org"}),
    ("/admin/bans/1/remove", {}),
    ("/admin/blocklist", {"site": "default", "word": "casino"}),
    ("/admin/blocklist/1/remove", {}),
    ("/admin/sites/default", {"name": "Renamed"}),
    ("/admin/sites/default/pages?page=/a", {"title": "New title"}),
    ("/admin/sites/default/pages/scores?page=/a", {"label": "X", "score": "1"}),
    ("/admin/sites/default/pages/new", {"page": "/fresh"}),
]


def test_every_admin_post_needs_a_csrf_token(app, owner, post):
    comment_id = post("/a").json["comment"]["id"]
    for path, data in CSRF_POSTS:
        response = owner.post(path.format(id=comment_id), data=data)
        assert response.status_code == 400, path
        assert "form expired" in response.get_data(as_text=True)
    assert audit_actions(app) == []
    assert status_of(app, comment_id) == "approved"


def test_a_moderator_gets_404_for_another_sites_comment_and_403_for_settings(
    app, client, post, other_site
):
    make_moderator(app, MOD_EMAIL, {"other": "moderator"})
    theirs = post("/a", site="default").json["comment"]["id"]
    mine = post("/a", site="other").json["comment"]["id"]
    log_in(client, MOD_EMAIL)
    assert client.get(f"/admin/comments/{theirs}").status_code == 404
    assert (
        admin_post(client, f"/admin/comments/{theirs}/moderate", action="spam").status_code == 404
    )
    assert status_of(app, theirs) == "approved"
    assert client.get(f"/admin/comments/{mine}").status_code == 200
    assert client.get("/admin/sites/other").status_code == 403
    assert client.get("/admin/sites/other/pages").status_code == 403
    assert client.get("/admin/sites/default").status_code == 404
    assert admin_post(client, "/admin/blocklist", site="default", word="x").status_code == 404
    assert client.get("/admin/comments/99999999999999999999").status_code == 404


# ---- one comment ----------------------------------------------------------------------------


def test_comment_detail_shows_email_address_why_pending_and_the_authors_history(app, owner, post):
    set_site(app, moderation="all")
    older = post("/a", text="My first words", email="Writer@Example.org").json["comment"]["id"]
    post("/b", text="Someone else", email="other@example.org")
    newest = post("/b", text="My second words", email="writer@example.org").json["comment"]["id"]
    html = owner.get(f"/admin/comments/{newest}").get_data(as_text=True)
    assert "writer@example.org" in html and "127.0.0.0" in html
    assert "holds every new comment" in html
    history = html.split("other comments on default")[1]
    assert "My first words" in history and f"#{older}" in history
    assert "Someone else" not in history
    queue = owner.get("/admin/queue").get_data(as_text=True)
    assert f'href="/admin/comments/{newest}"' in queue


def test_moderating_from_the_detail_page_follows_counts_and_is_audited(app, owner, post, client):
    comment_id = post("/a").json["comment"]["id"]
    assert (
        admin_post(owner, f"/admin/comments/{comment_id}/moderate", action="spam").status_code
        == 303
    )
    assert thread(client)["page"]["comment_count"] == 0
    admin_post(owner, f"/admin/comments/{comment_id}/moderate", action="restore")
    assert thread(client)["page"]["comment_count"] == 1
    assert audit_actions(app) == ["spam", "restore"]


def test_editing_sanitises_the_new_text_again_and_refuses_blank_or_long_text(
    app, owner, post, client
):
    comment_id = post("/a", text="fine").json["comment"]["id"]
    edited = "Now **bold** <script>alert(1)</script> [x](javascript:alert(2))"
    assert admin_post(owner, f"/admin/comments/{comment_id}/edit", text=edited).status_code == 303
    shown = thread(client)["comments"][0]
    assert "<strong>bold</strong>" in shown["html"]
    assert "<script" not in shown["html"] and "&lt;script&gt;" in shown["html"]
    assert "href" not in shown["html"]
    assert shown["edited"] is not None
    blank = admin_post(owner, f"/admin/comments/{comment_id}/edit", text="   ")
    assert blank.status_code == 422 and "Please write a comment." in blank.get_data(as_text=True)
    long = admin_post(owner, f"/admin/comments/{comment_id}/edit", text="x" * 10_001)
    assert long.status_code == 422 and "At most 10,000 characters" in long.get_data(as_text=True)
    assert audit_actions(app) == ["edit"]


def test_a_moderator_reply_is_published_in_the_public_thread(app, owner, post, client):
    set_site(app, moderation="all")  # a moderator's reply is not held by the policy
    parent = post("/a", text="A question?").json["comment"]["id"]
    assert admin_post(owner, f"/admin/comments/{parent}/reply", text="Held").status_code == 422
    admin_post(owner, f"/admin/comments/{parent}/moderate", action="approve")
    assert (
        admin_post(owner, f"/admin/comments/{parent}/reply", text="An *answer*.").status_code == 303
    )
    body = thread(client)
    reply = body["comments"][0]["replies"][0]
    assert reply["author"] == "owner" and "<em>answer</em>" in reply["html"]
    assert body["page"]["comment_count"] == 2
    assert OWNER not in str(body)
    assert audit_actions(app) == ["approve", "reply"]
    with app.app_context():
        assert db.session.get_one(Comment, reply["id"]).by_moderator is True


def test_the_public_json_marks_a_moderator_reply(owner, post, client):
    parent = post("/a").json["comment"]["id"]
    admin_post(owner, f"/admin/comments/{parent}/reply", text="From the team.")
    top = thread(client)["comments"][0]
    assert top["moderator"] is False and top["replies"][0]["moderator"] is True


# ---- bans -----------------------------------------------------------------------------------


def test_a_typed_email_ban_refuses_the_next_post_until_it_is_removed(app, owner, post):
    bad = admin_post(owner, "/admin/bans", site="default", email="not an email")
    assert bad.status_code == 422 and "not a valid email" in bad.get_data(as_text=True)
    response = admin_post(
        owner, "/admin/bans", site="default", email="Troll@Example.org", reason="abuse"
    )
    assert response.status_code == 303
    html = owner.get("/admin/bans").get_data(as_text=True)
    assert "Troll@example.org" in html and "abuse" in html and "plain" in html
    refused = post("/a", email="troll@example.org")
    assert refused.status_code == 403 and refused.json["error"]["code"] == "banned"
    ban_id = ban_ids(html)[0]
    assert admin_post(owner, f"/admin/bans/{ban_id}/remove").status_code == 303
    assert post("/a", email="troll@example.org").status_code == 201
    assert audit_actions(app) == ["ban", "unban"]
    assert "unban" in owner.get("/admin/audit").get_data(as_text=True)


def test_a_shadow_ban_from_a_comment_hides_new_posts_from_everyone_but_their_author(
    app, owner, client
):
    key = visitor_key(client)
    first = post_as(client, key=key, text="first").json["comment"]["id"]
    response = admin_post(
        owner, f"/admin/comments/{first}/ban", kinds="visitor", shadow="1", reason="spammy"
    )
    assert response.status_code == 303
    answer = post_as(client, key=key, text="second")
    assert answer.status_code == 201 and answer.json["status"] == "approved"
    assert [c["id"] for c in thread(client)["comments"]] == [first]
    assert len(thread(client, key=key)["comments"]) == 2
    detail = owner.get(f"/admin/comments/{first}").get_data(as_text=True)
    assert "shadow-banned by visitor" in detail
    assert audit_actions(app) == ["shadow ban"]
    assert "shadow ban" in owner.get("/admin/audit").get_data(as_text=True)


def test_a_plain_ban_by_email_from_a_comment_refuses_the_author(app, owner, post):
    first = post("/a").json["comment"]["id"]
    assert admin_post(owner, f"/admin/comments/{first}/ban").status_code == 422  # nothing chosen
    admin_post(owner, f"/admin/comments/{first}/ban", kinds=["email", "address"], shadow="0")
    assert post("/b", text="again").json["error"]["code"] == "banned"
    html = owner.get("/admin/bans").get_data(as_text=True)
    # The banned author's address and email (decrypted for moderators), not the owner's.
    assert "127.0.0.0" in html and EMAIL in html


def test_bans_on_another_site_cannot_be_removed(app, client, post, other_site):
    make_moderator(app)
    make_moderator(app, MOD_EMAIL, {"other": "moderator"})
    log_in(client)
    admin_post(client, "/admin/bans", site="default", email="x@example.org")
    ban_id = ban_ids(client.get("/admin/bans").get_data(as_text=True))[0]
    other = client.application.test_client()
    log_in(other, MOD_EMAIL)
    assert "x@example.org" not in other.get("/admin/bans").get_data(as_text=True)
    assert admin_post(other, f"/admin/bans/{ban_id}/remove").status_code == 404


# ---- blocklist ------------------------------------------------------------------------------


def test_a_blocked_word_sends_comments_to_the_queue_with_the_reason(app, owner, post):
    assert (
        admin_post(owner, "/admin/blocklist", site="default", word="  Cheap   Casino ").status_code
        == 303
    )
    duplicate = admin_post(owner, "/admin/blocklist", site="default", word="cheap casino")
    assert duplicate.status_code == 422 and "on the list already" in duplicate.get_data(
        as_text=True
    )
    assert admin_post(owner, "/admin/blocklist", site="default", word="").status_code == 422
    assert admin_post(owner, "/admin/blocklist", site="default", word="x" * 101).status_code == 422
    held = post("/a", text="Visit my CHEAP CASINO now")
    assert held.json["status"] == "pending"
    queue = owner.get("/admin/queue").get_data(as_text=True)
    assert "Why pending:" in queue and "blocked word" in queue and "Cheap Casino" in queue
    with app.app_context():
        word_id = db.session.scalar(sa.select(BlockedWord.id))
    assert admin_post(owner, f"/admin/blocklist/{word_id}/remove").status_code == 303
    assert post("/a", text="cheap casino again").json["status"] == "approved"
    assert audit_actions(app) == ["block word", "unblock word"]


# ---- site settings ---------------------------------------------------------------------------


def test_site_settings_change_policy_and_origins_and_refuse_a_bad_origin(app, owner, post):
    page = owner.get("/admin/sites/default").get_data(as_text=True)
    assert 'name="origins"' in page
    response = admin_post(
        owner, "/admin/sites/default", **site_form(moderation="all", theme="dark")
    )
    assert response.status_code == 303
    with app.app_context():
        site = default_site()
        assert site.origins == ["http://localhost:8000", "https://blog.example"]
        assert (site.moderation, site.theme, site.name) == ("all", "dark", "My blog")
    assert post("/a").json["status"] == "pending"
    bad = admin_post(owner, "/admin/sites/default", **site_form(origins="ftp://files.example"))
    assert bad.status_code == 422
    text = bad.get_data(as_text=True)
    assert "is not an origin" in text and 'aria-invalid="true"' in text
    path = admin_post(owner, "/admin/sites/default", **site_form(origins="https://a.example/blog"))
    assert path.status_code == 422
    assert admin_post(owner, "/admin/sites/default", **site_form(language="")).status_code == 422
    assert audit_actions(app) == ["site settings"]
    with app.app_context():
        detail = db.session.scalars(sa.select(AuditEntry.detail)).one()
        assert "moderation: none -> all" in detail


def test_the_first_field_in_error_alone_takes_the_focus(owner):
    """Two wrong fields: the first on the page gets ``autofocus`` and its message through
    aria-describedby; the second is marked invalid but no second autofocus competes."""
    bad = admin_post(
        owner, "/admin/sites/default", **site_form(origins="ftp://files.example", language="")
    )
    assert bad.status_code == 422
    text = bad.get_data(as_text=True)
    assert text.count("autofocus") == 1, re.findall(r"<[^>]*autofocus[^>]*>", text)
    first = re.search(r"<textarea[^>]*>", text)
    assert first and 'id="origins"' in first[0], first
    assert "autofocus" in first[0]
    assert re.search(r'aria-describedby="[^"]*\borigins-error\b', first[0]), first[0]
    assert 'id="origins-error"' in text
    language = re.search(r'<input[^>]*id="language"[^>]*>', text)
    assert language and 'aria-invalid="true"' in language[0]
    assert "autofocus" not in language[0]
    assert re.search(r'aria-describedby="[^"]*\blanguage-error\b', language[0])


def test_changing_the_scale_is_refused_with_votes_unless_rescaled(app, owner, client):
    key = visitor_key(client)
    client.put("/api/v1/ratings?page=/a", json={"value": 4}, headers={"X-Parley-Visitor": key})
    refused = admin_post(owner, "/admin/sites/default", **site_form(rating_scale="10"))
    assert refused.status_code == 422 and "has 1 votes" in refused.get_data(as_text=True)
    assert client.get("/api/v1/ratings?page=/a").json["scale"] == 5
    done = admin_post(owner, "/admin/sites/default", **site_form(rating_scale="10", rescale="y"))
    assert done.status_code == 303
    summary = client.get("/api/v1/ratings?page=/a").json
    assert (summary["scale"], summary["average"]) == (10, 8.0)


# ---- page settings ---------------------------------------------------------------------------


def test_page_settings_set_type_title_and_editorial_scores(app, owner, client):
    assert admin_post(owner, "/admin/sites/default/pages/new", page="/movie").status_code == 303
    url = "/admin/sites/default/pages?page=/movie"
    saved = admin_post(
        owner, url, title="  The   Movie ", url="https://blog.example/movie", schema_type="Movie"
    )
    assert saved.status_code == 303
    assert admin_post(owner, url, url="javascript:alert(1)").status_code == 422
    assert admin_post(owner, url, schema_type="Nonsense").status_code == 422
    scores = "/admin/sites/default/pages/scores?page=/movie"
    assert (
        admin_post(
            owner, scores, label="IMDB", score="5.9", scale="10", url="https://imdb.example/x"
        ).status_code
        == 303
    )
    assert admin_post(owner, scores, label="MAL", score="62", scale="100").status_code == 303
    bad = admin_post(owner, scores, label="Too high", score="11", scale="10")
    assert bad.status_code == 422 and "A number from 0 to 10" in bad.get_data(as_text=True)
    assert (
        admin_post(
            owner, scores, original="MAL", label="MyAnimeList", score="6.2", scale="10"
        ).status_code
        == 303
    )
    summary = client.get("/api/v1/ratings?page=/movie").json["editorial"]
    assert summary["items"] == [
        {"label": "IMDB", "score": 5.9, "scale": 10, "url": "https://imdb.example/x"},
        {"label": "MyAnimeList", "score": 6.2, "scale": 10, "url": None},
    ]
    admin_post(owner, scores, original="IMDB", action="remove")
    labels = [
        i["label"] for i in client.get("/api/v1/ratings?page=/movie").json["editorial"]["items"]
    ]
    assert labels == ["MyAnimeList"]
    with app.app_context():
        page = db.session.scalars(sa.select(Page).where(Page.key == "/movie")).one()
        assert (page.title, page.schema_type) == ("The Movie", "Movie")
    assert audit_actions(app) == [
        "create page",
        "page settings",
        "editorial score",
        "editorial score",
        "editorial score",
        "remove score",
    ]


def test_closing_comments_and_ratings_refuses_new_ones(app, owner, post, client):
    post("/a")
    url = "/admin/sites/default/pages?page=/a"
    admin_post(owner, url, comments_closed="y", ratings_closed="y")
    refused = post("/a", text="late")
    assert refused.status_code == 403 and refused.json["error"]["code"] == "comments_closed"
    key = visitor_key(client)
    vote = client.put(
        "/api/v1/ratings?page=/a", json={"value": 3}, headers={"X-Parley-Visitor": key}
    )
    assert vote.status_code == 403 and vote.json["error"]["code"] == "ratings_closed"
    admin_post(owner, url)  # unticked boxes open both again
    assert post("/a", text="on time").status_code == 201


def test_the_page_list_searches_by_key_and_shows_counts(owner, post):
    post("/reviews/one")
    post("/reviews/one", text="second")
    post("/news/two")
    html = owner.get("/admin/sites/default/pages?q=reviews").get_data(as_text=True)
    assert "/reviews/one" in html and "/news/two" not in html
    assert re.search(r"/reviews/one</a></td>\s*<td>—</td><td>2</td>", html)
    assert owner.get("/admin/sites/default/pages?page=/missing").status_code == 404
