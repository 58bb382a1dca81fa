"""Signed webhooks: address checks, payloads, delivery over a pinned connection, CLI.

A URL is checked when it is added and again at every sending, and the request
goes to the very address that passed the check, so a name that later resolves
to an internal address (DNS rebinding) is refused rather than followed.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import ipaddress
import json
import secrets
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import sqlalchemy as sa

from service.data import Comment, Site, Webhook, versions
from service.data.bounds import URL_MAX
from service.extensions import db
from service.notify.mailer import DeliveryError, setting
from service.rules import privacy
from service.rules.errors import DomainError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
SIGNATURE_HEADER = "X-Parley-Signature"
TIMESTAMP_HEADER = "X-Parley-Timestamp"
_READ_LIMIT = 64 * 1024


class WebhookError(DomainError):
    """A webhook URL is refused; the message says why."""

    def __init__(self, message: str) -> None:
        super().__init__("webhook_refused", message)


@dataclass(frozen=True)
class Target:
    """A checked URL: where to connect (addresses) and what to ask for."""

    scheme: str
    host: str
    port: int
    path: str
    addresses: tuple[IPAddress, ...]


def is_public(address: IPAddress) -> bool:
    """True for a globally routable unicast address; IPv4 inside IPv6 is unwrapped."""
    if isinstance(address, ipaddress.IPv6Address):
        inner = address.ipv4_mapped or address.sixtofour or (address.teredo or (None, None))[1]
        if inner is not None and not is_public(inner):
            return False
    return not (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or not address.is_global
    )


def _parse(url: str) -> tuple[str, str, int, str]:
    """Scheme, host, port and path of an acceptable URL; WebhookError otherwise."""
    if not isinstance(url, str) or not url or len(url) > URL_MAX:
        raise WebhookError(f"Give an http(s) URL of at most {URL_MAX} characters.")
    if any(not ch.isprintable() or ch.isspace() for ch in url):
        raise WebhookError("The URL contains spaces or control characters.")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise WebhookError("Only http and https URLs can be webhooks.")
    if "@" in parts.netloc:
        raise WebhookError("A webhook URL must not carry a user name or password.")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise WebhookError("The URL's port is not valid.") from None
    host = parts.hostname
    if not host:
        raise WebhookError("The URL has no host.")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.scheme, host, port, path


def _resolve(host: str, port: int) -> list[IPAddress]:
    """Every address a host name stands for (an address literal stands for itself)."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise WebhookError(f"The host {host!r} cannot be resolved.") from None
    addresses: list[IPAddress] = []
    for _family, _type, _proto, _name, sockaddr in found:
        address = ipaddress.ip_address(str(sockaddr[0]).partition("%")[0])
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise WebhookError(f"The host {host!r} has no address.")
    return addresses


def check_url(url: str, *, allow_private: bool | None = None) -> Target:
    """Parse, resolve and check a webhook URL; raises WebhookError when it is refused."""
    scheme, host, port, path = _parse(url.strip() if isinstance(url, str) else url)
    addresses = _resolve(host, port)
    if allow_private is None:
        allow_private = bool(setting("PARLEY_WEBHOOK_ALLOW_PRIVATE"))
    if not allow_private and not all(is_public(address) for address in addresses):
        raise WebhookError(
            f"The host {host!r} resolves to a private, loopback or link-local address."
        )
    return Target(scheme, host, port, path, tuple(addresses))


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The X-Parley-Signature value: HMAC-SHA256 of "TIMESTAMP." + body under the secret."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def payload(comment: Comment, event: str) -> str:
    """The JSON body for an event: public fields only, never an email."""
    page = comment.page
    data = {
        "event": event,
        "site": page.site.key,
        "page": {"id": page.key, "title": page.title, "url": page.url},
        "comment": {
            "id": comment.id,
            "parent": comment.parent_id,
            "status": comment.status,
            "author": comment.author,
            "html": comment.html,
            "created": comment.created.replace(microsecond=0).isoformat() + "Z",
        },
    }
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


