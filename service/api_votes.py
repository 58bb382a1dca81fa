"""The JSON API for visitors, ratings and likes (routes on the /api/v1 blueprint)."""

from __future__ import annotations

from flask import Response, current_app, jsonify, request

from . import likes, privacy, ratings, validation, visitors
from .api import bp, comment_id_in_range, json_body
from .embedding import service_origin
from .errors import ValidationError
from .extensions import limiter
from .sites import find_page, get_or_create_page, get_site


def _visitor_limit() -> str:
    return str(current_app.config["PARLEY_VISITOR_LIMIT"])


def _required_visitor() -> str:
    return visitors.visitor_hash(request.headers.get(visitors.HEADER))


def _personal(response: Response) -> Response:
    # The answer depends on the visitor header: never share it between visitors.
    response.headers["Cache-Control"] = "no-store"
    response.vary.add(visitors.HEADER)
    return response


@bp.post("/visitors")
@limiter.limit(_visitor_limit, scope="visitor-issue")
def issue_visitor() -> tuple[Response, int]:
    """A new signed visitor key for the widget to keep in the host page's storage."""
    return _personal(jsonify(visitor=visitors.issue_key())), 201


@bp.get("/ratings")
def get_ratings() -> Response:
    site = get_site(validation.site_key(request.args.get("site")))
    key = validation.page_key(request.args.get("page"))
    visitor = visitors.optional_visitor_hash(request.headers.get(visitors.HEADER))
    return _personal(jsonify(ratings.summary(site, find_page(site, key), visitor)))


@bp.put("/ratings")
def put_rating() -> Response:
    site = get_site(validation.site_key(request.args.get("site")))
    key = validation.page_key(request.args.get("page"))
    visitor = _required_visitor()
    body = json_body()
    if set(body) != {"value"}:
        fields = {k[:64]: "Unknown field." for k in body if k != "value"}
        if "value" not in body:
            fields["value"] = "This field is required."
        raise ValidationError(fields)
    value = ratings.clean_value(body["value"], site.rating_scale)
    page = get_or_create_page(site, key, title=None, url=None, service_origin=service_origin())
    ratings.vote(page, visitor, value, address=privacy.stored_address())
    return _personal(jsonify(ratings.summary(site, page, visitor)))


@bp.delete("/ratings")
def delete_rating() -> Response:
    site = get_site(validation.site_key(request.args.get("site")))
    key = validation.page_key(request.args.get("page"))
    visitor = _required_visitor()
    page = find_page(site, key)
    if page is not None:
        ratings.retract(page, visitor)
    return _personal(jsonify(ratings.summary(site, page, visitor)))


@bp.put("/comments/<int:comment_id>/like")
def like(comment_id: int) -> Response:
    count, liked = likes.set_like(comment_id_in_range(comment_id), _required_visitor(), True)
    return _personal(jsonify(likes=count, liked=liked))


@bp.delete("/comments/<int:comment_id>/like")
def unlike(comment_id: int) -> Response:
    count, liked = likes.set_like(comment_id_in_range(comment_id), _required_visitor(), False)
    return _personal(jsonify(likes=count, liked=liked))


@bp.get("/likes")
def my_likes() -> Response:
    """The comments on a page that this visitor likes (personal state for the widget)."""
    site = get_site(validation.site_key(request.args.get("site")))
    key = validation.page_key(request.args.get("page"))
    visitor = _required_visitor()
    page = find_page(site, key)
    return _personal(jsonify(liked=likes.liked_on_page(page.id, visitor) if page else []))
