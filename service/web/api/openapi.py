"""The OpenAPI 3.1 document served at /api/v1/openapi.json: the reference for the JSON API.

It is written from what the views validate with (``service.web.schemas``): each view's
``operation`` declaration gives the paths; pydantic's JSON Schema of the body and answer
models gives ``#/components/schemas``; the parameter models give ``#/components/parameters``;
the error answers come from the table of error codes (``service.web.errors.CODES``). Only
``/healthz``, served by the widgets' blueprint, is declared here.

The document is built once; ``openapi_document`` hands out a deep copy.
"""

from __future__ import annotations

import copy
from functools import cache
from typing import Annotated, Any

from pydantic import BaseModel, TypeAdapter
from pydantic.fields import FieldInfo
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue, models_json_schema
from pydantic_core import core_schema

from service.web.api.contract import OPERATIONS, Answer, Operation
from service.web.errors import CODES
from service.web.schemas import VISITOR, Error, Health, Json, Parameters, of


class Generator(GenerateJsonSchema):
    """Pydantic's JSON Schema as this document writes it: no titles, no defaults (the
    descriptions say them; parameters state theirs), null as one more type where it can."""

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False

    def model_schema(self, schema: core_schema.ModelSchema) -> JsonSchemaValue:
        json_schema = super().model_schema(schema)
        json_schema.pop("title", None)
        return json_schema

    def default_schema(self, schema: core_schema.WithDefaultSchema) -> JsonSchemaValue:
        return self.generate_inner(schema["schema"])

    def nullable_schema(self, schema: core_schema.NullableSchema) -> JsonSchemaValue:
        inner = self.generate_inner(schema["schema"])
        if isinstance(inner.get("type"), str) and not {"enum", "const", "$ref"} & inner.keys():
            return {**inner, "type": [inner["type"], "null"]}
        return self.get_union_of_schemas([inner, {"type": "null"}])


# Error answers shared by operations: status -> (component name, summary, the codes it
# usually carries). An operation answering other codes with that status gets its own.
ERRORS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "400": ("BadRequest", "Malformed request", ("invalid_query", "malformed_json")),
    "403": ("Forbidden", "Not allowed", ("origin_not_allowed", "cross_site")),
    "404": ("NotFound", "Not found", ("site_not_found", "not_found")),
    "409": ("Duplicate", "Posted already", ("duplicate",)),
    "413": ("TooLarge", "Body too large", ("too_large",)),
    "414": ("UriTooLong", "URL too long", ("uri_too_long",)),
    "415": ("UnsupportedMediaType", "Body is not JSON", ("unsupported_media_type",)),
    "422": ("InvalidFields", "Invalid fields", ("validation_failed", "too_fast")),
    "429": ("RateLimited", "Too many requests", ("rate_limited",)),
    "503": ("Unavailable", "Storage busy or down", ("storage_unavailable",)),
}

HEALTH = Operation(
    "get",
    "/healthz",
    "health",
    "Health check",
    "200 when the database answers, else 503.",
    answers={
        "200": Answer("The database answers.", Health),
        "503": Answer("The database does not answer.", Health, retry_after=True),
    },
    tag="service",
)

API_TOKEN = "apiToken"

TAGS = {
    "comments": "Threads; posting, editing, deleting.",
    "ratings": "Votes, their summary and editorial scores.",
    "likes": "Likes on comments.",
    "visitors": "Visitor keys for votes, likes and reviews.",
    "counts": "Comment and rating counts for listing pages.",
    "widget": "Helpers for the embedded widget.",
    "privacy": "Commenters' rights: a mailed link to their data, or to erase it.",
    "service": "The service itself.",
}

