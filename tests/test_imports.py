"""Imports from other comment systems through `flask --app service import`: each format's
mapping (threads, statuses, authors, emails, dates, likes, addresses, pages) and its awkward
cases, from export files written by hand after each format's documentation and real exports
(tests/fixtures/imports)."""

from __future__ import annotations

import hashlib
import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import Result
from flask import Flask
from flask.testing import FlaskCliRunner

from service.data import Comment, ImportedComment, Page
from service.extensions import db
from service.rules import privacy

FIXTURES = Path(__file__).parent / "fixtures" / "imports"


def run_import(runner: FlaskCliRunner, source: str, path: Path, *extra: str) -> Result:
    return runner.invoke(args=["import", source, str(path), "--site", "default", *extra])


def isso_database(folder: Path) -> Path:
    """The Isso database built from its hand-written SQL."""
    path = folder / "comments.db"
    connection = sqlite3.connect(path)
    connection.executescript((FIXTURES / "isso.sql").read_text())
    connection.commit()
    connection.close()
    return path


def stored(app: Flask) -> dict[str, dict[str, Any]]:
    """Every imported comment by its source id: its row's fields, its page's key, its
    parent's source id and its email in clear."""
    with app.app_context():
        rows = db.session.execute(
            sa.select(ImportedComment.source_id, Comment, Page.key)
            .join(Comment, Comment.id == ImportedComment.comment_id)
            .join(Page, Page.id == Comment.page_id)
        ).all()
        source_of = {comment.id: source_id for source_id, comment, _key in rows}
        out = {}
        for source_id, comment, key in rows:
            out[source_id] = {
                "page": key,
                "parent": source_of.get(comment.parent_id) if comment.parent_id else None,
                "author": comment.author,
                "email": privacy.decrypt_email(comment.email_encrypted)
                if comment.email_encrypted
                else None,
                "email_index": comment.email_index,
                "website": comment.website,
                "text": comment.text,
                "html": comment.html,
                "status": comment.status,
                "created": comment.created,
                "edited": comment.edited,
                "likes": comment.likes,
                "address": comment.remote_addr,
                "edit_token_hash": comment.edit_token_hash,
                "depth": comment.depth,
            }
        return out


def page_counts(app: Flask) -> dict[str, int]:
    with app.app_context():
        rows = db.session.execute(sa.select(Page.key, Page.comment_count))
        return {key: count for key, count in rows}


def test_wordpress_keeps_threads_statuses_authors_and_dates(app, runner) -> None:
    result = run_import(runner, "wordpress", FIXTURES / "wordpress.xml")
    assert result.exit_code == 0, result.output
    found = stored(app)
    assert set(found) == {"101", "102", "103", "104", "105", "108", "201"}  # pingbacks: no
    assert "Skipped, pingbacks and trackbacks: 2." in result.output
    noor, kai = found["101"], found["102"]
    assert noor["page"] == "/anime/metallic-rouge/"  # the URL's path, as the embed keys it
    assert found["201"]["page"] == "/?page_id=2"  # a plain permalink keeps its query
    assert noor["parent"] is None and kai["parent"] == "101" and kai["depth"] == 1
    assert noor["created"] == datetime(2024, 1, 8, 11, 30)  # comment_date_gmt
    assert found["103"]["created"] == datetime(2024, 1, 10, 9, 0)  # no GMT date: local one
    assert {k: found[k]["status"] for k in ("101", "103", "104", "105")} == {
        "101": "approved",
        "103": "pending",
        "104": "spam",
        "105": "deleted",
    }
    assert noor["email"] == "noor@example.org"  # stored encrypted, found by its index
    with app.app_context():
        assert noor["email_index"] == privacy.email_index("noor@example.org")
    assert kai["email"] is None and kai["email_index"] is None  # no email in the source
    assert noor["website"] == "https://noor.example.org"
    assert noor["address"] == "203.0.113.0"  # anonymised as a post's
    assert kai["address"] == "2001:db8:85a3::"
    assert noor["text"].startswith("Loved the **soundtrack**. See [the OST](")  # HTML to markdown
    assert "<strong>soundtrack</strong>" in noor["html"]
    assert 'href="https://music.example.net/ost" rel="nofollow ugc noopener"' in noor["html"]
    assert kai["text"] == r"Agreed, 5 \* 3 times better than the manga\_version."
    assert "5 * 3" in kai["html"] and "<em>" not in kai["html"]
    assert all(row["edit_token_hash"] is None for row in found.values())