_ACTIVE = (
    sa.select(Webhook.__table__.c.id)
    .where(
        Webhook.__table__.c.site_id == sa.bindparam("site_id"),
        Webhook.__table__.c.active.is_(True),
    )
    .limit(1)
)


def _any_active(site_id: int) -> bool:
    return db.session.connection().scalar(_ACTIVE, {"site_id": site_id}) is not None


_KEPT = versions.SiteMemo("webhooks", _any_active)  # every post asks it


def any_active(site: Site) -> bool:
    """Whether the site has a webhook switched on: kept while the site's version holds."""
    return _KEPT.get(site)


def kept_any_active(site: Site) -> bool | None:
    """``any_active`` if this process knows it for the site's version, else None (no read)."""
    return _KEPT.kept(site)


def active_for(site: Site) -> list[Webhook]:
    """The site's webhooks that are switched on."""
    site_id = site.id
    if not any_active(site):
        return []  # most sites have none
    return list(
        db.session.scalars(
            sa.select(Webhook)
            .where(Webhook.site_id == site_id, Webhook.active.is_(True))
            .order_by(Webhook.id)
        )
    )


class _PinnedHTTP(http.client.HTTPConnection):
    """An HTTP connection to a checked address, whatever the host name resolves to now."""

    def __init__(self, host: str, port: int, address: IPAddress, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self.pinned = str(address)

    def connect(self) -> None:
        self.sock = socket.create_connection((self.pinned, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    """HTTPS to a checked address; the certificate is verified for the host name."""

    def __init__(self, host: str, port: int, address: IPAddress, timeout: float) -> None:
        self.tls = ssl.create_default_context()
        super().__init__(host, port, timeout=timeout, context=self.tls)
        self.pinned = str(address)

    def connect(self) -> None:
        raw = socket.create_connection((self.pinned, self.port), self.timeout)
        self.sock = self.tls.wrap_socket(raw, server_hostname=self.host)


def _post(target: Target, body: bytes, headers: dict[str, str], timeout: float) -> int:
    """POST to the first checked address that accepts a connection; the HTTP status."""
    kind = _PinnedHTTPS if target.scheme == "https" else _PinnedHTTP
    last: OSError | None = None
    for address in target.addresses:
        connection = kind(target.host, target.port, address, timeout)
        try:
            connection.connect()
        except OSError as error:
            last = error
            connection.close()
            continue
        try:
            connection.request("POST", target.path, body=body, headers=headers)
            response = connection.getresponse()
            response.read(_READ_LIMIT)
            return response.status
        finally:
            connection.close()
    raise last or OSError("no address to connect to")


def deliver(url: str, secret: str, body: str, *, event: str, delivery: int) -> None:
    """POST one signed payload; raises DeliveryError unless the answer is 2xx."""
    try:
        target = check_url(url)
    except WebhookError as error:
        raise DeliveryError(f"refused: {error}") from None
    raw = body.encode()
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Parley-Webhook/1",
        "X-Parley-Event": event,
        "X-Parley-Delivery": str(delivery),
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: signature(secret, timestamp, raw),
    }
    try:
        status = _post(target, raw, headers, float(setting("PARLEY_WEBHOOK_TIMEOUT")))
    except (OSError, http.client.HTTPException) as error:
        raise DeliveryError(f"{type(error).__name__}: {error}"[:480]) from None
    if not 200 <= status < 300:
        raise DeliveryError(f"answered HTTP {status}")


def add(site: Site, url: str) -> tuple[Webhook, str]:
    """A new webhook for a site and its secret (shown once); caller commits."""
    url = url.strip()
    check_url(url)
    secret = secrets.token_urlsafe(32)
    webhook = Webhook(site_id=site.id, url=url, secret=privacy.encrypt_email(secret))
    db.session.add(webhook)
    db.session.flush()
    return webhook, secret
