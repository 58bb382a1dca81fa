"""The thread and rating fragments: public, the same for every visitor, so cacheable."""

from __future__ import annotations

import zlib

from flask import Response, render_template, request

from service.comments import threads
from service.data import Site
from service.data.bounds import MAX_ID
from service.ratings import summary
from service.rules import validation
from service.sites.lookup import find_page
from service.web import present
from service.web.requests import site_and_page
from service.web.widgets import bp

FRAGMENT_MAX_AGE = 30
THREAD_PAGE = 100


def thread_context(site: Site, key: str) -> dict[str, object]:
    """A page of the thread: the first, or the one ``cursor`` names, or one comment's replies.

    ``parent`` and ``cursor`` come from the "more replies" and "more comments" links,
    which work with and without JavaScript.
    """
    page = find_page(site, key)
    parent = validation.query_int("parent", request.args.get("parent"), 0, 0, MAX_ID)
    cursor = request.args.get("cursor") or None
    thread = threads.read_thread(page, limit=THREAD_PAGE, cursor=cursor, parent_id=parent or None)
    return {
        "site": site,
        "page_key": key,
        "page": present.public_page(page, key),
        "comments": [present.public_comment(n) for n in thread.nodes],
        "next_cursor": thread.next_cursor,
        "parent_id": parent or None,
        "continued": bool(cursor or parent),
    }


def rating_context(site: Site, key: str, visitor: str | None = None) -> dict[str, object]:
    """The score box's summary and its JSON-LD."""
    page = find_page(site, key)
    return {
        "summary": summary.summary(site, page, visitor),
        "jsonld": summary.jsonld(site, page),
    }


@bp.app_template_filter("star_id")
def star_id(value: str) -> str:
    """A short id that keeps two score boxes on one page from sharing input ids."""
    return format(zlib.crc32(value.encode()), "08x")


def _public(html: str) -> Response:
    response = Response(html, mimetype="text/html")
    response.headers["Cache-Control"] = f"public, max-age={FRAGMENT_MAX_AGE}"
    return response


@bp.get("/widget/comments")
def comments_fragment() -> Response:
    """The public thread fragment: the same for every visitor, so cacheable."""
    site, key = site_and_page()
    context = thread_context(site, key)
    # part=1: only the comments of a later page, for the loader to append.
    template = "widget/_more.html" if request.args.get("part") == "1" else "widget/comments.html"
    return _public(render_template(template, **context))


@bp.get("/widget/rating")
def rating_fragment() -> Response:
    """The public score box: the same for every visitor; their own vote comes as JSON."""
    site, key = site_and_page()
    html = render_template(
        "widget/rating.html",
        site=site,
        page_key=key,
        rate_action=None,
        csrf_token_value=None,
        **rating_context(site, key),
    )
    return _public(html)
