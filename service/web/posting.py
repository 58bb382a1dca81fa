"""Posting from the web, one way for the JSON API and the standalone page: ``NewComment``
(``service.web.schemas``) validates the fields (the API's body, or the form's values in the
same JSON types), then the visitor key, the honeypot, the API token or the form's time token
are checked, the comment posted, committed.

Which proof a post needs: a browser's post (an ``Origin`` or ``Sec-Fetch-Site`` header) a
valid form token; a client with a site's API token (``Authorization: Bearer``) none more,
as if it were the form; a post with neither header nor token is ``tokenless``, and the
site's rule for those applies (``comments.policy``). A form token sent by any client is
checked.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from flask import request

from service.comments.posting import Posted, prepare_post, store_post
from service.data import ApiToken, Site
from service.database import commit_keeping_loaded, writing
from service.rules import spam, visitors
from service.sites import tokens
from service.web.i18n import asker_language
from service.web.requests import service_origin, stored_address
from service.web.schemas import NewComment, validated

BROWSER_HEADERS = ("Origin", "Sec-Fetch-Site")


def from_browser() -> bool:
    """Whether a browser sent the request: browsers send these, other clients need not."""
    return any(name in request.headers for name in BROWSER_HEADERS)


def api_token(site: Site) -> ApiToken | None:
    """The site's API token the request brings (``Authorization: Bearer``), or None; 403
    ``bad_api_token`` for one that is not a live token of this site."""
    scheme, _, secret = request.headers.get("Authorization", "").strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return tokens.check(site, secret.strip())


def submit_comment(
    site: Site,
    page: str,
    fields: Mapping[str, Any],
    *,
    visitor_key: str | None,
    edit_token: str | None = None,
) -> Posted:
    """Post a comment from the current request's client, and commit it.

    ``fields`` are the JSON body (or the form's values with the same types), validated by
    ``NewComment``; a review (``rating`` given) needs the visitor key, otherwise optional.
    ``edit_token`` (``X-Parley-Edit-Token``) proves a repeated post is its author's.
    """
    data = validated(NewComment, fields).as_input()
    review = data.rating is not None
    check_key = visitors.visitor_hash if review else visitors.optional_visitor_hash
    visitor = check_key(visitor_key, site.id)
    spam.check_honeypot(data.hp)
    token = api_token(site)
    if token is None and (data.form_token is not None or from_browser()):
        spam.check_form_token(data.form_token)
    tokenless = token is None and data.form_token is None
    address, origin = stored_address(), service_origin()
    # Every lookup and check first, in a read transaction; the write lock is held for the
    # duplicate check and the writes alone.
    prepared = prepare_post(
        site,
        page,
        data,
        address=address,
        service_origin=origin,
        visitor=visitor,
        edit_token=edit_token,
        tokenless=tokenless,
    )
    prepared = replace(prepared, language=asker_language(site.language))  # mail it causes now
    with writing():
        posted = store_post(prepared)
        if token is not None:
            tokens.used(token)
        commit_keeping_loaded()  # the answer shows the comment as stored, without a reload
    return posted
