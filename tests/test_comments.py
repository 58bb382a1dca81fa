"""Posting, reading, replying, editing and deleting comments through the JSON API."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from support import every_comment, set_site

from service.data import Comment, Page
from service.extensions import db

PAGE = "/anime/lantern-city"


def thread(client, page=PAGE, **params):
    response = client.get("/api/v1/comments", query_string={"page": page, **params})
    assert response.status_code == 200, response.json
    return response.json


def test_new_comment_is_published_and_read_back_with_its_public_fields(post, client):
    response = post(PAGE, name="  Ada  ", text="Loved the *ending*.", website="ada.example.org")
    assert response.status_code == 201
    body = response.json
    assert body["status"] == "approved"
    assert len(body["edit_token"]) >= 32
    comment = body["comment"]
    assert set(comment) >= {
        "id",
        "parent",
        "author",
        "website",
        "avatar",
        "html",
        "created",
        "edited",
        "likes",
        "rating",
        "replies",
    }
    assert comment["author"] == "Ada"
    assert comment["website"] == "https://ada.example.org"
    assert comment["html"] == "<p>Loved the <em>ending</em>.</p>"
    assert comment["avatar"].startswith("http://localhost/avatar/")
    assert comment["created"].endswith("Z")

    got = thread(client)
    assert got["page"] == {"id": PAGE, "title": None, "url": None, "comment_count": 1}
    assert [c["id"] for c in got["comments"]] == [comment["id"]]
    assert got["next"] is None


def test_unknown_page_reads_as_an_empty_thread_without_creating_it(client, app):
    got = thread(client, "/never-commented")
    assert got["comments"] == [] and got["page"]["comment_count"] == 0
    with app.app_context():
        assert db.session.scalar(sa.select(Page).where(Page.key == "/never-commented")) is None


def test_unknown_site_is_a_json_404(client):
    response = client.get("/api/v1/comments?site=nope&page=/x")
    assert response.status_code == 404
    assert response.json["error"]["code"] == "site_not_found"


def test_replies_nest_under_their_parent(post, client):
    top = post(PAGE, text="Top").json["comment"]
    reply = post(PAGE, text="Reply", parent=top["id"]).json["comment"]
    nested = post(PAGE, text="Nested", parent=reply["id"]).json["comment"]
    assert reply["parent"] == top["id"] and nested["parent"] == reply["id"]

    got = thread(client)
    assert got["page"]["comment_count"] == 3
    [shown] = got["comments"]
    assert shown["replies"][0]["id"] == reply["id"]
    assert shown["replies"][0]["replies"][0]["id"] == nested["id"]


def test_reply_to_comment_on_another_page_is_rejected(post):
    other = post("/other").json["comment"]
    response = post(PAGE, parent=other["id"])
    assert response.status_code == 422
    assert "parent" in response.json["error"]["fields"]


def test_replies_deeper_than_the_cap_attach_at_the_deepest_level(app, post, client):
    parent = post(PAGE, text="level 0").json["comment"]
    chain = [parent]
    for level in range(1, app.config["PARLEY_MAX_DEPTH"] + 3):
        chain.append(post(PAGE, text=f"level {level}", parent=chain[-1]["id"]).json["comment"])
    deepest_allowed = chain[app.config["PARLEY_MAX_DEPTH"]]
    for too_deep in chain[app.config["PARLEY_MAX_DEPTH"] + 1 :]:
        assert too_deep["parent"] == chain[app.config["PARLEY_MAX_DEPTH"] - 1]["id"]
    assert deepest_allowed["parent"] == chain[app.config["PARLEY_MAX_DEPTH"] - 1]["id"]
    with app.app_context():
        depths = db.session.scalars(sa.select(Comment.depth)).all()
    assert max(depths) == app.config["PARLEY_MAX_DEPTH"]


def test_replies_are_capped_per_parent_and_the_rest_can_be_loaded(app, post, client):
    cap = app.config["PARLEY_REPLIES_PER_PARENT"]
    top = post(PAGE, text="Top").json["comment"]
    ids = [
        post(PAGE, text=f"reply {i}", parent=top["id"]).json["comment"]["id"]
        for i in range(cap + 3)
    ]

    [shown] = thread(client)["comments"]
    assert [r["id"] for r in shown["replies"]] == ids[:cap]
    assert shown["more_replies"] == 3

    rest = every_comment(client, PAGE, parent=top["id"], limit=2)
    assert [c["id"] for c in rest] == ids


@pytest.mark.parametrize("sort", ["oldest", "newest"])
def test_top_level_comments_are_paged_by_cursor_without_gaps_or_repeats(post, client, sort):
    ids = [post(PAGE, text=f"comment {i}").json["comment"]["id"] for i in range(7)]
    seen = [c["id"] for c in every_comment(client, PAGE, sort=sort, limit=3)]
    assert seen == (ids if sort == "oldest" else ids[::-1])


def test_a_cursor_from_one_sort_is_refused_for_another(post, client):
    for i in range(3):
        post(PAGE, text=f"c{i}")
    cursor = thread(client, sort="oldest", limit=1)["next"]
    response = client.get(
        "/api/v1/comments", query_string={"page": PAGE, "sort": "newest", "cursor": cursor}
    )
    assert response.status_code == 400


def test_under_moderation_all_a_new_comment_is_pending_and_not_shown(app, post, client):
    set_site(app, moderation="all")
    response = post(PAGE)
    assert response.status_code == 201
    assert response.json["status"] == "pending"
    got = thread(client)
    assert got["comments"] == [] and got["page"]["comment_count"] == 0


def test_reply_to_a_pending_comment_is_refused(app, post):
    set_site(app, moderation="all")
    pending = post(PAGE).json["comment"]
    assert post(PAGE, parent=pending["id"]).status_code == 422


def test_author_edits_own_comment_with_the_edit_token(post, client):
    posted = post(PAGE, text="Frist").json
    response = client.patch(
        f"/api/v1/comments/{posted['comment']['id']}",
        json={"text": "First"},
        headers={"X-Parley-Edit-Token": posted["edit_token"]},
    )
    assert response.status_code == 200
    assert response.json["comment"]["html"] == "<p>First</p>"
    assert response.json["comment"]["edited"] is not None
    assert thread(client)["comments"][0]["html"] == "<p>First</p>"


@pytest.mark.parametrize("token", [None, "", "wrong-token"])
def test_editing_without_the_right_token_is_forbidden(post, client, token):
    posted = post(PAGE, text="Mine").json
    headers = {"X-Parley-Edit-Token": token} if token is not None else {}
    response = client.patch(
        f"/api/v1/comments/{posted['comment']['id']}", json={"text": "x"}, headers=headers
    )
    assert response.status_code == 403
    assert thread(client)["comments"][0]["html"] == "<p>Mine</p>"


def test_one_authors_token_cannot_edit_another_comment(post, client):
    first = post(PAGE, text="One").json
    second = post(PAGE, text="Two").json
    response = client.patch(
        f"/api/v1/comments/{second['comment']['id']}",
        json={"text": "x"},
        headers={"X-Parley-Edit-Token": first["edit_token"]},
    )
    assert response.status_code == 403


def test_edit_and_delete_are_refused_after_the_window(app, post, client):
    posted = post(PAGE, text="Old").json
    with app.app_context():
        comment = db.session.get_one(Comment, posted["comment"]["id"])
        comment.created -= timedelta(seconds=app.config["PARLEY_EDIT_WINDOW"] + 1)
        db.session.commit()
    headers = {"X-Parley-Edit-Token": posted["edit_token"]}
    url = f"/api/v1/comments/{posted['comment']['id']}"
    assert client.patch(url, json={"text": "New"}, headers=headers).status_code == 403
    assert client.delete(url, headers=headers).status_code == 403
    assert thread(client)["comments"][0]["html"] == "<p>Old</p>"


def test_deleting_a_comment_without_replies_removes_it_entirely(app, post, client):
    posted = post(PAGE, name="Grace", text="Secret thoughts").json
    response = client.delete(
        f"/api/v1/comments/{posted['comment']['id']}",
        headers={"X-Parley-Edit-Token": posted["edit_token"]},
    )
    assert response.status_code == 204
    got = thread(client)
    assert got["comments"] == [] and got["page"]["comment_count"] == 0
    with app.app_context():
        assert db.session.get(Comment, posted["comment"]["id"]) is None


def test_deleting_a_comment_with_replies_leaves_a_placeholder_without_personal_data(
    app, post, client
):
    posted = post(PAGE, name="Grace", text="Secret thoughts", website="https://grace.example").json
    reply = post(PAGE, text="A reply", parent=posted["comment"]["id"]).json["comment"]
    client.delete(
        f"/api/v1/comments/{posted['comment']['id']}",
        headers={"X-Parley-Edit-Token": posted["edit_token"]},
    )

    [placeholder] = thread(client)["comments"]
    assert placeholder["deleted"] is True
    assert placeholder["author"] is None and placeholder["html"] == "" and not placeholder["avatar"]
    assert placeholder["replies"][0]["id"] == reply["id"]
    with app.app_context():
        row = db.session.get_one(Comment, posted["comment"]["id"])
        assert row.author is None and row.email_encrypted is None and row.email_index is None
        assert row.text == "" and row.website is None and row.remote_addr is None
    assert thread(client)["page"]["comment_count"] == 1


def test_placeholder_goes_when_its_last_reply_is_deleted(app, post, client):
    parent = post(PAGE, text="Parent").json
    reply = post(PAGE, text="Child", parent=parent["comment"]["id"]).json
    client.delete(
        f"/api/v1/comments/{parent['comment']['id']}",
        headers={"X-Parley-Edit-Token": parent["edit_token"]},
    )
    client.delete(
        f"/api/v1/comments/{reply['comment']['id']}",
        headers={"X-Parley-Edit-Token": reply["edit_token"]},
    )
    assert thread(client)["comments"] == []
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Comment)) == 0


def test_deleted_comment_cannot_be_deleted_or_edited_again(post, client):
    posted = post(PAGE).json
    url = f"/api/v1/comments/{posted['comment']['id']}"
    headers = {"X-Parley-Edit-Token": posted["edit_token"]}
    assert client.delete(url, headers=headers).status_code == 204
    assert client.delete(url, headers=headers).status_code == 404
    assert client.patch(url, json={"text": "again"}, headers=headers).status_code == 404


def test_counts_for_many_pages_in_one_request(post, client):
    post("/a", text="one")
    post("/a", text="two")
    post("/b")
    response = client.post("/api/v1/counts", json={"pages": ["/a", "/b", "/none"]})
    assert response.status_code == 200
    counts = response.json["counts"]
    assert {page: c["comments"] for page, c in counts.items()} == {"/a": 2, "/b": 1, "/none": 0}


def test_page_title_and_url_are_kept_only_from_an_allowed_origin(app, post, client):
    post("/from-own-origin", title="  A   review  ", url="http://localhost/review")
    post("/from-elsewhere", title="Phishing", url="https://evil.example/review")
    assert thread(client, "/from-own-origin")["page"]["title"] == "A review"
    assert thread(client, "/from-own-origin")["page"]["url"] == "http://localhost/review"
    assert thread(client, "/from-elsewhere")["page"]["title"] is None
    assert thread(client, "/from-elsewhere")["page"]["url"] is None


def test_page_title_is_taken_on_first_sight_only(post, client):
    post(PAGE, title="First title", url="http://localhost/a")
    post(PAGE, title="Changed title", url="http://localhost/a")
    assert thread(client)["page"]["title"] == "First title"


def test_long_page_title_is_bounded(post, client):
    post(PAGE, title="word " * 100, url="http://localhost/a")
    assert len(thread(client)["page"]["title"]) <= 200


def test_sanitised_html_is_stored_once_and_served_as_stored(app, post, client):
    posted = post(PAGE, text="<script>alert(1)</script> [x](javascript:alert(1))").json
    html = posted["comment"]["html"]
    assert "<script" not in html and "href" not in html
    with app.app_context():
        assert db.session.get_one(Comment, posted["comment"]["id"]).html == html
    assert thread(client)["comments"][0]["html"] == html


def test_client_address_is_stored_anonymised(app, client):
    client.post(
        "/api/v1/comments?page=/ip",
        json={"name": "A", "email": "a@example.org", "text": "hi"},
        environ_base={"REMOTE_ADDR": "203.0.113.77"},
    )
    client.post(
        "/api/v1/comments?page=/ip",
        json={"name": "B", "email": "b@example.org", "text": "hi"},
        environ_base={"REMOTE_ADDR": "2001:db8:abcd:12::1"},
    )
    with app.app_context():
        stored = set(db.session.scalars(sa.select(Comment.remote_addr)))
    assert stored == {"203.0.113.0", "2001:db8:abcd::"}


@pytest.mark.parametrize(
    ("app_config", "expected"),
    [({"PARLEY_TRUSTED_PROXIES": 0}, "192.0.2.0"), ({"PARLEY_TRUSTED_PROXIES": 1}, "198.51.100.0")],
)
def test_forwarded_for_is_believed_only_behind_trusted_proxies(app, client, expected):
    client.post(
        "/api/v1/comments?page=/p",
        json={"name": "A", "email": "a@example.org", "text": "t"},
        headers={"X-Forwarded-For": "198.51.100.9"},
        environ_base={"REMOTE_ADDR": "192.0.2.1"},
    )
    with app.app_context():
        assert db.session.scalar(sa.select(Comment.remote_addr)) == expected
