"""The thread and rating fragments: public, the same for every visitor, so served from the
shared cache with an ETag (``service.web.cache``)."""

from __future__ import annotations

import zlib

from flask import Response, render_template, request

from service.comments import closing, threads
from service.data import Site
from service.data.bounds import MAX_ID
from service.ratings import summary
from service.rules import validation
from service.sites.lookup import find_page, get_site
from service.web import present
from service.web.cache import PublicRead, lang
from service.web.widgets import bp

THREAD_PAGE = 100


def thread_context(site: Site, key: str) -> dict[str, object]:
    """A page of the thread: the first, or the one ``cursor`` names, or one comment's replies.

    ``parent`` and ``cursor`` come from the "more replies" and "more comments" links,
    which work with and without JavaScript. ``closed``: the page takes no comments now (by
    hand, or its closing time has passed), so a notice stands where the form was; the
    cache keys of public answers hold where the page stands with its closing time
    (``data.stamps``), so no answer rendered open is served once it is closed.
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
        "closed": closing.is_closed(page),
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


# An average as a row of stars, each "full", "half" or "empty" (the score box's).
bp.add_app_template_filter(summary.star_row, "star_row")


def _no_flashes(*_args: object, **_kwargs: object) -> list[object]:
    # A shared answer shows nobody's messages (and leaves their session alone).
    return []


def _fragment(template: str, **context: object) -> Response:
    html = render_template(template, get_flashed_messages=_no_flashes, **context)
    return Response(html, mimetype="text/html")


def _query() -> tuple[str, str]:
    """The site and page keys, checked; the site is looked up with the versions."""
    site = validation.site_key(request.args.get("site"))
    return site, validation.page_key(request.args.get("page"))


@bp.get("/widget/comments")
def comments_fragment() -> Response:
    """The public thread fragment: the same for every visitor, so cached and cacheable."""
    site_key, key = _query()
    parent = validation.query_int("parent", request.args.get("parent"), 0, 0, MAX_ID)
    cursor = request.args.get("cursor") or None
    if cursor:
        threads.decode_cursor("oldest", cursor)  # refused before any lookup
    # part=1: only the comments of a later page, for the loader to append.
    part = request.args.get("part") == "1"
    read = PublicRead("comments-fragment", site_key, [key], (part, cursor, parent, lang()))

    def render() -> Response:
        site = get_site(site_key)
        template = "widget/_more.html" if part else "widget/comments.html"
        return _fragment(template, **thread_context(site, key))

    return read.shared(render)


@bp.get("/widget/rating")
def rating_fragment() -> Response:
    """The public score box: the same for every visitor; their own vote comes as JSON."""
    site_key, key = _query()
    read = PublicRead("rating-fragment", site_key, [key], (lang(),))

    def render() -> Response:
        site = get_site(site_key)
        return _fragment(
            "widget/rating.html",
            site=site,
            page_key=key,
            rate_action=None,
            csrf_token_value=None,
            **rating_context(site, key),
        )

    return read.shared(render)
