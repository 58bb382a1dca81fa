"""Browser test harness: the service on one origin, a host page on another, headless Chromium.

One real service for the session (``running_server``: gunicorn on a migrated
SQLite file) at ``http://127.0.0.1:PORT1``, allowing writes from the host
origin ``http://localhost:PORT2``: a tiny static server (a thread in this
process) serving host pages that tests write into a temporary folder. The two
are different sites, so everything the loader does is cross-site, as on a
real blog.

One browser for the session, a fresh context (no storage, no cookies) per
test. Every context records what would be a bug whatever the test does:
uncaught script errors, dialogs, answers >= 500 from the service, requests to
any host but the two origins (the browser cannot resolve any other name), and
tracebacks in the server's log. On failure the test's trace and a screenshot
of every open page go to ``test-artifacts/``.
"""

from __future__ import annotations

import functools
import html
import http.server
import json
import re
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from servers import BIN, ROOT, Server

try:
    from playwright.sync_api import expect
except ImportError:  # the tests skip (see browser_unavailable); collecting must not fail
    # Never called: without playwright every browser test is skipped before it starts.
    expect = None  # type: ignore[assignment]
else:
    expect.set_options(timeout=10_000)  # a loaded 2-core machine runs several suites at once

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"
# Names other than the two origins do not resolve: nothing can leave the machine.
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
]
# Chromium's switch that blocks third-party cookies as the phase-out does. (Headless
# Chromium 156 already blocks them in every context; the switch makes it explicit.)
NO_THIRD_PARTY_COOKIES = "--test-third-party-cookie-phaseout"
SITE = "default"
MODERATED_SITE = "moderated"
FORM_MIN_SECONDS = 1.0  # PARLEY_FORM_MIN_SECONDS set for the test server (conftest)
# The comment form (not the inline form the loader adds to edit a comment).
COMMENT_FORM = "form.parley-form:not(.parley-edit)"
VIEWPORT = {"width": 1000, "height": 1400}

# Host page styles that would wreck a widget living in the page's own DOM. They
# reach the shadow host (the placeholder) and, by inheritance, its ancestors';
# they must not reach the widget's own elements.
HOSTILE_CSS = """
html { font-size: 16px; }
body {
  background: #ffe; color: #f00; margin: 8px;
  font: italic 40px/3 "Comic Sans MS", fantasy; letter-spacing: 4px; word-spacing: 12px;
  text-transform: uppercase; text-align: right; text-shadow: 2px 2px #0f0;
  white-space: pre; cursor: crosshair;
}
body * { color: #f00 !important; font-size: 40px !important; font-family: fantasy !important; }
p, form, input, textarea, button, label, article, h2, a, img, ul, li, dl, fieldset,
header, time, progress, legend {
  display: none !important; visibility: hidden !important;
}
input, textarea, button { all: unset !important; }
.parley, .parley-comment, .parley-form, .parley-body { display: none !important; }
*, *::before, *::after { box-sizing: content-box !important; }
"""

NEUTRAL_CSS = """
body { margin: 0; background: #fff; font: 16px/1.5 Georgia, serif; color: #222; }
main { max-width: 900px; margin: 0 auto; padding: 16px 24px; }
body.dark { background: #0d1117; color: #ddd; }
"""


def browser_unavailable() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (the browser tests drive the system Chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -e '.[test]')"
    return None


