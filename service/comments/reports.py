"""Readers' reports of published comments.

A visitor (by the keyed hash of their key) reports a comment once, with a reason in plain
text that only moderators see; reporting again changes nothing. When a comment's reports
reach its site's ``report_threshold`` it goes back to the queue (status ``pending``, through
``status.set_status``, so its page's count and version follow), its reason saying it was
reported and by what. Reports are kept until a moderator decides on the comment (approves,
restores, marks it spam or deletes it: ``settle``), the comment goes, or the reporter's data
is erased (``forget_visitors``). Callers commit.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Collection
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from service.comments.status import set_status
from service.data import Comment, Page, Report
from service.data.bounds import REPORT_REASON_MAX
from service.extensions import db
from service.rules.errors import DomainError
from service.rules.text import display_name
from service.rules.validation import clean_string
from service.sites import audit

REPORTED = "Reported by readers"  # the start of a reported comment's pending reason
REASON_SHOWN = 200  # characters of the pending reason (the column's size)


def clean_reason(value: Any, errors: dict[str, str]) -> str | None:
    """A reason as stored: plain text on one line, hidden and control characters removed,
    whitespace collapsed; empty is allowed (the report itself says enough)."""
    raw = clean_string("reason", value, errors, required=True)
    if raw is None:
        return None
    text = display_name(raw)
    reason = "".join(ch for ch in text if unicodedata.category(ch) != "Cc")
    if len(reason) > REPORT_REASON_MAX:
        errors["reason"] = _l("At most %(max)s characters.", max=REPORT_REASON_MAX)
        return None
    return reason


def report(comment_id: int, visitor: str, reason: str) -> bool:
    """A visitor reports a published comment; False when they had reported it already.

    Raises ``not_found`` for a comment that is not published (pending, spam, deleted)."""
    # The row lock serialises one comment's reports on PostgreSQL; SQLite's write
    # transaction already holds the database lock.
    comment = db.session.scalar(
        sa.select(Comment)
        .where(Comment.id == comment_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if comment is None or comment.status != "approved":
        raise DomainError("not_found", _l("There is no such comment."))
    known = sa.select(Report.id).where(Report.comment_id == comment_id, Report.visitor == visitor)
    if db.session.scalar(known) is not None:
        return False
    db.session.add(Report(comment_id=comment_id, visitor=visitor, reason=reason))
    db.session.flush()
    reasons = [found.reason for found in of_comment(comment_id)]
    site = comment.page.site
    if len(reasons) >= site.report_threshold:
        set_status(comment, "pending")  # the page's count and version follow
        comment.pending_reason = pending_reason(reasons)
        audit.record(None, site.id, "reported", f"comment {comment.id}", f"{len(reasons)} reports")
    return True


def pending_reason(reasons: list[str]) -> str:
    """What the queue shows of a reported comment: how many, and the reasons given."""
    given = "; ".join(reason for reason in reasons if reason)
    text = f"{REPORTED} ({len(reasons)})" + (f": {given}" if given else ".")
    return text if len(text) <= REASON_SHOWN else text[: REASON_SHOWN - 1] + "…"


def of_comment(comment_id: int) -> list[Report]:
    """A comment's reports, oldest first (for moderators)."""
    query = sa.select(Report).where(Report.comment_id == comment_id)
    return list(db.session.scalars(query.order_by(Report.created, Report.id)))


def settle(comment: Comment) -> int:
    """A moderator decided on the comment: its reports have been dealt with and go."""
    gone = db.session.execute(
        sa.delete(Report)
        .where(Report.comment_id == comment.id)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(gone, "rowcount", 0) or 0)


def forget_visitors(visitors: Collection[str], site_ids: Collection[int] | None = None) -> int:
    """Remove every report of these visitor keys (on some sites' pages, or on every site);
    returns how many went."""
    if not visitors:
        return 0
    ours = sa.select(Report.id).join(Comment, Comment.id == Report.comment_id)
    ours = ours.where(Report.visitor.in_(sorted(visitors)))
    if site_ids is not None:
        ours = ours.join(Page, Page.id == Comment.page_id).where(Page.site_id.in_(site_ids))
    gone = db.session.execute(
        sa.delete(Report)
        .where(Report.id.in_(ours.scalar_subquery()))
        .execution_options(synchronize_session=False)
    )
    return int(getattr(gone, "rowcount", 0) or 0)
