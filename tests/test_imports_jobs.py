"""The admin's import upload (owners only, its own size limit, saved in the instance folder)
and the background worker that runs the job, with its progress on the admin page."""

from __future__ import annotations

import io
import stat
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from support import csrf_token, log_in, make_moderator

from service.data import Comment, ImportJob
from service.extensions import db
from service.transfer import notes, worker

FIXTURES = Path(__file__).parent / "fixtures" / "imports"


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {"PARLEY_IMPORT_MAX_BYTES": 20_000}


def upload(
    client: FlaskClient, name: str, data: bytes, source: str = "wordpress", **fields: str
) -> Any:
    token = csrf_token(client.get("/admin/imports").get_data(as_text=True))
    form = {"csrf_token": token, "site": "default", "source": source, **fields}
    form["file"] = (io.BytesIO(data), name)  # type: ignore[assignment]
    return client.post("/admin/imports", data=form, content_type="multipart/form-data")


def jobs(app: Flask) -> list[ImportJob]:
    with app.app_context():
        found = list(db.session.scalars(sa.select(ImportJob).order_by(ImportJob.id)))
        db.session.expunge_all()
        return found


def shown(app: Flask, job: ImportJob) -> str:
    """The job's message as the worker and the command line read it (English)."""
    with app.app_context():
        return notes.shown(job.message)


def imported(app: Flask) -> int:
    with app.app_context():
        query = sa.select(sa.func.count()).select_from(Comment).where(Comment.author != "Parley")
        return int(db.session.scalar(query) or 0)


def test_an_owner_uploads_and_the_worker_imports_with_visible_progress(app, owner) -> None:
    before = imported(app)
    answer = upload(
        owner,
        "export.xml",
        (FIXTURES / "wordpress.xml").read_bytes(),
        prefixes="https://blog.example.org/anime/=/shows/",
    )
    assert answer.status_code == 303, answer.get_data(as_text=True)
    [job] = jobs(app)
    assert (job.state, job.filename, job.prefixes) == (
        "queued",
        "export.xml",
        [("https://blog.example.org/anime/", "/shows/")],
    )
    saved = Path(app.instance_path) / "imports" / job.stored_name
    assert saved.read_bytes() == (FIXTURES / "wordpress.xml").read_bytes()
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    assert answer.location.endswith("/admin/imports?follow=1")
    page = owner.get(answer.location).get_data(as_text=True)
    assert "queued" in page and 'http-equiv="refresh"' in page  # reloads while it runs
    plain = owner.get("/admin/imports").get_data(as_text=True)
    assert "queued" in plain and 'http-equiv="refresh"' not in plain  # unless not asked
    with app.app_context():
        assert worker.run_queued() == 1
    [job] = jobs(app)
    assert job.state == "done" and job.processed == job.total == 7
    assert job.created_count == 7 and "7 comments created" in shown(app, job)
    assert imported(app) == before + 7
    assert not saved.exists()  # the upload is removed when its job ends
    page = owner.get("/admin/imports?follow=1").get_data(as_text=True)
    assert "7 comments created" in page and 'http-equiv="refresh"' not in page
    with app.app_context():
        keys = {c.page.key for c in db.session.scalars(sa.select(Comment))}
        assert "/shows/metallic-rouge/" in keys


def test_the_outbox_loop_command_runs_queued_import_jobs(app, owner, runner) -> None:
    assert upload(owner, "d.xml", (FIXTURES / "disqus.xml").read_bytes(), "disqus").status_code
    result = runner.invoke(args=["outbox", "send"])
    assert result.exit_code == 0, result.output
    assert "1 import job ran." in result.output
    assert [job.state for job in jobs(app)] == ["done"]


def test_a_hostile_upload_fails_its_job_with_the_reason_and_stores_nothing(app, owner) -> None:
    before = imported(app)
    laughs = (FIXTURES / "billion-laughs.xml").read_bytes()
    assert upload(owner, "laughs.xml", laughs).status_code == 303
    with app.app_context():
        worker.run_queued()
    [job] = jobs(app)
    assert job.state == "failed"
    assert "declares a DTD, entities or external references" in shown(app, job)
    assert imported(app) == before
    assert not (Path(app.instance_path) / "imports" / job.stored_name).exists()
    page = owner.get("/admin/imports").get_data(as_text=True)
    assert "failed" in page and "declares a DTD" in page


def test_an_upload_over_the_import_limit_is_refused(app, owner) -> None:
    answer = upload(owner, "big.xml", b"<rss>" + b" " * 25_000 + b"</rss>")
    assert answer.status_code == 413
    assert jobs(app) == []
    assert not list((Path(app.instance_path) / "imports").glob("*.upload"))


def test_the_import_limit_is_its_own_not_the_api_body_limit(app, owner) -> None:
    body = (FIXTURES / "wordpress.xml").read_bytes()
    app.config["MAX_CONTENT_LENGTH"] = 1024  # the form posts and the API
    assert len(body) > 1024
    assert upload(owner, "export.xml", body).status_code == 303
    assert [job.state for job in jobs(app)] == ["queued"]


def test_a_missing_file_or_a_bad_rewrite_is_shown_beside_its_field(app, owner) -> None:
    token = csrf_token(owner.get("/admin/imports").get_data(as_text=True))
    answer = owner.post(
        "/admin/imports",
        data={"csrf_token": token, "site": "default", "source": "wordpress"},
        content_type="multipart/form-data",
    )
    assert answer.status_code == 422
    assert "Choose the export file to upload." in answer.get_data(as_text=True)
    bad = upload(owner, "e.xml", b"<rss/>", prefixes="no equals sign")
    assert bad.status_code == 422 and "A prefix rewrite is OLD=NEW" in bad.get_data(as_text=True)
    assert jobs(app) == []


def test_only_owners_import(app, client) -> None:
    make_moderator(app, "mod@example.org", sites={"default": "moderator"})
    assert log_in(client, "mod@example.org").status_code == 303
    page = client.get("/admin/imports").get_data(as_text=True)
    assert "you own no site" in page
    answer = upload(client, "export.xml", (FIXTURES / "wordpress.xml").read_bytes())
    assert answer.status_code == 403
    assert jobs(app) == []


def test_the_upload_needs_its_csrf_token(app, owner) -> None:
    answer = owner.post(
        "/admin/imports",
        data={"site": "default", "source": "wordpress", "file": (io.BytesIO(b"<rss/>"), "e.xml")},
        content_type="multipart/form-data",
    )
    assert answer.status_code == 400
    assert jobs(app) == []


def test_a_job_left_running_by_a_stopped_worker_is_queued_again(app, owner) -> None:
    assert upload(owner, "e.xml", (FIXTURES / "wordpress.xml").read_bytes()).status_code == 303
    with app.app_context():
        db.session.execute(sa.update(ImportJob).values(state="importing"))
        db.session.commit()
        from service.transfer.jobs import requeue_interrupted

        assert requeue_interrupted() == 1
        assert worker.run_queued() == 1
    assert [job.state for job in jobs(app)] == ["done"]