def safe_name(text: str) -> str:
    """A file-name-safe version of a test id."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-")[:120]


# --- the host origin: a static server --------------------------------------------------


class _HostHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")
        super().end_headers()


class _QuietServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a browser that closed a connection early: nothing to report


class HostSite:
    """Static pages on ``http://localhost:PORT2``, written by the tests."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        handler = functools.partial(_HostHandler, directory=str(folder))
        self.httpd = _QuietServer(("127.0.0.1", 0), handler)
        self.port = self.httpd.server_address[1]
        self.origin = f"http://localhost:{self.port}"
        self.service_origin = ""  # set once the service runs
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)

    def loader_tag(self) -> str:
        return f'<script src="{self.service_origin}/embed.js" async></script>'

    def write(
        self,
        name: str,
        body: str,
        *,
        css: str = NEUTRAL_CSS,
        title: str = "Host page",
        html_attrs: str = "",
        body_attrs: str = "",
        head: str = "",
        loader: bool = True,
    ) -> str:
        """Write a host page and return its URL. ``body`` is the page's inner HTML."""
        style = f"<style>{css}</style>\n" if css else ""
        page = (
            f'<!doctype html>\n<html lang="en"{html_attrs}>\n<head>\n<meta charset="utf-8">\n'
            f"{head}<title>{html.escape(title)}</title>\n{style}</head>\n"
            f"<body{body_attrs}>\n{body}\n{self.loader_tag() if loader else ''}\n</body>\n</html>\n"
        )
        path = self.folder / f"{safe_name(name)}.html"
        path.write_text(page)
        return f"{self.origin}/{path.name}"

    def article(
        self,
        name: str,
        page_id: str,
        *,
        site: str = SITE,
        mode: str | None = None,
        theme: str | None = None,
        css: str = NEUTRAL_CSS,
        rating: bool = True,
        comments: bool = True,
        **kwargs: Any,
    ) -> str:
        """A host article with the rating box and the thread under it (the embed snippet)."""
        extra = ""
        if mode:
            extra += f' data-mode="{mode}"'
        if theme:
            extra += f' data-theme="{theme}"'
        attrs = f'data-site="{html.escape(site)}" data-page="{html.escape(page_id)}"{extra}'
        parts = ["<main>", "<h1>An article on the host site</h1>"]
        if rating:
            parts.append(f'<div data-parley="rating" {attrs}></div>')
        if comments:
            parts.append(f'<div data-parley="comments" {attrs}></div>')
        parts.append("</main>")
        return self.write(name, "\n".join(parts), css=css, **kwargs)


# --- the service -----------------------------------------------------------------------


@dataclass
class Service:
    """The running service and what tests need to talk to it directly."""

    server: Server
    env: dict[str, str]
    host_origin: str
    # A form token and when it came: one serves every post the tests seed.
    form: tuple[str, float] | None = field(default=None, repr=False)

    @property
    def origin(self) -> str:
        return self.server.base_url

    def flask(self, *args: str) -> str:
        """Run ``flask --app service ARGS`` against the service's database."""
        return self.flask_many(list(args))[0]

    def flask_many(self, *commands: list[str]) -> list[str]:
        """Run several ``flask --app service`` commands at once (each starts an app)."""
        running = [
            (
                command,
                subprocess.Popen(
                    [str(BIN / "flask"), "--app", "service", *command],
                    cwd=ROOT,
                    env=self.env,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    text=True,
                ),
            )
            for command in commands
        ]
        outputs = []
        for command, process in running:
            output, _ = process.communicate(timeout=60)
            assert process.returncode == 0, f"flask {' '.join(command)}: {output}"
            outputs.append(output)
        return outputs

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        origin: str | None = "host",
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        """One API call with urllib; ``origin="host"`` sends the host page's Origin."""
        sent = dict(headers or {})
        if origin == "host":
            sent["Origin"] = self.host_origin
        elif origin:
            sent["Origin"] = origin
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            sent["Content-Type"] = "application/json"
        request = urllib.request.Request(self.origin + path, data=data, headers=sent, method=method)
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                raw = answer.read()
                status = answer.status
        except urllib.error.HTTPError as error:
            with error:
                raw = error.read()
                status = error.code
        return status, json.loads(raw) if raw else None

    def form_token(self) -> str:
        """A form token as the widget gets one, old enough to be taken (the server wants
        FORM_MIN_SECONDS): a browser's post (with an ``Origin``) must bring one."""
        if self.form is None:
            status, data = self.call("GET", "/api/v1/form-token", origin=None)
            assert status == 200, (status, data)
            self.form = (str(data["form_token"]), time.monotonic())
        token, got = self.form
        time.sleep(max(0.0, got + FORM_MIN_SECONDS + 0.1 - time.monotonic()))
        return token

    def post_comment(self, page: str, site: str = SITE, **fields: Any) -> dict[str, Any]:
        body = {"name": "Seeder", "email": "seeder@example.org", "text": "Seeded.", **fields}
        body.setdefault("form_token", self.form_token())
        query = urllib.parse.urlencode({"site": site, "page": page})
        status, data = self.call("POST", f"/api/v1/comments?{query}", body)
        assert status == 201, (status, data)
        return data

    def thread(self, page: str, site: str = SITE) -> dict[str, Any]:
        query = urllib.parse.urlencode({"site": site, "page": page})
        status, data = self.call("GET", f"/api/v1/comments?{query}", origin=None)
        assert status == 200, (status, data)
        return data

    def ratings(self, page: str, site: str = SITE) -> dict[str, Any]:
        query = urllib.parse.urlencode({"site": site, "page": page})
        status, data = self.call("GET", f"/api/v1/ratings?{query}", origin=None)
        assert status == 200, (status, data)
        return data

    def visitor(self, site: str = SITE) -> str:
        """A visitor key for the site (a key counts only on its own site)."""
        query = urllib.parse.urlencode({"site": site})
        status, data = self.call("POST", f"/api/v1/visitors?{query}", origin=None)
        assert status == 201, (status, data)
        return str(data["visitor"])

    def vote(self, page: str, value: int, site: str = SITE) -> None:
        query = urllib.parse.urlencode({"site": site, "page": page})
        status, data = self.call(
            "PUT",
            f"/api/v1/ratings?{query}",
            {"value": value},
            headers={"X-Parley-Visitor": self.visitor(site)},
        )
        assert status == 200, (status, data)

    def thread_url(self, page: str, site: str = SITE, **query: str) -> str:
        return f"{self.origin}/thread?" + urllib.parse.urlencode(
            {"site": site, "page": page, **query}
        )


