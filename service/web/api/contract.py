"""The API's contract with its views: each view declares its operation (route, summary,
parameters, body, answers, error codes) with ``operation``, and reads its request with the
models of ``service.web.schemas``. ``service.web.api.openapi`` writes the document from the
operations declared here."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from flask import request
from pydantic import BaseModel

from service.data import Site
from service.rules import validation
from service.rules.errors import DomainError
from service.sites.lookup import get_site
from service.web.api import bp
from service.web.requests import asked_site, json_body
from service.web.schemas import VISITOR, Body, Json, Parameters, SiteQuery, validated

# --- Operations: each view's route and what the document says about it -------------------
BAD_REQUEST = ("invalid_query", "malformed_json")
NOT_FOUND = ("site_not_found", "not_found")
# What a browser's write can be refused for, besides its own reasons.
ORIGIN = ("origin_not_allowed", "cross_site")
INVALID = ("validation_failed", "too_fast")
UNAVAILABLE = "storage_unavailable"
READ = (*BAD_REQUEST, *NOT_FOUND, UNAVAILABLE)
BODY = (*READ, "too_large", "unsupported_media_type", *INVALID)
PERSONAL = f"Personal: never cached (`Cache-Control: private, no-store`, `Vary: {VISITOR}`)."


@dataclass(frozen=True)
class Answer:
    """One documented answer: its description and body (a model, a raw schema, or none)."""

    description: str
    body: type[BaseModel] | Json | None = None
    retry_after: bool = False
    # A public read: `ETag` and `Cache-Control` headers (``service.web.cache``).
    cached: bool = False


def not_modified() -> Answer:
    """A public read's 304."""
    return Answer(
        "Not modified: the `ETag` sent in `If-None-Match` is still current (no body; the "
        "same `ETag` and `Cache-Control`)."
    )


@dataclass(frozen=True)
class Operation:
    """What the document says about one route and method. ``errors`` are error codes
    (``service.web.errors.CODES`` gives each one's status and meaning)."""

    method: str
    path: str
    op_id: str
    summary: str
    description: str
    answers: Mapping[str, Answer]
    tag: str = "comments"
    parameters: tuple[type[Parameters], ...] = ()
    body: type[Body] | None = None
    errors: tuple[str, ...] = ()
    # Takes an API token (`Authorization: Bearer`), optionally: the document's security.
    bearer: bool = False


OPERATIONS: list[Operation] = []
V = TypeVar("V", bound=Callable[..., Any])


def operation(
    method: str, rule: str, op_id: str, summary: str, description: str, **declared: Any
) -> Callable[[V], V]:
    """Route the view under the API's prefix and record its operation for the document."""

    def register(view: V) -> V:
        path = rule
        for model in declared.get("parameters", ()):
            for name, wire in model.names().items():
                if model.location == "path":
                    path = path.replace(f"<int:{name}>", "{" + wire + "}")
        full = f"{bp.url_prefix}{path}"
        OPERATIONS.append(Operation(method, full, op_id, summary, description, **declared))
        bp.add_url_rule(rule, view_func=view, methods=[method.upper()])
        return view

    return register


# --- Reading a request with its models --------------------------------------------------
Q = TypeVar("Q", bound=SiteQuery)
P = TypeVar("P", bound=Parameters)
B = TypeVar("B", bound=Body)


def read_query(model: type[Q], **context: Any) -> tuple[Site, Q]:
    """The site the query names, and its parameters validated in order; a query naming a
    page has that page loaded with the site, in the same statement.

    An unknown site is answered (404) before any parameter after it is refused.
    """
    values = {name: request.args.get(name) for name in model.model_fields}
    try:
        query = validated(model, values, **context)
    except DomainError as error:
        if "site" not in error.fields:
            get_site(validation.site_key(values["site"]))
        raise
    return asked_site(query.site, getattr(query, "page", None)), query


def read_public_query(model: type[Q], **context: Any) -> Q:
    """The parameters ``model`` declares, validated without looking the site up (a public
    read looks it up with its versions); refused as ``read_query`` refuses them."""
    values = {name: request.args.get(name) for name in model.model_fields}
    try:
        return validated(model, values, **context)
    except DomainError:
        read_query(model, **context)  # the same refusal, an unknown site's first
        raise


def read_headers(model: type[P], **context: Any) -> P:
    """The headers ``model`` declares, validated (a missing header is None); a visitor header
    needs ``site_id``, the site the key is used on."""
    headers = {name: request.headers.get(name) for name in model.names().values()}
    return validated(model, headers, **context)


def read_body(model: type[B], **context: Any) -> B:
    """The JSON body validated by ``model`` (415, 400 or 422 as ``json_body`` and it say)."""
    return validated(model, json_body(), **context)
