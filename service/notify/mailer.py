"""SMTP delivery: settings, building a message, one reused connection per batch.

Nothing here reads the request: mail is built and sent outside it, so links use
``PARLEY_PUBLIC_URL``. Errors never carry the recipient's address, because the
outbox stores them next to an encrypted one.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email import policy as email_policy
from email.headerregistry import Address as MailAddress
from email.headerregistry import BaseHeader, HeaderRegistry, UnstructuredHeader
from email.message import EmailMessage
from email.policy import Policy
from email.utils import formatdate, make_msgid
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from flask import current_app

DEFAULT_PORTS = {"none": 25, "starttls": 587, "ssl": 465}


def setting(name: str) -> Any:
    """A notification setting from the app's config (defaults live in service/config.py)."""
    return current_app.config.get(name)


class DeliveryError(Exception):
    """A message could not be delivered now; ``permanent`` ones are not retried."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True)
class SmtpSettings:
    """The SMTP server to use, from PARLEY_SMTP_* settings."""

    host: str
    port: int
    security: str
    user: str | None
    password: str | None
    sender: str
    timeout: float

    @classmethod
    def from_config(cls) -> SmtpSettings | None:
        """The configured server, or None when no PARLEY_SMTP_HOST is set (mail waits)."""
        host = setting("PARLEY_SMTP_HOST")
        if not host:
            return None
        security = str(setting("PARLEY_SMTP_SECURITY")).lower()
        if security not in DEFAULT_PORTS:
            raise ValueError(f"PARLEY_SMTP_SECURITY must be none, starttls or ssl: {security!r}")
        return cls(
            host=str(host),
            port=int(setting("PARLEY_SMTP_PORT") or DEFAULT_PORTS[security]),
            security=security,
            user=setting("PARLEY_SMTP_USER") or None,
            password=setting("PARLEY_SMTP_PASSWORD") or None,
            sender=sender_address(),
            timeout=float(setting("PARLEY_SMTP_TIMEOUT")),
        )


def public_url() -> str:
    """The service's public base URL (PARLEY_PUBLIC_URL) without a trailing slash."""
    return str(setting("PARLEY_PUBLIC_URL")).rstrip("/")


def sender_address() -> str:
    """PARLEY_SMTP_FROM, or "Parley <parley@host>" with the public URL's host."""
    configured = setting("PARLEY_SMTP_FROM")
    if configured:
        return str(configured)
    host = urlsplit(public_url()).hostname or "localhost"
    if host.replace(".", "").isdigit() or ":" in host:
        host = "localhost"  # an address literal is no mail domain
    return str(MailAddress("Parley", "parley", host))


def one_line(text: str, limit: int = 300) -> str:
    """Header-safe text: control characters and line breaks become spaces, then cut."""
    cleaned = " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"


# RFC 5322's limit for a line, and the headers that must reach mail clients as written.
_LINE_MAX = 998
_VERBATIM = ("List-Unsubscribe", "List-Unsubscribe-Post")


class _OneLine(UnstructuredHeader, BaseHeader):
    """An ASCII header written on one line exactly as given.

    The default policy folds at 78 characters, and a value with no space to fold at (the
    ``<https://...>`` of List-Unsubscribe) comes out as RFC 2047 encoded words, which mail
    clients do not read as a link: the unsubscribe button disappears. Anything that would
    not fit on one line, or is not ASCII, is folded as usual.
    """

    def fold(self, *, policy: Policy) -> str:
        line = f"{self.name}: {self}"
        if len(line) > _LINE_MAX or not line.isascii():
            return super().fold(policy=policy)
        return line + policy.linesep


def _policy() -> Policy:
    registry = HeaderRegistry()
    for name in _VERBATIM:
        registry.map_to_type(name, _OneLine)
    return email_policy.default.clone(header_factory=registry)


_POLICY = _policy()


def build_message(
    *, sender: str, to: str, subject: str, text: str, html: str, headers: dict[str, str]
) -> EmailMessage:
    """A multipart/alternative message (text, then HTML) with a fresh Message-ID."""
    message = EmailMessage(policy=_POLICY)
    message["From"] = sender
    message["To"] = to
    message["Subject"] = one_line(subject)
    message["Date"] = formatdate(localtime=False)
    domain = sender.rpartition("@")[2].strip("> ") or "localhost"
    message["Message-ID"] = make_msgid("parley", domain=domain)
    message["Auto-Submitted"] = "auto-generated"
    for name, value in headers.items():
        message[name] = one_line(value, 2000)
    message.set_content(text)
    if html:
        message.add_alternative(html, subtype="html")
    return message


def _scrub(text: str, address: str) -> str:
    """An error text without the recipient's address, short enough for the outbox."""
    if address:
        text = text.replace(address, "<recipient>")
    return one_line(text, 480)


def _smtp_error(error: Exception, address: str) -> DeliveryError:
    """A DeliveryError for an SMTP failure: 5xx answers are permanent (not retried)."""
    code = getattr(error, "smtp_code", None)
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [value[0] for value in error.recipients.values()]
        refusals = error.recipients.values()
        detail = "; ".join(f"{c} {m.decode(errors='replace')}" for c, m in refusals)
        permanent = bool(codes) and all(500 <= c < 600 for c in codes)
        return DeliveryError(_scrub(f"recipient refused: {detail}", address), permanent=permanent)
    if isinstance(code, int):
        raw = getattr(error, "smtp_error", b"")
        message = raw.decode(errors="replace") if isinstance(raw, bytes) else str(raw)
        permanent = 500 <= code < 600 and not isinstance(error, smtplib.SMTPAuthenticationError)
        name = type(error).__name__
        return DeliveryError(_scrub(f"{name}: {code} {message}", address), permanent=permanent)
    return DeliveryError(_scrub(f"{type(error).__name__}: {error}", address))


class SmtpConnection:
    """One SMTP session for a batch: connects on the first message, closes on exit."""

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings
        self._smtp: smtplib.SMTP | None = None

    def __enter__(self) -> SmtpConnection:
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        context = ssl.create_default_context()
        smtp: smtplib.SMTP
        if s.security == "ssl":
            smtp = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout, context=context)
        else:
            smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
        try:
            smtp.ehlo()
            if s.security == "starttls":
                smtp.starttls(context=context)  # raises when the server does not offer it
                smtp.ehlo()
            if s.user and s.password:
                smtp.login(s.user, s.password)
        except BaseException:
            smtp.close()
            raise
        return smtp

    def send(self, to: str, subject: str, text: str, html: str, headers: dict[str, str]) -> None:
        """Send one message to one recipient; raises DeliveryError."""
        try:
            message = build_message(
                sender=self.settings.sender,
                to=to,
                subject=subject,
                text=text,
                html=html,
                headers=headers,
            )
        except (ValueError, TypeError) as error:
            raise DeliveryError(_scrub(f"bad message: {error}", to), permanent=True) from None
        try:
            if self._smtp is None:
                self._smtp = self._connect()
            self._smtp.send_message(message, to_addrs=[to])
        except (smtplib.SMTPException, OSError) as error:  # OSError: refused, TLS, time-out
            if not isinstance(error, smtplib.SMTPRecipientsRefused):
                self.close()  # the session may be broken: start a fresh one next time
            raise _smtp_error(error, to) from None

    @property
    def connected(self) -> bool:
        return self._smtp is not None

    def close(self) -> None:
        if self._smtp is None:
            return
        smtp, self._smtp = self._smtp, None
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()
