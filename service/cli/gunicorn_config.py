"""gunicorn's configuration for production (docs/deployment.md):

    gunicorn -c python:service.cli.gunicorn_config wsgi:app

Command-line options (``-w``, ``-b``) override what is set here. gthread workers: each
worker process serves ``threads`` requests at once; an idle or kept-alive connection waits
in the worker's poller (closed after ``keepalive`` seconds), not in a thread. Once a
request's first bytes arrive, though, a thread reads it to the end with no deadline, so
gunicorn belongs behind a reverse proxy that buffers whole requests (nginx, Caddy): a
client that trickles its request then holds the proxy's buffer, never a thread. One worker
(the default) keeps every rate limit exact in memory; several must share them through
Redis, and the server refuses to start otherwise.

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
    """Refuse several workers whose rate limits would not be shared."""
    try:
        settings = {**parley_config.DEFAULTS, **parley_config.from_environment(os.environ)}
    except parley_config.ConfigError as error:
        raise RuntimeError(str(error)) from None
    problem = server.shared_limits_problem(int(arbiter.cfg.workers), settings)
    if problem:
        raise RuntimeError(problem)
