"""The OpenAPI document: valid, complete, and true to what the service does.

The document is written from the models the views validate with; the contract test at the
end runs Schemathesis against the app. What JSON Schema cannot state is a named, documented
exception (``EXCEPTIONS``): each is said in the document's words, has its own test, and is
excluded from one Schemathesis check for exactly the cases it explains.
"""

from __future__ import annotations

import base64
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from html import escape
from typing import Any, TypeGuard
from unittest.mock import ANY
from urllib.parse import parse_qs, urlsplit

import jsonschema_rs
import pytest
import schemathesis
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from schemathesis.checks import CheckFunction
from schemathesis.core.mutations import Mutation
from schemathesis.core.transport import Response
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance
from support import comment_body, csrf_token
from werkzeug.test import TestResponse

from service.data.bounds import RATING_SCALES
from service.rules import validation
from service.rules.errors import DomainError
from service.rules.validation import is_visible
from service.rules.visitors import HEADER as VISITOR
from service.web import schemas
from service.web.api.openapi import openapi_document
from service.web.schemas import NewComment
from service.web.widgets.forms import CommentForm

Json = dict[str, Any]

IMPLICIT_METHODS = {"HEAD", "OPTIONS"}


def json_of(response: TestResponse) -> Any:
    """A JSON answer's body."""
    data = response.get_json()
    assert data is not None, response.get_data(as_text=True)[:300]
    return data


def test_served_document_is_valid_openapi_3_1(client: FlaskClient) -> None:
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


def test_every_api_route_is_documented(app: Flask) -> None:
    routes = {
        (re.sub(r"<[^>]+>", "{id}", rule.rule), method.lower())
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("api.")
        for method in (rule.methods or set()) - IMPLICIT_METHODS
    }
    documented = {
        (path, method) for path, item in openapi_document()["paths"].items() for method in item
    }
    missing = sorted(routes - documented)
    assert not missing, f"API routes declared without `schemas.operation`: {missing}"
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


def test_character_classes_mean_what_the_validators_mean() -> None:
    every = [chr(cp) for cp in range(0x110000) if not 0xD800 <= cp <= 0xDFFF]
    space = re.compile(f"[{schemas.SPACE}]")
    assert [ch for ch in every if bool(space.match(ch)) != ch.isspace()] == []
    control = re.compile(f"[{schemas.CONTROL}]")
    assert [
        ch for ch in every if bool(control.match(ch)) != (unicodedata.category(ch) == "Cc")
    ] == []
    solid = re.compile(schemas.SOLID)
    assert [
        ch for ch in every if bool(solid.match(ch)) == (ch.isspace() or bool(control.match(ch)))
    ] == []
    visible = re.compile(f"[{schemas.VISIBLE}]")
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
def test_key_pattern_is_exactly_what_the_service_accepts(value: str) -> None:
    parameters = openapi_document()["components"]["parameters"]
    for name, check in (("Page", validation.page_key), ("Site", validation.site_key)):
        try:
            check(value)
            accepted = True
        except DomainError:
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
def test_text_matching_its_schema_is_accepted(name: str, text: str) -> None:
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


def test_a_whole_thread_lifecycle_matches_the_document(
    app: Flask, client: FlaskClient, post: Callable[..., TestResponse]
) -> None:
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
    top, token = json_of(first)["comment"]["id"], json_of(first)["edit_token"]
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


def _code(response: Any) -> str:
    return response.json["error"]["code"]


