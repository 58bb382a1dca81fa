"""Migrations and the SQLite connection set-up.

- The migrations build exactly the schema the models describe, on SQLite and
  on PostgreSQL, from an empty database; they go down to nothing and up again.
- An upgrade never loses a row: every revision below head is entered with
  rows written at head, and upgrading again keeps every one of them.
- Every SQLite connection runs with foreign keys, WAL and a busy timeout, also
  after migrations ran on it; reads begin deferred transactions and write
  requests begin ``BEGIN IMMEDIATE`` (statements traced from the driver).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from backends import require_postgres
from flask import Flask, current_app
from flask.testing import FlaskClient
from flask_migrate import downgrade, upgrade
from servers import postgres_database
from sqlalchemy.exc import IntegrityError
from support import (
    base_config,
    begins_during,
    form_token,
    json_of,
    trace_statements,
    transactions,
)

import service.data as models
from service import create_app
from service.database import BUSY_TIMEOUT_MS, writing
from service.extensions import db


def make_app(instance: Path, url: str | None = None) -> Flask:
    """An app on an EMPTY database (not conftest's migrated copy)."""
    url = url or f"sqlite:///{instance / 'empty.sqlite'}"
    return create_app(base_config(instance, SQLALCHEMY_DATABASE_URI=url))


@pytest.fixture
def empty_app(tmp_path: Path) -> Iterator[Flask]:
    app = make_app(tmp_path)
    yield app
    with app.app_context():
        db.engine.dispose()


def schema_differences() -> list[Any]:
    """What autogenerate would write: the models against the live database."""
    assert models.Comment.__table__.metadata is db.metadata  # every model is registered
    with db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "compare_server_default": True}
        )
        return list(compare_metadata(context, db.metadata))


def table_names() -> set[str]:
    with db.engine.connect() as connection:
        return set(sa.inspect(connection).get_table_names())


def revisions() -> list[str]:
    """Every revision from base to head, in order (a single line of history)."""
    config = current_app.extensions["migrate"].migrate.get_config()
    script = ScriptDirectory.from_config(config)
    assert len(script.get_heads()) == 1, f"several heads: {script.get_heads()}"
    return [r.revision for r in reversed(list(script.walk_revisions()))]


def current_revision() -> str | None:
    with db.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def check_migrations_match_models() -> None:
    upgrade()
    assert current_revision() == revisions()[-1]
    assert schema_differences() == []

    downgrade(revision="base")
    assert current_revision() is None
    assert table_names() <= {"alembic_version"}, "downgrade to base left tables behind"

    upgrade()
    assert current_revision() == revisions()[-1]
    assert schema_differences() == []


def test_sqlite_migrations_build_exactly_the_models(empty_app: Flask) -> None:
    with empty_app.app_context():
        assert table_names() == set()
        check_migrations_match_models()


@pytest.mark.postgres
@pytest.mark.slow
def test_postgres_migrations_build_exactly_the_models(tmp_path: Path) -> None:
    require_postgres()
    with postgres_database("parley_migrate") as url:
        app = make_app(tmp_path, url)
        try:
            with app.app_context():
                assert table_names() == set()
                check_migrations_match_models()
        finally:
            with app.app_context():
                db.engine.dispose()


def test_flask_init_is_idempotent_and_keeps_rows(empty_app: Flask) -> None:
    runner = empty_app.test_cli_runner()
    first = runner.invoke(args=["init"])
    assert first.exit_code == 0, first.output
    client = empty_app.test_client()
    posted = [post(client, f"row {i}") for i in range(3)]
    again = runner.invoke(args=["init"])
    assert again.exit_code == 0, again.output
    listed = json_of(client.get("/api/v1/comments?page=/rows"))["comments"]
    assert [c["id"] for c in listed] == [p["comment"]["id"] for p in posted]
    with empty_app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(models.Site)) == 1


# --- an upgrade never loses a row -------------------------------------------------------


def post(client: FlaskClient, text: str, **fields: Any) -> dict[str, Any]:
    response = client.post(
        "/api/v1/comments?site=default&page=/rows",
        json={"name": "Row", "email": "row@example.org", "text": text, **fields},
    )
    assert response.status_code == 201, response.json
    return json_of(response)


