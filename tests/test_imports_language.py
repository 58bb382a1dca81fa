"""An import job's message is kept as notes (a code and its values), so /admin/imports shows
it in the language of whoever reads the page: the failure's reason, the report of a done
import and the progress of a running one; the command line reads them in English."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from flask_babel import force_locale
from support import csrf_token

from service.data import ImportJob
from service.extensions import db
from service.rules import languages
from service.transfer import notes, worker

FIXTURES = Path(__file__).parent / "fixtures" / "imports"
GERMAN = {"Accept-Language": "de-DE,de;q=0.9"}


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {"PARLEY_IMPORT_MAX_BYTES": 20_000}


def upload(client: FlaskClient, name: str, source: str = "wordpress", **headers: str) -> Any:
    token = csrf_token(client.get("/admin/imports").get_data(as_text=True))
    form: dict[str, Any] = {"csrf_token": token, "site": "default", "source": source}
    form["file"] = (io.BytesIO((FIXTURES / name).read_bytes()), name)
    return client.post(
        "/admin/imports", data=form, content_type="multipart/form-data", headers=headers
    )


def run_jobs(app: Flask) -> ImportJob:
    with app.app_context():
        assert worker.run_queued() == 1
        job = db.session.scalars(sa.select(ImportJob)).one()
        db.session.expunge(job)
        return job


def result_cell(client: FlaskClient, headers: dict[str, str] | None = None) -> str:
    """The text of the one job's row on the admin page."""
    html = client.get("/admin/imports", headers=headers or {}).get_data(as_text=True)
    start = html.index('<tr id="import-')
    return html[start : html.index("</tr>", start)]


def test_a_failed_job_shows_its_reason_in_the_readers_language(app, owner) -> None:
    assert upload(owner, "billion-laughs.xml").status_code == 303
    job = run_jobs(app)
    assert job.state == "failed"
    assert notes.loads(job.message) == [notes.Note("hostile", {"error": "DTDForbidden"})]
    german = result_cell(owner, GERMAN)
    assert "fehlgeschlagen" in german
    assert "Sie deklariert eine DTD, Entitäten oder externe Verweise (DTDForbidden)" in german
    assert "declares a DTD" not in german
    arabic = result_cell(owner, {"Accept-Language": "ar"})
    assert "فشل" in arabic and "رُفض الملف: فهو يعلن DTD" in arabic
    english = result_cell(owner, {"Accept-Language": "fr"})  # not spoken: the site's, English
    assert "it declares a DTD, entities or external references (DTDForbidden)" in english


def test_a_wrong_format_names_the_format_in_the_readers_language(app, owner) -> None:
    assert upload(owner, "disqus.xml", "wordpress").status_code == 303
    assert run_jobs(app).state == "failed"
    german = result_cell(owner, GERMAN)
    expected = "Die Datei ist nicht im Format WordPress-Export (WXR): Ihr Wurzelelement ist"
    assert expected in german and "&lt;disqus&gt;" in german
    spanish = result_cell(owner, {"Accept-Language": "es-MX"})
    assert "Esto no es una exportación de WordPress (WXR)" in spanish


def test_a_done_jobs_report_is_shown_in_the_readers_language(app, owner) -> None:
    assert upload(owner, "wordpress.xml").status_code == 303
    job = run_jobs(app)
    assert job.state == "done"
    german = result_cell(owner, GERMAN)
    assert (
        "7 Kommentare (4 freigegeben, 1 gelöscht, 1 wartend, 1 Spam) auf 2 Seiten (davon 2 neu)."
        in german
    )
    assert "7 Kommentare angelegt; 0 wurden schon früher importiert." in german
    assert "Übersprungen, Pingbacks und Trackbacks: 2." in german
    assert "comments" not in german
    arabic = result_cell(owner, {"Accept-Language": "ar"})
    assert "7 تعليقات (معتمد: 4، محذوف: 1، معلّق: 1، مزعج: 1) في صفحتين" in arabic
    english = result_cell(owner)
    assert "7 comments (4 approved, 1 deleted, 1 pending, 1 spam) on 2 pages" in english
    assert "7 comments created; 0 were imported before." in english
    with app.app_context():  # the worker and the command line read it in English
        assert "Skipped, pingbacks and trackbacks: 2." in notes.shown(job.message)


