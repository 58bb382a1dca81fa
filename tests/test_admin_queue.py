"""The moderation queue's filters, search, "select all", bulk actions (the queue's and the
dashboard's), "why pending" and the keyboard shortcuts' page, through the admin views."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from support import csrf_token, set_site

from service.data import AuditEntry, Comment
from service.extensions import db

ROW_ID = re.compile(r'<tr id="q(\d+)"')


def shown(html: str) -> list[int]:
    """The ids of the queue's rows, in the order shown."""
    return [int(n) for n in ROW_ID.findall(html)]


def checked(html: str) -> list[int]:
    """The ids whose box is checked."""
    return [int(n) for n in re.findall(r'name="ids" value="(\d+)"[^>]*\bchecked\b', html)]


def queue(client, **query: str) -> str:
    response = client.get("/admin/queue", query_string=query)
    assert response.status_code == 200, response.status
    return response.get_data(as_text=True)


def status_of(app, *ids: int) -> list[str]:
    with app.app_context():
        return [db.session.get_one(Comment, n).status for n in ids]


def bulk(client, page_html: str, action: str, ids: list[int], **extra: str):
    return client.post(
        "/admin/queue",
        data={"csrf_token": csrf_token(page_html), "action": action, "ids": ids, **extra},
    )


@pytest.fixture
def held(app, post) -> list[int]:
    """Three comments waiting for review on two pages (oldest first); the first page has a
    title (believed from the service's own origin)."""
    set_site(app, moderation="all")
    titled = {"title": "Metallic Rouge review", "url": "http://localhost/anime/metallic-rouge"}
    return [
        post("/anime/metallic-rouge", text="First, held", **titled).json["comment"]["id"],
        post("/blog/other", text="Second, held").json["comment"]["id"],
        post("/blog/other", text="Third, held").json["comment"]["id"],
    ]


# --- filters and search --------------------------------------------------------------------


def test_all_statuses_lists_every_status_and_one_status_only_its_own(app, owner, held):
    first, second, third = held
    page = queue(owner)
    bulk(owner, page, "approve", [first])
    bulk(owner, page, "spam", [second])
    assert shown(queue(owner)) == [third]
    assert shown(queue(owner, status="approved")) == [first]
    assert shown(queue(owner, status="spam")) == [second]
    everything = queue(owner, status="all")
    assert shown(everything) == [third, second, first]  # newest first, whatever the status
    assert '<option value="all" selected>All statuses</option>' in everything
    assert shown(queue(owner, status="nonsense")) == [third]  # an unknown status: pending


def test_all_statuses_pages_through_every_comment_once(app, owner, post):
    set_site(app, moderation="all")
    ids = [post("/many", text=f"comment {n}").json["comment"]["id"] for n in range(53)]
    page = queue(owner)
    bulk(owner, page, "approve", ids[::2])  # two statuses, interleaved in time
    first = queue(owner, status="all", q="comment")
    older = re.search(r'href="([^"]+)">Older</a>', first)
    assert older, "no link to the older comments"
    link = older.group(1).replace("&amp;", "&")
    assert "status=all" in link and "q=comment" in link  # the filters stay
    second = owner.get(link).get_data(as_text=True)
    assert shown(first) + shown(second) == ids[::-1]


def test_page_filter_matches_a_part_of_the_page_id_or_its_title(owner, held):
    first, second, third = held
    assert shown(queue(owner, page="metallic")) == [first]  # part of the id
    assert shown(queue(owner, page="ROUGE REV")) == [first]  # part of the title, any case
    assert shown(queue(owner, page="/blog/")) == [third, second]
    assert shown(queue(owner, page="nowhere")) == []
    assert "Nothing here." in queue(owner, page="nowhere")


def test_text_search_finds_a_part_of_the_text_in_any_case(owner, held):
    first, second, _third = held
    assert shown(queue(owner, q="second")) == [second]
    assert shown(queue(owner, q="FIRST, HELD")) == [first]
    assert shown(queue(owner, q="held", page="anime")) == [first]  # filters combine


def test_search_wildcards_and_backslashes_are_literal(app, owner, post):
    set_site(app, moderation="all")
    literal = post("/w", text="Save 50% on off_peak tickets \\o/").json["comment"]["id"]
    post("/w", text="Save 50 percent on offXpeak tickets")
    post("/w", text="Save 500 on off peak tickets")
    assert shown(queue(owner, q="50%")) == [literal]
    assert shown(queue(owner, q="off_peak")) == [literal]
    assert shown(queue(owner, q="%")) == [literal]
    assert shown(queue(owner, q="_")) == [literal]
    assert shown(queue(owner, q="\\o/")) == [literal]
    assert shown(queue(owner, q="50%", status="all")) == [literal]
    assert shown(queue(owner, page="%")) == [] and shown(queue(owner, page="_")) == []


def test_search_is_applied_only_when_asked(owner, held):
    assert shown(queue(owner, q="", page="", author="")) == held[::-1]
    assert shown(queue(owner, q="   ")) == held[::-1]


# --- select all and bulk actions -------------------------------------------------------------


def test_select_all_without_javascript_checks_every_row_shown(owner, held):
    page = queue(owner, page="/blog/")
    assert checked(page) == []
    link = re.search(r'id="pick-all-link" href="([^"]+)">Select all on this page</a>', page)
    assert link, "no select-all link"
    url = link.group(1).replace("&amp;", "&")
    assert "select=all" in url and "page=/blog/" in url  # the same rows
    picked = owner.get(url).get_data(as_text=True)
    assert checked(picked) == shown(picked) == held[:0:-1]
    assert "Clear the selection" in picked
    # The select-all box itself is there for the script to show.
    assert 'id="pick-all"' in page and 'id="pick-all-box" hidden' in page


