"""The JSON API for threads and comments: read, post, edit, delete, count."""

from __future__ import annotations

from flask import Response, current_app, jsonify, request
from flask_babel import lazy_gettext as _l

from service.comments import authors, likes, threads
from service.config import DEFAULTS
from service.data import Site
from service.data.bounds import COUNT_GET_URL_MAX, MAX_ID
from service.database import writing
from service.ratings import summary
from service.rules.errors import DomainError
from service.sites.lookup import find_page, get_site
from service.web import present
from service.web.api.contract import (
    BAD_REQUEST,
    BODY,
    INVALID,
    ORIGIN,
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
from service.web.limits import page_limit, post_limit
from service.web.posting import submit_comment
from service.web.requests import json_body
from service.web.schemas import (
    VISITOR,
    CommentEdit,
    CommentPath,
    Counts,
    CountsQuery,
    CountsRequest,
    Edited,
    EditTokenHeader,
    MaybeEditTokenHeader,
    MaybeVisitorHeader,
    NewComment,
    PageQuery,
    Posted,
    SiteQuery,
    Thread,
    ThreadQuery,
    validated,
)

WINDOW = DEFAULTS["PARLEY_EDIT_WINDOW"] // 60
RETRY = DEFAULTS["PARLEY_DUPLICATE_WINDOW"] // 60


def no_store(response: Response) -> Response:
    """An answer no cache may keep."""
    response.headers["Cache-Control"] = "no-store"
    return response


def comment_id_in_range(comment_id: int) -> int:
    """A comment id from the path: ids past the bound name nothing."""
    if not 1 <= comment_id <= MAX_ID:
        raise DomainError("not_found", "There is no such comment.")
    return comment_id


@operation(
    "get",
    "/comments",
    "listComments",
    "Read a page's thread",
    "Top-level comments (or one comment's replies), paged with a cursor, each with its first "
    "replies nested. A page nobody commented on reads as an empty thread. The answer is "
    "public and cached: it carries an `ETag` (304 to `If-None-Match`) and "
    f"`Cache-Control: public`, and varies with `{VISITOR}`. With a visitor key it is "
    "personal (`Cache-Control: private, no-store`, no `ETag`): a shadow-banned author also "
    "sees their own comments.",
    answers={"200": Answer("The thread.", Thread, cached=True), "304": not_modified()},
    parameters=(ThreadQuery, MaybeVisitorHeader),
    errors=("invalid_query", "bad_visitor", "site_not_found", UNAVAILABLE),
)
def list_comments() -> Response:
    page_size = current_app.config["PARLEY_PAGE_SIZE"]
    query = read_public_query(ThreadQuery, page_size=page_size)
    if query.cursor:
        threads.decode_cursor(query.sort, query.cursor)  # refused before any lookup
    personal = False
    if request.headers.get(VISITOR):
        site, _ = read_query(ThreadQuery, page_size=page_size)
        viewer = read_headers(MaybeVisitorHeader, site_id=site.id).visitor
        if viewer is not None and threads.hides_from_others(find_page(site, query.page), viewer):
            # A shadow-banned author's own hidden comments: read for them alone, never stored.
            return personal_answer(_thread(site, query, viewer))
        personal = viewer is not None  # the public thread, told as theirs
    params = (query.sort, query.cursor, query.limit, query.parent, lang())
    read = PublicRead("thread", query.site, [query.page], params, vary=(VISITOR,))

    def render() -> Response:
        return _thread(get_site(query.site), query, None)

    return read.personal(render) if personal else read.shared(render)


def _thread(site: Site, query: ThreadQuery, viewer: str | None) -> Response:
    page = find_page(site, query.page)
    thread = threads.read_thread(
        page,
        viewer=viewer,
        sort=query.sort,
        cursor=query.cursor,
        limit=query.limit,
        parent_id=query.parent,
    )
    return jsonify(
        page=present.public_page(page, query.page),
        comments=[present.public_comment(n) for n in thread.nodes],
        next=thread.next_cursor,
    )


@operation(
    "post",
    "/comments",
    "postComment",
    "Post a comment, a reply or a review",
    "Creates the page with its first comment. The answer holds the edit token: nothing else "
    "shows it. Posts are rate-limited per client address and per page. A review (`rating` "
    f"given) needs the `{VISITOR}` header. A browser's post must bring the widget form's "
    "`form_token` (else 403 `bad_form_token`); a client with the site's API token "
    "(`Authorization: Bearer`) is taken like one. A post with neither is held for "
    "moderation by default, judged by the site's policy, or refused with 403 "
    "`bad_form_token`, as `PARLEY_TOKENLESS_POSTS` and the site's setting say. The same "
    f"author's same text on the same page within {RETRY} minutes is not stored twice: see "
    "the 200 and 409 answers.",
    answers={
        "201": Answer("Stored.", Posted),
        "200": Answer(
            "A retry: the same author sent the same text to the same page within "
            f"{RETRY} minutes, and the caller proved to be that author (the same "
            f"`{VISITOR}` key, or the first comment's edit token in `X-Parley-Edit-Token`). "
            "Nothing new is stored; the answer is the comment stored first, with its edit "
            "token.",
            Posted,
        ),
    },
    parameters=(PageQuery, MaybeVisitorHeader, MaybeEditTokenHeader),
    body=NewComment,
    errors=(
        *BAD_REQUEST,
        "visitor_required",
        *ORIGIN,
        "bad_form_token",
        "bad_api_token",
        "form_expired",
        "bad_visitor",
        "ratings_closed",
        "comments_closed",
        "banned",
        "duplicate",
        *BODY,
        "rate_limited",
    ),
    bearer=True,
)
@post_limit
@page_limit
def create_comment() -> tuple[Response, int]:
    site, query = read_query(PageQuery)
    # ``submit_comment`` validates the body with ``NewComment``, as it does the form's values,
    # and checks the visitor key (required for a review, else optional) and the tokens.
    key = request.headers.get(VISITOR)
    token = read_headers(MaybeEditTokenHeader).token
    posted = submit_comment(site, query.page, json_body(), visitor_key=key, edit_token=token)
    comment = posted.comment
    body = {
        # A new post's rating is the one it brought: nothing to read back.
        "comment": present.public_comment(threads.Node(comment, rating=posted.rating)),
        # A shadow-banned author is told what everyone else is told.
        "status": "approved" if comment.shadow else comment.status,
        "edit_token": posted.edit_token,
    }
    return no_store(jsonify(body)), 200 if posted.duplicate else 201


@operation(
    "patch",
    "/comments/<int:comment_id>",
    "editComment",
    "Edit a comment's text or its review's rating",
    "By its author, with the edit token, within the site's edit window "
    f"({WINDOW} minutes by default).",
    answers={"200": Answer("Edited.", Edited)},
    parameters=(CommentPath, EditTokenHeader, MaybeVisitorHeader),
    body=CommentEdit,
    errors=(
        "malformed_json",
        "visitor_required",
        *ORIGIN,
        "bad_edit_token",
        "edit_window_closed",
        "bad_visitor",
        "ratings_closed",
        "not_found",
        "too_large",
        "unsupported_media_type",
        *INVALID,
        UNAVAILABLE,
    ),
)
def edit_comment(comment_id: int) -> Response:
    change = read_body(CommentEdit).as_input()
    ident, token = comment_id_in_range(comment_id), read_headers(EditTokenHeader).token
    visitor = read_headers(MaybeVisitorHeader, site_id=likes.site_of(ident)).visitor
    with writing():
        comment = authors.edit_comment(ident, token, change, visitor)
    return no_store(jsonify(comment=present.public_comment(threads.single(comment))))


@operation(
    "delete",
    "/comments/<int:comment_id>",
    "deleteComment",
    "Delete a comment",
    "By its author, with the edit token, within the edit window. Name, email and text are "
    "removed, not hidden; an empty placeholder stays only while replies hang from it. A "
    "review's rating goes with it.",
    answers={"204": Answer("Deleted.")},
    parameters=(CommentPath, EditTokenHeader),
    errors=(*ORIGIN, "bad_edit_token", "edit_window_closed", "not_found", UNAVAILABLE),
)
def delete_comment(comment_id: int) -> Response:
    ident, token = comment_id_in_range(comment_id), read_headers(EditTokenHeader).token
    with writing():
        authors.delete_comment(ident, token)
    return Response(status=204)


@operation(
    "post",
    "/counts",
    "countComments",
    "Counts for many pages",
    "For listing pages that show a count next to each link. `GET /api/v1/counts` gives the "
    "same answer for up to 20 pages, cacheable.",
    answers={"200": Answer("The counts.", Counts)},
    tag="counts",
    parameters=(SiteQuery,),
    body=CountsRequest,
    errors=(*BODY, *ORIGIN),
)
def counts() -> Response:
    site, _ = read_query(SiteQuery)
    keys = read_body(CountsRequest).pages
    read = PublicRead("counts", site.key, keys)
    return read.personal(lambda: _counts(site, keys))  # a POST: nobody else keeps it


@operation(
    "get",
    "/counts",
    "getCounts",
    "Counts for a few pages, cacheable",
    "The answer of `POST /api/v1/counts` for up to 20 pages named in the query, public and "
    "cached: an `ETag` (304 to `If-None-Match`) and `Cache-Control: public`.",
    answers={"200": Answer("The counts.", Counts, cached=True), "304": not_modified()},
    tag="counts",
    parameters=(CountsQuery,),
    errors=("invalid_query", "site_not_found", "uri_too_long", UNAVAILABLE),
)
def counts_get() -> Response:
    target = len(request.script_root.encode() + request.path.encode()) + len(request.query_string)
    if target + 1 > COUNT_GET_URL_MAX:
        raise DomainError(
            "uri_too_long",
            _l("The URL is over %(max)s bytes: use POST /api/v1/counts.", max=COUNT_GET_URL_MAX),
        )
    values = {"site": request.args.get("site"), "page": request.args.getlist("page")}
    try:
        query = validated(CountsQuery, values)
    except DomainError:
        read_query(SiteQuery)  # an unknown site is answered first
        raise
    read = PublicRead("counts", query.site, query.page)
    return read.shared(lambda: _counts(get_site(query.site), query.page))


def _counts(site: Site, keys: list[str]) -> Response:
    counted = threads.comment_counts(site.id, keys)
    rated = summary.counts(site, keys)
    return jsonify(
        counts={
            key: {"comments": n, "rating_count": rated[key][0], "rating_average": rated[key][1]}
            for key, n in counted.items()
        }
    )