DESCRIPTION = f"""\
Comments, ratings and likes for any web page. Every call names a site and a page with the
query parameters `site` (default `default`) and `page` (the page id the embed gives).

Votes, likes, reviews and reports need a visitor key: get one from
`POST /api/v1/visitors?site=`, keep it, and send it in the `{VISITOR}` header (missing: 400
`visitor_required`; not a key this service issued, or another site's: 403 `bad_visitor`).
Answers that depend on the key are never cached. Issuing keys, votes, likes and reports are
rate-limited per client address, votes, likes and reports per key too.

A thread's first page starts with its pinned comments (`pinned`: true), which later pages
leave out. A page closed to comments (by a moderator, or some days after its first comment)
refuses new ones with 403 `comments_closed`.

Bodies are JSON objects (`Content-Type: application/json`); unknown fields are refused.
Every error is JSON, `{{"error": {{"code", "message", "fields"}}}}`, with 400 (malformed, or
no visitor key), 403 (origin, token, visitor key, closed), 404, 405 (method not allowed,
with `Allow`), 413 (too large), 415 (not JSON), 422 (invalid fields), 429 (rate limit, with
`Retry-After`) or 503 (storage busy or down, with `Retry-After`). Nothing a client sends
produces a 500.

Where the service is stricter than JSON Schema can say, or more forgiving, the field's or
parameter's description says so: a whole number written `3.0` is refused; a review's
`rating` needs the `{VISITOR}` header; a `parent` must name a published comment and a vote
fit the site's scale; a `cursor` must be one this service made; free text is measured
after trimming and may hold any visible character; an empty query value counts as omitted.

A browser's write (POST, PUT, PATCH, DELETE) whose `Origin` is neither one of the site's
allowed origins nor the service's own is refused with 403 `origin_not_allowed`, and one
marked cross-site (`Sec-Fetch-Site`) without an `Origin` with 403 `cross_site`. A client that
sends neither header is not a browser: it is allowed, under rate limits and the site's
moderation policy.

A browser's post (`Origin` or `Sec-Fetch-Site`) must bring the widget form's `form_token`
and an empty `hp` (else 403 `bad_form_token`; a filled `hp` is 422). A client with a site's
API token (`Authorization: Bearer`) is taken like such a post. A post with neither a form
token nor an API token is held for moderation, or judged by the site's policy, or refused
(403 `bad_form_token`), as `PARLEY_TOKENLESS_POSTS` and the site's setting say (held by
default). The same author's same text on the same page within ten minutes is not posted
twice: its author (the same visitor key, or the first comment's edit token) gets the first
comment back (200); anyone else gets 409 `duplicate`.
"""


def ref(kind: str, name: str) -> Json:
    return {"$ref": f"#/components/{kind}/{name}"}


def content(body: type[BaseModel] | Json) -> Json:
    schema = body if isinstance(body, dict) else ref("schemas", body.__name__)
    return {"application/json": {"schema": schema}}


def failure(status: str, codes: tuple[str, ...]) -> Json:
    """An error answer carrying these codes; Retry-After where the client should wait."""
    meaning = {code: CODES[code][1] for code in codes}
    listed = ", ".join(f"`{c}` ({meaning[c]})" if meaning[c] else f"`{c}`" for c in codes)
    summary = ERRORS[status][1]
    response: Json = {
        "description": f"{summary}. Codes: {listed}.",
        "content": content(ref("schemas", "Error")),
    }
    if status in ("429", "503"):
        response["headers"] = {"Retry-After": ref("headers", "RetryAfter")}
    return response


def errors(codes: tuple[str, ...]) -> Json:
    """The error answers for these codes, by status: the shared one where it fits."""
    by_status: dict[str, list[str]] = {}
    for code in dict.fromkeys(codes):
        by_status.setdefault(str(CODES[code][0]), []).append(code)
    return {
        status: ref("responses", ERRORS[status][0])
        if set(found) == set(ERRORS[status][2])
        else failure(status, tuple(found))
        for status, found in sorted(by_status.items())
    }


