"""The JSON API for readers' reports of comments."""

from __future__ import annotations

from flask import Response, jsonify

from service.comments import likes, reports
from service.data.bounds import REPORT_THRESHOLD_DEFAULT
from service.database import writing
from service.extensions import db
from service.web.api.comments import comment_id_in_range, no_store
from service.web.api.contract import (
    BAD_REQUEST,
    INVALID,
    ORIGIN,
    UNAVAILABLE,
    Answer,
    operation,
    read_body,
    read_headers,
)
from service.web.limits import report_limit
from service.web.schemas import VISITOR, CommentPath, ReportBody, Reported, VisitorHeader


@operation(
    "post",
    "/comments/<int:comment_id>/report",
    "reportComment",
    "Report a comment to the moderators",
    "A reader asks the site's moderators to look at a published comment (else 404), with a "
    f"`{VISITOR}` key for its site. One report per visitor and comment: a repeat is "
    "accepted and changes nothing. When the site's threshold of reports is reached "
    f"({REPORT_THRESHOLD_DEFAULT} by default) the comment leaves the thread and waits in the "
    "moderation queue, with the reasons given. The reason is shown to moderators only, "
    "never in a public answer. Reports are rate-limited per client address and per key.",
    answers={"202": Answer("Recorded.", Reported)},
    parameters=(CommentPath, VisitorHeader),
    body=ReportBody,
    errors=(
        *BAD_REQUEST,
        "visitor_required",
        *ORIGIN,
        "bad_visitor",
        "not_found",
        "too_large",
        "unsupported_media_type",
        *INVALID,
        "rate_limited",
        UNAVAILABLE,
    ),
)
@report_limit
def report_comment(comment_id: int) -> tuple[Response, int]:
    ident = comment_id_in_range(comment_id)  # an id past the bound: 404 before the key
    visitor = read_headers(VisitorHeader, site_id=likes.site_of(ident)).visitor
    reason = read_body(ReportBody).reason
    with writing():
        reports.report(ident, visitor, reason)
        db.session.commit()
    return no_store(jsonify(reported=True)), 202
