"""``GET /feed/comments.atom?site[&page]``: the newest published comments of a page, or of
the whole site without ``page``, as Atom (RFC 4287).

A public read like the fragments (``service.web.cache``): the answer is keyed by the
page's version (the site's: every page's versions folded, ``versions.WHOLE_SITE``), carries
an ``ETag``, answers 304 to ``If-None-Match``, and is replayed by the front while those
versions hold; a new published comment changes them, so the next read shows it.

The XML comes from a Jinja template with autoescaping (``templates/feeds/comments.xml``):
no new dependency, no lxml in the workers' memory, and every value escaped the way the
widget's HTML is. Absolute URLs come from ``PARLEY_PUBLIC_URL`` or the page's stored URL,
never from ``Host``. Ids are tag URIs (RFC 4151) built from stored values only, so they
never change: the feed's from its site's creation date, each entry's from its comment's.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from flask import Response, render_template, request
from flask_babel import gettext

from service.comments import feeds
from service.data import Page, Site, versions
from service.data.bounds import FEED_SIZE
from service.rules import validation
from service.sites.lookup import find_page, get_site
from service.web.cache import PublicRead, lang
from service.web.feeds import bp
from service.web.requests import external_url, public_url

MIMETYPE = "application/atom+xml"


def stamp(value: datetime) -> str:
    """An RFC 3339 time, as Atom wants it."""
    return value.isoformat(timespec="seconds") + "Z"


def _tag(site: Site, when: datetime, specific: str) -> str:
    host = urlsplit(public_url()).hostname or "localhost"
    return f"tag:{host},{when:%Y-%m-%d}:parley/{quote(site.key)}/{specific}"


def _thread_url(site: Site, key: str) -> str:
    return f"{public_url().rstrip('/')}/thread?" + urlencode({"site": site.key, "page": key})


def _page_url(page: Page) -> str:
    return page.url or _thread_url(page.site, page.key)


def _entry(site: Site, entry: feeds.Entry) -> dict[str, Any]:
    comment, page = entry.comment, entry.page
    author = comment.author or gettext("Anonymous")
    place = page.title or page.key
    return {
        "id": _tag(site, comment.created, f"comment/{comment.id}"),
        "title": gettext("%(author)s on %(page)s", author=author, page=place),
        "author": author,
        "website": comment.website,
        "published": stamp(comment.created),
        "updated": stamp(comment.edited or comment.created),
        "link": f"{_page_url(page)}#c{comment.id}",
        "html": comment.html,
    }


def _context(site: Site, key: str | None) -> dict[str, Any]:
    page = find_page(site, key) if key is not None else None
    entries = [_entry(site, e) for e in feeds.newest(site, page, FEED_SIZE)]
    if key is None:
        title = gettext("Comments on %(site)s", site=site.name)
        specific = "comments"
        alternate = (site.origins[0] if site.origins else public_url()).rstrip("/") + "/"
        created = site.created
    else:
        title = gettext("Comments on %(page)s", page=(page.title if page else None) or key)
        specific = "comments?page=" + quote(key, safe="/")
        alternate = _page_url(page) if page is not None else _thread_url(site, key)
        created = page.created if page is not None else site.created
    query = {"site": site.key, **({"page": key} if key is not None else {})}
    return {
        "id": _tag(site, site.created, specific),
        "title": title,
        "subtitle": site.name,
        "self_url": external_url("feeds.comments_feed", **query),
        "alternate": alternate,
        "updated": max((e["updated"] for e in entries), default=stamp(created)),
        "entries": entries,
    }


@bp.get("/comments.atom")
def comments_feed() -> Response:
    """The Atom feed of a page's newest published comments, or of the site's."""
    site_key = validation.site_key(request.args.get("site"))
    given = request.args.get("page")
    key = validation.page_key(given) if given else None
    pages = [key] if key is not None else list(versions.WHOLE_SITE)
    read = PublicRead("comments-feed", site_key, pages, (lang(),))

    def render() -> Response:
        xml = render_template("feeds/comments.xml", **_context(get_site(site_key), key))
        return Response(xml, mimetype=MIMETYPE)

    return read.shared(render)