def answer(declared: Answer) -> Json:
    response: Json = {"description": declared.description}
    if declared.body is not None:
        response["content"] = content(declared.body)
    if declared.retry_after:
        response["headers"] = {"Retry-After": ref("headers", "RetryAfter")}
    if declared.cached:
        response["headers"] = {
            "ETag": ref("headers", "ETag"),
            "Cache-Control": ref("headers", "CacheControl"),
        }
    return response


def parameter(model: type[Parameters], name: str, field: FieldInfo) -> tuple[str, Json]:
    """One field of a parameter model as a component: its name, and the parameter."""
    typed: Any = (
        Annotated[(field.annotation, *field.metadata)] if field.metadata else field.annotation
    )
    schema = TypeAdapter(typed).json_schema(schema_generator=Generator)
    if not field.is_required() and field.default is not None:
        schema["default"] = field.default
    return field.title or name.capitalize(), {
        "name": model.names()[name],
        "in": model.location,
        "required": field.is_required(),
        "description": field.description,
        "schema": schema,
    }


def operation(declared: Operation, parameters: dict[type[Parameters], list[str]]) -> Json:
    op: Json = {
        "operationId": declared.op_id,
        "tags": [declared.tag],
        "summary": declared.summary,
        "description": declared.description,
    }
    if declared.parameters:
        op["parameters"] = [
            ref("parameters", name) for model in declared.parameters for name in parameters[model]
        ]
    if declared.body is not None:
        op["requestBody"] = {"required": True, "content": content(declared.body)}
    op["responses"] = {s: answer(a) for s, a in declared.answers.items()} | errors(declared.errors)
    if declared.bearer:
        op["security"] = [{}, {API_TOKEN: []}]  # optional: without one, the call is as documented
    return op


@cache
def _document() -> Json:
    declared = [*OPERATIONS, HEALTH]
    components: dict[str, Json] = {}
    names: dict[type[Parameters], list[str]] = {}
    for model in dict.fromkeys(m for op in declared for m in op.parameters):
        fields = [parameter(model, name, f) for name, f in model.model_fields.items()]
        names[model] = [name for name, _ in fields]
        components.update(fields)
    models = (
        {Error}
        | {op.body for op in declared if op.body is not None}
        | {a.body for op in declared for a in op.answers.values() if isinstance(a.body, type)}
    )
    _, schemas = models_json_schema(
        [(m, "validation") for m in sorted(models, key=lambda m: m.__name__)],
        ref_template="#/components/schemas/{model}",
        schema_generator=Generator,
    )
    paths: dict[str, Json] = {}
    for op in declared:
        paths.setdefault(op.path, {})[op.method] = operation(op, names)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Parley", "version": "1", "description": DESCRIPTION},
        "tags": [{"name": name, "description": text} for name, text in TAGS.items()],
        "paths": paths,
        "components": {
            "schemas": schemas["$defs"],
            "parameters": components,
            "headers": {
                "RetryAfter": {
                    "description": "Seconds to wait.",
                    "required": True,
                    "schema": of("string", pattern="^[0-9]+$"),
                },
                "ETag": {
                    "description": "A public answer's version (weak: the same for every "
                    "compression); send it back in `If-None-Match` for a 304. Absent from "
                    "personal answers.",
                    "schema": of("string"),
                },
                "CacheControl": {
                    "description": "Public answers: `public`, a short `max-age` and "
                    "`stale-while-revalidate`; personal ones: `private, no-store`.",
                    "schema": of("string"),
                },
            },
            "responses": {
                name: failure(status, codes) for status, (name, _, codes) in ERRORS.items()
            },
            "securitySchemes": {
                API_TOKEN: {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A site's API token, issued by its owner in the admin views "
                    "(shown once; revocable). A post with it is taken like the widget's form "
                    "post with a valid `form_token`; an unknown, revoked or other site's token "
                    "is 403 `bad_api_token`.",
                }
            },
        },
    }


def openapi_document() -> Json:
    """The OpenAPI document (a fresh copy: callers may change it)."""
    return copy.deepcopy(_document())