def test_a_reply_whose_parent_is_missing_is_kept_top_level_and_reported(app, runner) -> None:
    result = run_import(runner, "wordpress", FIXTURES / "wordpress.xml")
    assert "Replies kept top-level, their parent not in the file: 1." in result.output
    late = stored(app)["108"]
    assert late["parent"] is None and late["status"] == "approved" and late["depth"] == 0


def test_counters_count_the_approved_comments_of_each_page(app, runner) -> None:
    run_import(runner, "wordpress", FIXTURES / "wordpress.xml")
    counts = page_counts(app)
    assert counts["/anime/metallic-rouge/"] == 3  # 101, 102, 108
    assert counts["/?page_id=2"] == 1
    assert "/quiet/" not in counts  # a post without comments makes no page


def test_disqus_threads_by_dsq_id_replies_before_parents_and_deleted_threads(app, runner) -> None:
    result = run_import(runner, "disqus", FIXTURES / "disqus.xml")
    assert result.exit_code == 0, result.output
    found = stored(app)
    assert set(found) == {"9001", "9002", "9003", "9004", "9005"}
    assert "Skipped, posts on deleted threads: 1." in result.output
    assert found["9002"]["parent"] == "9001"  # the reply came first in the file
    assert found["9005"]["page"] == "/anime/frieren"  # a thread without <id>: its link's path
    assert found["9003"]["status"] == "spam" and found["9004"]["status"] == "deleted"
    assert found["9002"]["email"] is None and found["9002"]["author"] == "Guest Reader"
    assert found["9001"]["email"] == "ana@example.org"
    assert found["9001"]["address"] == "203.0.113.0"
    assert found["9002"]["text"] == "I *disagree*: the pacing drags."
    assert found["9001"]["created"] == datetime(2024, 1, 8, 12, 0)


def test_prefix_rewrites_land_threads_on_the_pages_readers_open(app, runner) -> None:
    result = run_import(
        runner,
        "disqus",
        FIXTURES / "disqus.xml",
        "--map-prefix",
        "https://www.glass.example/anime/=https://glass.example/shows/",
        "--map-prefix",
        "https://www.glass.example/=/never-used/",
    )
    assert result.exit_code == 0, result.output
    pages = {row["page"] for row in stored(app).values()}
    assert pages == {"/shows/metallic-rouge", "/shows/frieren"}


def test_isso_database_is_read_only_with_likes_edits_and_modes(app, runner, tmp_path) -> None:
    database = isso_database(tmp_path)
    before = hashlib.sha256(database.read_bytes()).hexdigest()
    result = run_import(runner, "isso", database)
    assert result.exit_code == 0, result.output
    assert hashlib.sha256(database.read_bytes()).hexdigest() == before
    assert not Path(f"{database}-wal").exists() and not Path(f"{database}-journal").exists()
    found = stored(app)
    assert found["1"]["likes"] == 3 and found["1"]["page"] == "/posts/hello-world/"
    assert found["2"]["edited"] == datetime(2024, 1, 8, 13, 0)
    assert found["3"]["status"] == "pending" and found["3"]["author"] == "Anonymous"
    assert found["4"]["status"] == "deleted"
    assert found["5"]["parent"] == "4"  # a reply to a deleted comment stays under it
    assert found["5"]["address"] == "2001:db8::"
    assert found["1"]["created"] == datetime(2024, 1, 8, 11, 0, 0, 250000)


