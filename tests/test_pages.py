"""The standalone page (no JavaScript), the public fragment, the demo page and health."""

from __future__ import annotations

import re

import sqlalchemy as sa
from support import form_tokens, set_site

from service.data import Comment, Page
from service.extensions import db

THREAD = "/thread?site=default&page=/review"


def form_fields(html: str, **values: str) -> dict[str, str]:
    """The standalone page's form, filled in, with its hidden tokens."""
    fields = {
        **form_tokens(html),
        "name": "Ada",
        "email": "ada@example.org",
        "website": "",
        "text": "Well argued.",
        "hp": "",
    }
    fields.update(values)
    return fields


def test_empty_thread_page_shows_the_leave_a_reply_form(client):
    response = client.get(THREAD)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Leave a Reply" in html
    assert "Your email address will not be published." in html
    assert "Required fields are marked" in html
    assert "No comments yet" in html
    for name in ("name", "email", "website", "text"):
        assert f'name="{name}"' in html
    assert html.count('class="parley-required"') == 3  # name, email and comment
    assert response.headers["X-Robots-Tag"] == "noindex"
    assert '<meta name="robots" content="noindex">' in html


def test_posting_the_form_redirects_to_the_thread_showing_the_comment(client):
    page = client.get(THREAD).get_data(as_text=True)
    response = client.post(THREAD, data=form_fields(page, text="Well *argued*."))
    assert response.status_code == 303
    assert re.search(r"/thread\?site=default&page=/review#c\d+$", response.headers["Location"])

    shown = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Well <em>argued</em>." in shown
    assert "Your comment is published" in shown
    assert "ada@example.org" not in shown.replace('value="ada@example.org"', "")


def test_reply_link_opens_the_form_as_a_reply_and_posts_a_reply(client, post):
    parent = post("/review", text="Parent comment").json["comment"]
    page = client.get(THREAD).get_data(as_text=True)
    assert f"reply={parent['id']}#reply" in page

    reply_page = client.get(f"{THREAD}&reply={parent['id']}").get_data(as_text=True)
    assert f"Reply to comment #{parent['id']}" in reply_page
    assert f'name="parent" type="hidden" value="{parent["id"]}"' in reply_page
    response = client.post(
        THREAD, data=form_fields(reply_page, parent=str(parent["id"]), text="A reply")
    )
    assert response.status_code == 303
    got = client.get("/api/v1/comments?page=/review").json
    assert got["comments"][0]["replies"][0]["html"] == "<p>A reply</p>"


def test_invalid_form_shows_messages_beside_the_fields_and_keeps_the_text(app, client):
    page = client.get(THREAD).get_data(as_text=True)
    response = client.post(
        THREAD,
        data=form_fields(page, name="  ", email="not-an-email", text="My long, careful comment"),
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Please give a name." in html
    assert "This is not a valid email address." in html
    assert "My long, careful comment</textarea>" in html
    assert 'aria-invalid="true"' in html
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Comment)) == 0


def test_form_without_csrf_token_is_refused_with_a_readable_page(app, client):
    page = client.get(THREAD).get_data(as_text=True)
    fields = form_fields(page)
    del fields["csrf_token"]
    response = client.post(THREAD, data=fields)
    assert response.status_code == 400
    assert response.mimetype == "text/html"
    assert "Reload the page" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Comment)) == 0


