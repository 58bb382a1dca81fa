"""The OpenAPI document: valid, complete, and true to what the service does."""

from __future__ import annotations

import base64
import re
import unicodedata
from collections.abc import Iterator
from functools import partial
from typing import Any
from unittest.mock import ANY
from urllib.parse import parse_qs, urlsplit

import jsonschema_rs
import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

from service import openapi, validation
from service.errors import ApiError
from service.openapi import openapi_document
from service.validation import is_visible

IMPLICIT_METHODS = {"HEAD", "OPTIONS"}


def test_served_document_is_valid_openapi_3_1(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.json
    assert document == openapi_document()
    assert document["openapi"].startswith("3.1.")
    schemathesis.openapi.from_dict(document).validate()
    # The OpenAPI meta-schema neither looks inside schemas nor follows references: every
    # schema must be valid JSON Schema 2020-12 (patterns included), every $ref must resolve.
    for schema in _schemas_in(document):
        jsonschema_rs.Draft202012Validator({**document, **schema}, validate_formats=True)
    for pointer in _refs_in(document):
        target: Any = document
        for part in pointer.removeprefix("#/").split("/"):
            assert isinstance(target, dict) and part in target, f"dangling $ref {pointer}"
            target = target[part]


def test_every_api_route_is_documented(app):
    routes = {
        (re.sub(r"<[^>]+>", "{id}", rule.rule), method.lower())
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("api.")
        for method in rule.methods - IMPLICIT_METHODS
    }
    documented = {
        (path, method) for path, item in openapi_document()["paths"].items() for method in item
    }
    missing = sorted(routes - documented)
    assert not missing, f"API routes missing from service/openapi.py: {missing}"
    assert ("/healthz", "get") in documented


def _schemas_in(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        for name, value in node.items():
            if name == "schema" and isinstance(value, dict):
                yield value
            elif name == "schemas" and isinstance(value, dict):
                yield from value.values()
            yield from _schemas_in(value)
    elif isinstance(node, list):
        for item in node:
            yield from _schemas_in(item)


def _refs_in(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for value in node.values():
            yield from _refs_in(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs_in(item)


def _pattern(schema: dict[str, Any]) -> re.Pattern[str]:
    return re.compile(schema["pattern"])


def _accepted(clean: Any, value: str) -> bool:
    errors: dict[str, str] = {}
    return clean(value, errors) is not None and not errors


def test_character_classes_mean_what_the_validators_mean():
    every = [chr(cp) for cp in range(0x110000) if not 0xD800 <= cp <= 0xDFFF]
    space = re.compile(f"[{openapi.SPACE}]")
    assert [ch for ch in every if bool(space.match(ch)) != ch.isspace()] == []
    control = re.compile(f"[{openapi.CONTROL}]")
    assert [
        ch for ch in every if bool(control.match(ch)) != (unicodedata.category(ch) == "Cc")
    ] == []
    solid = re.compile(openapi.SOLID)
    assert [
        ch for ch in every if bool(solid.match(ch)) == (ch.isspace() or bool(control.match(ch)))
    ] == []
    visible = re.compile(f"[{openapi.VISIBLE}]")
    assert [ch for ch in every if visible.match(ch) and not is_visible(ch)] == []


TRICKY = st.sampled_from(list(" \t\n\r\x00\x1c\x1f\x7f\x85\x9f\xa0\u2000\u200b\u3000a/é"))
KEYS = st.text(alphabet=st.one_of(TRICKY, st.characters(codec="utf-8")), max_size=80) | st.builds(
    lambda pad, core, size, end: pad + (core * 600)[:size] + end,  # around the length limits
    st.text(TRICKY, max_size=3),
    st.text(st.characters(codec="utf-8"), min_size=1, max_size=5),
    st.sampled_from([62, 63, 64, 65, 510, 511, 512, 513]),
    st.text(TRICKY, max_size=3),
)


@settings(max_examples=300, deadline=None)
@given(KEYS)
@example("a" * 512)
@example("a" * 513)
@example(" \x85" + "a" * 512 + "\u3000\t")
@example("a\x85b")
@example("\u200b")
@example(" ")
def test_key_pattern_is_exactly_what_the_service_accepts(value):
    parameters = openapi_document()["components"]["parameters"]
    for name, check in (("Page", validation.page_key), ("Site", validation.site_key)):
        try:
            check(value)
            accepted = True
        except ApiError:
            accepted = False
        assert bool(_pattern(parameters[name]["schema"]).match(value)) == accepted, (name, value)


NEW_COMMENT = openapi_document()["components"]["schemas"]["NewComment"]["properties"]


def _matching(field: str) -> st.SearchStrategy[str]:
    schema = NEW_COMMENT[field]
    return st.from_regex(_pattern(schema), fullmatch=True).filter(
        lambda value: schema["minLength"] <= len(value) <= schema["maxLength"]
    )


@settings(max_examples=300, deadline=None)
@given(name=_matching("name"), text=_matching("text"))
def test_text_matching_its_schema_is_accepted(name, text):
    assert _accepted(validation.clean_name, name)
    assert _accepted(validation.clean_text, text)


def _assert_documented(document: dict[str, Any], path: str, method: str, response: Any) -> None:
    """The answer has a documented status and, if it has a body, the documented shape."""
    responses = document["paths"][path][method]["responses"]
    status = str(response.status_code)
    assert status in responses, (method, path, status, response.get_data(as_text=True)[:300])
    described = responses[status]
    if "$ref" in described:
        described = document["components"]["responses"][described["$ref"].rsplit("/", 1)[1]]
    if "content" not in described:
        assert response.get_data() == b""
        return
    schema = described["content"]["application/json"]["schema"]
    validator = jsonschema_rs.Draft202012Validator({**document, **schema}, validate_formats=True)
    validator.validate(response.json)


def test_a_whole_thread_lifecycle_matches_the_document(app, client, post):
    """Answers the generated requests rarely reach (edits, deletions, nested replies)."""
    document = openapi_document()
    thread, one = "/api/v1/comments", "/api/v1/comments/{id}"
    check = partial(_assert_documented, document)

    def read(**params: Any) -> Any:
        response = client.get(thread, query_string={"page": "/life", **params})
        check(thread, "get", response)
        return response.json

    def change(method: str, ident: int, token: str, **kwargs: Any) -> Any:
        response = client.open(
            f"{thread}/{ident}", method=method, headers={"X-Parley-Edit-Token": token}, **kwargs
        )
        check(one, method.lower(), response)
        return response

    first = post("/life", website="example.org", title="Life", url="http://localhost/life")
    check(thread, "post", first)
    top, token = first.json["comment"]["id"], first.json["edit_token"]
    for n in range(app.config["PARLEY_REPLIES_PER_PARENT"] + 2):
        check(thread, "post", post("/life", parent=top, text=f"reply {n}"))
    post("/life", text="A second top-level comment.")

    assert read()["comments"][0]["more_replies"] == 2
    assert read(limit=1, cursor=read(limit=1)["next"])["comments"]
    assert read(parent=top, sort="newest")["comments"]
    assert change("PATCH", top, token, json={"text": "Edited."}).json["comment"]["edited"]
    assert change("PATCH", top, "wrong", json={"text": "x"}).status_code == 403
    assert change("DELETE", top, token).status_code == 204
    assert read()["comments"][0]["deleted"] is True  # a placeholder: replies hang from it
    assert change("DELETE", top, token).status_code == 404
    assert change("DELETE", 2**31 - 1, "x").status_code == 404

    check("/api/v1/counts", "post", client.post("/api/v1/counts", json={"pages": ["/life", "/x"]}))
    check("/api/v1/form-token", "get", client.get("/api/v1/form-token"))
    check("/healthz", "get", client.get("/healthz"))
    check(thread, "post", client.post(thread, query_string={"page": "/life"}, data="x"))
    check(thread, "get", client.get(thread, query_string={"page": "/life", "site": "nope"}))


def test_invalid_cursors_are_refused_not_a_server_error(post, client):
    """The document promises 400 for any cursor the service did not make."""
    assert post("/cursor").status_code == 201
    deep = base64.urlsafe_b64encode(b'["oldest", ' + b"[" * 100_000).decode()
    for cursor in ("%%%", "e30", deep):
        response = client.get(
            "/api/v1/comments", query_string={"page": "/cursor", "cursor": cursor}
        )
        assert response.status_code == 400, (cursor[:20], response.status_code)
        assert response.json["error"]["fields"] == {"cursor": ANY}


# --- The contract test: generated requests against the live app -------------------------

# Free text the service is deliberately more forgiving about than the document: it trims
# and collapses whitespace before counting, and accepts any visible Unicode character
# where the pattern lists a common subset. A too-long or off-pattern value there may be
# accepted; a wrong type, a missing or unknown field still has to be refused.
LENIENT_FIELDS = {"name", "text", "email", "website"}
CONTENT_KEYWORDS = {"pattern", "minLength", "maxLength", "format"}
# An empty query value counts as omitted (the default applies).
OPTIONAL_QUERY = {"sort", "limit", "parent", "cursor"}


def _lenient_mutation(mutation: Any, sent_query: dict[str, list[str]]) -> bool:
    location = mutation.parameter_location.value
    name = mutation.parameter or (mutation.path[0] if mutation.path else None)
    if location == "query" and name in OPTIONAL_QUERY:
        return all(value == "" for value in sent_query.get(name, []))
    return (
        location == "body"
        and name in LENIENT_FIELDS
        and bool(mutation.keywords)
        and set(mutation.keywords) <= CONTENT_KEYWORDS
    )


def _accepted_leniency(case: schemathesis.Case, response: Any) -> bool:
    """True when every way this negative case breaks the document is a documented leniency."""
    data = case.meta.phase.data if case.meta else None
    mutations = getattr(data, "mutations", ())
    sent_query = parse_qs(urlsplit(response.request.url).query, keep_blank_values=True)
    return bool(mutations) and all(_lenient_mutation(m, sent_query) for m in mutations)


def _refers_to_unknown_thing(case: schemathesis.Case, response: Any) -> bool:
    """A valid reply to a comment that does not exist, or a cursor the service never made.

    The generator cannot know which comment ids exist or what a cursor holds, so these are
    refused although the document calls them well formed.
    """
    if response.status_code not in (400, 422):
        return False
    fields = set((response.json().get("error") or {}).get("fields") or {})
    if fields == {"parent"}:
        return isinstance(case.body, dict) and case.body.get("parent") is not None
    return fields == {"cursor"} and bool((case.query or {}).get("cursor"))


# The lazy `schemathesis.pytest.from_fixture` loader does not run under pytest 9.2 (it sets
# `Function._nodeid`), so the schema comes from the builder the route serves (the first
# test checks they agree) and each call is handed the app. Each operation gets the `app`
# fixture (a fresh database) once, for all its examples.
contract = schemathesis.openapi.from_dict(openapi_document())
contract.config.generation.update(modes=list(schemathesis.GenerationMode))


@pytest.mark.slow
@contract.parametrize()
@settings(
    max_examples=50,  # per operation, for the fuzzing phase; about 15 s in all
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,  # one app for all the examples is the intent
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)
def test_api_honours_its_openapi_document(case: schemathesis.Case, app: Flask) -> None:
    response = case.call(app=app)
    excluded = []
    if _accepted_leniency(case, response):
        excluded.append(negative_data_rejection)
    if _refers_to_unknown_thing(case, response):
        excluded.append(positive_data_acceptance)
    case.validate_response(response, excluded_checks=excluded)