def test_votes_reviews_and_likes_match_the_document(
    client: FlaskClient, runner: FlaskCliRunner
) -> None:
    """Votes, changed and retracted; a review; likes and unlikes: every answer as documented."""
    document = openapi_document()
    check = partial(_assert_documented, document)
    ratings, likes, like = "/api/v1/ratings", "/api/v1/likes", "/api/v1/comments/{id}/like"
    here = {"page": "/rated"}

    def call(method: str, path: str, key: str | None = None, **kwargs: Any) -> Any:
        headers = {VISITOR: key} if key is not None else {}
        headers |= kwargs.pop("headers", {})
        target = path.format(id=kwargs.pop("ident", 0))
        response = client.open(target, method=method, headers=headers, **kwargs)
        check(path, method.lower(), response)
        return response

    def vote(key: str | None, value: Any, page: str = "/rated", **kwargs: Any) -> Any:
        where = {"page": page}
        return call("PUT", ratings, key, query_string=where, json={"value": value}, **kwargs)

    def rating(key: str | None = None, page: str = "/rated") -> Any:
        response = call("GET", ratings, key, query_string={"page": page})
        assert response.status_code == 200
        return response.json

    alice, bob = (call("POST", "/api/v1/visitors").json["visitor"] for _ in range(2))
    # A changed signature character: not the last, whose low bits base64 decoding ignores.
    forged = alice[:-3] + ("A" if alice[-3] != "A" else "B") + alice[-2:]

    # Votes: refused without a genuine key or a whole number on the site's scale.
    assert rating() == rating(alice) == rating(bob)
    assert rating()["yours"] is None and rating()["count"] == 0
    assert _code(call("GET", ratings, forged, query_string=here)) == "bad_visitor"
    assert _code(vote(None, 3)) == "visitor_required"
    assert _code(vote(forged, 3)) == "bad_visitor"
    for wrong in (6, 0, "3", 3.0, True, None):
        assert vote(alice, wrong).json["error"]["fields"] == {"value": ANY}, wrong
    assert rating()["count"] == 0

    # Vote, change, a second visitor, retract (twice: nothing changes).
    assert vote(alice, 4).json | {"editorial": ANY} == {
        "scale": 5,
        "count": 1,
        "average": 4.0,
        "histogram": {"1": 0, "2": 0, "3": 0, "4": 1, "5": 0},
        "yours": 4,
        "yours_pending": None,
        "editorial": ANY,
        "closed": False,
    }
    changed = vote(alice, 2).json
    assert (changed["count"], changed["yours"], changed["histogram"]["4"]) == (1, 2, 0)
    assert (vote(bob, 5).json["average"], rating(alice)["yours"]) == (3.5, 2)
    for _ in range(2):
        retracted = call("DELETE", ratings, alice, query_string=here).json
        assert (retracted["count"], retracted["yours"]) == (1, None)
    assert _code(call("DELETE", ratings, None, query_string=here)) == "visitor_required"
    assert call("DELETE", ratings, alice, query_string={"page": "/nobody"}).status_code == 200

    # A review: its rating is the visitor's vote; its author changes it with the edit token.
    def review(key: str | None, **fields: Any) -> Any:
        body = comment_body(text=f"A review by {key}.", rating=3) | fields
        return call("POST", "/api/v1/comments", key, query_string=here, json=body)

    assert _code(review(None)) == "visitor_required"
    assert _code(review(forged)) == "bad_visitor"
    assert review(alice, rating=9).json["error"]["fields"] == {"rating": ANY}
    posted = review(alice)
    assert posted.status_code == 201 and posted.json["comment"]["rating"] == 3
    ident, token = posted.json["comment"]["id"], posted.json["edit_token"]
    assert (rating(alice)["yours"], rating()["count"]) == (3, 2)

    def edit(body: Any, key: str | None = None) -> Any:
        headers = {"X-Parley-Edit-Token": token}
        return call("PATCH", "/api/v1/comments/{id}", key, ident=ident, json=body, headers=headers)

    assert edit({"rating": 5}).json["comment"]["rating"] == 5
    assert edit({"text": "Better."}).json["comment"]["rating"] == 5
    wrong_edits: list[Json] = [{}, {"rating": None}, {"rating": 6}, {"rating": "4"}, {"text": None}]
    for wrong_edit in wrong_edits:
        assert edit(wrong_edit).status_code == 422, wrong_edit
    assert _code(edit({"rating": 4}, forged)) == "bad_visitor"
    assert rating(alice)["yours"] == 5

    # Likes: one per visitor, idempotent either way.
    def liking(method: str, key: str | None, comment: int = ident) -> Any:
        return call(method, like, key, ident=comment)

    for _ in range(2):
        assert liking("PUT", alice).json == {"likes": 1, "liked": True}
    assert liking("PUT", bob).json == {"likes": 2, "liked": True}
    assert call("GET", likes, alice, query_string=here).json == {"liked": [ident]}
    for _ in range(2):
        assert liking("DELETE", alice).json == {"likes": 1, "liked": False}
    assert call("GET", likes, alice, query_string=here).json == {"liked": []}
    assert _code(call("GET", likes, None, query_string=here)) == "visitor_required"
    assert _code(liking("PUT", None)) == "visitor_required"
    assert _code(liking("DELETE", forged)) == "bad_visitor"
    assert _code(liking("PUT", alice, 2**31 - 1)) == "not_found"
    top = call("GET", "/api/v1/comments", query_string=here | {"sort": "top"}).json
    assert [(c["id"], c["likes"], c["rating"]) for c in top["comments"]] == [(ident, 1, 5)]

    # A browser's writes from elsewhere are refused; the service's own origin is not.
    elsewhere = {"Origin": "https://elsewhere.example"}
    assert _code(vote(alice, 3, headers=elsewhere)) == "origin_not_allowed"
    cross = call("PUT", like, alice, ident=ident, headers={"Sec-Fetch-Site": "cross-site"})
    assert _code(cross) == "cross_site"
    assert _code(call("POST", "/api/v1/visitors", headers=elsewhere)) == "origin_not_allowed"
    counts = call("POST", "/api/v1/counts", json={"pages": ["/rated"]}, headers=elsewhere)
    assert _code(counts) == "origin_not_allowed"
    assert vote(alice, 3, headers={"Origin": "http://localhost"}).status_code == 200
    counts = call("POST", "/api/v1/counts", json={"pages": ["/rated"]})
    assert counts.json["counts"]["/rated"] == {
        "comments": 1,
        "rating_count": 2,
        "rating_average": 4.0,
    }

    # Editorial scores, closed ratings, and a site on the scale of 10.
    score = ["page", "score", "default", "/rated", "IMDB", "5.9", "--url", "https://example.org/i"]
    assert runner.invoke(args=score).exit_code == 0
    editorial = rating()["editorial"]
    assert editorial["items"] == [
        {"label": "IMDB", "score": 5.9, "scale": 10, "url": "https://example.org/i"}
    ]
    assert (editorial["scale"], editorial["average"]) == (10, 5.9)  # the score's own scale
    assert runner.invoke(args=["page", "set", "default", "/rated", "--no-ratings"]).exit_code == 0
    assert rating()["closed"] is True
    assert _code(vote(bob, 1)) == "ratings_closed"
    assert _code(review(bob)) == "ratings_closed"
    assert (
        runner.invoke(args=["site", "set", "default", "--scale", "10", "--rescale"]).exit_code == 0
    )
    assert rating()["histogram"].keys() == {str(v) for v in range(1, 11)}
    assert vote(bob, 9, "/ten").json["yours"] == 9
    assert vote(bob, 11, "/ten").status_code == 422


