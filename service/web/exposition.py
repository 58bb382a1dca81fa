"""The Prometheus side of ``service.web.metrics``: prometheus_client's counters and the
exposition. Imported only once metrics are on (``PARLEY_METRICS_TOKEN``), so a worker
without the token never loads prometheus_client (about 1.2 MB each)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

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


def cache_event(hit: bool, cache: str) -> None:
    CACHE.labels(cache=cache, result="hit" if hit else "miss").inc()


def observe(endpoint: str, method: str, status: int, seconds: float | None) -> None:
    REQUESTS.labels(endpoint=endpoint, method=method, status=str(status)).inc()
    if seconds is not None:
        LATENCY.labels(endpoint=endpoint).observe(seconds)
    if status == 503:
        UNAVAILABLE.labels(endpoint=endpoint).inc()


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


def render(outbox: Mapping[str, int] | None, multiprocess: bool) -> bytes:
    """The exposition: this process's numbers, or every worker's in multiprocess mode, then
    the values read at scrape time."""
    if multiprocess:
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        counted = generate_latest(registry)
    else:
        counted = generate_latest(REGISTRY)
    scraped = CollectorRegistry()
    scraped.register(_Gauges(outbox))
    return counted + generate_latest(scraped)
