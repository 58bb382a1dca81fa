"""The JSON API for threads and comments: read, post, edit, delete, count."""

from __future__ import annotations

from flask import Response, current_app, jsonify, request

from service.comments import authors, threads
from service.data.bounds import MAX_COUNT_PAGES, MAX_ID, PAGE_SIZE_MAX, SORTS
from service.ratings import summary
from service.rules import validation
from service.rules.errors import DomainError, ValidationError
from service.rules.visitors import HEADER as VISITOR_HEADER
from service.sites.lookup import find_page, get_site
from service.web import present
from service.web.api import bp
from service.web.limits import page_limit, post_limit
from service.web.posting import submit_comment
from service.web.requests import (
    EDIT_TOKEN_HEADER,
    json_body,
    optional_visitor,
    site_and_page,
)


def no_store(response: Response) -> Response:
    """An answer no cache may keep."""
    response.headers["Cache-Control"] = "no-store"
    return response


def comment_id_in_range(comment_id: int) -> int:
    """A comment id from the path: ids past the bound name nothing."""
    if not 1 <= comment_id <= MAX_ID:
        raise DomainError("not_found", "There is no such comment.")
    return comment_id


@bp.get("/comments")
def list_comments() -> Response:
    site, key = site_and_page()
    sort = validation.query_choice("sort", request.args.get("sort"), SORTS)
    limit = validation.query_int(
        "limit", request.args.get("limit"), current_app.config["PARLEY_PAGE_SIZE"], 1, PAGE_SIZE_MAX
    )
    parent = validation.query_int("parent", request.args.get("parent"), 0, 0, MAX_ID) or None
    page = find_page(site, key)
    thread = threads.read_thread(
        page,
        viewer=optional_visitor(),
        sort=sort,
        cursor=request.args.get("cursor") or None,
        limit=limit,
        parent_id=parent,
    )
    return jsonify(
        page=present.public_page(page, key),
        comments=[present.public_comment(n) for n in thread.nodes],
        next=thread.next_cursor,
    )


@bp.post("/comments")
@post_limit
@page_limit
def create_comment() -> tuple[Response, int]:
    site, key = site_and_page()
    posted = submit_comment(site, key, json_body(), visitor_key=request.headers.get(VISITOR_HEADER))
    comment = posted.comment
    body = {
        "comment": present.public_comment(threads.single(comment)),
        # A shadow-banned author is told what everyone else is told.
        "status": "approved" if comment.shadow else comment.status,
        "edit_token": posted.edit_token,
    }
    return no_store(jsonify(body)), 200 if posted.duplicate else 201


@bp.patch("/comments/<int:comment_id>")
def edit_comment(comment_id: int) -> Response:
    change = validation.edit_input(json_body())
    comment = authors.edit_comment(
        comment_id_in_range(comment_id),
        request.headers.get(EDIT_TOKEN_HEADER),
        change,
        optional_visitor(),
    )
    return no_store(jsonify(comment=present.public_comment(threads.single(comment))))


@bp.delete("/comments/<int:comment_id>")
def delete_comment(comment_id: int) -> Response:
    authors.delete_comment(comment_id_in_range(comment_id), request.headers.get(EDIT_TOKEN_HEADER))
    return Response(status=204)


@bp.post("/counts")
def counts() -> Response:
    site = get_site(validation.site_key(request.args.get("site")))
    body = json_body()
    if set(body) - {"pages"}:
        raise ValidationError({k[:64]: "Unknown field." for k in body if k != "pages"})
    keys = validation.page_keys(body.get("pages"), MAX_COUNT_PAGES)
    counted = threads.comment_counts(site.id, keys)
    rated = summary.counts(site, keys)
    return jsonify(
        counts={
            key: {"comments": n, "rating_count": rated[key][0], "rating_average": rated[key][1]}
            for key, n in counted.items()
        }
    )