@pytest.mark.parametrize(
    ("action", "status", "public", "new_version"),
    [("approve", "approved", 3, True), ("spam", "spam", 0, False), ("delete", "deleted", 0, True)],
)
def test_select_all_then_a_bulk_action_changes_every_row_and_audits_each(
    app, owner, client, held, action, status, public, new_version
):
    def read(page: str):
        return client.get("/api/v1/comments", query_string={"page": page})

    pages = ("/anime/metallic-rouge", "/blog/other")
    before = [read(page).headers["ETag"] for page in pages]
    picked = queue(owner, select="all")
    ids = checked(picked)
    assert sorted(ids) == sorted(held)
    back = re.search(r'name="return_to" value="([^"]+)"', picked)
    assert back, "the form does not say where to come back"
    answer = bulk(owner, picked, action, ids, return_to=back.group(1).replace("&amp;", "&"))
    assert answer.status_code == 303 and answer.headers["Location"].startswith("/admin/queue")
    assert "select=" not in answer.headers["Location"]  # the next rows are not all checked
    assert status_of(app, *held) == [status] * 3
    assert f"3 comments: {action}." in owner.get("/admin/queue").get_data(as_text=True)
    # The same domain function as one comment's action: counters, page versions (what
    # cached reads are keyed by: a held comment marked as spam changes nothing public),
    # the audit log.
    after = [read(page) for page in pages]
    assert sum(a.json["page"]["comment_count"] for a in after) == public
    assert [a.headers["ETag"] != b for a, b in zip(after, before, strict=True)] == [new_version] * 2
    with app.app_context():
        entries = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == action))
        assert sorted(e.target for e in entries) == [f"comment {n}" for n in sorted(held)]


def test_bulk_actions_on_the_queue_need_the_csrf_token(app, owner, held):
    answer = owner.post("/admin/queue", data={"action": "approve", "ids": held})
    assert answer.status_code == 400
    assert status_of(app, *held) == ["pending"] * 3


# --- the dashboard -----------------------------------------------------------------------


def test_the_dashboards_boxes_belong_to_a_form_that_acts(app, owner, client, held):
    dashboard = owner.get("/admin/").get_data(as_text=True)
    form = re.search(r'<form id="bulk" method="post" action="([^"]+)"', dashboard)
    assert form and form.group(1) == "/admin/queue"
    assert all(f'value="{n}" id="pick-{n}" form="bulk"' in dashboard for n in held)
    answer = owner.post(
        form.group(1),
        data={
            "csrf_token": csrf_token(dashboard),
            "action": "approve",
            "ids": held[:2],
            "return_to": "/admin/",
        },
    )
    assert answer.status_code == 303 and answer.headers["Location"] == "/admin/"
    assert status_of(app, *held) == ["approved", "approved", "pending"]
    assert "2 comments: approve." in owner.get("/admin/").get_data(as_text=True)
    assert client.get("/api/v1/comments?page=/blog/other").json["page"]["comment_count"] == 1


def test_the_dashboards_action_needs_the_csrf_token(app, owner, held):
    answer = owner.post(
        "/admin/queue", data={"action": "spam", "ids": held, "return_to": "/admin/"}
    )
    assert answer.status_code == 400
    assert status_of(app, *held) == ["pending"] * 3


# --- why pending ---------------------------------------------------------------------------


def test_why_pending_is_shown_only_while_the_comment_waits(app, owner, held):
    first, second, _third = held
    page = queue(owner)
    assert page.count("Why pending:") == 3 and "holds every new comment" in page
    bulk(owner, page, "spam", [first])
    bulk(owner, page, "approve", [second])
    everything = queue(owner, status="all")
    assert everything.count("Why pending:") == 1  # the third, still waiting
    assert "Why pending:" not in queue(owner, status="spam")
    detail = owner.get(f"/admin/comments/{first}").get_data(as_text=True)
    assert "Why pending" not in detail
    bulk(owner, page, "hold", [second])  # back in the queue, by a moderator: no old reason
    assert status_of(app, second) == ["pending"]
    row = re.search(rf'<tr id="q{second}".*?</tr>', queue(owner), re.S)
    assert row and "Why pending" not in row.group(0)
    waiting = owner.get(f"/admin/comments/{_third}").get_data(as_text=True)
    assert "Why pending" in waiting


# --- the keyboard shortcuts' page --------------------------------------------------------------


def test_the_queue_lists_its_shortcuts_and_loads_its_script_from_its_own_origin(owner, held):
    answer = owner.get("/admin/queue")
    html = answer.get_data(as_text=True)
    keys = re.search(r'<section id="queue-keys".*?</section>', html, re.S)
    assert keys, "no help block"
    for key, what in (
        ("j", "Next"),
        ("x", "Check"),
        ("a", "Approve"),
        ("s", "Spam"),
        ("d", "Delete"),
    ):
        assert f"<kbd>{key}</kbd>" in keys.group(0) and what in keys.group(0)
    script = re.search(r'<script src="([^"]+)" defer></script>', html)
    assert script and script.group(1) == "/static/admin-queue.js"
    policy = answer.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert "<script>" not in html  # nothing inline
    served = owner.get(script.group(1))
    body = served.get_data(as_text=True)
    served.close()
    assert served.status_code == 200 and "javascript" in served.mimetype
    assert '"keydown"' in body and "requestSubmit" in body
    # Every row can take the focus (from the script only), and every action is a button.
    assert all(f'<tr id="q{n}" tabindex="-1" data-row>' in html for n in held)
    for action in ("approve", "spam", "delete"):
        assert f'<button type="submit" name="action" value="{action}">' in html
