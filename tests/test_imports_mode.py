"""Import mode of the write path: the source's statuses, dates, parents and likes are kept,
and nothing a new post goes through applies (policy, bans, blocklist, link limit, duplicate
check, edit tokens, mail, webhooks). And an import stopped half-way completes without
duplicates when run again."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from support import (
    begins_during,
    make_moderator,
    outbox_rows,
    set_site,
    trace_statements,
    transactions,
)

from service.comments import bans, blocklist
from service.data import Comment, ImportedComment, Moderator, Page
from service.database import writing
from service.extensions import db
from service.sites.lookup import ensure_default_site
from service.transfer import importer, jobs

AUTHOR = "prolific@example.org"
STATUSES = ("approved", "pending", "spam", "deleted")
WP_STATE = {"approved": "1", "pending": "0", "spam": "spam", "deleted": "trash"}
TEXT = "Same words again: [one](https://a.example/1) [two](https://b.example/2) buyme"


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {"PARLEY_WEBHOOK_ALLOW_PRIVATE": True, "RATELIMIT_ENABLED": True}


def wxr(comments: list[dict[str, Any]]) -> str:
    """A WordPress export of one post with these comments (id, status, parent, when)."""
    items = "".join(
        f"""<wp:comment><wp:comment_id>{c["id"]}</wp:comment_id>
<wp:comment_author><![CDATA[Prolific]]></wp:comment_author>
<wp:comment_author_email>{AUTHOR}</wp:comment_author_email>
<wp:comment_author_IP>203.0.113.9</wp:comment_author_IP>
<wp:comment_date_gmt>{c["when"]:%Y-%m-%d %H:%M:%S}</wp:comment_date_gmt>
<wp:comment_content><![CDATA[{TEXT.replace("[one](https://a.example/1)", '<a href="https://a.example/1">one</a>')}]]></wp:comment_content>
<wp:comment_approved>{WP_STATE[c["status"]]}</wp:comment_approved>
<wp:comment_type>comment</wp:comment_type>
<wp:comment_parent>{c.get("parent", 0)}</wp:comment_parent></wp:comment>
"""
        for c in comments
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:wp="http://wordpress.org/export/1.2/"><channel><title>T</title>
<item><title>Busy post</title><link>https://blog.example.org/busy/</link>{items}</item>
</channel></rss>"""


def fifty(tmp_path: Path) -> tuple[Path, list[dict[str, Any]]]:
    start = datetime(2022, 3, 1, 8, 0)
    comments = [
        {"id": n, "status": STATUSES[n % 4], "when": start + timedelta(minutes=n)}
        for n in range(1, 51)
    ]
    for c in comments[10:20]:
        c["parent"] = 1  # replies to the first (approved) comment
    path = tmp_path / "fifty.xml"
    path.write_text(wxr(comments))
    return path, comments


def guard_everything(app, runner) -> None:
    """Every rule a new post meets: hold all, links held, a blocked word, the author and
    their address banned, a webhook, moderators mailed."""
    set_site(app, moderation="all", link_limit=0, notify_moderators=True)
    make_moderator(app)
    with app.app_context(), writing():
        site = ensure_default_site()
        owner = db.session.scalar(sa.select(Moderator))
        blocklist.block(owner, site, "buyme")
        bans.ban_email(owner, site, AUTHOR, shadow=False, reason="flood")
        bans.add(site, "address", "203.0.113.0", label="", shadow=True, reason="", moderator=owner)
        db.session.commit()
    assert runner.invoke(args=["webhook", "add", "default", "http://127.0.0.1:9/h"]).exit_code == 0


def test_fifty_comments_by_one_author_keep_their_statuses_and_send_nothing(
    app, runner, tmp_path
) -> None:
    guard_everything(app, runner)
    path, comments = fifty(tmp_path)
    result = runner.invoke(args=["import", "wordpress", str(path), "--site", "default"])
    assert result.exit_code == 0, result.output
    assert "50 comments created" in result.output
    with app.app_context():
        rows = db.session.execute(
            sa.select(ImportedComment.source_id, Comment).join(
                Comment, Comment.id == ImportedComment.comment_id
            )
        ).all()
        by_id = {int(source_id): comment for source_id, comment in rows}
        assert len(by_id) == 50
        for c in comments:
            stored = by_id[c["id"]]
            assert stored.status == c["status"], c
            assert stored.created == c["when"]
            assert stored.pending_reason is None and not stored.shadow
            assert stored.edit_token_hash is None
            assert (stored.parent_id == by_id[1].id) == ("parent" in c)
        assert len({comment.text for comment in by_id.values()}) == 1  # no duplicate check
        assert by_id[1].html.count("<a ") == 2  # rendered and sanitised as a post's
        assert 'rel="nofollow ugc noopener"' in by_id[1].html
        page = db.session.scalar(sa.select(Page).where(Page.key == "/busy/"))
        assert page is not None
        assert page.comment_count == sum(c["status"] == "approved" for c in comments)
    assert outbox_rows(app) == []  # no mail to moderators or the author, no webhook call


