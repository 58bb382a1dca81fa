"""The OpenAPI document: valid, complete, and true to what the service does."""

from __future__ import annotations

import base64
import os
import re
import shutil
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest.mock import ANY

import pytest
import schemathesis
from conftest import base_config
from flask import Flask
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

from service import create_app, openapi, validation
from service.errors import ApiError
from service.extensions import db
from service.openapi import openapi_document
from service.validation import is_visible

IMPLICIT_METHODS = {"HEAD", "OPTIONS"}


def test_served_document_is_valid_openapi_and_documents_every_api_route(app, client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.json
    assert document == openapi_document()
    assert document["openapi"].startswith("3.1.")
    schemathesis.openapi.from_dict(document).validate()

    routes = {
        (rule.rule.replace("<int:comment_id>", "{id}"), method.lower())
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("api.")
        for method in rule.methods - IMPLICIT_METHODS
    }
    documented = {(path, method) for path, item in document["paths"].items() for method in item}
    assert routes <= documented, f"undocumented API routes: {sorted(routes - documented)}"
    assert ("/healthz", "get") in documented


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


def _lenient_mutation(case: schemathesis.Case, mutation: Any) -> bool:
    location = mutation.parameter_location.value
    name = mutation.parameter or (mutation.path[0] if mutation.path else None)
    if location == "query" and name in OPTIONAL_QUERY:
        return (case.query or {}).get(name) == ""
    return (
        location == "body"
        and name in LENIENT_FIELDS
        and bool(mutation.keywords)
        and set(mutation.keywords) <= CONTENT_KEYWORDS
    )


def _accepted_leniency(case: schemathesis.Case) -> bool:
    """True when every way this negative case breaks the document is a documented leniency."""
    data = case.meta.phase.data if case.meta else None
    mutations = getattr(data, "mutations", ())
    return bool(mutations) and all(_lenient_mutation(case, m) for m in mutations)


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


@pytest.fixture(scope="module")
def contract_app(
    tmp_path_factory: pytest.TempPathFactory, migrated_template: Path
) -> Iterator[Flask]:
    """One app and database for the whole contract run (conftest's configuration)."""
    folder = tmp_path_factory.mktemp("contract")
    shutil.copy(migrated_template, folder / "parley.sqlite")
    with pytest.MonkeyPatch.context() as environment:
        for name in list(os.environ):
            if name.startswith("PARLEY_"):
                environment.delenv(name)
        app = create_app(base_config(folder))
    yield app
    with app.app_context():
        db.engine.dispose()


# The lazy `schemathesis.pytest.from_fixture` loader does not run under pytest 9.2 (it sets
# `Function._nodeid`), so the schema comes from the builder the route serves (the test
# above checks they agree) and each call is handed the app.
contract = schemathesis.openapi.from_dict(openapi_document())
contract.config.generation.update(max_examples=50)


@pytest.mark.slow
@contract.parametrize()
@settings(max_examples=50, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_honours_its_openapi_document(case: schemathesis.Case, contract_app: Flask) -> None:
    response = case.call(app=contract_app)
    excluded = []
    if _accepted_leniency(case):
        excluded.append(negative_data_rejection)
    if _refers_to_unknown_thing(case, response):
        excluded.append(positive_data_acceptance)
    case.validate_response(response, excluded_checks=excluded)
