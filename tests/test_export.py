"""Parley's own export and its restore (docs/export.md): every table and column goes out,
export → restore → export gives the same document but for its time, and a restore refuses
what it cannot take (another data key, a database with data, a broken document) writing
nothing."""

from __future__ import annotations

import json
import re
import stat
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from support import (
    EMAIL,
    OWNER,
    admin_post,
    base_config,
    json_of,
    log_in,
    make_moderator,
    visitor_key,
)

from service import create_app
from service.comments import bans, blocklist, moderation
from service.config import new_data_key
from service.data import (
    AuditEntry,
    Comment,
    ImportedComment,
    Moderator,
    Page,
    PrivacyRequest,
    Site,
    VisitorProof,
    Webhook,
)
from service.database import writing
from service.extensions import db
from service.rules import privacy
from service.rules.errors import DomainError, ValidationError
from service.sites import settings, tokens
from service.transfer.archive import prepare_export, restore_file
from service.transfer.archive_schema import SECTIONS, TRANSIENT

ROOT = Path(__file__).resolve().parent.parent
OTHER_EMAIL = "grace.hopper@example.org"
MODERATOR = "mod@example.org"


# --- a database with every kind of row ------------------------------------------------------


def _comment(client: FlaskClient, page: str, site: str = "default", **fields: Any) -> int:
    headers = fields.pop("headers", {})
    body = {"name": "Ada", "email": EMAIL, "text": "A *fine* article.", **fields}
    response = client.post(
        "/api/v1/comments", query_string={"site": site, "page": page}, json=body, headers=headers
    )
    assert response.status_code in (200, 201), response.get_data(as_text=True)
    return int(json_of(response)["comment"]["id"])


def fill(app: Flask, client: FlaskClient) -> None:
    """Two sites with comments and replies in every status, reviews, votes, likes,
    editorial scores, bans, the blocklist, webhooks, tokens, subscriptions, accounts with
    roles, imported comments, privacy requests and audit entries."""
    with app.app_context(), writing():
        settings.create_site(
            None,
            "second",
            settings.SiteChanges(name="Second blog", origins=["https://second.example"]),
        )
        db.session.commit()
    make_moderator(app, OWNER, {"default": "owner", "second": "owner"})
    make_moderator(app, MODERATOR, {"second": "moderator"})
    first = _comment(client, "/article", notify=True, website="https://ada.example")
    reply = _comment(client, "/article", parent=first, name="Grace", email=OTHER_EMAIL)
    _comment(client, "/article", parent=reply, text="A reply to a reply.")
    held, spam, gone = (_comment(client, "/article", text=f"Text {n}.") for n in range(3))
    reader, voter = visitor_key(client), visitor_key(client)
    review = _comment(client, "/film", rating=4, headers={"X-Parley-Visitor": reader})
    vote = client.put(
        "/api/v1/ratings",
        query_string={"page": "/film"},
        json={"value": 2},
        headers={"X-Parley-Visitor": voter},
    )
    assert vote.status_code == 200
    like = client.put(f"/api/v1/comments/{first}/like", headers={"X-Parley-Visitor": voter})
    assert like.status_code == 200
    report = client.post(
        f"/api/v1/comments/{first}/report",
        json={"reason": "Off topic."},
        headers={"X-Parley-Visitor": voter},
    )
    assert report.status_code == 202
    elsewhere = _comment(client, "/post", site="second", name="Linus", email=OTHER_EMAIL)
    removed = _comment(client, "/article", text="Removed for good.")
    with app.app_context(), writing():
        owner = db.session.scalars(sa.select(Moderator).where(Moderator.email == OWNER)).one()
        for ident, action in (
            (held, "hold"),
            (spam, "spam"),
            (gone, "delete"),
            (removed, "delete"),
        ):
            moderation.apply(owner, [ident], action, None)
        # Removed, not only marked deleted (as an erasure may): its id is never given again.
        db.session.execute(sa.delete(Comment).where(Comment.id == removed))
        default, second = (
            db.session.scalars(sa.select(Site).where(Site.key == key)).one()
            for key in ("default", "second")
        )
        film = db.session.scalars(sa.select(Page).where(Page.key == "/film")).one()
        settings.set_score(owner, film, "IMDB", 5.9, 10, "https://imdb.example/film")
        spammer = db.session.get_one(Comment, spam)
        bans.ban_author(owner, spammer, ["email", "visitor"], shadow=True, reason="spam")
        bans.ban_email(None, second, "troll@example.org", shadow=False, reason="abuse")
        blocklist.block(owner, default, "casino")
        tokens.issue(owner, second, "newsletter server")
        secret = privacy.encrypt_email("a webhook secret")
        db.session.add(Webhook(site_id=second.id, url="https://hooks.example/in", secret=secret))
        index = privacy.email_index(EMAIL)
        db.session.add(VisitorProof(email_index=index, visitor="ab" * 32))
        db.session.add(
            ImportedComment(
                site_id=second.id, source="disqus", source_id="d-1", comment_id=elsewhere
            )
        )
        db.session.add(PrivacyRequest(site_id=default.id, email_index=index, kind="export"))
        db.session.add(AuditEntry(site_id=None, action="system", target="", detail=""))
        db.session.commit()
    assert review and reply