def test_remark42_backup_with_scores_markdown_sources_and_hashed_addresses(app, runner) -> None:
    result = run_import(runner, "remark42", FIXTURES / "remark42.backup")
    assert result.exit_code == 0, result.output
    first, reply, gone = (stored(app)[f"6b4e8f2e-0c1f-4f63-9a53-1d7a5d1c2a0{n}"] for n in (1, 2, 3))
    assert first["text"].startswith("The **markdown** the reader wrote")  # orig, not text
    assert first["likes"] == 4 and reply["likes"] == 0  # a negative score is no like
    assert first["address"] is None  # Remark42 keeps a hash, not an address
    assert reply["address"] == "198.51.100.0"
    assert reply["text"] == "A reply without a markdown source."
    assert reply["parent"] == "6b4e8f2e-0c1f-4f63-9a53-1d7a5d1c2a01"
    assert reply["created"] == datetime(2023, 5, 1, 9, 30)  # +02:00 in the file
    assert gone["status"] == "deleted" and gone["page"] == "/posts/other/"


def test_commento_export_with_anonymous_authors_and_replies_before_parents(app, runner) -> None:
    result = run_import(runner, "commento", FIXTURES / "commento.json")
    assert result.exit_code == 0, result.output
    found = {key[-1]: row for key, row in stored(app).items()}
    assert found["1"]["author"] == "Anonymous" and found["1"]["email"] is None
    assert found["3"]["parent"].endswith("2")  # a second pass over the file
    assert found["2"]["likes"] == 1 and found["2"]["email"] == "user5276@example.org"
    assert found["2"]["website"] == "https://example.org/profile/257"
    assert found["3"]["website"] is None  # Commento's "undefined"
    assert found["4"]["page"] == "/blog/post/2"  # "blog/post/2" in the file
    assert (found["4"]["status"], found["5"]["status"]) == ("pending", "spam")


def test_comentario_v3_export_with_pages_and_commenters(app, runner) -> None:
    result = run_import(runner, "commento", FIXTURES / "comentario.json")
    assert result.exit_code == 0, result.output
    found = {key[-1]: row for key, row in stored(app).items()}
    assert {row["page"] for row in found.values()} == {"/docs/getting-started"}
    assert found["1"]["email"] == "eva@example.org" and found["1"]["likes"] == 5
    assert found["2"]["author"] == "A guest" and found["2"]["status"] == "pending"
    assert found["3"]["status"] == "spam"  # rejected by a moderator


def test_a_dry_run_reports_what_would_be_created_and_stores_nothing(app, runner) -> None:
    result = run_import(runner, "wordpress", FIXTURES / "wordpress.xml", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "Dry run: nothing was stored." in result.output
    assert (
        "7 comments (4 approved, 1 deleted, 1 pending, 1 spam) on 2 pages (2 of them new)."
        in result.output
    )
    assert "7 comments would be created; 0 were imported before." in result.output
    assert stored(app) == {}
    assert "/anime/metallic-rouge/" not in page_counts(app)


def test_importing_the_same_file_twice_adds_nothing(app, runner) -> None:
    assert run_import(runner, "wordpress", FIXTURES / "wordpress.xml").exit_code == 0
    first = stored(app)
    again = run_import(runner, "wordpress", FIXTURES / "wordpress.xml")
    assert again.exit_code == 0, again.output
    assert "0 comments created; 7 were imported before." in again.output
    assert stored(app) == first
    assert page_counts(app)["/anime/metallic-rouge/"] == 3
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Comment)) == 7


def test_a_format_needs_a_site(runner) -> None:
    result = runner.invoke(args=["import", "wordpress", str(FIXTURES / "wordpress.xml")])
    assert result.exit_code == 2 and "--site KEY" in result.output
    unknown = run_import(runner, "wordpress", FIXTURES / "wordpress.xml", "--site", "nope")
    assert unknown.exit_code == 1 and "There is no site 'nope'" in unknown.output


@pytest.mark.parametrize("bad", ["no-equals-sign", "=/empty-old"])
def test_a_prefix_rewrite_must_be_old_equals_new(app, runner, bad) -> None:
    result = run_import(runner, "wordpress", FIXTURES / "wordpress.xml", "--map-prefix", bad)
    assert result.exit_code == 1 and "A prefix rewrite is OLD=NEW" in result.output
    assert stored(app) == {}
