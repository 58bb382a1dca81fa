"""The JSON API for commenters' rights: ask, by email address, for a mailed link to one's
data or to its erasure (``service.rights.requests``)."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from flask import Response, jsonify
from flask_babel import lazy_gettext as _l
from pydantic import Field

from service.data import bounds
from service.database import writing
from service.extensions import db
from service.rights import requests
from service.rules import validation
from service.web.api.comments import no_store
from service.web.api.contract import (
    ORIGIN,
    UNAVAILABLE,
    Answer,
    operation,
    read_body,
    read_query,
)
from service.web.i18n import asker_language
from service.web.limits import privacy_limit
from service.web.schemas import AnswerBody, Body, FieldRule, SiteQuery, of

ACCEPTED = _l(
    "If anything is stored about this address, a link was mailed to it. The link works "
    "once, for a day."
)


def _kind(value: Any, errors: dict[str, str]) -> str | None:
    kind = validation.clean_string("kind", value, errors, required=True)
    if kind is not None and kind not in bounds.PRIVACY_KINDS:
        errors["kind"] = _l("One of: %(kinds)s.", kinds=", ".join(bounds.PRIVACY_KINDS))
        return None
    return kind


class PrivacyRequestBody(Body):
    """A commenter's request: their address, and what the mailed link will do."""

    missing_is_null: ClassVar[bool] = True

    email: Annotated[
        str,
        FieldRule(
            validation.clean_email,
            of(
                "string",
                "The address the comments were sent with; the link goes there, never to the "
                "caller. Checked as the comment form checks it.",
                format="email",
                maxLength=bounds.EMAIL_MAX,
            ),
        ),
    ]
    kind: Annotated[
        str,
        FieldRule(
            _kind,
            of(
                "string",
                "`export`: a link to download everything stored about the address (JSON); "
                "`erase`: a link to erase it.",
                enum=list(bounds.PRIVACY_KINDS),
            ),
        ),
    ]


class PrivacyAccepted(AnswerBody):
    status: Literal["accepted"]
    message: str = Field(description="The same words whether or not the address is known.")


@operation(
    "post",
    "/privacy-requests",
    "requestPrivacyLink",
    "Ask for a link to one's data, or to erase it",
    "A commenter asks, by email address, for a signed, expiring (one day), single-use link "
    "to download everything stored about the address or to erase it. The answer is 202 "
    "whether or not the address is known, and whether or not a mail went: a link is mailed "
    "only when something is stored about the address, at most once an hour and five times "
    "a day per address. Requests are also rate-limited per client address (429). The mail "
    "is written in the `lang` parameter's language, else in the one `Accept-Language` "
    "asks for, else in the site's. The page `GET /privacy?site` does the same without "
    "JavaScript. Never cached.",
    answers={"202": Answer("Accepted.", PrivacyAccepted)},
    tag="privacy",
    parameters=(SiteQuery,),
    body=PrivacyRequestBody,
    errors=(
        "invalid_query",
        "malformed_json",
        *ORIGIN,
        "site_not_found",
        "too_large",
        "unsupported_media_type",
        "validation_failed",
        "rate_limited",
        UNAVAILABLE,
    ),
)
@privacy_limit
def request_privacy_link() -> tuple[Response, int]:
    site, _ = read_query(SiteQuery)
    body = read_body(PrivacyRequestBody)
    with writing():
        requests.ask(site, body.email, body.kind, asker_language(site.language))
        db.session.commit()
    return no_store(jsonify(status="accepted", message=str(ACCEPTED))), 202