def export_text(app: Flask, site: str | None = None, clear: bool = False) -> str:
    with app.app_context():
        return "".join(prepare_export(site, clear_emails=clear).chunks())


def wipe(app: Flask) -> None:
    """Every row of every table gone, and the ids counted from 1 again: the new, empty
    database a restore goes into."""
    with app.app_context(), writing():
        for table in reversed(db.metadata.sorted_tables):
            db.session.execute(table.delete())
            if db.engine.dialect.name == "postgresql":
                sequence = sa.func.pg_get_serial_sequence(table.name, "id")
                db.session.execute(sa.select(sa.func.setval(sequence, 1, False)))
        if db.engine.dialect.name == "sqlite":
            db.session.execute(sa.text("DELETE FROM sqlite_sequence"))
        db.session.commit()


def restore(app: Flask, path: Path, dry_run: bool = False) -> dict[str, int]:
    with app.app_context():
        return restore_file(path, dry_run=dry_run)


def without_time(text: str) -> str:
    return re.sub(r'"exported_at": "[^"]+"', '"exported_at": ""', text, count=1)


@pytest.fixture
def filled(app: Flask, client: FlaskClient) -> Flask:
    fill(app, client)
    return app


@pytest.fixture
def exported(filled: Flask, tmp_path: Path) -> Path:
    path = tmp_path / "export.json"
    path.write_text(export_text(filled))
    return path


# --- the round trip -------------------------------------------------------------------------


def test_export_restore_export_is_the_same_document_but_for_its_time(
    filled: Flask, exported: Path, client: FlaskClient
) -> None:
    first = exported.read_text()
    document = json.loads(first)
    assert all(document[section.name] for section in SECTIONS), "a section has no rows"
    statuses = {row["status"] for row in document["comments"]}
    assert statuses == {"approved", "pending", "spam", "deleted"}
    assert {row["key"] for row in document["sites"]} == {"default", "second"}
    wipe(filled)

    counts = restore(filled, exported)

    assert counts == {section.name: len(document[section.name]) for section in SECTIONS}
    again = export_text(filled)
    assert json.loads(again)["exported_at"] != "" and without_time(again) == without_time(first)
    # New rows get new ids, past the restored ones and past the comment removed before the
    # export (the database counted its ids from 1 again: wipe).
    counter = document["id_counters"]["comments"]
    assert counter > max(row["id"] for row in document["comments"])
    assert _comment(client, "/after", text="After the restore.") == counter + 1


def test_a_restored_thread_reads_as_before(filled: Flask, exported: Path) -> None:
    reader = filled.test_client()
    before = reader.get("/api/v1/comments", query_string={"page": "/article"}).get_json()
    wipe(filled)
    restore(filled, exported)
    after = reader.get("/api/v1/comments", query_string={"page": "/article"}).get_json()
    assert after == before and before["page"]["comment_count"] == 3


