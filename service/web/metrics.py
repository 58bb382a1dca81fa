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
from collections.abc import Iterable, Mapping
from typing import Any

from flask import Flask, Response, g, request, request_finished, request_started
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
UNMATCHED = "unmatched"  # no route: 404 and 405 before any view

REQUESTS = Counter(
    "parley_http_requests",
    "Requests answered, by route (Flask endpoint), method and status.",
    ["endpoint", "method", "status"],
)
LATENCY = Histogram(
    "parley_http_request_duration_seconds",
    "Time from the request's arrival in the application to its answer, by route.",
    ["endpoint"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
UNAVAILABLE = Counter(
    "parley_http_unavailable",
    "503 answers (storage busy or down), by route.",
    ["endpoint"],
)
CACHE = Counter(
    "parley_cache_requests",
    "Lookups in the response cache, by cache and result (hit or miss).",
    ["cache", "result"],
)


def cache_event(hit: bool, cache: str = "response") -> None:
    """Count one cache lookup: the caching code calls this on every hit and every miss."""
    CACHE.labels(cache=cache, result="hit" if hit else "miss").inc()


def multiprocess() -> bool:
    """Whether the numbers are shared between worker processes through files."""
    return bool(os.environ.get(MULTIPROCESS_ENV))


def _started(_sender: Flask, **_extra: Any) -> None:
    g.parley_metrics_started = time.perf_counter()


def observe(endpoint: str, method: str, status: int, seconds: float | None) -> None:
    """Count one answered request (``seconds``: its time in the application, if known)."""
    REQUESTS.labels(endpoint=endpoint, method=method, status=str(status)).inc()
    if seconds is not None:
        LATENCY.labels(endpoint=endpoint).observe(seconds)
    if status == 503:
        UNAVAILABLE.labels(endpoint=endpoint).inc()


def _finished(_sender: Flask, response: Response, **_extra: Any) -> None:
    started = g.pop("parley_metrics_started", None)
    rule = request.url_rule
    endpoint = (rule.endpoint if rule is not None else None) or UNMATCHED
    elapsed = time.perf_counter() - started if started is not None else None
    observe(endpoint, request.method, response.status_code, elapsed)


def register(app: Flask) -> None:
    """Count every request the application answers, errors included (Flask's signals)."""
    request_started.connect(_started, app)
    request_finished.connect(_finished, app)


class _Gauges(Collector):
    """Values read at scrape time (the outbox), reported as they are."""

    def __init__(self, outbox: Mapping[str, int] | None) -> None:
        self.outbox = outbox

    def collect(self) -> Iterable[Metric]:
        if self.outbox is None:  # the database did not answer
            return
        family = GaugeMetricFamily(
            "parley_outbox_unsent",
            "Outbox rows not sent: queued (due now or later) or given up after every attempt.",
            labels=["state"],
        )
        for state, count in sorted(self.outbox.items()):
            family.add_metric([state], count)
        yield family


def render(outbox: Mapping[str, int] | None) -> bytes:
    """The exposition: this process's numbers, or every worker's in multiprocess mode, then
    the values read at scrape time."""
    if multiprocess():
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        counted = generate_latest(registry)
    else:
        counted = generate_latest(REGISTRY)
    scraped = CollectorRegistry()
    scraped.register(_Gauges(outbox))
    return counted + generate_latest(scraped)