def test_pending_comment_posted_by_form_says_it_awaits_moderation(app, client):
    set_site(app, moderation="all")
    page = client.get(THREAD).get_data(as_text=True)
    response = client.post(THREAD, data=form_fields(page, text="Hold me"), follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "awaiting moderation" in html
    assert "Hold me" not in html


def test_fragment_is_public_cacheable_and_the_same_for_everyone(client, post):
    post("/review", text="Visible to all")
    first = client.get("/widget/comments?site=default&page=/review")
    assert first.status_code == 200
    assert "public" in first.headers["Cache-Control"]
    assert "Set-Cookie" not in first.headers
    assert "Visible to all" in first.get_data(as_text=True)
    other = client.get(
        "/widget/comments?site=default&page=/review",
        headers={"Cookie": "parley_session=abc"},
        environ_base={"REMOTE_ADDR": "192.0.2.99"},
    )
    assert other.get_data() == first.get_data()


def test_fragment_for_an_empty_page_shows_the_empty_state(client):
    html = client.get("/widget/comments?site=default&page=/new").get_data(as_text=True)
    assert "No comments yet" in html


def test_user_html_is_escaped_in_every_view(client, post):
    post(
        "/review",
        name='<img src=x onerror="alert(1)">',
        text="<b>bold?</b>",
        website='https://example.org/"><script>alert(1)</script>',
    )
    for url in ("/widget/comments?site=default&page=/review", THREAD):
        html = client.get(url).get_data(as_text=True)
        assert "<img src=x" not in html
        assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in html
        assert "<b>bold?</b>" not in html
        assert "<script>alert(1)" not in html


def test_demo_page_shows_an_article_thread_and_form(client, post):
    response = client.get("/demo", follow_redirects=True)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Final Summary" in html and "Leave a Reply" in html and "No comments yet" in html


def test_health_reports_ok_when_the_database_answers(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok"}


def test_pages_carry_security_headers(client):
    response = client.get(THREAD)
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"]


def test_avatar_is_an_svg_drawn_by_the_service(client, post):
    avatar = post("/review").json["comment"]["avatar"]
    response = client.get(avatar.replace("http://localhost", ""))
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    assert response.get_data(as_text=True).lstrip().startswith("<svg")
    assert client.get("/avatar/not-hex.svg").status_code == 404


def test_every_reply_is_reachable_without_javascript(app, client, post):
    cap = app.config["PARLEY_REPLIES_PER_PARENT"]
    top = post("/review", text="Top").json["comment"]
    ids = [
        post("/review", text=f"reply {i}", parent=top["id"]).json["comment"]["id"]
        for i in range(cap + 2)
    ]
    html = client.get(THREAD).get_data(as_text=True)
    more = re.search(r'class="parley-more"[^>]*href="([^"]+)"', html)
    assert more, "no link to the replies that are not shown"
    rest = client.get(more.group(1).replace("&amp;", "&")).get_data(as_text=True)
    for hidden in ids[cap:]:
        assert f'id="c{hidden}"' in rest
    assert f"Replies to comment #{top['id']}" in rest


def test_top_level_comments_past_the_first_page_are_reachable(app, client, post):
    from service.web.widgets import fragments as widgets

    total = widgets.THREAD_PAGE + 3
    with app.app_context():
        first = post("/review", text="seed").json["comment"]
        seed = db.session.get_one(Comment, first["id"])
        page = db.session.scalars(sa.select(Page).where(Page.key == "/review")).one()
        for i in range(total - 1):
            clone = Comment(
                page_id=page.id,
                depth=0,
                author="A",
                text=f"c{i}",
                html=f"<p>c{i}</p>",
                status="approved",
                avatar=seed.avatar,
                email_index=seed.email_index,
                email_encrypted=seed.email_encrypted,
            )
            db.session.add(clone)
            db.session.flush()
            clone.root_id = clone.id
        db.session.commit()
    seen: set[str] = set()
    url: str | None = THREAD
    while url:
        html = client.get(url).get_data(as_text=True)
        seen.update(re.findall(r'<article class="parley-comment[^"]*" id="(c\d+)"', html))
        more = re.search(r'class="parley-more-comments"[^>]*href="([^"]+)"', html)
        url = more.group(1).replace("&amp;", "&") if more else None
    assert len(seen) == total


def test_the_fragment_serves_later_pages_as_parts_for_the_loader(app, client, post):
    cap = app.config["PARLEY_REPLIES_PER_PARENT"]
    top = post("/review", text="Top").json["comment"]
    for i in range(cap + 1):
        post("/review", text=f"reply {i}", parent=top["id"])
    listed = client.get("/api/v1/comments?page=/review").json["comments"][0]
    assert listed["more_replies"] == 1 and listed["replies_cursor"]
    part = client.get(
        "/widget/comments",
        query_string={
            "site": "default",
            "page": "/review",
            "part": "1",
            "parent": top["id"],
            "cursor": listed["replies_cursor"],
        },
    ).get_data(as_text=True)
    assert part.count('<article class="parley-comment') == 1
    assert f"reply {cap}" in part
    assert "Leave a Reply" not in part
