"""Posting from the web, one way for the JSON API and the standalone page: ``NewComment``
(``service.web.schemas``) validates the fields (the API's body, or the form's values in the
same JSON types), then the visitor key, the form's time token and honeypot are checked, the
comment posted, committed."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from service.comments.posting import Posted, post_comment
from service.data import Site
from service.database import writing
from service.extensions import db
from service.rules import spam, visitors
from service.web.requests import service_origin, stored_address
from service.web.schemas import NewComment, validated


def submit_comment(
    site: Site, page: str, fields: Mapping[str, Any], *, visitor_key: str | None
) -> Posted:
    """Post a comment from the current request's client, and commit it.

    ``fields`` are the JSON body (or the form's values with the same types), validated by
    ``NewComment``; a review (``rating`` given) needs the visitor key, otherwise optional.
    """
    data = validated(NewComment, fields).as_input()
    review = data.rating is not None
    visitor = (visitors.visitor_hash if review else visitors.optional_visitor_hash)(visitor_key)
    spam.check_form(data.form_token, data.hp)
    address, origin = stored_address(), service_origin()
    with writing():
        posted = post_comment(
            site, page, data, address=address, service_origin=origin, visitor=visitor
        )
        db.session.commit()
    return posted
