"""The JSON API under /api/v1: parse, call the domain, answer."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from . import comments, privacy, ratings, spam, threads, validation, visitors
from .embedding import service_origin
from .errors import ApiError, ValidationError
from .openapi import openapi_document
from .sites import find_page, get_site

bp = Blueprint("api", __name__, url_prefix="/api/v1")

MAX_COUNT_PAGES = 100
EDIT_TOKEN_HEADER = "X-Parley-Edit-Token"


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
        raise ApiError(
            415, "unsupported_media_type", "Send the body as JSON (Content-Type: application/json)."
        )
    raw = request.get_data(cache=True)
    try:
        data = json.loads(raw, parse_constant=_refuse_constant, object_pairs_hook=_unique_keys)
    except (ValueError, RecursionError):
        raise ApiError(400, "malformed_json", "The body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise ApiError(400, "malformed_json", "The body must be a JSON object.")
    return data


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/comments")
def list_comments() -> Response:
    site = get_site(validation.site_key(request.args.get("site")))
    key = validation.page_key(request.args.get("page"))
    sort = validation.query_choice("sort", request.args.get("sort"), threads.SORTS)
    limit = validation.query_int(
        "limit", request.args.get("limit"), current_app.config["PARLEY_PAGE_SIZE"], 1, 100
    )
    parent = (
        validation.query_int("parent", request.args.get("parent"), 0, 0, validation.MAX_ID) or None
    )
    page = find_page(site, key)
    thread = threads.read_thread(
        page,
        viewer=visitors.optional_visitor_hash(request.headers.get(visitors.HEADER)),
        sort=sort,
        cursor=request.args.get("cursor") or None,
        limit=limit,
        parent_id=parent,
    )
    return jsonify(
        page=threads.public_page(page, key),
        comments=[threads.public_comment(n) for n in thread.nodes],
        next=thread.next_cursor,
    )


@bp.post("/comments")
@spam.post_rate_limit
@spam.page_rate_limit
def create_comment() -> tuple[Response, int]:
    site = get_site(validation.site_key(request.args.get("site")))
    key = validation.page_key(request.args.get("page"))
    data = validation.comment_input(json_body())
    raw_visitor = request.headers.get(visitors.HEADER)
    visitor = (
        visitors.visitor_hash(raw_visitor)
        if data.rating is not None
        else visitors.optional_visitor_hash(raw_visitor)
    )
    spam.check_form(data.form_token, data.hp)
    posted = comments.post_comment(
        site,
        key,
        data,
        address=privacy.stored_address(),
        service_origin=service_origin(),
        visitor=visitor,
    )
    comment = posted.comment
    body = {
        "comment": threads.public_comment(threads.single(comment)),
        # A shadow-banned author is told what everyone else is told.
        "status": "approved" if comment.shadow else comment.status,
        "edit_token": posted.edit_token,
    }
    return _no_store(jsonify(body)), 200 if posted.duplicate else 201


def comment_id_in_range(comment_id: int) -> int:
    if not 1 <= comment_id <= validation.MAX_ID:
        raise ApiError(404, "not_found", "There is no such comment.")
    return comment_id


@bp.patch("/comments/<int:comment_id>")
def edit_comment(comment_id: int) -> Response:
    change = validation.edit_input(json_body())
    visitor = visitors.optional_visitor_hash(request.headers.get(visitors.HEADER))
    comment = comments.edit_comment(
        comment_id_in_range(comment_id), request.headers.get(EDIT_TOKEN_HEADER), change, visitor
    )
    return _no_store(jsonify(comment=threads.public_comment(threads.single(comment))))


@bp.delete("/comments/<int:comment_id>")
def delete_comment(comment_id: int) -> Response:
    comments.delete_comment(comment_id_in_range(comment_id), request.headers.get(EDIT_TOKEN_HEADER))
    return Response(status=204)


@bp.post("/counts")
def counts() -> Response:
    site = get_site(validation.site_key(request.args.get("site")))
    body = json_body()
    if set(body) - {"pages"}:
        raise ValidationError({k[:64]: "Unknown field." for k in body if k != "pages"})
    keys = validation.page_keys(body.get("pages"), MAX_COUNT_PAGES)
    counted = threads.comment_counts(site.id, keys)
    rated = ratings.counts(site, keys)
    return jsonify(
        counts={
            key: {"comments": n, "rating_count": rated[key][0], "rating_average": rated[key][1]}
            for key, n in counted.items()
        }
    )


@bp.get("/form-token")
def form_token() -> Response:
    """A fresh signed time token for the widget's form (never cached)."""
    return _no_store(jsonify(form_token=spam.issue_form_token()))


@bp.get("/openapi.json")
def openapi() -> Response:
    return jsonify(openapi_document())