def test_clear_emails_go_out_readable_and_come_back_encrypted(
    filled: Flask, tmp_path: Path
) -> None:
    encrypted, clear = export_text(filled), export_text(filled, clear=True)
    assert EMAIL not in encrypted and OTHER_EMAIL not in encrypted
    document = json.loads(clear)
    assert document["emails"] == "clear"
    assert {row["email"] for row in document["comments"]} >= {EMAIL, OTHER_EMAIL}
    assert "troll@example.org" in {row["email"] for row in document["bans"]}
    assert all("email_encrypted" not in row for row in document["subscriptions"])
    path = tmp_path / "clear.json"
    path.write_text(clear)
    wipe(filled)

    restore(filled, path)

    assert without_time(export_text(filled, clear=True)) == without_time(clear)
    with filled.app_context():
        stored = db.session.scalars(sa.select(Comment.email_encrypted).limit(1)).one()
        assert stored is not None and EMAIL not in stored
        assert privacy.decrypt_email(stored) == EMAIL


# --- nothing left out -------------------------------------------------------------------------


def test_every_table_is_exported_or_left_out_on_purpose(app: Flask) -> None:
    with app.app_context():
        tables = set(sa.inspect(db.engine).get_table_names())
    exported = {section.table.name for section in SECTIONS}
    assert exported.isdisjoint(TRANSIENT)
    assert sorted(tables - exported - set(TRANSIENT)) == []
    assert set(db.metadata.tables) <= exported | set(TRANSIENT)


def test_every_column_of_every_exported_table_is_in_the_export(exported: Path, app: Flask) -> None:
    document = json.loads(exported.read_text())
    with app.app_context():
        inspector = sa.inspect(db.engine)
        for section in SECTIONS:
            columns = {column["name"] for column in inspector.get_columns(section.table.name)}
            assert set(section.table.columns.keys()) == columns, section.name
            for row in document[section.name]:
                assert set(row) == columns, section.name


def test_the_documented_schema_names_every_section_column_and_left_out_table() -> None:
    text = (ROOT / "docs" / "export.md").read_text()
    for section in SECTIONS:
        match = re.search(rf"^### `{section.name}`.*?(?=^#)", text, re.MULTILINE | re.DOTALL)
        assert match, f"docs/export.md has no section `{section.name}`"
        for column in section.table.columns:
            assert f"`{column.name}`" in match.group(0), f"{section.name}.{column.name}"
    for table in TRANSIENT:
        assert f"`{table}`" in text


def test_sections_come_after_every_section_they_link_to() -> None:
    order = [section.table for section in SECTIONS]
    for index, table in enumerate(order):
        for key in table.foreign_keys:
            assert key.column.table in order[: index + 1], f"{table.name} -> {key.column.table}"


# --- one site ---------------------------------------------------------------------------------


def test_a_site_export_holds_that_site_alone_and_restores(filled: Flask, tmp_path: Path) -> None:
    document = json.loads(export_text(filled, site="second"))
    assert document["site"] == "second"
    (site,) = document["sites"]
    assert site["origins"] == ["https://second.example"]
    assert {row["site_id"] for row in document["pages"]} == {site["id"]}
    assert [row["author"] for row in document["comments"]] == ["Linus"]
    assert {row["role"] for row in document["roles"]} == {"owner", "moderator"}
    assert {row["email"] for row in document["moderators"]} == {OWNER, MODERATOR}
    assert len(document["subscriptions"]) == 0 and len(document["likes"]) == 0
    assert {row["kind"] for row in document["bans"]} == {"email"}
    path = tmp_path / "second.json"
    path.write_text(json.dumps(document))
    wipe(filled)

    counts = restore(filled, path)

    assert counts["sites"] == 1 and counts["comments"] == 1 and counts["api_tokens"] == 1
    assert filled.test_client().get("/widget/comments?site=second&page=/post").status_code == 200


def test_an_unknown_site_is_refused(app: Flask) -> None:
    with app.app_context(), pytest.raises(DomainError) as refused:
        prepare_export("nowhere", clear_emails=False)
    assert refused.value.code == "site_not_found"


# --- refusals ---------------------------------------------------------------------------------


def test_a_database_with_data_is_refused_and_kept(filled: Flask, exported: Path) -> None:
    before = export_text(filled)
    for dry_run in (True, False):
        with pytest.raises(DomainError) as refused:
            restore(filled, exported, dry_run=dry_run)
        assert refused.value.code == "conflict"
        assert "empty database" in refused.value.message and "sites: 2" in refused.value.message
    assert without_time(export_text(filled)) == without_time(before)


