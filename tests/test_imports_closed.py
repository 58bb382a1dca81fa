"""Disqus threads closed to new comments (``<isClosed>true</isClosed>``): the page an import
creates for one is closed to comments too; a page that exists already keeps its setting,
and the report says so (docs/imports.md)."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import Result
from flask import Flask
from flask.testing import FlaskCliRunner

from service.data import Comment, Page
from service.extensions import db

EXPORT = """<?xml version="1.0" encoding="utf-8"?>
<disqus xmlns="http://disqus.com" xmlns:dsq="http://disqus.com/disqus-internals">
  <thread dsq:id="1">
    <link>https://blog.example/closed-post</link>
    <title>Closed post</title>
    <isClosed>true</isClosed>
    <isDeleted>false</isDeleted>
  </thread>
  <thread dsq:id="2">
    <link>https://blog.example/open-post</link>
    <title>Open post</title>
    <isClosed>false</isClosed>
    <isDeleted>false</isDeleted>
  </thread>
  <post dsq:id="11">
    <message><![CDATA[<p>Before it closed.</p>]]></message>
    <createdAt>2024-01-08T12:00:00Z</createdAt>
    <author><name>Ana</name></author>
    <thread dsq:id="1"/>
  </post>
  <post dsq:id="12">
    <message><![CDATA[<p>A reply, also before.</p>]]></message>
    <createdAt>2024-01-08T13:00:00Z</createdAt>
    <author><name>Ben</name></author>
    <thread dsq:id="1"/>
    <parent dsq:id="11"/>
  </post>
  <post dsq:id="21">
    <message><![CDATA[<p>Still open.</p>]]></message>
    <createdAt>2024-01-09T12:00:00Z</createdAt>
    <author><name>Cy</name></author>
    <thread dsq:id="2"/>
  </post>
</disqus>
"""
CLOSED_NEW = "New pages closed to comments, as in the file: 1."
WOULD_CLOSE = "New pages would be closed to comments, as in the file: 1."
LEFT_OPEN = "Pages closed in the file but open here, left open: 1."


@pytest.fixture
def export(tmp_path: Path) -> Path:
    path = tmp_path / "disqus.xml"
    path.write_text(EXPORT)
    return path


def run_import(runner: FlaskCliRunner, path: Path, *extra: str) -> Result:
    result = runner.invoke(args=["import", "disqus", str(path), "--site", "default", *extra])
    assert result.exit_code == 0, result.output
    return result


def pages(app: Flask) -> dict[str, tuple[bool, int]]:
    """The export's pages that exist: whether each is closed to comments, and how many
    comments it has."""
    with app.app_context():
        rows = db.session.execute(
            sa.select(Page.key, Page.comments_closed, sa.func.count(Comment.id))
            .outerjoin(Comment, Comment.page_id == Page.id)
            .where(Page.key.in_(["/closed-post", "/open-post"]))
            .group_by(Page.id)
        )
        return {key: (closed, count) for key, closed, count in rows}


def test_a_closed_thread_makes_a_closed_page_and_the_dry_run_only_says_so(
    app, runner, export, post
) -> None:
    dry = run_import(runner, export, "--dry-run")
    assert WOULD_CLOSE in dry.output and LEFT_OPEN not in dry.output
    assert pages(app) == {}  # nothing written, not even the page

    done = run_import(runner, export)
    assert CLOSED_NEW in done.output and LEFT_OPEN not in done.output
    # Both of the closed thread's comments are imported: closing is for new comments.
    assert pages(app) == {"/closed-post": (True, 2), "/open-post": (False, 1)}
    refused = post("/closed-post", text="Too late")
    assert refused.status_code == 403 and refused.json["error"]["code"] == "comments_closed"
    assert post("/open-post", text="Still welcome").status_code == 201


def test_an_existing_page_keeps_its_setting_and_the_report_says_so(
    app, runner, export, post
) -> None:
    assert post("/closed-post", text="Written here first").status_code == 201  # an open page
    dry = run_import(runner, export, "--dry-run")
    assert LEFT_OPEN in dry.output and "closed to comments, as in the file" not in dry.output

    done = run_import(runner, export)
    assert LEFT_OPEN in done.output
    assert pages(app) == {"/closed-post": (False, 3), "/open-post": (False, 1)}
    assert post("/closed-post", text="Open as the owner left it").status_code == 201


def test_a_page_reopened_after_the_import_stays_open_when_it_runs_again(
    app, runner, export
) -> None:
    run_import(runner, export)
    with app.app_context():
        page = db.session.scalars(sa.select(Page).where(Page.key == "/closed-post")).one()
        page.comments_closed = False  # a moderator reopened it
        db.session.commit()
    again = run_import(runner, export)
    assert "0 comments created; 3 were imported before." in again.output
    assert LEFT_OPEN in again.output and CLOSED_NEW not in again.output
    assert pages(app)["/closed-post"] == (False, 2)


def test_a_page_with_a_closed_and_an_open_thread_is_closed(app, runner, export) -> None:
    rewrite = "https://blog.example/closed-post=https://blog.example/open-post"
    done = run_import(runner, export, "--map-prefix", rewrite)
    assert CLOSED_NEW in done.output
    assert pages(app) == {"/open-post": (True, 3)}
