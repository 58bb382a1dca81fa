"""``GET /metrics``: off (404) unless ``PARLEY_METRICS_TOKEN`` is set, then only with that
bearer token (401 otherwise), never cached; Prometheus text with requests by route and
status, latency, 503s, cache hits and misses, and the outbox's unsent rows. Through the
test client, and on a real gunicorn server whose workers share their counts through
``PROMETHEUS_MULTIPROC_DIR``.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families
from servers import Server, ServerError, comments_path, run_threads, running_server
from support import comment_body
from werkzeug.test import TestResponse

from service import config
from service.cli import server as runner
from service.data import OutboxMessage, utcnow
from service.extensions import db
from service.web import metrics

TOKEN = "metrics-" + "0123456789abcdef" * 2
BEARER = {"Authorization": f"Bearer {TOKEN}"}
GUNICORN_CONFIG = ("-c", "python:service.cli.gunicorn_config")


def samples(text: str, name: str, **labels: str) -> float:
    """The sum of the samples called ``name`` whose labels include ``labels``."""
    total = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                total += sample.value
    return total


def endpoint(app: Flask, path: str, method: str = "GET") -> str:
    """The route's name as the metrics give it (the Flask endpoint, never the path)."""
    found, _ = app.url_map.bind("localhost").match(path, method)
    return str(found)


def scrape(client: FlaskClient) -> str:
    response = client.get("/metrics", headers=BEARER)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return response.get_data(as_text=True)


# --- on or off, and who may read -------------------------------------------------------


def test_metrics_are_off_without_a_token(client: FlaskClient) -> None:
    response = client.get("/metrics", headers=BEARER)
    assert response.status_code == 404
    assert "no-store" in response.headers["Cache-Control"]


@pytest.mark.parametrize("app_config", [{"PARLEY_METRICS_TOKEN": TOKEN}])
@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer"},
        {"Authorization": f"Bearer {TOKEN}x"},
        {"Authorization": f"Bearer {TOKEN[:-1]}"},
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": TOKEN},
        {"X-Metrics-Token": TOKEN},
    ],
    ids=["none", "empty", "longer", "shorter", "basic", "bare", "other-header"],
)
def test_metrics_need_the_bearer_token(client: FlaskClient, headers: dict[str, str]) -> None:
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert "no-store" in response.headers["Cache-Control"]
    assert TOKEN not in response.get_data(as_text=True)


@pytest.mark.parametrize("app_config", [{"PARLEY_METRICS_TOKEN": TOKEN}])
def test_with_the_token_metrics_are_prometheus_text_never_cached(client: FlaskClient) -> None:
    response = client.get("/metrics", headers={"Authorization": f"bearer  {TOKEN} "})
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    assert "no-store" in response.headers["Cache-Control"]
    text = response.get_data(as_text=True)
    names = {family.name for family in text_string_to_metric_families(text)}
    assert {
        "parley_http_requests",
        "parley_http_request_duration_seconds",
        "parley_http_unavailable",
        "parley_cache_requests",
        "parley_outbox_unsent",
    } <= names


def test_the_token_is_read_as_a_string_and_must_be_long() -> None:
    read = config.from_environment({"PARLEY_METRICS_TOKEN": " 1234567890123456 "})
    assert read["PARLEY_METRICS_TOKEN"] == "1234567890123456"
    assert "PARLEY_METRICS_TOKEN" not in config.from_environment({"PARLEY_METRICS_TOKEN": " "})
    for weak in ("short", "has a space in the middle"):
        with pytest.raises(config.ConfigError, match="PARLEY_METRICS_TOKEN"):
            config.from_environment({"PARLEY_METRICS_TOKEN": weak})


# --- what they count --------------------------------------------------------------------