def test_a_running_jobs_progress_is_shown_in_the_readers_language(app, owner) -> None:
    assert upload(owner, "wordpress.xml").status_code == 303
    with app.app_context():
        db.session.execute(sa.update(ImportJob).values(state="importing", processed=3, total=7))
        db.session.commit()
    assert "3 von 7 importiert" in result_cell(owner, GERMAN)
    assert "importing 3 of 7" in result_cell(owner)


def test_a_message_stored_as_text_before_is_looked_up(app, owner) -> None:
    assert upload(owner, "wordpress.xml").status_code == 303
    with app.app_context():
        old = "The site or the uploaded file is gone."  # as rows were written before notes
        db.session.execute(sa.update(ImportJob).values(state="failed", message=old))
        db.session.commit()
    assert "Die Website oder die hochgeladene Datei gibt es nicht mehr." in result_cell(
        owner, GERMAN
    )
    assert "The site or the uploaded file is gone." in result_cell(owner)


def test_a_refused_upload_says_why_in_the_readers_language(app, owner) -> None:
    page = owner.get("/admin/imports", headers=GERMAN).get_data(as_text=True)
    answer = owner.post(
        "/admin/imports",
        data={"csrf_token": csrf_token(page), "site": "default", "source": "wordpress"},
        content_type="multipart/form-data",
        headers=GERMAN,
    )
    assert answer.status_code == 422
    assert "Wählen Sie die Exportdatei zum Hochladen." in answer.get_data(as_text=True)
    empty = owner.post(
        "/admin/imports",
        data={
            "csrf_token": csrf_token(page),
            "site": "default",
            "source": "wordpress",
            "file": (io.BytesIO(b""), "empty.xml"),
        },
        content_type="multipart/form-data",
        headers={"Accept-Language": "ta"},
    )
    assert empty.status_code == 422
    assert "கோப்பு காலியாக உள்ளது." in empty.get_data(as_text=True)


def test_the_command_line_reads_a_refusal_in_english(app, runner, tmp_path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"version": 1, "comments": [')
    result = runner.invoke(args=["import", "commento", str(broken), "--site", "default"])
    assert result.exit_code == 1
    assert "The file is not whole JSON (" in result.output
    assert "truncated, or not a Commento or Comentario export." in result.output


EXAMPLES: dict[str, Any] = {
    "label": "remark42",
    "error": "boom",
    "statuses": {"approved": 3, "spam": 1},
    "reason": "pingbacks",
}


@pytest.mark.parametrize("language", languages.SPOKEN)
def test_every_note_reads_in_every_language(app: Flask, language: str) -> None:
    """Each code's values fill its text in each catalogue (no note falls back to its code)."""
    with app.app_context(), force_locale(language):
        for code, text in notes.TEXTS.items():
            names = re.findall(r"%\((\w+)\)s", str(text))  # the same in every catalogue
            shown = str(notes.Note(code, {name: EXAMPLES.get(name, 12) for name in names}))
            assert shown != code and "%(" not in shown, (code, shown)
        report = {
            "summary": {
                "comments": 4,
                "statuses": EXAMPLES["statuses"],
                "pages": 2,
                "new_pages": 1,
            },
            "created": {"num": 4, "existing": 0},
            "would_create": {"num": 1, "existing": 3},
            "orphans": {"num": 2},
            "closed": {"num": 1},
            "would_close": {"num": 1},
            "left_open": {"num": 1},
            "skipped": {"reason": "no_thread", "num": 5},
        }
        assert set(report) == set(notes.REPORT)
        for code, values in report.items():
            shown = str(notes.Note(code, values))
            assert shown != code and "%(" not in shown, (code, shown)
