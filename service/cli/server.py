"""Serving Parley in-process: waitress for ``flask --app service serve`` (``make run``), and
the rule that several server processes share their rate limits through Redis.

Waitress reads each request, headers and body, in its I/O thread and hands it to a worker
thread only once it is complete, so a client that stalls or trickles holds a socket and a
bounded buffer, never a thread, a transaction or the write lock. Idle connections close
after ``IDLE_TIMEOUT`` seconds; a request must arrive whole within ``REQUEST_TIMEOUT``
seconds of its first byte, however steadily it trickles. One process serves with
``THREADS`` threads, so the in-memory rate limits are one store that every thread shares
and each budget holds exactly.
"""

from __future__ import annotations

import signal
from collections.abc import Callable, Mapping
from typing import Any

from flask import Flask

from service.notify.outbox import start_worker
from service.rules import logs
from service.transfer import worker as import_worker

THREADS = 8
IDLE_TIMEOUT = 10  # seconds a connection may stay open with no request under way
REQUEST_TIMEOUT = 15  # seconds from a request's first byte to its last
CONNECTION_LIMIT = 500  # open connections; beyond it new ones wait in the backlog
BACKLOG = 256
HEADER_MAX = 32 * 1024  # request line and headers, in bytes


def settings(app: Flask) -> dict[str, Any]:
    """Waitress's adjustments for this application."""
    body_max = int(app.config.get("MAX_CONTENT_LENGTH") or 128 * 1024)
    return {
        "threads": THREADS,
        "channel_timeout": IDLE_TIMEOUT,
        "cleanup_interval": 1,
        "connection_limit": CONNECTION_LIMIT,
        "backlog": BACKLOG,
        "asyncore_use_poll": True,  # select() stops at 1,024 descriptors
        "max_request_header_size": HEADER_MAX,
        # Twice the application's limit, so the application answers a body just over it with
        # its own 413; waitress cuts off anything larger before buffering it (to disk above
        # 512 KiB). Import uploads (admin) have their own, larger limit.
        "max_request_body_size": max(2 * body_max, int(app.config["PARLEY_IMPORT_MAX_BYTES"])),
        # PARLEY_TRUSTED_PROXIES alone decides which forwarded headers count (ProxyFix).
        "clear_untrusted_proxy_headers": False,
        "expose_tracebacks": False,
        "ident": "",
    }


def serve(app: Flask, host: str, port: int, announce: Callable[[], None] | None = None) -> None:
    """Serve until SIGINT or SIGTERM, with the outbox worker beside the server (once)."""
    from service.cli.waitress_server import Server  # only here: a worker never loads waitress

    logs.install()
    server = Server(app, host=host, port=port, **settings(app))

    def stop(_signum: int, _frame: object) -> None:
        raise SystemExit(0)

    previous = signal.signal(signal.SIGTERM, stop)
    worker = start_worker(app)
    imports = import_worker.start(app)
    try:
        if announce:
            announce()
        server.run()  # returns on SystemExit or KeyboardInterrupt, its threads stopped
    finally:
        signal.signal(signal.SIGTERM, previous)
        worker.stop()
        imports.stop()
        server.close()


def shared_limits_problem(processes: int, config: Mapping[str, Any]) -> str | None:
    """Why ``processes`` server processes cannot keep the rate limits exact, or None.

    In-memory limits are per process: with four processes every budget would be four
    budgets. Several processes (or hosts) share them through Redis (``PARLEY_REDIS_URL``).
    """
    if processes <= 1 or not config.get("RATELIMIT_ENABLED", True):
        return None
    if not str(config.get("RATELIMIT_STORAGE_URI", "memory://")).startswith("memory"):
        return None
    return (
        f"{processes} worker processes would each keep their own rate limits, multiplying "
        f"every budget by {processes}. Set PARLEY_REDIS_URL (e.g. redis://127.0.0.1:6379/0) "
        "so they share one store, or run one worker with threads (the default)."
    )


def shared_metrics_problem(
    processes: int, config: Mapping[str, Any], environ: Mapping[str, str]
) -> str | None:
    """Why ``processes`` server processes cannot report one set of metrics, or None.

    Each process counts for itself; a scrape reaches one of them. prometheus_client's
    multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``) makes every answer the sum of all.
    """
    if processes <= 1 or not config.get("PARLEY_METRICS_TOKEN"):
        return None
    if environ.get("PROMETHEUS_MULTIPROC_DIR", "").strip():
        return None
    return (
        f"{processes} worker processes would each report their own metrics, and a scrape "
        "reaches one of them at random. Set PROMETHEUS_MULTIPROC_DIR to an empty folder "
        "that only this service uses (e.g. /run/parley/metrics) so GET /metrics reports "
        "them all, or run one worker with threads (the default)."
    )