def fill_at_head(client: FlaskClient) -> None:
    """Rows of every kind the API writes: comments, replies, edits, a placeholder."""
    top = post(client, "top")
    reply = post(client, "reply", parent=top["comment"]["id"])
    post(client, "nested", parent=reply["comment"]["id"])
    edited = post(client, "to edit", website="example.org")
    client.patch(
        f"/api/v1/comments/{edited['comment']['id']}",
        json={"text": "edited"},
        headers={"X-Parley-Edit-Token": edited["edit_token"]},
    )
    client.delete(
        f"/api/v1/comments/{top['comment']['id']}",
        headers={"X-Parley-Edit-Token": top["edit_token"]},
    )
    # Votes, where the service has them: rows in the tables later migrations add.
    issued = client.post("/api/v1/visitors")
    if issued.status_code == 201:
        visitor = {"X-Parley-Visitor": json_of(issued)["visitor"]}
        client.put("/api/v1/ratings?page=/rows", json={"value": 4}, headers=visitor)
        client.put(f"/api/v1/comments/{reply['comment']['id']}/like", headers=visitor)


def snapshot() -> dict[str, set[tuple[Any, ...]]]:
    """Every row of every table, by primary key."""
    rows: dict[str, set[tuple[Any, ...]]] = {}
    with db.engine.connect() as connection:
        inspector = sa.inspect(connection)
        for name in inspector.get_table_names():
            if name == "alembic_version":
                continue
            keys = inspector.get_pk_constraint(name)["constrained_columns"]
            table = sa.table(name, *(sa.column(k) for k in keys))
            rows[name] = {tuple(r) for r in connection.execute(sa.select(table))}
    return rows


def missing(expected: dict[str, set[Any]], found: dict[str, set[Any]]) -> dict[str, int]:
    """How many rows of each table in ``found`` are gone compared with ``expected``."""
    gone = {t: len(expected.get(t, set()) - rows) for t, rows in found.items()}
    return {t: n for t, n in gone.items() if n}


def test_an_upgrade_never_loses_a_row(empty_app: Flask) -> None:
    """From every revision below head, with rows written at head, upgrading keeps them.

    The way down must keep the rows of the tables it keeps too: on SQLite a
    batch migration rebuilds a table, and with foreign keys on, dropping the
    old table would cascade into its children.
    """
    runner = empty_app.test_cli_runner()
    assert runner.invoke(args=["init"]).exit_code == 0
    client = empty_app.test_client()
    with empty_app.app_context():
        history = revisions()
    below_head = history[:-1]  # base itself holds no tables, so no rows to keep
    if not below_head:
        pytest.skip("only one migration: there is no upgrade that could lose a row yet")
    for revision in reversed(below_head):
        fill_at_head(client)  # fresh rows at head for every revision down
        with empty_app.app_context():
            at_head = snapshot()
            downgrade(revision=revision)
            before = snapshot()
            upgrade()
            after = snapshot()
        lost_down = missing(at_head, before)
        assert not lost_down, f"downgrade to {revision} lost rows of kept tables: {lost_down}"
        assert before["comment"] and before["page"], "no rows to carry through the upgrade"
        dropped = set(before) - set(after)
        assert not dropped, f"upgrade from {revision} dropped tables {dropped}"
        lost_up = missing(before, after)
        assert not lost_up, f"upgrade from {revision} lost rows: {lost_up}"
        assert client.get("/api/v1/comments?page=/rows").status_code == 200


def test_upgrade_from_head_keeps_rows_of_every_table(app: Flask, client: FlaskClient) -> None:
    """Re-running the migrations on a database in use changes nothing."""
    fill_at_head(client)
    with app.app_context():
        before = snapshot()
        upgrade()
        assert snapshot() == before
        assert sum(len(rows) for rows in before.values()) >= 5


# --- the SQLite connection ----------------------------------------------------------------


def pragma(name: str) -> Any:
    return db.session.execute(sa.text(f"PRAGMA {name}")).scalar()


@pytest.mark.sqlite_only("SQLite's pragmas on each connection")
def test_sqlite_connections_have_foreign_keys_wal_and_a_busy_timeout(app: Flask) -> None:
    with app.app_context():
        assert pragma("foreign_keys") == 1
        assert pragma("journal_mode") == "wal"
        assert pragma("busy_timeout") == BUSY_TIMEOUT_MS >= 1000
        assert pragma("synchronous") == 1  # NORMAL: safe with WAL
        db.session.add(models.Page(site_id=999_999, key="/orphan"))
        with pytest.raises(IntegrityError, match="FOREIGN KEY"):
            db.session.flush()
        db.session.rollback()


def test_foreign_keys_are_on_again_after_migrations(empty_app: Flask) -> None:
    """env.py turns them off for batch table rebuilds; the pooled connection gets them back."""
    with empty_app.app_context():
        upgrade()
        assert pragma("foreign_keys") == 1
        db.session.rollback()
        with db.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