def test_a_dry_run_counts_and_writes_nothing(filled: Flask, exported: Path) -> None:
    wipe(filled)
    counts = restore(filled, exported, dry_run=True)
    assert counts["comments"] == 8 and counts["sites"] == 2
    with filled.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Site)) == 0


@pytest.mark.parametrize("same_id", [False, True])
def test_another_data_key_is_refused_naming_both_ids(
    filled: Flask, exported: Path, tmp_path: Path, same_id: bool
) -> None:
    ours = json.loads(exported.read_text())["data_key_id"]
    other = new_data_key()
    if same_id:
        other = ours + ":" + other.partition(":")[2]
    wipe(filled)
    elsewhere = create_app(
        base_config(
            tmp_path,
            SQLALCHEMY_DATABASE_URI=filled.config["SQLALCHEMY_DATABASE_URI"],
            PARLEY_DATA_KEY=other,
        )
    )
    with pytest.raises(DomainError) as refused:
        restore(elsewhere, exported)
    assert refused.value.code == "conflict"
    assert repr(ours) in refused.value.message
    assert repr(other.partition(":")[0]) in refused.value.message
    with filled.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Site)) == 0
        elsewhere_engine = elsewhere.extensions["sqlalchemy"]
    with elsewhere.app_context():
        elsewhere_engine.engine.dispose()


BROKEN = {
    "a status it does not know": (
        lambda d: d["comments"][0].update(status="hidden"),
        "comments[0].status",
    ),
    "a reply whose parent is missing": (
        lambda d: d["comments"][1].update(parent_id=999_999),
        "comments[1].parent_id",
    ),
    "a rating of a comment that is not there": (
        lambda d: d["ratings"][0].update(comment_id=999_999),
        "ratings[0].comment_id",
    ),
    "two comments with one id": (
        lambda d: d["comments"][2].update(id=d["comments"][0]["id"]),
        "comments[2]",
    ),
    "replies that answer each other": (
        lambda d: d["comments"][0].update(parent_id=d["comments"][1]["id"]),
        "comments",
    ),
    "a column it does not know": (lambda d: d["pages"][0].update(secret=1), "pages[0].secret"),
    "a column missing": (lambda d: d["pages"][0].pop("key"), "pages[0].key"),
    "a name too long": (lambda d: d["comments"][0].update(author="x" * 500), "comments[0].author"),
    "a time that is not a time": (
        lambda d: d["comments"][0].update(created=12),
        "comments[0].created",
    ),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_a_broken_document_is_refused_naming_the_row_and_nothing_is_written(
    filled: Flask, exported: Path, case: str
) -> None:
    change, where = BROKEN[case]
    document = json.loads(exported.read_text())
    change(document)
    exported.write_text(json.dumps(document))
    wipe(filled)
    with pytest.raises(ValidationError) as refused:
        restore(filled, exported)
    assert where in refused.value.fields, refused.value.fields
    with filled.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Site)) == 0


@pytest.mark.parametrize(
    ("content", "field"),
    [
        ("not json", "file"),
        ('{"format": "isso"}', "file"),
        ('{"format": "parley-export", "version": 2}', "version"),
        ('{"format": "parley-export", "version": 1, "sites": NaN}', "file"),
    ],
)
def test_what_is_not_an_export_is_refused(
    app: Flask, tmp_path: Path, content: str, field: str
) -> None:
    path = tmp_path / "file.json"
    path.write_text(content)
    with pytest.raises(ValidationError) as refused:
        restore(app, path)
    assert field in refused.value.fields


# --- the command line -------------------------------------------------------------------------


def test_the_export_command_writes_an_owner_only_file(filled: Flask, tmp_path: Path) -> None:
    target = tmp_path / "out" / "parley.json"
    target.parent.mkdir()
    result = filled.test_cli_runner().invoke(
        args=["export", "--site", "default", "--output", str(target)]
    )
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert json.loads(target.read_text())["site"] == "default"
    assert "comments: 7" in result.output
    assert sorted(p.name for p in target.parent.iterdir()) == ["parley.json"]


