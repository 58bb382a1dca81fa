"""``flask --app service rerender``: stored comments rendered again from their text, after a
change of the sanitiser, with the versions of the pages that changed renewed so cached
reads show the new HTML at once. Comments stored before bare URLs became links stand for
any comment rendered by older rules: their HTML is what the old rules made of their text."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from support import json_of

from service.comments.importing import Kept, prepare_import
from service.comments.posting import store_post
from service.comments.rerender import rerender
from service.data import Comment, Page, Site
from service.database import writing
from service.extensions import db
from service.rules.sanitize import render_comment
from service.web import cache

CHANGED = "/rerender/changed"
UNCHANGED = "/rerender/unchanged"
LINKED = "See https://a.example/x."
# What the sanitiser made of LINKED before bare URLs became links.
OLD_HTML = "<p>See https://a.example/x.</p>"
NEW_HTML = (
    '<p>See <a href="https://a.example/x" rel="nofollow ugc noopener">https://a.example/x</a>.</p>'
)


def _post(client: FlaskClient, page: str, text: str, site: str = "default") -> int:
    answer = client.post(
        "/api/v1/comments",
        query_string={"site": site, "page": page},
        json={"name": "Ada", "email": "ada@example.org", "text": text},
    )
    assert answer.status_code == 201, answer.get_data(as_text=True)
    return int(json_of(answer)["comment"]["id"])


def _store_html(app: Flask, comment_id: int, html: str) -> None:
    """The comment as an older sanitiser left it (no version change: it was always so)."""
    with app.app_context(), writing():
        db.session.execute(sa.update(Comment).where(Comment.id == comment_id).values(html=html))
        db.session.commit()


def _html(app: Flask, comment_id: int) -> str:
    with app.app_context():
        return db.session.get_one(Comment, comment_id).html


def _versions(app: Flask) -> dict[str, int]:
    with app.app_context():
        return {
            key: version for key, version in db.session.execute(sa.select(Page.key, Page.version))
        }


def _thread(client: FlaskClient, page: str, etag: str | None = None) -> Any:
    headers = {"If-None-Match": etag} if etag else {}
    return client.get("/api/v1/comments", query_string={"page": page}, headers=headers)


def _import(app: Flask, page: str, text: str) -> int:
    """A held comment imported from another system (the importers' domain call)."""
    with app.app_context(), writing():
        site = db.session.scalars(sa.select(Site).where(Site.key == "default")).one()
        prepared = prepare_import(
            site,
            page,
            name="Bo",
            email="",
            website=None,
            text=text,
            status="pending",
            kept=Kept(created=datetime(2024, 1, 2)),
            parent=None,
            address=None,
            title=None,
            url=None,
            service_origin="",
        )
        comment_id = store_post(prepared).comment.id
        db.session.commit()
        return comment_id


@pytest.fixture
def stored(app: Flask, client: FlaskClient) -> dict[str, int]:
    """Two comments on one page (one rendered by the old rules), one on another page that
    the change does not touch, and a held comment by the old rules on a third page."""
    ids = {
        "old": _post(client, CHANGED, LINKED),
        "plain": _post(client, CHANGED, "Plain words."),
        "other": _post(client, UNCHANGED, "See https://b.example/y, or not."),
    }
    _store_html(app, ids["old"], OLD_HTML)
    ids["held"] = _import(app, "/rerender/held", "Held www.example.org")
    _store_html(app, ids["held"], "<p>Held www.example.org</p>")
    return ids


def test_rerender_stores_the_new_html_and_cached_reads_show_it(
    app: Flask, client: FlaskClient, runner: FlaskCliRunner, stored: dict[str, int]
) -> None:
    first = _thread(client, CHANGED)
    other = _thread(client, UNCHANGED)
    assert [c["html"] for c in first.json["comments"]] == [OLD_HTML, "<p>Plain words.</p>"]
    hits = cache.stats(app)["hit"]
    assert _thread(client, CHANGED).json == first.json
    assert cache.stats(app)["hit"] == hits + 1  # the old HTML is in the shared cache
    before = _versions(app)

    result = runner.invoke(args=["rerender"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "4 comments read, 2 changed on 2 pages"

    assert _html(app, stored["old"]) == NEW_HTML == render_comment(LINKED)
    assert _html(app, stored["held"]) == render_comment("Held www.example.org")
    after = _versions(app)
    assert after[CHANGED] != before[CHANGED]
    assert after["/rerender/held"] != before["/rerender/held"]
    assert {k: v for k, v in after.items() if k not in (CHANGED, "/rerender/held")} == {
        k: v for k, v in before.items() if k not in (CHANGED, "/rerender/held")
    }

    # The page that changed is read anew, by ETag and by a plain read of the shared cache.
    assert _thread(client, CHANGED, first.headers["ETag"]).status_code == 200
    hits = cache.stats(app)["hit"]
    assert _thread(client, CHANGED).json["comments"][0]["html"] == NEW_HTML
    assert cache.stats(app)["hit"] == hits + 1
    # The other page's cached answer still holds: 304, and a cache hit.
    hits = cache.stats(app)["hit"]
    assert _thread(client, UNCHANGED, other.headers["ETag"]).status_code == 304
    assert _thread(client, UNCHANGED).json == other.json
    assert cache.stats(app)["hit"] == hits + 1

    again = runner.invoke(args=["rerender"])
    assert again.output.strip() == "4 comments read, 0 changed on 0 pages"
    assert _versions(app) == after


def test_dry_run_counts_and_writes_nothing(
    app: Flask, client: FlaskClient, runner: FlaskCliRunner, stored: dict[str, int]
) -> None:
    before = _versions(app)
    result = runner.invoke(args=["rerender", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "4 comments read, 2 would change on 2 pages"
    assert _html(app, stored["old"]) == OLD_HTML
    assert _versions(app) == before
    assert _thread(client, CHANGED).json["comments"][0]["html"] == OLD_HTML


def test_one_site_only_and_an_unknown_site_is_refused(
    app: Flask, client: FlaskClient, runner: FlaskCliRunner, stored: dict[str, int]
) -> None:
    with app.app_context(), writing():
        db.session.add(Site(key="other", name="Other"))
        db.session.commit()
    elsewhere = _post(client, "/there", "At www.there.example", site="other")
    _store_html(app, elsewhere, "<p>At www.there.example</p>")

    result = runner.invoke(args=["rerender", "--site", "other"])
    assert result.output.strip() == "1 comments read, 1 changed on 1 pages"
    assert _html(app, elsewhere) == render_comment("At www.there.example")
    assert _html(app, stored["old"]) == OLD_HTML  # the default site is left alone

    refused = runner.invoke(args=["rerender", "--site", "nowhere"])
    assert refused.exit_code != 0
    assert _html(app, stored["old"]) == OLD_HTML


def test_imported_comments_render_as_they_were_imported(app: Flask) -> None:
    text = "Imported: *see* www.example.org/a (and `https://b.example`).\n\n> quoted"
    comment_id = _import(app, "/rerender/imported", text)
    imported = _html(app, comment_id)
    assert 'href="http://www.example.org/a"' in imported
    with app.app_context():
        assert rerender().changed == 0
    _store_html(app, comment_id, f"<p>{text}</p>")
    with app.app_context():
        assert rerender().changed == 1
    assert _html(app, comment_id) == imported


def test_small_batches_see_every_comment_once(app: Flask, stored: dict[str, int]) -> None:
    with app.app_context():
        report = rerender(batch=1)
    assert (report.read, report.changed) == (4, 2)
    assert _html(app, stored["old"]) == NEW_HTML


def test_a_comment_edited_between_read_and_write_keeps_its_edit(
    app: Flask, stored: dict[str, int]
) -> None:
    """Only a row still as read is replaced: an edit that lands while its batch is being
    rendered keeps its own rendering."""
    with app.app_context():
        engine = db.engine
    edited: list[str] = []

    def edit_after_the_read(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if edited or "comment.html" not in statement or "ORDER BY comment.id" not in statement:
            return
        with engine.begin() as other:  # another connection: a moderator's edit
            other.execute(
                sa.update(Comment)
                .where(Comment.id == stored["old"])
                .values(text="Edited.", html="<p>Edited.</p>")
            )
        edited.append(statement)

    sa.event.listen(engine, "after_cursor_execute", edit_after_the_read)
    try:
        with app.app_context():
            report = rerender()
    finally:
        sa.event.remove(engine, "after_cursor_execute", edit_after_the_read)
    assert edited
    assert (report.read, report.changed) == (4, 1)  # the held comment only
    assert _html(app, stored["old"]) == "<p>Edited.</p>"