@pytest.fixture
def traced(app: Flask) -> list[str]:
    return trace_statements(app)


WRITES = ("INSERT", "UPDATE", "DELETE")


@pytest.mark.sqlite_only("SQLite's BEGIN IMMEDIATE, traced through the driver")
def test_a_write_request_reads_first_and_holds_the_write_lock_only_to_write(
    traced: list[str], client: FlaskClient
) -> None:
    url = "/api/v1/comments?site=default&page=/tx"
    body = {"name": "Tx", "email": "tx@example.org", "text": "in a transaction"}
    posted: dict[str, Any] = {}

    sent = {**body, "form_token": form_token(client)}  # a browser's post brings one

    def do_post() -> None:
        response = client.post(url, json=sent, headers={"Origin": "http://localhost"})
        assert response.status_code == 201
        posted.update(json_of(response))

    def kinds(request: Any) -> list[tuple[str, bool]]:
        _, during = begins_during(traced, request)
        return [
            (begin, any(s.startswith(WRITES) for s in done)) for begin, done in transactions(during)
        ]

    # The origin check and the site lookup read first; the comment is written in one
    # IMMEDIATE transaction; nothing is written outside it.
    post = kinds(do_post)
    assert post[0] == ("BEGIN", False), post
    assert [k for k in post if k[0] == "BEGIN IMMEDIATE"] == [("BEGIN IMMEDIATE", True)], post
    assert all(not wrote for begin, wrote in post if begin == "BEGIN"), post

    headers = {"X-Parley-Edit-Token": posted["edit_token"]}
    comment = f"/api/v1/comments/{posted['comment']['id']}"
    for write in (
        lambda: client.patch(comment, json={"text": "edited"}, headers=headers),
        lambda: client.delete(comment, headers=headers),
    ):
        done = kinds(write)
        assert ("BEGIN IMMEDIATE", True) in done, done
        assert all(not wrote for begin, wrote in done if begin == "BEGIN"), done

    # Reads, read-only POSTs and refused writes never take the write lock.
    for read in (
        lambda: client.get(url),
        lambda: client.post("/api/v1/counts", json={"pages": ["/tx", "/other"]}),
        lambda: client.post(url, json={**body, "text": ""}),
        lambda: client.get("/healthz"),
    ):
        done = kinds(read)  # none at all for an answer from the cache
        assert {begin for begin, _ in done} <= {"BEGIN"}, done
        assert not any(wrote for _, wrote in done), done


@pytest.mark.sqlite_only("SQLite's BEGIN IMMEDIATE, traced through the driver")
def test_the_write_intent_context_is_scoped(app: Flask) -> None:
    statements: list[str] = []
    with app.app_context():
        db.engine.dispose()
        sa.event.listen(
            db.engine, "connect", lambda conn, _rec: conn.set_trace_callback(statements.append)
        )
        with writing():
            db.session.execute(sa.text("SELECT 1"))
            db.session.commit()
        db.session.execute(sa.text("SELECT 1"))
        db.session.commit()
    begins = [s for s in statements if s.upper().startswith("BEGIN")]
    assert begins == ["BEGIN IMMEDIATE", "BEGIN"]


@pytest.mark.sqlite_only("another process reading the SQLite file (WAL)")
def test_a_reader_elsewhere_does_not_block_a_post(app: Flask, client: FlaskClient) -> None:
    path = app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///")
    reader = sqlite3.connect(path, isolation_level=None)
    try:
        reader.execute("BEGIN")
        before = reader.execute("SELECT count(*) FROM comment").fetchone()[0]
        started = time.monotonic()
        response = client.post(
            "/api/v1/comments?page=/reader",
            json={"name": "W", "email": "w@example.org", "text": "while another reads"},
        )
        assert response.status_code == 201, response.json
        assert time.monotonic() - started < 2, "the post waited for a reader"
        assert reader.execute("SELECT count(*) FROM comment").fetchone()[0] == before
        reader.execute("COMMIT")
    finally:
        reader.close()


@pytest.mark.sqlite_only("another process holding SQLite's write lock (busy timeout)")
def test_a_post_waits_for_another_writer_instead_of_failing(
    app: Flask, client: FlaskClient
) -> None:
    path = app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///")
    writer = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        # The other writer read first, so a deferred transaction here could not upgrade.
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("SELECT count(*) FROM comment").fetchone()
        release = threading.Timer(0.4, lambda: writer.execute("COMMIT"))
        release.start()
        started = time.monotonic()
        response = client.post(
            "/api/v1/comments?page=/waiting",
            json={"name": "W", "email": "w@example.org", "text": "after the other writer"},
        )
        waited = time.monotonic() - started
        release.join()
    finally:
        writer.close()
    assert response.status_code == 201, response.json
    assert waited >= 0.3


