"""What a log line may say: client addresses cut as storage cuts them, no mail-link token,
no secret from a query string, no email address.

``redact_target`` cleans a request's path and query for the access log (``web.access``
writes it); ``redact`` applies the same rules to any text, and ``RedactingFormatter``
applies ``redact`` to every line a handler writes, tracebacks included. Every handler Parley
sets up (``install``: ``flask --app service serve`` and the gunicorn configuration) uses it.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import sys
from typing import TextIO

from service.rules.privacy import anonymize_address

REDACTED = "[redacted]"
# Query parameters whose values are public (which site and page, paging, display). Every
# other value (emails, searches, tokens, return paths) is logged as [redacted].
PUBLIC_PARAMETERS = frozenset(
    {
        "site",
        "page",
        "sort",
        "limit",
        "cursor",
        "offset",
        "parent",
        "status",
        "part",
        "frame",
        "reply",
        "theme",
        "lang",
        "scale",
    }
)
# /notify/<kind>/<token>: the links in mail (moderate, confirm, unsubscribe) carry their
# authority in the path.
_MAIL_LINK = re.compile(r"(/notify/[^/?#\s\"']+/)[^?#\s\"']+")
_QUERY = re.compile(r"\?([^\s\"'<>#]*)")
_PARAMETER_NAME = re.compile(r"[A-Za-z0-9_.\-\[\]]{1,40}")
_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+")
_IPV6 = re.compile(
    r"(?<![0-9A-Za-z:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{1,4}|\d{1,3}(?:\.\d{1,3}){3})?"
    r"(?![0-9A-Za-z:.])"
)
_IPV4 = re.compile(r"(?<![0-9A-Za-z.])(?:\d{1,3}\.){3}\d{1,3}(?![0-9A-Za-z]|\.\d)")
_UNPRINTABLE = re.compile(r"[^\x21-\x7e]")
TARGET_MAX = 2_000


def _query(query: str) -> str:
    kept = []
    for item in query.split("&"):
        name, has_value, _value = item.partition("=")
        if name in PUBLIC_PARAMETERS or not item:
            kept.append(item)
        elif has_value and _PARAMETER_NAME.fullmatch(name):
            kept.append(f"{name}={REDACTED}")
        else:  # a bare value or an odd name may itself be the secret
            kept.append(REDACTED)
    return "&".join(kept)


def redact_target(target: str) -> str:
    """A request target (path and query) as the access log shows it.

    Mail-link tokens leave the path; only public parameters keep their values; anything
    that is not printable ASCII is percent-encoded, so a line cannot be split or spoofed.
    """
    path, has_query, query = target.partition("?")
    path = _MAIL_LINK.sub(rf"\g<1>{REDACTED}", path)
    line = f"{path}?{_query(query)}" if has_query else path
    line = _UNPRINTABLE.sub(lambda m: "".join(f"%{b:02X}" for b in m[0].encode()), line)
    line = line.replace('"', "%22")
    return line if len(line) <= TARGET_MAX else line[:TARGET_MAX] + "..."


def _address(match: re.Match[str]) -> str:
    text = match[0]
    try:
        parsed = ipaddress.ip_address(text)
    except ValueError:
        return text
    if parsed.is_loopback or parsed.is_unspecified:
        return text  # the server's own addresses ("listening on 127.0.0.1:8000")
    return anonymize_address(text)


def redact(text: str) -> str:
    """Any log text with mail-link tokens, non-public query values and emails removed and
    client addresses cut to their network (IPv4 /24, IPv6 /48)."""
    text = _MAIL_LINK.sub(rf"\g<1>{REDACTED}", text)
    text = _QUERY.sub(lambda m: "?" + _query(m[1]), text)
    text = _EMAIL.sub("[email]", text)
    text = _IPV6.sub(_address, text)
    return _IPV4.sub(_address, text)


class RedactingFormatter(logging.Formatter):
    """Formats as ``inner`` does (or as a plain formatter with ``fmt``), then redacts."""

    def __init__(
        self,
        fmt: str | None = None,
        datefmt: str | None = None,
        inner: logging.Formatter | None = None,
    ) -> None:
        super().__init__(fmt, datefmt)
        self.inner = inner

    def format(self, record: logging.LogRecord) -> str:
        text = self.inner.format(record) if self.inner else super().format(record)
        return redact(text)


LINE_FORMAT = "%(asctime)s [%(levelname)s] %(name)s: %(message)s"


def protect(handler: logging.Handler) -> None:
    """Make a handler redact what it writes, keeping its own format."""
    if not isinstance(handler.formatter, RedactingFormatter):
        handler.setFormatter(RedactingFormatter(inner=handler.formatter or logging.Formatter()))


def install(stream: TextIO | None = None, level: int = logging.INFO) -> logging.Handler:
    """Send every logger's records (Parley's access log, the service's warnings, the
    server's messages) to ``stream`` (standard error) through one redacting handler."""
    root = logging.getLogger()
    for handler in root.handlers:
        if getattr(handler, "parley", False):
            return handler
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(RedactingFormatter(LINE_FORMAT))
    handler.parley = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    return handler
