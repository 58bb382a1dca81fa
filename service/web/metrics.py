"""What ``GET /metrics`` reports (Prometheus text format, with prometheus_client): requests
by route (the Flask endpoint, never the raw path) and status, their latency, the 503s, the
cache's hits and misses (``cache_event``), and the outbox's unsent rows (read at scrape).

One process keeps its numbers in memory. Several gunicorn workers share them through files
in ``PROMETHEUS_MULTIPROC_DIR`` (prometheus_client's multiprocess mode): set it, to an
empty folder of the service's own, in the environment gunicorn starts with, so every worker
imports prometheus_client in that mode; whichever worker answers a scrape then reports the
sum of all of them (docs/deployment.md). ``service.cli.gunicorn_config`` creates or empties
the folder at start, forgets each worker that exits, and refuses several workers without it
while metrics are on (``PARLEY_METRICS_TOKEN``).
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from types import ModuleType
from typing import Any

from flask import Flask, Response, g, request, request_finished, request_started

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
UNMATCHED = "unmatched"  # no route: 404 and 405 before any view

# service.web.exposition (prometheus_client) once metrics are on in this process; until then
# nothing is counted and prometheus_client is not imported (metrics off cost a worker nothing).
_exposition: ModuleType | None = None


def enable() -> ModuleType:
    """Turn counting on in this process: import prometheus_client and its counters."""
    global _exposition
    if _exposition is None:
        from service.web import exposition

        _exposition = exposition
    return _exposition


def enabled() -> bool:
    return _exposition is not None


def cache_event(hit: bool, cache: str = "response") -> None:
    """Count one cache lookup: the caching code calls this on every hit and every miss."""
    if _exposition is not None:
        _exposition.cache_event(hit, cache)


def multiprocess() -> bool:
    """Whether the numbers are shared between worker processes through files."""
    return bool(os.environ.get(MULTIPROCESS_ENV))


def _started(_sender: Flask, **_extra: Any) -> None:
    g.parley_metrics_started = time.perf_counter()


def observe(endpoint: str, method: str, status: int, seconds: float | None) -> None:
    """Count one answered request (``seconds``: its time in the application, if known)."""
    if _exposition is not None:
        _exposition.observe(endpoint, method, status, seconds)


def _finished(_sender: Flask, response: Response, **_extra: Any) -> None:
    started = g.pop("parley_metrics_started", None)
    rule = request.url_rule
    endpoint = (rule.endpoint if rule is not None else None) or UNMATCHED
    elapsed = time.perf_counter() - started if started is not None else None
    observe(endpoint, request.method, response.status_code, elapsed)


def register(app: Flask) -> None:
    """Count every request the application answers, errors included (Flask's signals), when
    metrics are on (``PARLEY_METRICS_TOKEN``); without the token nothing is counted."""
    if not app.config.get("PARLEY_METRICS_TOKEN"):
        return
    enable()
    request_started.connect(_started, app)
    request_finished.connect(_finished, app)


def render(outbox: Mapping[str, int] | None) -> bytes:
    """The exposition: this process's numbers, or every worker's in multiprocess mode, then
    the values read at scrape time."""
    return enable().render(outbox, multiprocess())