def test_comment_ids_are_never_reused_after_every_migration(empty_app: Flask) -> None:
    """Batch migrations recreate tables on SQLite; AUTOINCREMENT must survive each one."""
    with empty_app.app_context():
        script = ScriptDirectory.from_config(current_app.extensions["migrate"].migrate.get_config())
        for revision in reversed(list(script.walk_revisions())):
            upgrade(revision=revision.revision)
            sql = db.session.execute(
                sa.text("SELECT sql FROM sqlite_master WHERE name = 'comment'")
            ).scalar_one()
            db.session.rollback()
            assert "AUTOINCREMENT" in sql, f"revision {revision.revision} dropped AUTOINCREMENT"


# --- 0007: bans keep no plain email, websites and names are cleaned again -------------------

PLAIN_BAN = "Banned.Person@Example.org"
OLD_WEBSITES = {
    # as an older release could store them, and what 0007 makes of them
    'HTTPS://Example.ORG:443/a b"<x>': "https://example.org/a%20b%22%3Cx%3E",
    "https://Bücher.example/": "https://xn--bcher-kva.example/",
    "https://example.org/fine": "https://example.org/fine",
    "javascript:alert(1)": None,  # cannot be cleaned: dropped, the comment kept
    "https://user:secret@example.org/": None,
}
OLD_NAMES = {"Ada\u202egnp.exe": "Adagnp.exe", "فاطمه\u200cزهرا": "فاطمه\u200cزهرا"}


def sqlite_bytes(app: Flask) -> bytes:
    path = Path(app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///"))
    parts = [path.with_name(path.name + suffix) for suffix in ("", "-wal")]
    return b"".join(part.read_bytes() for part in parts if part.exists()).lower()


def test_0007_encrypts_ban_emails_cleans_websites_and_vacuums(empty_app: Flask) -> None:
    from service.comments import bans
    from service.rules import privacy

    assert empty_app.test_cli_runner().invoke(args=["init"]).exit_code == 0
    client = empty_app.test_client()
    ids = [post(client, f"old row {i}")["comment"]["id"] for i in range(len(OLD_WEBSITES))]
    with empty_app.app_context(), writing():
        site = db.session.scalars(sa.select(models.Site).where(models.Site.key == "default")).one()
        bans.ban_email(None, site, "someone@example.org", shadow=False, reason="")
        db.session.commit()
    with empty_app.app_context():
        assert "0007" in revisions()
        downgrade(revision="0006")
        # Rows as revision 0006 kept them: a ban's plain email in its label, websites and
        # names that older rules let through.
        with db.engine.begin() as connection:
            connection.execute(sa.text("UPDATE ban SET label = :plain"), {"plain": PLAIN_BAN})
            for comment_id, website in zip(ids, OLD_WEBSITES, strict=True):
                connection.execute(
                    sa.text("UPDATE comment SET website = :website WHERE id = :id"),
                    {"website": website, "id": comment_id},
                )
            for comment_id, name in zip(ids, OLD_NAMES, strict=False):
                connection.execute(
                    sa.text("UPDATE comment SET author = :name WHERE id = :id"),
                    {"name": name, "id": comment_id},
                )
        assert PLAIN_BAN.lower().encode() in sqlite_bytes(empty_app)
        before = snapshot()

        upgrade()
        assert current_revision() == revisions()[-1]
        assert not missing(before, snapshot()), "0007 lost rows"
        [ban] = db.session.scalars(sa.select(models.Ban)).all()
        assert ban.label == "" and ban.email_encrypted
        assert privacy.decrypt_email(ban.email_encrypted) == PLAIN_BAN
        assert ban.value == privacy.email_index("someone@example.org")  # still matches it
        rows = {c.id: c for c in db.session.scalars(sa.select(models.Comment))}
        assert [rows[i].website for i in ids] == list(OLD_WEBSITES.values())
        assert [rows[i].author for i in ids[: len(OLD_NAMES)]] == list(OLD_NAMES.values())
        db.session.rollback()
        # VACUUM and a truncated WAL: the plain address is nowhere in the files.
        assert PLAIN_BAN.lower().encode() not in sqlite_bytes(empty_app)
    page = json_of(client.get("/api/v1/comments?page=/rows"))["comments"]
    assert len(page) == len(ids)
