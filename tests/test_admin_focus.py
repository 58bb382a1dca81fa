"""Admin forms with hand-made fields: a refused one opens on its wrong field (decision 94).

Each answer has exactly one ``autofocus``, on the control the refusal is about, which is
also marked ``aria-invalid`` and tied to its message with ``aria-describedby``.
"""

from __future__ import annotations

import re

import pytest
from support import admin_post, log_in, make_moderator, set_site

from service.data import Site
from service.extensions import db


def focused(html: str) -> str:
    """The one tag with ``autofocus`` in the page (fails if there are none or several)."""
    tags = re.findall(r"<[^>]*\bautofocus\b[^>]*>", html)
    assert len(tags) == 1 and html.count("autofocus") == 1, tags
    return tags[0]


def tag(html: str, element_id: str) -> str:
    found = re.search(
        rf'<(?:input|textarea|select)\b[^>]*\bid="{re.escape(element_id)}"[^>]*>', html
    )
    assert found, f"no control {element_id}"
    return found[0]


def assert_wrong(html: str, element_id: str, error_id: str) -> None:
    """The control is marked invalid, described by its message, and the message is there."""
    control = tag(html, element_id)
    assert 'aria-invalid="true"' in control, control
    assert f'aria-describedby="{error_id}"' in control, control
    assert f'id="{error_id}"' in html


@pytest.fixture
def two_sites(app, client):
    """The client, logged in as the owner of two sites (two blocklist forms on one page)."""
    with app.app_context():
        db.session.add(Site(key="other", name="Other", moderation="none", edit_window=900))
        db.session.commit()
    make_moderator(app, sites={"default": "owner", "other": "owner"})
    assert log_in(client).status_code == 303
    return client


def test_a_wrong_blocked_word_focuses_its_own_sites_field_not_the_first(two_sites):
    page = two_sites.get("/admin/blocklist").get_data(as_text=True)
    keys = re.findall(r'<input id="word-([^"]+)"', page)
    assert sorted(keys) == ["default", "other"] and "autofocus" not in page
    last = keys[-1]  # the second form on the page: the focus must not go to the first
    admin_post(two_sites, "/admin/blocklist", site=last, word="casino")
    refused = admin_post(two_sites, "/admin/blocklist", site=last, word="Casino")
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert "on the list already" in html
    assert focused(html) == tag(html, f"word-{last}")
    assert_wrong(html, f"word-{last}", f"word-{last}-error")
    assert "aria-invalid" not in tag(html, f"word-{keys[0]}")


def test_a_wrong_ban_email_is_focused(owner):
    refused = admin_post(owner, "/admin/bans", site="default", email="not an email")
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert focused(html) == tag(html, "ban-email")
    assert_wrong(html, "ban-email", "ban-email-error")


def test_a_blank_edit_focuses_the_text_and_a_ban_with_no_kind_its_first_box(owner, post):
    comment_id = post("/a", text="fine").json["comment"]["id"]
    blank = admin_post(owner, f"/admin/comments/{comment_id}/edit", text="   ")
    assert blank.status_code == 422
    html = blank.get_data(as_text=True)
    assert focused(html) == tag(html, "edit-text")
    assert_wrong(html, "edit-text", "edit-error")
    assert "aria-invalid" not in tag(html, "reply-text")

    nothing = admin_post(owner, f"/admin/comments/{comment_id}/ban")
    assert nothing.status_code == 422
    html = nothing.get_data(as_text=True)
    boxes = re.findall(r'<input type="checkbox" name="kinds"[^>]*>', html)
    assert len(boxes) >= 2, boxes
    assert focused(html) == boxes[0]  # the group's first box; the group has the message
    assert '<fieldset aria-describedby="ban-error">' in html and 'id="ban-error"' in html


def test_a_reply_refused_without_its_form_focuses_the_message(app, owner, post):
    set_site(app, moderation="all")
    held = post("/a", text="A question?").json["comment"]["id"]  # pending: no reply form
    refused = admin_post(owner, f"/admin/comments/{held}/reply", text="An answer")
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    message = focused(html)
    assert 'id="reply-error"' in message and 'role="alert"' in message
    assert 'tabindex="-1"' in message


def test_a_score_with_two_wrong_fields_focuses_the_first(owner):
    assert admin_post(owner, "/admin/sites/default/pages/new", page="/movie").status_code == 303
    scores = "/admin/sites/default/pages/scores?page=/movie"
    refused = admin_post(owner, scores, label="", score="11", scale="10")
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert focused(html) == tag(html, "score-0-label")
    assert_wrong(html, "score-0-label", "score-0-label-error")
    assert_wrong(html, "score-0-score", "score-0-score-error")
