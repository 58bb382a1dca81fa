"""The background worker's part for imports: run queued import jobs, one at a time.

``flask --app service outbox send [--loop]`` runs ``run_queued`` each round beside the
outbox; ``flask --app service serve`` runs it in a thread of its own (``start``).
"""

from __future__ import annotations

import logging
import threading

from flask import Flask

from service.extensions import db
from service.transfer import jobs

log = logging.getLogger(__name__)


def run_queued(limit: int = 10) -> int:
    """Run up to ``limit`` queued jobs to their end; how many ran."""
    ran = 0
    while ran < limit and jobs.run_next() is not None:
        ran += 1
        db.session.remove()
    return ran


class ImportWorker(threading.Thread):
    """A daemon thread that runs queued import jobs every ``interval`` seconds."""

    def __init__(self, app: Flask, interval: float) -> None:
        super().__init__(name="parley-imports", daemon=True)
        self.app = app
        self.interval = interval
        self.stop_event = threading.Event()

    def run(self) -> None:
        with self.app.app_context():
            jobs.requeue_interrupted()
            db.session.remove()
        while not self.stop_event.is_set():
            try:
                with self.app.app_context():
                    run_queued()
            except Exception:  # keep going: the next round may work
                log.exception("import worker: a round failed")
            self.stop_event.wait(self.interval)

    def stop(self, timeout: float = 10.0) -> None:
        """Ask the thread to stop and wait for it (a running batch finishes first)."""
        self.stop_event.set()
        self.join(timeout)


def start(app: Flask, interval: float = 5.0) -> ImportWorker:
    """Start running import jobs in a background thread; ``worker.stop()`` ends it."""
    worker = ImportWorker(app, interval)
    worker.start()
    return worker