def test_the_export_command_writes_to_standard_output(filled: Flask) -> None:
    result = filled.test_cli_runner().invoke(args=["export", "--clear-emails"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["emails"] == "clear" and len(document["sites"]) == 2


def test_the_export_command_refuses_an_unknown_site(app: Flask, tmp_path: Path) -> None:
    result = app.test_cli_runner().invoke(
        args=["export", "--site", "nowhere", "--output", str(tmp_path / "x.json")]
    )
    assert result.exit_code != 0 and "no site 'nowhere'" in result.output
    assert not (tmp_path / "x.json").exists()


# --- the admin views --------------------------------------------------------------------------


def test_an_owner_downloads_an_export_of_a_site_they_own(filled: Flask) -> None:
    client = filled.test_client()
    assert log_in(client).status_code == 303
    page = client.get("/admin/export")
    assert page.status_code == 200 and "second" in page.get_data(as_text=True)

    answer = admin_post(client, "/admin/export", site="second", clear_emails="y")

    assert answer.status_code == 200
    assert "attachment" in answer.headers["Content-Disposition"]
    assert answer.headers["Cache-Control"] == "no-store"
    document = json.loads(answer.get_data(as_text=True))
    assert document["site"] == "second" and document["emails"] == "clear"
    assert document["comments"][0]["email"] == OTHER_EMAIL
    with filled.app_context():
        entry = db.session.scalars(sa.select(AuditEntry).order_by(AuditEntry.id.desc())).first()
        assert entry is not None
        assert (entry.action, entry.target, entry.detail) == (
            "export",
            "site second",
            "emails in clear",
        )


def test_an_owner_of_every_site_downloads_them_all(filled: Flask) -> None:
    client = filled.test_client()
    log_in(client)
    answer = admin_post(client, "/admin/export", site="")
    document = json.loads(answer.get_data(as_text=True))
    assert answer.status_code == 200 and document["site"] is None
    assert len(document["sites"]) == 2 and document["emails"] == "encrypted"


def test_a_moderator_who_owns_nothing_gets_no_export(filled: Flask) -> None:
    client = filled.test_client()
    assert log_in(client, MODERATOR).status_code == 303
    page = client.get("/admin/export")
    assert page.status_code == 200 and "own no site" in page.get_data(as_text=True)
    refused = admin_post(client, "/admin/export", site="second")
    assert refused.status_code == 403
    assert "parley-export" not in refused.get_data(as_text=True)


def test_an_owner_of_one_site_cannot_export_every_site(app: Flask, client: FlaskClient) -> None:
    make_moderator(app)
    with app.app_context(), writing():
        settings.create_site(None, "third", settings.SiteChanges(name="Third"))
        db.session.commit()
    log_in(client)
    refused = admin_post(client, "/admin/export", site="")
    assert refused.status_code == 403
    assert admin_post(client, "/admin/export", site="third").status_code == 404


# --- restoring from the command line ----------------------------------------------------------


def test_import_parley_restores_an_export_from_the_command_line(
    filled: Flask, exported: Path
) -> None:
    wipe(filled)
    runner = filled.test_cli_runner()

    tried = runner.invoke(args=["import", "parley", str(exported), "--dry-run"])
    done = runner.invoke(args=["import", "parley", str(exported)])

    assert tried.exit_code == 0 and done.exit_code == 0, tried.output + done.output
    assert "8 comments" in tried.output and "8 comments" in done.output
    assert without_time(export_text(filled)) == without_time(exported.read_text())


def test_import_parley_says_why_it_refuses_and_writes_nothing(
    filled: Flask, exported: Path
) -> None:
    runner = filled.test_cli_runner()
    full = runner.invoke(args=["import", "parley", str(exported)])
    assert full.exit_code != 0 and "empty database" in full.output
    document = json.loads(exported.read_text())
    document["comments"][1]["parent_id"] = 999_999
    exported.write_text(json.dumps(document))
    wipe(filled)
    broken = runner.invoke(args=["import", "parley", str(exported)])
    assert broken.exit_code != 0 and "comments[1].parent_id" in broken.output
    with filled.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Site)) == 0
