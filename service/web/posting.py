"""Posting from the web, one way for the JSON API and the standalone page: validate the
fields, check the visitor key, the form's time token and honeypot, take the client's
address, post, commit."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from service.comments.posting import Posted, post_comment
from service.data import Site
from service.extensions import db
from service.rules import spam, validation, visitors
from service.web.requests import service_origin, stored_address


def submit_comment(
    site: Site, page_key: str, fields: Mapping[str, Any], *, visitor_key: str | None
) -> Posted:
    """Post a comment from the current request's client, and commit it.

    ``fields`` are the JSON body (or the form's values with the same types); a review
    (``rating`` given) needs the visitor key, which is otherwise optional.
    """
    data = validation.comment_input(fields)
    visitor: str | None
    if data.rating is not None:
        visitor = visitors.visitor_hash(visitor_key)
    else:
        visitor = visitors.optional_visitor_hash(visitor_key)
    spam.check_form(data.form_token, data.hp)
    posted = post_comment(
        site,
        page_key,
        data,
        address=stored_address(),
        service_origin=service_origin(),
        visitor=visitor,
    )
    db.session.commit()
    return posted
