"""Running an import, from the command line at once or from an upload through the background
worker (``import_file``, ``queue_upload``, ``run_next``).

An upload is saved owner-only in the instance folder's ``imports/`` and queued as an
``ImportJob``; the worker beside the server (``flask --app service outbox send --loop``, or
the thread of ``flask --app service serve``) takes the oldest queued job, validates the
file, imports it in batches and records its progress in the job row as it goes: queued,
validating, importing N of M, done, or failed with the message (kept as notes, which the
admin page shows in its reader's language: ``notes``). The file is removed when
the job ends. One worker runs jobs: a job it was running when it stopped is queued again
when it starts, and completes without duplicates (``importer``).
"""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path
from typing import IO

import sqlalchemy as sa
from flask import current_app

from service import files
from service.data import ImportJob, Moderator, Site, utcnow
from service.database import writing
from service.extensions import db
from service.sites.origins import origin_of
from service.transfer import importer, notes
from service.transfer.notes import Note
from service.transfer.sources import FileRefused

log = logging.getLogger(__name__)
CHUNK = 1 << 20
RUNNING = ("validating", "importing")


def service_origin() -> str:
    """The service's own origin (PARLEY_PUBLIC_URL): what page URLs are checked against."""
    return origin_of(str(current_app.config["PARLEY_PUBLIC_URL"]))


def import_file(
    site: Site,
    source: str,
    path: Path,
    prefixes: list[tuple[str, str]],
    *,
    dry_run: bool = False,
    job_id: int | None = None,
) -> importer.Report:
    """Validate the whole file, then (unless ``dry_run``) import it; ``FileRefused`` if the
    file cannot be imported, with nothing stored."""
    plan = importer.validate(site, source, path, prefixes)
    db.session.commit()  # end the read transaction: the batches take the write lock alone
    if dry_run:
        return plan.report
    on_batch = None
    if job_id is not None:
        _update(
            job_id, state="importing", total=plan.report.comments, processed=plan.report.existing
        )

        def on_batch(count: int) -> None:
            db.session.execute(
                sa.update(ImportJob)
                .where(ImportJob.id == job_id)
                .values(
                    processed=ImportJob.processed + count,
                    created_count=ImportJob.created_count + count,
                )
            )

    return importer.write(
        site, source, path, prefixes, plan, service_origin=service_origin(), on_batch=on_batch
    )


def folder() -> Path:
    """Where uploads wait for the worker: ``imports/`` in the instance folder, owner-only."""
    path = Path(current_app.instance_path) / "imports"
    path.mkdir(mode=files.OWNER_FOLDER, parents=True, exist_ok=True)
    files.owner_only(path)  # made before with a looser mode: tightened
    return path


def queue_upload(
    site: Site,
    moderator: Moderator | None,
    source: str,
    upload: IO[bytes],
    filename: str,
    prefixes: list[tuple[str, str]],
) -> ImportJob:
    """Save an upload (at most PARLEY_IMPORT_MAX_BYTES) and queue its job; caller commits."""
    if source not in importer.READERS:
        raise FileRefused(
            "unknown_format", format=repr(source), formats=", ".join(importer.READERS)
        )
    limit = int(current_app.config["PARLEY_IMPORT_MAX_BYTES"])
    stored = f"{secrets.token_hex(16)}.upload"
    path = folder() / stored
    size = 0
    with os.fdopen(
        os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, files.OWNER_FILE), "wb"
    ) as out:
        while chunk := upload.read(CHUNK):
            size += len(chunk)
            if size > limit:
                break
            out.write(chunk)
    if size > limit or size == 0:
        path.unlink(missing_ok=True)
        raise FileRefused("too_large", limit=limit) if size else FileRefused("empty")
    job = ImportJob(
        site_id=site.id,
        moderator_id=moderator.id if moderator else None,
        source=source,
        stored_name=stored,
        filename=os.path.basename(filename or "")[:255],
    )
    job.prefixes = prefixes
    db.session.add(job)
    return job


def jobs_of(site_ids: list[int], limit: int = 20) -> list[ImportJob]:
    """The latest jobs of these sites, newest first."""
    query = sa.select(ImportJob).where(ImportJob.site_id.in_(site_ids))
    return list(db.session.scalars(query.order_by(ImportJob.id.desc()).limit(limit)))


def _update(job_id: int, **values: object) -> None:
    with writing():
        db.session.execute(sa.update(ImportJob).where(ImportJob.id == job_id).values(**values))
        db.session.commit()


def requeue_interrupted() -> int:
    """Jobs a stopped worker left running are queued again (the worker calls it at start)."""
    with writing():
        result = db.session.execute(
            sa.update(ImportJob).where(ImportJob.state.in_(RUNNING)).values(state="queued")
        )
        db.session.commit()
    return int(getattr(result, "rowcount", 0) or 0)


def _claim() -> int | None:
    """The oldest queued job, now ``validating`` (None if there is none)."""
    with writing():
        job_id = db.session.scalar(
            sa.select(ImportJob.id)
            .where(ImportJob.state == "queued")
            .order_by(ImportJob.id)
            .limit(1)
        )
        claimed = 0
        if job_id is not None:  # conditional: of two workers, one claims it
            result = db.session.execute(
                sa.update(ImportJob)
                .where(ImportJob.id == job_id, ImportJob.state == "queued")
                .values(state="validating", started=utcnow(), message="")
            )
            claimed = int(getattr(result, "rowcount", 0) or 0)
        db.session.commit()
    return job_id if claimed else None


def run_next() -> ImportJob | None:
    """Run the oldest queued job to its end (done or failed); None if none was queued."""
    job_id = _claim()
    if job_id is None:
        return None
    job = db.session.get(ImportJob, job_id)
    assert job is not None
    site, path = job.site_id, folder() / job.stored_name
    source, prefixes = job.source, job.prefixes
    try:
        site_row = db.session.get(Site, site)
        if site_row is None or not path.exists():
            raise FileRefused("gone")
        report = import_file(site_row, source, path, prefixes, job_id=job_id)
    except FileRefused as error:
        db.session.rollback()
        _update(job_id, state="failed", message=notes.dumps([error.note]), finished=utcnow())
    except Exception:
        db.session.rollback()
        log.exception("import job %d failed", job_id)
        _update(
            job_id,
            state="failed",
            message=notes.dumps([Note("unexpected")]),
            finished=utcnow(),
        )
    else:
        _update(
            job_id,
            state="done",
            message=notes.dumps(report.lines(dry_run=False)),
            finished=utcnow(),
        )
    path.unlink(missing_ok=True)
    db.session.expunge_all()
    return db.session.get(ImportJob, job_id)