@dataclass
class Watch:
    """What a context saw that is a bug whatever the test does."""

    allowed_hosts: set[str]
    service_host: str
    page_errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)
    server_errors: list[str] = field(default_factory=list)
    requests: list[Any] = field(default_factory=list)
    pages: dict[int, Any] = field(default_factory=dict)  # id(request) -> its page

    def attach(self, page: Any) -> None:
        page.on("pageerror", lambda error: self.page_errors.append(f"{page.url}: {error}"))
        page.on("dialog", self._dialog)
        page.on("request", lambda request: self._request(request, page))
        page.on("response", self._response)

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        # The widget may ask "Delete this comment?"; the XSS test fails on any dialog.
        dialog.accept()

    def _request(self, request: Any, page: Any) -> None:
        self.requests.append(request)
        self.pages[id(request)] = page
        parts = urllib.parse.urlsplit(request.url)
        if parts.scheme in ("data", "blob", "about"):
            return
        if parts.netloc not in self.allowed_hosts:
            self.foreign.append(f"{request.method} {request.url}")

    def _response(self, response: Any) -> None:
        if response.status >= 500:
            self.server_errors.append(f"{response.status} {response.request.method} {response.url}")

    def service_requests(
        self, method: str | None = None, path: str | None = None, *, pages: tuple[Any, ...] = ()
    ) -> list[Any]:
        """Requests to the service (by method, path, and the pages that made them)."""
        found = []
        for request in self.requests:
            parts = urllib.parse.urlsplit(request.url)
            if parts.netloc != self.service_host:
                continue
            if pages and not any(self.pages.get(id(request)) is p for p in pages):
                continue
            if method and request.method != method:
                continue
            if path and parts.path != path:
                continue
            found.append(request)
        return found

    def problems(self, *, dialogs_ok: bool = True) -> list[str]:
        found = [f"uncaught error: {e}" for e in self.page_errors]
        found += [f"request to another host: {f}" for f in self.foreign]
        found += [f"server error: {e}" for e in self.server_errors]
        if not dialogs_ok:
            found += [f"dialog: {d}" for d in self.dialogs]
        return found


@dataclass
class Browsing:
    """A fresh browser context for one test, and the checks that apply to every test."""

    context: Any
    watch: Watch
    service: Service
    host: HostSite

    def new_page(self) -> Any:
        return self.context.new_page()

    def assert_clean(self, *, dialogs_ok: bool = True) -> None:
        problems = self.watch.problems(dialogs_ok=dialogs_ok)
        problems += [f"server log: {p}" for p in self.service.server.problems()]
        assert not problems, "\n".join(problems)


def failed(request: pytest.FixtureRequest) -> bool:
    return any(
        getattr(getattr(request.node, f"rep_{when}", None), "failed", False)
        for when in ("setup", "call")
    )


