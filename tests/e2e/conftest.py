"""Fixtures for the browser tests; the harness itself is in ``harness.py``."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import pytest
from backends import unavailable
from harness import (
    ARTIFACTS,
    CHROMIUM,
    FORM_MIN_SECONDS,
    LAUNCH_ARGS,
    MODERATED_SITE,
    Browsing,
    HostSite,
    Service,
    browser_unavailable,
    open_context,
    safe_name,
)
from servers import running_server, server_environment

from service.config import new_data_key


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Keep each phase's report on the item (fixtures save artifacts on failure), and
    write the failure's text next to the trace and screenshots."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    if report.failed and "browser" in item.keywords:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{safe_name(item.name)}-{report.when}-failure.txt"
        path.write_text(report.longreprtext)
    return report


@pytest.fixture(scope="session")
def _browser_ready() -> None:
    reason = browser_unavailable()
    if reason:
        unavailable(reason)


@pytest.fixture(scope="session")
def host(_browser_ready: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[HostSite]:
    site = HostSite(tmp_path_factory.mktemp("host-pages"))
    yield site
    site.close()


@pytest.fixture(scope="session")
def service(host: HostSite, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    instance = tmp_path_factory.mktemp("e2e-service")
    extra = {
        "PARLEY_ALLOWED_ORIGINS": host.origin,
        "PARLEY_RATELIMIT_ENABLED": "false",
        # The time trap stays on, shorter, so the suite waits less for it.
        "PARLEY_FORM_MIN_SECONDS": str(int(FORM_MIN_SECONDS)),
        "PARLEY_DATA_KEY": new_data_key(),  # the same key for the server and the CLI
    }
    with running_server(instance, workers=2, env=extra) as server:
        env = server_environment(instance, server.database_url, **extra)
        svc = Service(server, env, host.origin)
        svc.flask(
            "site", "add", MODERATED_SITE, "--name", "Moderated", "--origin", host.origin,
            "--moderation", "all",
        )  # fmt: skip
        host.service_origin = svc.origin
        yield svc


@pytest.fixture(scope="session")
def playwright_driver(_browser_ready: None) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright_driver: Any) -> Iterator[Any]:
    browser = playwright_driver.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
    yield browser
    browser.close()


@pytest.fixture
def contexts(
    browser: Any, request: pytest.FixtureRequest, service: Service, host: HostSite
) -> Iterator[Callable[..., Browsing]]:
    """Open more fresh contexts (another reader, no JavaScript, dark mode...)."""
    service.server.checkpoint()  # the server's log is checked from here on
    with ExitStack() as stack:

        def make(label: str, *, on: Any = None, **options: Any) -> Browsing:
            return stack.enter_context(
                open_context(on or browser, request, service, host, label, **options)
            )

        yield make


@pytest.fixture
def browsing(contexts: Callable[..., Browsing]) -> Browsing:
    """A fresh context (no storage, no cookies) for one test."""
    return contexts("")


@pytest.fixture
def page_id(request: pytest.FixtureRequest) -> Callable[[str], str]:
    """Page ids of this test's own, so tests never see each other's comments."""
    test = safe_name(request.node.name)
    token = secrets.token_hex(3)

    def make(label: str = "article") -> str:
        return f"/e2e/{test}/{label}-{token}"

    return make
