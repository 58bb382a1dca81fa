"""The JSON API for visitor keys, ratings and likes."""

from __future__ import annotations

from flask import Response, jsonify

from service.comments import likes
from service.ratings import summary, votes
from service.rules import visitors
from service.rules.errors import ValidationError
from service.sites.lookup import find_page, get_or_create_page
from service.web.api import bp
from service.web.api.comments import comment_id_in_range
from service.web.limits import visitor_limit
from service.web.requests import (
    json_body,
    optional_visitor,
    service_origin,
    site_and_page,
    stored_address,
)
from service.web.requests import visitor as required_visitor


def _personal(response: Response) -> Response:
    # The answer depends on the visitor header: never share it between visitors.
    response.headers["Cache-Control"] = "no-store"
    response.vary.add(visitors.HEADER)
    return response


@bp.post("/visitors")
@visitor_limit("visitor-issue")
def issue_visitor() -> tuple[Response, int]:
    """A new signed visitor key for the widget to keep in the host page's storage."""
    return _personal(jsonify(visitor=visitors.issue_key())), 201


@bp.get("/ratings")
def get_ratings() -> Response:
    site, key = site_and_page()
    visitor = optional_visitor()
    return _personal(jsonify(summary.summary(site, find_page(site, key), visitor)))


@bp.put("/ratings")
def put_rating() -> Response:
    site, key = site_and_page()
    visitor = required_visitor()
    body = json_body()
    if set(body) != {"value"}:
        fields = {k[:64]: "Unknown field." for k in body if k != "value"}
        if "value" not in body:
            fields["value"] = "This field is required."
        raise ValidationError(fields)
    value = votes.clean_value(body["value"], site.rating_scale)
    page = get_or_create_page(site, key, title=None, url=None, service_origin=service_origin())
    votes.vote(page, visitor, value, address=stored_address())
    return _personal(jsonify(summary.summary(site, page, visitor)))


@bp.delete("/ratings")
def delete_rating() -> Response:
    site, key = site_and_page()
    visitor = required_visitor()
    page = find_page(site, key)
    if page is not None:
        votes.retract(page, visitor)
    return _personal(jsonify(summary.summary(site, page, visitor)))


@bp.put("/comments/<int:comment_id>/like")
def like(comment_id: int) -> Response:
    count, liked = likes.set_like(comment_id_in_range(comment_id), required_visitor(), True)
    return _personal(jsonify(likes=count, liked=liked))


@bp.delete("/comments/<int:comment_id>/like")
def unlike(comment_id: int) -> Response:
    count, liked = likes.set_like(comment_id_in_range(comment_id), required_visitor(), False)
    return _personal(jsonify(likes=count, liked=liked))


@bp.get("/likes")
def my_likes() -> Response:
    """The comments on a page that this visitor likes (personal state for the widget)."""
    site, key = site_and_page()
    visitor = required_visitor()
    page = find_page(site, key)
    return _personal(jsonify(liked=likes.liked_on_page(page.id, visitor) if page else []))