@contextmanager
def open_context(
    browser: Any,
    request: pytest.FixtureRequest,
    service: Service,
    host: HostSite,
    label: str = "",
    **options: Any,
) -> Iterator[Browsing]:
    """A context with the watch attached and tracing on; artifacts saved on failure."""
    options.setdefault("viewport", VIEWPORT)
    context = browser.new_context(**options)
    context.set_default_timeout(10_000)
    context.set_default_navigation_timeout(15_000)
    watch = Watch(
        allowed_hosts={urllib.parse.urlsplit(service.origin).netloc, f"localhost:{host.port}"},
        service_host=urllib.parse.urlsplit(service.origin).netloc,
    )
    context.on("page", watch.attach)
    context.tracing.start(screenshots=False, snapshots=True, sources=False)
    try:
        yield Browsing(context, watch, service, host)
    finally:
        if failed(request):
            name = safe_name(request.node.name + (f"-{label}" if label else ""))
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            for n, page in enumerate(context.pages):
                try:
                    page.screenshot(path=str(ARTIFACTS / f"{name}-page{n}.png"), full_page=True)
                except Exception:  # noqa: BLE001 - a closed or crashed page
                    pass
            context.tracing.stop(path=str(ARTIFACTS / f"{name}-trace.zip"))
            log = service.server.log()[service.server.log_offset :]
            (ARTIFACTS / f"{name}-server.log").write_text(log[-20_000:])
        else:
            context.tracing.stop()
        context.close()


# --- widget helpers --------------------------------------------------------------------


def comments_box(page: Any) -> Any:
    return page.locator('[data-parley="comments"]').first


def rating_box(page: Any) -> Any:
    return page.locator('[data-parley="rating"]').first


def wait_mounted(box: Any, inner: str, timeout: float = 10_000) -> Any:
    """Scroll a placeholder into view and wait for an element the loader mounts in it."""
    box.scroll_into_view_if_needed()
    found = box.locator(inner).first
    found.wait_for(state="visible", timeout=timeout)
    return found


class FormClock:
    """When the page last got a form time token, to post no sooner than the trap allows.

    The widget fetches ``/api/v1/form-token`` when its form is first focused (and
    again after each post); the standalone page has one in its HTML. The service
    refuses a post sent less than 3 seconds after its token was issued.
    """

    def __init__(self, page: Any) -> None:
        self.issued = time.monotonic()  # the standalone page: its HTML carries the token
        self.in_flight = 0
        page.on("request", self._request)
        page.on("requestfinished", self._finished)
        page.on("requestfailed", self._finished)

    @staticmethod
    def _is_token(request: Any) -> bool:
        return "/api/v1/form-token" in request.url

    def _request(self, request: Any) -> None:
        if self._is_token(request):
            self.in_flight += 1

    def _finished(self, request: Any) -> None:
        if self._is_token(request):
            self.in_flight -= 1
            self.issued = time.monotonic()

    def restart(self) -> None:
        """A page (or frame) with a token in its HTML was just loaded."""
        self.issued = time.monotonic()

    def wait(self, page: Any) -> None:
        """Sleep until the newest token is old enough to be accepted."""
        deadline = time.monotonic() + 10
        while self.in_flight and time.monotonic() < deadline:
            page.wait_for_timeout(50)
        left = self.issued + FORM_MIN_SECONDS + 0.3 - time.monotonic()
        if left > 0:
            page.wait_for_timeout(left * 1000)


def fill_comment(form: Any, **fields: str) -> None:
    """Type into the form's fields, found by their names (the API's field names)."""
    for name, value in fields.items():
        form.locator(f'[name="{name}"]').fill(value)


def click_star(box: Any, value: int) -> None:
    """Vote as a reader does: click the star (the label of the radio with that value),
    then "Rate" where the box has a visible Rate button (a star click may vote at once)."""
    radio = box.locator(f'input.parley-star-input[name="value"][value="{value}"]')
    star_id = radio.get_attribute("id")
    box.locator(f'label[for="{star_id}"]').click()
    rate = box.locator('.parley-rate button[type="submit"][value="rate"]')
    if rate.count() and rate.first.is_visible():
        rate.first.click()


def comment(box: Any, comment_id: int) -> Any:
    """The rendered comment with this id."""
    return box.locator(f"article#c{comment_id}")


def action(box: Any, comment_id: int, name: str) -> Any:
    """A comment's own action button or link (reply, like, edit, delete), not its replies'."""
    return box.locator(f'article#c{comment_id} > .parley-actions > [data-action="{name}"]')


def computed(locator: Any, *properties: str) -> dict[str, str]:
    """Computed style values of the first element a locator finds."""
    return dict(
        locator.first.evaluate(
            "(el, names) => names.map((n) => [n, getComputedStyle(el).getPropertyValue(n)])",
            list(properties),
        )
    )


def save_screenshot(target: Any, name: str, **options: Any) -> Path:
    """A screenshot under test-artifacts/screenshots/."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    target.screenshot(path=str(path), **options)
    return path
