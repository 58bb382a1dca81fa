"""The access log: one line per request, written by the application whatever server runs it.

``203.0.113.0 "POST /api/v1/comments?site=default&page=/p HTTP/1.1" 201 845 12ms``

The client's address is the one the rate limits and storage use (``PARLEY_TRUSTED_PROXIES``
decides how far ``X-Forwarded-For`` is believed), cut as storage cuts it; the target loses
mail-link tokens and non-public query values (``rules.logs``). Lines go to the logger
``parley.access``; the servers' own access logs stay off, so there is one line per request.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.wsgi import ClosingIterator

from service.rules import logs, privacy

log = logging.getLogger("parley.access")

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def _target(environ: dict[str, Any]) -> str:
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if raw:
        return str(raw)
    path = str(environ.get("SCRIPT_NAME", "")) + str(environ.get("PATH_INFO", ""))
    query = environ.get("QUERY_STRING")
    return f"{path}?{query}" if query else path


class AccessLog:
    """WSGI middleware around the whole application, proxy handling included."""

    def __init__(self, app: WSGIApp, trusted_proxies: int) -> None:
        self.app = app
        self.trusted_proxies = trusted_proxies

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if not log.isEnabledFor(logging.INFO):
            return self.app(environ, start_response)
        started = time.perf_counter()
        address = privacy.client_address(
            environ.get("REMOTE_ADDR"), environ.get("HTTP_X_FORWARDED_FOR"), self.trusted_proxies
        )
        request = " ".join(
            (
                logs.redact_target(str(environ.get("REQUEST_METHOD", "-"))),
                logs.redact_target(_target(environ)),
                logs.redact_target(str(environ.get("SERVER_PROTOCOL", "-"))),
            )
        )
        answer: dict[str, str] = {}

        def recording(status: str, headers: list[tuple[str, str]], *args: Any) -> Any:
            answer["status"] = status.split(" ", 1)[0]
            answer["length"] = next(
                (value for name, value in headers if name.lower() == "content-length"), "-"
            )
            return start_response(status, headers, *args)

        def write() -> None:
            elapsed = round((time.perf_counter() - started) * 1000)
            log.info(
                '%s "%s" %s %s %dms',
                privacy.anonymize_address(address) or "-",
                request,
                answer.get("status", "-"),
                answer.get("length", "-"),
                elapsed,
            )

        return ClosingIterator(self.app(environ, recording), [write])