@pytest.mark.parametrize("app_config", [{"PARLEY_METRICS_TOKEN": TOKEN}])
def test_requests_are_counted_by_route_and_status_with_their_latency(
    app: Flask, client: FlaskClient
) -> None:
    listed = endpoint(app, "/api/v1/comments")
    before = scrape(client)
    for n in range(3):
        assert client.get("/api/v1/comments", query_string={"page": f"/m/{n}"}).status_code == 200
    posted: TestResponse = client.post(
        "/api/v1/comments", query_string={"page": "/m"}, json=comment_body(email="no")
    )
    assert posted.status_code == 422
    assert client.get("/no/such/path").status_code == 404
    after = scrape(client)

    def delta(name: str, **labels: str) -> float:
        return samples(after, name, **labels) - samples(before, name, **labels)

    total = "parley_http_requests_total"
    assert delta(total, endpoint=listed, method="GET", status="200") == 3
    created = endpoint(app, "/api/v1/comments", "POST")
    assert delta(total, endpoint=created, method="POST", status="422") == 1
    assert delta(total, endpoint=metrics.UNMATCHED, status="404") == 1
    # Routes, never raw paths: the page keys sent appear nowhere.
    assert "/m/0" not in after and "/no/such/path" not in after
    latency = "parley_http_request_duration_seconds"
    assert delta(latency + "_count", endpoint=listed) == 3
    assert delta(latency + "_bucket", endpoint=listed, le="+Inf") == 3
    assert delta(latency + "_sum", endpoint=listed) > 0


@pytest.mark.parametrize(
    "app_config",
    [
        {
            "PARLEY_METRICS_TOKEN": TOKEN,
            "SQLALCHEMY_DATABASE_URI": "sqlite:////nonexistent-parley-dir/nested/parley.sqlite",
        }
    ],
)
def test_answers_while_the_database_is_gone_count_as_503s(app: Flask, client: FlaskClient):
    listed = endpoint(app, "/api/v1/comments")
    before = scrape(client)
    response = client.get("/api/v1/comments", query_string={"page": "/gone"})
    assert response.status_code == 503 and response.headers["Retry-After"]
    after = scrape(client)  # metrics still answer: the outbox's numbers are left out
    unavailable = "parley_http_unavailable_total"
    assert (
        samples(after, unavailable, endpoint=listed) - samples(before, unavailable, endpoint=listed)
        == 1
    )
    assert "parley_outbox_unsent{" not in after


def test_cache_hits_and_misses_are_counted_for_the_cache_code() -> None:
    def value(result: str, cache: str = "response") -> float:
        labels = {"cache": cache, "result": result}
        return REGISTRY.get_sample_value("parley_cache_requests_total", labels) or 0.0

    metrics.enable()  # what an application with PARLEY_METRICS_TOKEN does at start
    before = (value("hit"), value("miss"), value("hit", "test"))
    metrics.cache_event(True)
    metrics.cache_event(True)
    metrics.cache_event(False)
    metrics.cache_event(hit=True, cache="test")
    after = (value("hit"), value("miss"), value("hit", "test"))
    assert [b - a for a, b in zip(before, after, strict=True)] == [2, 1, 1]


@pytest.mark.parametrize("app_config", [{"PARLEY_METRICS_TOKEN": TOKEN}])
def test_the_outbox_backlog_counts_unsent_rows(app: Flask, client: FlaskClient) -> None:
    maximum = int(app.config["PARLEY_OUTBOX_MAX_ATTEMPTS"])
    with app.app_context():
        hook = "https://example.org/hook"
        db.session.add_all(
            [
                *(OutboxMessage(kind="webhook", recipient=hook) for _ in range(3)),
                OutboxMessage(kind="mail", recipient="x", attempts=maximum),
                OutboxMessage(kind="webhook", recipient=hook, sent=utcnow()),
            ]
        )
        db.session.commit()
    text = scrape(client)
    assert samples(text, "parley_outbox_unsent", state="queued") == 3
    assert samples(text, "parley_outbox_unsent", state="gave_up") == 1


# --- several workers --------------------------------------------------------------------