def test_closed_ratings_refuse_a_changed_review_rating(
    client: FlaskClient, runner: FlaskCliRunner
) -> None:
    """PATCH refuses to change a review's rating once the page's ratings are closed.

    A vote, a changed vote and a new review are refused there with 403 `ratings_closed`,
    and so, as the document says, is a changed review rating: the count and the average
    of a closed page stay as they are. (``ratings.change_review`` once skipped the check.)
    """
    key = json_of(client.post("/api/v1/visitors"))["visitor"]
    here, visitor = {"page": "/closed"}, {VISITOR: key}
    body = comment_body(text="A review.", rating=4)
    posted = client.post("/api/v1/comments", query_string=here, json=body, headers=visitor)
    assert posted.status_code == 201
    assert runner.invoke(args=["page", "set", "default", "/closed", "--no-ratings"]).exit_code == 0
    before = json_of(client.get("/api/v1/ratings", query_string=here))
    assert before["closed"] is True and before["average"] == 4.0

    edited = client.patch(
        f"/api/v1/comments/{json_of(posted)['comment']['id']}",
        json={"rating": 1},
        headers={"X-Parley-Edit-Token": json_of(posted)["edit_token"]} | visitor,
    )
    after = json_of(client.get("/api/v1/ratings", query_string=here))
    assert (edited.status_code, after) == (403, before), edited.get_data(as_text=True)
    assert _code(edited) == "ratings_closed"


def test_an_accepted_review_is_the_visitors_rating(client: FlaskClient) -> None:
    """Server bug: a review taken for a retry answers 200 and drops its rating.

    The document says a review's rating becomes the visitor's rating. The retry check
    (``comments.retries.duplicate_of``: same email, address, page and text within the window)
    ignores `rating` and the visitor key, so a second review with the same text, from another
    visitor or with another rating, answers 200 with the first comment and stores nothing.
    """
    first, second = (json_of(client.post("/api/v1/visitors"))["visitor"] for _ in range(2))
    here = {"page": "/retry"}
    for key, value in ((first, 4), (second, 2), (first, 1)):
        body = comment_body(text="The same words.", rating=value)
        posted = client.post(
            "/api/v1/comments", query_string=here, json=body, headers={VISITOR: key}
        )
        assert posted.status_code in (200, 201)
        yours = json_of(client.get("/api/v1/ratings", query_string=here, headers={VISITOR: key}))
        assert (json_of(posted)["comment"]["rating"], yours["yours"]) == (value, value), (
            posted.status_code,
            value,
        )


