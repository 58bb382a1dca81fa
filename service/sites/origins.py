"""Origins: the web pages that may embed a site's widgets and write to it."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app

from service.data import Site
from service.data.bounds import MAX_ORIGINS, URL_MAX
from service.rules.validation import clean_http_url


def origin_of(url: str) -> str:
    """The origin (scheme://host[:port]) of an absolute URL, lowercased."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    default_port = {"http": 80, "https": 443}.get(parts.scheme.lower())
    port = "" if parts.port in (None, default_port) else f":{parts.port}"
    return f"{parts.scheme.lower()}://{host}{port}"


LOOPBACK_NAMES = ("127.0.0.1", "localhost")


def own_origins(service_origin: str) -> set[str]:
    """The service's own origin, and its other loopback name (127.0.0.1 and localhost are
    the same machine: a page opened at either is the service's own)."""
    origins = {service_origin}
    scheme, _, rest = service_origin.partition("://")
    host, colon, port = rest.partition(":")
    if host in LOOPBACK_NAMES:
        origins.update(f"{scheme}://{name}{colon}{port}" for name in LOOPBACK_NAMES)
    return origins


def allowed_origins(site: Site, service_origin: str) -> set[str]:
    """The origins that may embed and write to a site, the service's own included."""
    origins = {*site.origins, *own_origins(service_origin)}
    if site.key == "default":
        origins.update(current_app.config["PARLEY_ALLOWED_ORIGINS"])
    return origins


def parse_origin(value: str) -> str:
    """One allowed origin, scheme://host[:port]; raises ValueError with what to give."""
    text = value.strip().rstrip("/")
    url = clean_http_url(text, URL_MAX)
    if url is None or origin_of(url) != text.lower():
        raise ValueError(
            f"{text[:80]!r} is not an origin: give http:// or https://, the host and "
            "at most a port, like https://example.org"
        )
    return origin_of(url)


def parse_origins(values: list[str]) -> list[str]:
    """Allowed origins, each checked by ``parse_origin``, without repeats; raises ValueError."""
    origins = list(dict.fromkeys(parse_origin(v) for v in values if v.strip()))
    if len(origins) > MAX_ORIGINS:
        raise ValueError(f"At most {MAX_ORIGINS} origins.")
    return origins