def test_a_run_stopped_half_way_completes_without_duplicates(
    app, runner, tmp_path, monkeypatch
) -> None:
    path, comments = fifty(tmp_path)
    monkeypatch.setattr(importer, "BATCH", 7)
    batches = []

    def crash_on_the_fourth(count: int) -> None:
        batches.append(count)
        if len(batches) == 4:
            raise RuntimeError("the worker was stopped")

    with app.app_context():
        site = ensure_default_site()
        plan = importer.validate(site, "wordpress", path, [])
        db.session.commit()
        with pytest.raises(RuntimeError):
            importer.write(
                site,
                "wordpress",
                path,
                [],
                plan,
                service_origin=jobs.service_origin(),
                on_batch=crash_on_the_fourth,
            )
        db.session.rollback()
        kept = db.session.scalar(sa.select(sa.func.count()).select_from(Comment))
        assert kept == 21  # three batches of 7 committed; the fourth rolled back whole
    result = runner.invoke(args=["import", "wordpress", str(path), "--site", "default"])
    assert result.exit_code == 0, result.output
    assert "29 comments created; 21 were imported before." in result.output
    with app.app_context():
        texts = db.session.scalars(sa.select(ImportedComment.source_id)).all()
        assert sorted(int(t) for t in texts) == list(range(1, 51))
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Comment)) == 50
        page = db.session.scalar(sa.select(Page).where(Page.key == "/busy/"))
        assert page is not None
        assert page.comment_count == sum(c["status"] == "approved" for c in comments)
        replies = db.session.scalars(sa.select(Comment).where(Comment.parent_id.is_not(None)))
        assert len(list(replies)) == 10


@pytest.mark.sqlite_only("counts SQLite's BEGIN IMMEDIATE")
def test_comments_are_written_in_short_batches_after_a_read_only_validation(
    app, runner, tmp_path, monkeypatch
) -> None:
    path, _comments = fifty(tmp_path)
    monkeypatch.setattr(importer, "BATCH", 7)
    statements = trace_statements(app)
    args = ["import", "wordpress", str(path), "--site", "default"]
    _begins, during = begins_during(statements, lambda: runner.invoke(args=args))
    groups = transactions(during)
    writes = [run for begin, run in groups if begin == "BEGIN IMMEDIATE"]
    inserts = [sum(s.startswith("INSERT INTO COMMENT ") for s in run) for run in writes]
    assert sorted(n for n in inserts if n) == [1] + [7] * 7  # 50 comments, 7 at a time
    first_write = next(i for i, (begin, _) in enumerate(groups) if begin == "BEGIN IMMEDIATE")
    before = [s for _begin, run in groups[:first_write] for s in run]
    assert not any(s.startswith(("INSERT", "UPDATE", "DELETE")) for s in before)


def test_a_reply_to_a_comment_imported_earlier_hangs_under_it(app, runner, tmp_path) -> None:
    start = datetime(2022, 3, 1, 8, 0)
    first = tmp_path / "first.xml"
    first.write_text(wxr([{"id": 1, "status": "approved", "when": start}]))
    later = tmp_path / "later.xml"
    later.write_text(
        wxr(
            [
                {"id": 1, "status": "approved", "when": start},
                {"id": 2, "status": "approved", "when": start, "parent": 1},
            ]
        )
    )
    for path in (first, later):
        result = runner.invoke(args=["import", "wordpress", str(path), "--site", "default"])
        assert result.exit_code == 0, result.output
    with app.app_context():
        reply = db.session.scalar(sa.select(Comment).where(Comment.parent_id.is_not(None)))
        assert reply is not None and reply.depth == 1
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Comment)) == 2
