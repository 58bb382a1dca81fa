"""What a view reads from the request, read one way everywhere: the JSON body, the client's
address, the service's own origin, the site and page parameters, and where a form may send
its reader back.

Domain functions get these as plain values; nothing below the web layer reads the request.
"""

from __future__ import annotations

import json
from typing import Any

from flask import current_app, has_request_context, request, url_for
from flask_babel import lazy_gettext as _l

from service.data import Site
from service.data.bounds import RETURN_PATH_MAX
from service.extensions import db
from service.rules import privacy, validation
from service.rules.errors import DomainError
from service.sites.lookup import get_site
from service.sites.origins import origin_of

EDIT_TOKEN_HEADER = "X-Parley-Edit-Token"
# Methods that may change something: they take the write lock and face the origin checks.
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def json_body() -> dict[str, Any]:
    """The request body as a JSON object: 415 if not JSON, 400 if malformed."""
    if request.mimetype != "application/json":
        raise DomainError(
            "unsupported_media_type", _l("Send the body as JSON (Content-Type: application/json).")
        )
    raw = request.get_data(cache=True)
    try:
        data = json.loads(raw, parse_constant=_refuse_constant, object_pairs_hook=_unique_keys)
    except (ValueError, RecursionError):
        raise DomainError("malformed_json", _l("The body is not valid JSON.")) from None
    if not isinstance(data, dict):
        raise DomainError("malformed_json", _l("The body must be a JSON object."))
    return data


def client_address() -> str:
    """The client's real address, trusting PARLEY_TRUSTED_PROXIES proxies; "" if unknown."""
    # Several X-Forwarded-For header lines mean the same as one comma-joined line.
    forwarded = ", ".join(request.headers.getlist("X-Forwarded-For")) or None
    trusted = int(current_app.config.get("PARLEY_TRUSTED_PROXIES", 0))
    return privacy.client_address(request.remote_addr, forwarded, trusted)


def stored_address() -> str:
    """The anonymised client address the database keeps."""
    return privacy.anonymize_address(client_address())


def public_url() -> str:
    """The service's own address (PARLEY_PUBLIC_URL), never the request's Host."""
    return str(current_app.config["PARLEY_PUBLIC_URL"])


def service_origin() -> str:
    """The service's own origin, from PARLEY_PUBLIC_URL."""
    return origin_of(public_url())


def external_url(endpoint: str, **values: Any) -> str:
    """An absolute URL of one of the service's pages, on its public address."""
    path = url_for(endpoint, **values)
    if has_request_context() and request.script_root and path.startswith(request.script_root):
        path = path[len(request.script_root) :]  # PARLEY_PUBLIC_URL holds any prefix
    return public_url() + path


def asked_site(key: str, page: str | None = None) -> Site:
    """``get_site(key, page)``, asked once per request: the origin check and the view share
    the answer (and the page it loaded), as long as the session still holds it."""
    asked: dict[tuple[str, str | None], Site] = request.environ.setdefault("parley.sites", {})
    site = asked.get((key, page))
    if site is None or site not in db.session:
        site = asked[(key, page)] = get_site(key, page)
    return site


def site_and_page() -> tuple[Site, str]:
    """The site and page the ``site`` and ``page`` parameters name."""
    site = get_site(validation.site_key(request.args.get("site")))
    return site, validation.page_key(request.args.get("page"))


def safe_return(value: str | None) -> str | None:
    """A same-origin path to go back to after a form, or None (never another host)."""
    if not value or len(value) > RETURN_PATH_MAX or not value.startswith("/"):
        return None
    if value.startswith(("//", "/\\")) or any(ord(ch) < 32 or ch == "\\" for ch in value):
        return None
    return value