def test_several_workers_need_a_shared_metrics_folder() -> None:
    on = {**config.DEFAULTS, "PARLEY_METRICS_TOKEN": TOKEN}
    problem = runner.shared_metrics_problem(2, on, {})
    assert problem and "PROMETHEUS_MULTIPROC_DIR" in problem
    assert runner.shared_metrics_problem(1, on, {}) is None
    assert runner.shared_metrics_problem(4, config.DEFAULTS, {}) is None
    assert runner.shared_metrics_problem(4, on, {"PROMETHEUS_MULTIPROC_DIR": "/run/x"}) is None


@pytest.mark.slow
@pytest.mark.db
def test_gunicorn_refuses_several_workers_with_metrics_and_no_shared_folder(tmp_path: Path):
    env = {"PARLEY_METRICS_TOKEN": TOKEN}
    with pytest.raises(ServerError, match="PROMETHEUS_MULTIPROC_DIR"):
        with running_server(tmp_path, workers=2, env=env, options=GUNICORN_CONFIG):
            pass


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Four gunicorn workers with the production configuration, counting into one folder
    (left with a stale file from an earlier run, which the start must remove)."""
    instance = tmp_path_factory.mktemp("metrics-server")
    folder = instance / "prometheus"
    folder.mkdir()
    (folder / "counter_999999.db").write_bytes(b"stale")
    env = {"PARLEY_METRICS_TOKEN": TOKEN, "PROMETHEUS_MULTIPROC_DIR": str(folder)}
    with running_server(instance, workers=4, env=env, options=GUNICORN_CONFIG) as server:
        yield server


def server_scrape(server: Server) -> str:
    reply = server.request("GET", "/metrics", headers=BEARER)
    assert reply.status == 200, reply
    assert "no-store" in reply.headers["Cache-Control"]
    return reply.body.decode()


@pytest.mark.slow
@pytest.mark.db
def test_every_scrape_reports_all_workers_requests(shared: Server) -> None:
    shared.checkpoint()
    page = f"/metrics/{secrets.token_hex(4)}"
    assert not (shared.instance / "prometheus" / "counter_999999.db").exists()
    before = [server_scrape(shared) for _ in range(8)]
    total = "parley_http_requests_total"
    counted = {samples(text, total, endpoint="api.list_comments") for text in before}
    assert len(counted) == 1, f"scrapes disagree before: {counted}"

    def read(_n: int) -> int:
        return shared.request("GET", comments_path(page)).status

    assert run_threads(40, read) == [200] * 40
    posted = shared.request("POST", comments_path(page), comment_body(text="counted"))
    assert posted.status == 201, posted
    after = [server_scrape(shared) for _ in range(8)]
    for text in after:  # whichever worker answered, the sum of all of them
        grew = samples(text, total, endpoint="api.list_comments", status="200")
        assert grew - samples(before[0], total, endpoint="api.list_comments", status="200") == 40
        created = samples(text, total, endpoint="api.create_comment", status="201")
        assert created - samples(before[0], total, endpoint="api.create_comment", status="201") == 1
        latency = "parley_http_request_duration_seconds_count"
        assert samples(text, latency, endpoint="api.list_comments") >= 40
    shared.assert_no_problems()


@pytest.mark.slow
@pytest.mark.db
def test_one_worker_without_a_folder_reports_its_own_counts(tmp_path: Path) -> None:
    env = {"PARLEY_METRICS_TOKEN": TOKEN}
    with running_server(tmp_path, workers=1, env=env, options=GUNICORN_CONFIG) as server:
        first = server_scrape(server)
        assert server.request("GET", comments_path("/one")).status == 200
        second = server_scrape(server)
        total = "parley_http_requests_total"
        labels: dict[str, Any] = {"endpoint": "api.list_comments", "status": "200"}
        assert samples(second, total, **labels) - samples(first, total, **labels) == 1
        assert "process_resident_memory_bytes" in second  # one process: its own figures too
        server.assert_no_problems()
