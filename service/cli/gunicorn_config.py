"""gunicorn's configuration for production (docs/deployment.md):

    gunicorn -c python:service.cli.gunicorn_config wsgi:app

Command-line options (``-w``, ``-b``) override what is set here. gthread workers: each
worker process serves ``threads`` requests at once; an idle or kept-alive connection waits
in the worker's poller (closed after ``keepalive`` seconds), not in a thread. Once a
request's first bytes arrive, though, a thread reads it to the end with no deadline, so
gunicorn belongs behind a reverse proxy that buffers whole requests (nginx, Caddy): a
client that trickles its request then holds the proxy's buffer, never a thread. One worker
(the default) keeps every rate limit exact in memory; several must share them through
Redis, and the server refuses to start otherwise. Likewise, with metrics on
(``PARLEY_METRICS_TOKEN``), several workers must share their counts through
``PROMETHEUS_MULTIPROC_DIR`` (emptied here at start).

Logs: the application writes one access line per request (``web.access``), so gunicorn's
own access log stays off; every handler redacts what it writes (``rules.logs``).
"""

from __future__ import annotations

import os
from typing import Any

from gunicorn import glogging

from service import config as parley_config
from service.cli import server
from service.rules import logs

bind = [f"127.0.0.1:{os.environ.get('PARLEY_PORT', '').strip() or '8000'}"]
worker_class = "gthread"
threads = server.THREADS
worker_connections = server.CONNECTION_LIMIT  # per worker: busy, kept alive and waiting
backlog = server.BACKLOG
timeout = 30  # a worker whose main loop stops answering for this long is restarted
graceful_timeout = 20
keepalive = 5
limit_request_line = 8190  # the most gunicorn allows: a page key may be long once encoded
limit_request_fields = 64
limit_request_field_size = 8190
accesslog = None
errorlog = "-"


class Logger(glogging.Logger):
    """gunicorn's logger, redacting what it writes; the application's loggers (the access
    log among them) write to standard error through the same rules."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                logs.protect(handler)
        logs.install()


logger_class = Logger


def on_starting(arbiter: Any) -> None:
    """Refuse several workers whose rate limits or metrics would not be shared; start the
    metrics' multiprocess folder afresh."""
    try:
        settings = {**parley_config.DEFAULTS, **parley_config.from_environment(os.environ)}
    except parley_config.ConfigError as error:
        raise RuntimeError(str(error)) from None
    workers = int(arbiter.cfg.workers)
    problem = server.shared_limits_problem(workers, settings) or server.shared_metrics_problem(
        workers, settings, os.environ
    )
    if problem:
        raise RuntimeError(problem)
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "").strip()
    if folder:  # the last run's counts are not this run's (prometheus_client's advice)
        os.makedirs(folder, mode=0o700, exist_ok=True)
        for name in os.listdir(folder):
            if name.endswith(".db"):
                os.remove(os.path.join(folder, name))


def child_exit(_arbiter: Any, worker: Any) -> None:
    """A worker is gone: its live gauges go with it (prometheus_client's multiprocess mode)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR", "").strip():
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
