"""The browser console stays clean: no error message and no uncaught error on the service's
own pages (the demo page, the standalone thread page, the admin login and dashboard).

A resource that fails to load (a missing favicon's 404, a stylesheet the CSP refuses) is an
error in the console too, so this catches those as well as script errors.
"""

from __future__ import annotations

import secrets
from typing import Any

import pytest
from harness import comments_box, expect, rating_box, wait_mounted

from service.sites.demo import DEMO_PAGE

pytestmark = [pytest.mark.browser, pytest.mark.slow]


class Console:
    """Every console message of type "error" and every uncaught error of a page."""

    def __init__(self, page: Any) -> None:
        self.errors: list[str] = []
        page.on("console", self._message)
        page.on("pageerror", lambda error: self.errors.append(f"{page.url}: uncaught {error}"))

    def _message(self, message: Any) -> None:
        if message.type == "error":
            where = message.location.get("url") or ""
            self.errors.append(f"{where}: {message.text}")


def settle(page: Any) -> None:
    """Let everything the page loads arrive (and fail, if it would): scroll to the end so
    the loader mounts every widget, then wait for the network to be quiet."""
    page.wait_for_load_state("networkidle")
    page.mouse.wheel(0, 20_000)
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(300)  # a late console message from the last answer


def test_the_demo_and_standalone_pages_have_a_clean_console(browsing, service):
    page = browsing.new_page()
    console = Console(page)

    page.goto(f"{service.origin}{DEMO_PAGE}")
    wait_mounted(rating_box(page), ".parley-rating")
    wait_mounted(comments_box(page), "form.parley-form")
    settle(page)
    description = page.locator('meta[name="description"]')
    expect(description).to_have_count(1)
    assert len(description.get_attribute("content") or "") > 40
    icon = page.locator('link[rel="icon"]')
    expect(icon).to_have_count(1)
    href = icon.evaluate("link => link.href")
    answer = page.request.get(href)
    assert answer.status == 200 and answer.headers["content-type"].startswith("image/svg+xml")
    assert answer.body().startswith(b"<svg")

    page.goto(service.thread_url(DEMO_PAGE))
    expect(page.locator("form#reply")).to_be_visible()
    settle(page)

    assert not console.errors, "\n".join(console.errors)
    browsing.assert_clean()


def test_the_admin_login_and_dashboard_have_a_clean_console(browsing, service):
    email = f"console-{secrets.token_hex(3)}@example.org"
    password = "a long console password"
    service.flask("create-admin", email, "--password", password)
    page = browsing.new_page()
    console = Console(page)

    page.goto(f"{service.origin}/admin/login")
    settle(page)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{service.origin}/admin/")
    expect(page.locator("main")).to_be_visible()
    settle(page)

    assert not console.errors, "\n".join(console.errors)
    browsing.assert_clean()
