"""The JSON API for visitor keys, ratings and likes."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify, request

from service.comments import likes
from service.database import writing
from service.ratings import aggregate, summary, votes
from service.rules import visitors
from service.sites.lookup import find_page, get_or_create_page, get_site
from service.web.api.comments import comment_id_in_range
from service.web.api.contract import (
    BAD_REQUEST,
    INVALID,
    ORIGIN,
    PERSONAL,
    UNAVAILABLE,
    Answer,
    not_modified,
    operation,
    read_body,
    read_headers,
    read_public_query,
    read_query,
)
from service.web.cache import PublicRead, lang, personal_answer
from service.web.limits import like_limit, visitor_issue_limit, vote_limit
from service.web.requests import service_origin, stored_address
from service.web.schemas import (
    VISITOR,
    CommentPath,
    Likes,
    LikeState,
    MaybeVisitorHeader,
    PageQuery,
    RatingSummary,
    Visitor,
    VisitorHeader,
    VisitorsQuery,
    Vote,
)

KEYED = (PageQuery, VisitorHeader)


def _personal(response: Response) -> Response:
    # The answer depends on the visitor header: never share it between visitors.
    return personal_answer(response)


@operation(
    "post",
    "/visitors",
    "issueVisitor",
    "A new visitor key",
    "A signed key for votes, likes and reviews on the site named (votes, likes and reviews "
    "elsewhere with it are 403 `bad_visitor`). Keep it (the widget keeps it in the host "
    f"page's storage) and send it in the `{VISITOR}` header; clients never invent one. "
    "Issuing is rate-limited per client address: one budget for this call and the "
    "standalone page's rating form, which keeps its key in a cookie.",
    answers={"201": Answer("Issued.", Visitor)},
    tag="visitors",
    parameters=(VisitorsQuery,),
    errors=("invalid_query", *ORIGIN, "site_not_found", "rate_limited", UNAVAILABLE),
)
@visitor_issue_limit()
def issue_visitor() -> tuple[Response, int]:
    """A new signed visitor key for the site, for the widget to keep in the host page's
    storage."""
    site, _ = read_query(VisitorsQuery)
    return _personal(jsonify(visitor=visitors.issue_key(site.id))), 201


@operation(
    "get",
    "/ratings",
    "getRating",
    "A page's rating",
    "The votes' count, average and histogram, the owner's editorial scores, and (with a key) "
    "this visitor's own vote and the rating of their review waiting for moderation "
    "(`yours_pending`), which counts once approved. A page nobody rated reads as empty. "
    "Without a key the answer is public and cached (`yours` and `yours_pending` null): an "
    "`ETag` (304 to `If-None-Match`) and "
    f"`Cache-Control: public`, varying with `{VISITOR}`. With a key: {PERSONAL}",
    answers={
        "200": Answer("The rating.", RatingSummary, cached=True),
        "304": not_modified(),
    },
    tag="ratings",
    parameters=(PageQuery, MaybeVisitorHeader),
    errors=("invalid_query", "bad_visitor", "site_not_found", UNAVAILABLE),
)
def get_ratings() -> Response:
    if request.headers.get(VISITOR):
        site, query = read_query(PageQuery)
        visitor = read_headers(MaybeVisitorHeader, site_id=site.id).visitor
        if visitor is not None:
            return _personal(jsonify(summary.summary(site, find_page(site, query.page), visitor)))
    query = read_public_query(PageQuery)
    read = PublicRead("rating", query.site, [query.page], (lang(),), vary=(VISITOR,))

    def render() -> Response:
        site = get_site(query.site)
        return jsonify(summary.summary(site, find_page(site, query.page), None))

    return read.shared(render)


@operation(
    "put",
    "/ratings",
    "putRating",
    "Vote, or change the vote",
    "The visitor's one vote for the page: a second PUT changes it (a review's rating "
    "included). A review waiting for moderation keeps its rating (`yours_pending`), which "
    "replaces the vote if the review is approved. Nothing is stored when the value is "
    "refused. Creates the page. Votes and taking them back are rate-limited per client "
    "address and per key. " + PERSONAL,
    answers={"200": Answer("The rating with this vote.", RatingSummary)},
    tag="ratings",
    parameters=KEYED,
    body=Vote,
    errors=(
        *BAD_REQUEST,
        "visitor_required",
        *ORIGIN,
        "bad_visitor",
        "ratings_closed",
        "site_not_found",
        "too_large",
        "unsupported_media_type",
        *INVALID,
        "rate_limited",
        UNAVAILABLE,
    ),
)
@vote_limit
def put_rating() -> Response:
    site, query = read_query(PageQuery)
    visitor = read_headers(VisitorHeader, site_id=site.id).visitor
    value = read_body(Vote, scale=site.rating_scale).value
    address, origin = stored_address(), service_origin()
    page = find_page(site, query.page)  # before the write transaction, as are its scores
    items = summary.scores(page)
    with writing():
        if page is None:
            page = get_or_create_page(site, query.page, title=None, url=None, service_origin=origin)
        pending = votes.vote(page, visitor, value, address=address)
    aggregate.reread(page)  # when the vote did not leave the row loaded
    answer = summary.summary(site, page, visitor, vote=value, pending=pending, items=items)
    return _personal(jsonify(answer))


@operation(
    "delete",
    "/ratings",
    "deleteRating",
    "Take the vote back",
    "Repeating it changes nothing. A review stays, as a comment without a rating; one "
    "waiting for moderation keeps its rating (`yours_pending`). " + PERSONAL,
    answers={"200": Answer("The rating without this vote.", RatingSummary)},
    tag="ratings",
    parameters=KEYED,
    errors=(
        "invalid_query",
        "visitor_required",
        *ORIGIN,
        "bad_visitor",
        "site_not_found",
        "rate_limited",
        UNAVAILABLE,
    ),
)
@vote_limit
def delete_rating() -> Response:
    site, query = read_query(PageQuery)
    visitor = read_headers(VisitorHeader, site_id=site.id).visitor
    page = find_page(site, query.page)
    if page is not None:
        with writing():
            votes.retract(page, visitor)
    return _personal(jsonify(summary.summary(site, page, visitor)))


LIKE: dict[str, Any] = {
    "description": "One like per visitor; repeating the call changes nothing. Only a "
    "published comment can be liked (else 404), with a key for its site. Likes are "
    f"rate-limited per client address and per key. {PERSONAL}",
    "answers": {"200": Answer("The comment's likes and this visitor's like.", LikeState)},
    "tag": "likes",
    "parameters": (CommentPath, VisitorHeader),
    "errors": (
        "visitor_required",
        *ORIGIN,
        "bad_visitor",
        "not_found",
        "rate_limited",
        UNAVAILABLE,
    ),
}


def _liker(comment_id: int) -> tuple[int, str]:
    ident = comment_id_in_range(comment_id)  # an id past the bound: 404 before the key
    return ident, read_headers(VisitorHeader, site_id=likes.site_of(ident)).visitor


@operation("put", "/comments/<int:comment_id>/like", "likeComment", "Like a comment", **LIKE)
@like_limit
def like(comment_id: int) -> Response:
    ident, visitor = _liker(comment_id)
    with writing():
        count, liked = likes.set_like(ident, visitor, True)
    return _personal(jsonify(likes=count, liked=liked))


@operation("delete", "/comments/<int:comment_id>/like", "unlikeComment", "Take a like back", **LIKE)
@like_limit
def unlike(comment_id: int) -> Response:
    ident, visitor = _liker(comment_id)
    with writing():
        count, liked = likes.set_like(ident, visitor, False)
    return _personal(jsonify(likes=count, liked=liked))


@operation(
    "get",
    "/likes",
    "myLikes",
    "What this visitor likes on a page",
    "Personal state for the widget, which shows the same thread to everyone. " + PERSONAL,
    answers={"200": Answer("The comments liked.", Likes)},
    tag="likes",
    parameters=KEYED,
    errors=("invalid_query", "visitor_required", "bad_visitor", "site_not_found", UNAVAILABLE),
)
def my_likes() -> Response:
    """The comments on a page that this visitor likes (personal state for the widget)."""
    site, query = read_query(PageQuery)
    visitor = read_headers(VisitorHeader, site_id=site.id).visitor
    page = find_page(site, query.page)
    return _personal(jsonify(liked=likes.liked_on_page(page.id, visitor) if page else []))