def test_the_rating_schema_ties_the_histogram_to_the_scale() -> None:
    document = openapi_document()
    schema = document["components"]["schemas"]["RatingSummary"]
    validator = jsonschema_rs.Draft202012Validator({**document, **schema})
    five: Json = {
        "scale": 5,
        "count": 1,
        "average": 5.0,
        "histogram": {"1": 0, "2": 0, "3": 0, "4": 0, "5": 1},
        "yours": 5,
        "yours_pending": None,
        "editorial": {"items": [], "scale": None, "average": None},
        "closed": False,
    }
    assert validator.is_valid(five)
    ten = five | {"scale": 10, "histogram": {str(v): 0 for v in range(1, 11)}}
    assert validator.is_valid(ten)
    for wrong in (
        five | {"histogram": ten["histogram"]},
        ten | {"histogram": five["histogram"]},
        five | {"yours": 6},
        five | {"yours_pending": 6},
        five | {"average": 5.5},
        five | {"scale": 7},
        five | {"histogram": {**five["histogram"], "0": 0}},
    ):
        assert not validator.is_valid(wrong), wrong


def _response(document: dict[str, Any], described: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in described:
        return document["components"]["responses"][described["$ref"].rsplit("/", 1)[1]]
    return described


def test_refusals_are_named_where_they_can_happen() -> None:
    """Every write lists the origin refusals; every operation reading a key lists its own."""
    document = openapi_document()
    for path, item in document["paths"].items():
        for method, op in item.items():
            responses = op["responses"]
            text = {s: _response(document, r)["description"] for s, r in responses.items()}
            if method in ("post", "put", "patch", "delete"):
                assert "`origin_not_allowed`" in text.get("403", ""), (method, path)
                assert "`cross_site`" in text["403"], (method, path)
            headers = {
                p["name"]: p["required"]
                for p in map(partial(_parameter, document), op.get("parameters", []))
                if p["in"] == "header"
            }
            if VISITOR in headers:
                assert "`bad_visitor`" in text["403"], (method, path)
            if headers.get(VISITOR) or (VISITOR in headers and method != "get"):
                # Required, or required by a body field (a review's `rating`).
                assert "`visitor_required`" in text["400"], (method, path)


def _parameter(document: dict[str, Any], parameter: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in parameter:
        return document["components"]["parameters"][parameter["$ref"].rsplit("/", 1)[1]]
    return parameter


def test_invalid_cursors_are_refused_not_a_server_error(
    post: Callable[..., TestResponse], client: FlaskClient
) -> None:
    """The document promises 400 for any cursor the service did not make."""
    assert post("/cursor").status_code == 201
    deep = base64.urlsafe_b64encode(b'["oldest", ' + b"[" * 100_000).decode()
    for cursor in ("%%%", "e30", deep):
        response = client.get(
            "/api/v1/comments", query_string={"page": "/cursor", "cursor": cursor}
        )
        assert response.status_code == 400, (cursor[:20], response.status_code)
        assert json_of(response)["error"]["fields"] == {"cursor": ANY}


def test_the_form_and_the_api_go_through_one_model(app: Flask, client: FlaskClient) -> None:
    """The standalone page's form is validated by the API's body model: same refusals."""
    with app.test_request_context():
        assert set(CommentForm(meta={"csrf": False}).as_input()) <= set(NewComment.model_fields)
    here = {"page": "/one-model"}
    html = client.get("/thread", query_string=here).get_data(as_text=True)
    token = re.search(r'name="form_token" type="hidden" value="([^"]*)"', html)
    assert token
    bad = {"name": " ", "email": "ada@", "text": "\u200b", "website": "javascript:alert(1)"}
    api = client.post("/api/v1/comments", query_string=here, json=bad)
    fields = json_of(api)["error"]["fields"]
    assert set(fields) == set(bad)
    sent = bad | {"csrf_token": csrf_token(html), "form_token": token.group(1)}
    form = client.post("/thread", query_string=here, data=sent)
    assert form.status_code == api.status_code == 422
    shown = form.get_data(as_text=True)
    assert [m for m in fields.values() if escape(m) not in shown] == []


# --- What JSON Schema cannot state: named, documented exceptions -------------------------


@dataclass(frozen=True)
class Observed:
    """One generated case, the app's answer to it, and the app."""

    case: schemathesis.Case
    response: Response
    app: Flask


@dataclass(frozen=True)
class Documented:
    """A case where the service and a generator reading the document part ways on purpose.

    ``check`` is the Schemathesis check it is excluded from: ``positive_data_acceptance``
    for a refusal of what the schema allows, ``negative_data_rejection`` for a leniency
    toward what it forbids. ``explains`` says whether it accounts for one part of what was
    observed: a refused field (None for an error without fields) of a refusal, a mutation
    of a leniency. ``stated`` are the words that say it in the document, each at a JSON
    pointer to a description. Each has its own test, ``test_exception_<name>``.
    """

    name: str
    check: CheckFunction
    explains: Callable[[Observed, Any], bool]
    stated: tuple[tuple[str, str], ...]


def _error(response: Response) -> Json:
    """The error object of a JSON error answer, else empty."""
    try:
        data = response.json()
    except ValueError:  # /healthz answers a browser's 405 in HTML
        return {}
    return (data.get("error") or {}) if isinstance(data, dict) else {}


def _sent(observed: Observed, field: str) -> Any:
    body = observed.case.body
    return body.get(field) if isinstance(body, dict) else None


def _headers(case: schemathesis.Case) -> dict[str, Any]:
    return dict(case.headers or {})


def _whole(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _site_scale(observed: Observed) -> int:
    site = (observed.case.query or {}).get("site") or "default"
    client = observed.app.test_client()
    return int(
        json_of(client.get("/api/v1/ratings", query_string={"site": site, "page": "/"}))["scale"]
    )


def _written_as_float(observed: Observed, field: str | None) -> bool:
    value = _sent(observed, field) if field in ("parent", "value", "rating") else None
    return observed.response.status_code == 422 and isinstance(value, float) and value.is_integer()


def _unknown_parent(observed: Observed, field: str | None) -> bool:
    return (
        observed.response.status_code == 422
        and field == "parent"
        and _whole(_sent(observed, field))
    )


def _above_site_scale(observed: Observed, field: str | None) -> bool:
    value = _sent(observed, field) if field in ("value", "rating") else None
    if observed.response.status_code != 422 or not _whole(value):
        return False
    return bool(_site_scale(observed) < value <= max(RATING_SCALES))


def _review_without_visitor(observed: Observed, field: str | None) -> bool:
    return (
        field is None
        and observed.response.status_code == 400
        and _error(observed.response).get("code") == "visitor_required"
        and _sent(observed, "rating") is not None
        and not _headers(observed.case).get(VISITOR)
    )


def _unknown_cursor(observed: Observed, field: str | None) -> bool:
    return (
        observed.response.status_code == 400
        and field == "cursor"
        and bool((observed.case.query or {}).get("cursor"))
    )


def _counts_url_too_long(observed: Observed, part: Any) -> bool:
    return (
        observed.response.status_code == 414
        and _error(observed.response).get("code") == "uri_too_long"
    )


# Free text the service measures after trimming, and whose patterns list common characters.
FREE_TEXT = {"name", "text", "email", "website"}
CONTENT_KEYWORDS = {"pattern", "minLength", "maxLength", "format"}
# Query parameters whose empty value counts as omitted.
OPTIONAL_QUERY = {"sort", "limit", "parent", "cursor"}


def _lenient_free_text(observed: Observed, mutation: Mutation) -> bool:
    name = mutation.parameter or (mutation.path[0] if mutation.path else None)
    return (
        mutation.parameter_location.value == "body"
        and name in FREE_TEXT
        and bool(mutation.keywords)
        and set(mutation.keywords) <= CONTENT_KEYWORDS
    )


def _empty_query_value(observed: Observed, mutation: Mutation) -> bool:
    name = mutation.parameter or (mutation.path[0] if mutation.path else None)
    if mutation.parameter_location.value != "query" or name not in OPTIONAL_QUERY:
        return False
    url = observed.response.request.url or ""
    sent = parse_qs(urlsplit(url).query, keep_blank_values=True)
    return all(value == "" for value in sent.get(str(name), []))


SCHEMAS, PARAMETERS = "/components/schemas", "/components/parameters"
WHOLE_WORDS = "written as one (`3`, not `3.0`)"
EXCEPTIONS: dict[str, Documented] = {
    exception.name: exception
    for exception in (
        # A vote, a rating or a parent written `7.0`: JSON Schema calls it an integer, the
        # service takes only a whole number written as one.
        Documented(
            "vote_written_as_float",
            positive_data_acceptance,
            _written_as_float,
            (
                (f"{SCHEMAS}/Vote/properties/value/description", WHOLE_WORDS),
                (f"{SCHEMAS}/NewComment/properties/rating/description", WHOLE_WORDS),
                (f"{SCHEMAS}/CommentEdit/properties/rating/description", WHOLE_WORDS),
                (f"{SCHEMAS}/NewComment/properties/parent/description", WHOLE_WORDS),
            ),
        ),
        # A review (`rating` given) without a visitor key: a header required by a body field.
        Documented(
            "review_without_visitor",
            positive_data_acceptance,
            _review_without_visitor,
            (
                (
                    f"{SCHEMAS}/NewComment/properties/rating/description",
                    "Needs the `X-Parley-Visitor` header (400 `visitor_required` without it)",
                ),
            ),
        ),
        # Which comments exist, the generator cannot know.
        Documented(
            "unknown_parent",
            positive_data_acceptance,
            _unknown_parent,
            (
                (
                    f"{SCHEMAS}/NewComment/properties/parent/description",
                    "Reply to this published comment on the same page (else 422)",
                ),
            ),
        ),
        # The document allows the largest scale; which one a site uses, only the service knows.
        Documented(
            "above_site_scale",
            positive_data_acceptance,
            _above_site_scale,
            (
                (f"{SCHEMAS}/Vote/properties/value/description", "from 1 to the site's scale"),
                (
                    f"{SCHEMAS}/NewComment/properties/rating/description",
                    "to the site's scale (5 or 10), else 422",
                ),
            ),
        ),
        # A cursor is opaque: only the service's own are taken.
        Documented(
            "unknown_cursor",
            positive_data_acceptance,
            _unknown_cursor,
            (
                (
                    f"{PARAMETERS}/Cursor/description",
                    "a cursor this service did not make is refused",
                ),
            ),
        ),
        # GET /api/v1/counts: valid page ids can still make a URL over 4,000 bytes.
        Documented(
            "counts_url_too_long",
            positive_data_acceptance,
            _counts_url_too_long,
            ((f"{PARAMETERS}/CountPages/description", "over 4,000 bytes"),),
        ),
        # ... and too many ids, or a long URL with other faults, are 414 before anything else.
        Documented(
            "counts_too_many_pages",
            negative_data_rejection,
            _counts_url_too_long,
            ((f"{PARAMETERS}/CountPages/description", "414 `uri_too_long`"),),
        ),
        # Free text is measured after trimming, and any visible character counts.
        Documented(
            "lenient_free_text",
            negative_data_rejection,
            _lenient_free_text,
            (
                (
                    f"{SCHEMAS}/NewComment/properties/name/description",
                    "any visible character counts where the pattern lists the common ones",
                ),
                (
                    f"{SCHEMAS}/NewComment/properties/text/description",
                    "surrounding whitespace does not count towards the length",
                ),
                (
                    f"{SCHEMAS}/NewComment/properties/email/description",
                    "Surrounding whitespace is trimmed",
                ),
                (
                    f"{SCHEMAS}/NewComment/properties/website/description",
                    "surrounding whitespace is trimmed",
                ),
            ),
        ),
        # `sort=`, `limit=`, `parent=`, `cursor=`: the default applies.
        Documented(
            "empty_query_value",
            negative_data_rejection,
            _empty_query_value,
            tuple(
                (f"{PARAMETERS}/{name}/description", "An empty value counts as omitted.")
                for name in ("Sort", "Cursor", "Limit", "Parent")
            ),
        ),
    )
}


def _parts(check: CheckFunction, observed: Observed) -> list[Any]:
    """What the exceptions for ``check`` must account for, every part of it."""
    if check is positive_data_acceptance:
        fields = _error(observed.response).get("fields") or {}
        return list(fields) or ([None] if _error(observed.response) else [])
    meta = observed.case.meta
    return list(getattr(meta.phase.data, "mutations", ()) if meta else ())


def excluded_checks(observed: Observed) -> list[CheckFunction]:
    """The checks to skip: those whose every part of this case a named exception explains."""
    checks = dict.fromkeys(exception.check for exception in EXCEPTIONS.values())
    skipped: list[CheckFunction] = []
    for check in checks:
        explaining = [e for e in EXCEPTIONS.values() if e.check is check]
        parts = _parts(check, observed)
        if parts and all(any(e.explains(observed, part) for e in explaining) for part in parts):
            skipped.append(check)
    return skipped


def _at(document: Json, pointer: str) -> Any:
    node: Any = document
    for part in pointer.removeprefix("/").split("/"):
        node = node[part]
    return node


@pytest.mark.parametrize("name", EXCEPTIONS)
def test_each_documented_exception_is_stated_in_the_document(name: str) -> None:
    document = openapi_document()
    for pointer, words in EXCEPTIONS[name].stated:
        assert words in _at(document, pointer), (name, pointer)


def test_each_documented_exception_has_its_own_test() -> None:
    missing = [name for name in EXCEPTIONS if f"test_exception_{name}" not in globals()]
    assert missing == []


def _schema_allows(pointer: str, instance: Any) -> bool:
    """True when the document's schema at ``pointer`` calls ``instance`` valid."""
    document = openapi_document()
    schema = _at(document, pointer)
    validator = jsonschema_rs.Draft202012Validator({**document, **schema}, validate_formats=True)
    return validator.is_valid(instance)


def _refused(response: TestResponse, status: int) -> Json:
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    error: Json = json_of(response)["error"]
    return error


def test_exception_vote_written_as_float(client: FlaskClient, visitor_key: str) -> None:
    here, key = {"page": "/float"}, {VISITOR: visitor_key}
    assert _schema_allows(f"{SCHEMAS}/Vote", {"value": 3.0})
    vote = client.put("/api/v1/ratings", query_string=here, json={"value": 3.0}, headers=key)
    assert set(_refused(vote, 422)["fields"]) == {"value"}
    first = client.post("/api/v1/comments", query_string=here, json=comment_body())
    assert first.status_code == 201
    for field, value in (("rating", 3.0), ("parent", float(json_of(first)["comment"]["id"]))):
        body = comment_body(**{field: value})
        assert _schema_allows(f"{SCHEMAS}/NewComment", body), field
        posted = client.post("/api/v1/comments", query_string=here, json=body, headers=key)
        assert "whole number" in _refused(posted, 422)["fields"][field]
    edit = client.patch(
        f"/api/v1/comments/{json_of(first)['comment']['id']}",
        json={"rating": 3.0},
        headers={"X-Parley-Edit-Token": json_of(first)["edit_token"]} | key,
    )
    assert set(_refused(edit, 422)["fields"]) == {"rating"}


def test_exception_review_without_visitor(client: FlaskClient) -> None:
    body = comment_body(rating=3)
    assert _schema_allows(f"{SCHEMAS}/NewComment", body)
    posted = client.post("/api/v1/comments", query_string={"page": "/keyless"}, json=body)
    assert _refused(posted, 400)["code"] == "visitor_required"


def test_exception_unknown_parent(client: FlaskClient) -> None:
    body = comment_body(parent=999)
    assert _schema_allows(f"{SCHEMAS}/NewComment", body)
    posted = client.post("/api/v1/comments", query_string={"page": "/orphan"}, json=body)
    assert set(_refused(posted, 422)["fields"]) == {"parent"}


def test_exception_above_site_scale(client: FlaskClient, visitor_key: str) -> None:
    here, key = {"page": "/scale"}, {VISITOR: visitor_key}
    scale = json_of(client.get("/api/v1/ratings", query_string=here))["scale"]
    above = scale + 1
    assert above <= max(RATING_SCALES) and _schema_allows(f"{SCHEMAS}/Vote", {"value": above})
    vote = client.put("/api/v1/ratings", query_string=here, json={"value": above}, headers=key)
    assert set(_refused(vote, 422)["fields"]) == {"value"}
    review = comment_body(rating=above)
    posted = client.post("/api/v1/comments", query_string=here, json=review, headers=key)
    assert set(_refused(posted, 422)["fields"]) == {"rating"}


def test_exception_unknown_cursor(client: FlaskClient) -> None:
    assert _at(openapi_document(), f"{PARAMETERS}/Cursor/schema") == {"type": "string"}
    query = {"page": "/cursor", "cursor": "made-up"}
    response = client.get("/api/v1/comments", query_string=query)
    assert _refused(response, 400)["fields"].keys() == {"cursor"}


def test_exception_lenient_free_text(client: FlaskClient) -> None:
    lenient = {
        "name": "  " + "N" * 80 + " ",  # longer than maxLength only before trimming
        "text": "\u0394\u03b9\u03ba\u03b7",  # Greek: visible, though the pattern lists none
        "email": "  ada@example.org ",
        "website": " example.org ",
    }
    for field, value in lenient.items():
        body = comment_body(text=f"Lenient {field}.") | {field: value}
        assert not _schema_allows(f"{SCHEMAS}/NewComment", body), field
        posted = client.post("/api/v1/comments", query_string={"page": "/lenient"}, json=body)
        assert posted.status_code == 201, (field, posted.get_data(as_text=True)[:300])


def test_exception_empty_query_value(client: FlaskClient, visitor_key: str) -> None:
    document = openapi_document()
    assert _at(document, f"{PARAMETERS}/Limit/schema")["type"] == "integer"
    query = {"page": "/empty", "sort": "", "limit": "", "parent": "", "cursor": ""}
    response = client.get("/api/v1/comments", query_string=query)
    assert response.status_code == 200, response.get_data(as_text=True)[:300]


def test_exception_counts_url_too_long(client: FlaskClient) -> None:
    pages = ["/" + "\u00e9" * 500, "/" + "\u00e8" * 500]  # 2 valid ids, 6 KB once encoded
    assert _schema_allows(f"{PARAMETERS}/CountPages/schema", pages)
    response = client.get("/api/v1/counts", query_string={"page": pages})
    assert _refused(response, 414)["code"] == "uri_too_long"


def test_exception_counts_too_many_pages(client: FlaskClient) -> None:
    pages = [f"/p{n}" for n in range(21)]
    assert not _schema_allows(f"{PARAMETERS}/CountPages/schema", pages)
    response = client.get("/api/v1/counts", query_string={"page": pages})
    assert _refused(response, 414)["code"] == "uri_too_long"


def test_an_exception_excuses_only_the_parts_it_explains(app: Flask) -> None:
    """A refusal with one unexplained field, or of another kind, stays a failure."""

    class Answered:
        def __init__(self, status: int, error: Json) -> None:
            self.status_code, self._error = status, error

        def json(self) -> Json:
            return {"error": self._error}

    def observed(status: int, error: Json, body: Json, **case: Any) -> Observed:
        generated = schemathesis.openapi.from_dict(openapi_document())["/api/v1/comments"]
        made = generated["POST"].Case(body=body, query={"page": "/x"}, **case)
        return Observed(made, Answered(status, error), app)  # type: ignore[arg-type]

    float_parent = {"parent": 1.0, "rating": 9}
    both = {"fields": {"parent": "Must be a whole number.", "rating": "Give ..."}}
    assert excluded_checks(observed(422, both, float_parent)) == [positive_data_acceptance]
    one_unexplained = {"fields": {"parent": "Must be a whole number.", "name": "Please."}}
    assert excluded_checks(observed(422, one_unexplained, float_parent)) == []
    forged = {"code": "bad_visitor", "fields": {}}
    assert excluded_checks(observed(403, forged, {"rating": 3})) == []


# --- The contract test: generated requests against the live app -------------------------

VISITOR_HEADER = openapi_document()["components"]["parameters"]["Visitor"]["schema"]


def _with_an_issued_key(case: schemathesis.Case, key: str) -> None:
    """Send a key the service issued wherever the case has a well-formed one.

    The document can say what a key looks like, not which keys the service signed, so every
    generated key is a forgery (403 `bad_visitor`) and nothing behind the key check would
    run: no vote, like or review would ever be stored. A well-formed generated key therefore
    stands for "a key from POST /api/v1/visitors". Missing, empty and malformed keys go out
    as generated; the lifecycle test sends a well-formed forged one.
    """
    value = _headers(case).get(VISITOR)
    if (
        isinstance(value, str)
        and len(value) <= VISITOR_HEADER["maxLength"]
        and _pattern(VISITOR_HEADER).match(value)
    ):
        case.headers[VISITOR] = key


@pytest.fixture
def visitor_key(client: FlaskClient) -> str:
    """A visitor key the app under test issued, got the way any client gets one."""
    key: str = json_of(client.post("/api/v1/visitors"))["visitor"]
    return key


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
def test_api_honours_its_openapi_document(
    case: schemathesis.Case, app: Flask, visitor_key: str
) -> None:
    _with_an_issued_key(case, visitor_key)
    # The test client hands answers over as sent, compressed ones too (test_cache.py checks
    # compression): ask for them plain.
    response = case.call(app=app, headers={"Accept-Encoding": "identity"})
    excluded = excluded_checks(Observed(case, response, app))
    case.validate_response(response, excluded_checks=excluded)
