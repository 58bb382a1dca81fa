"""Threads in the admin views: pinning comments, closing and reopening a page's comments (for
every moderator of its site), a page's own closing delay and the site's thread rules (for
its owners), and what the comment and page views show of them: a thread's state, its pinned
comments, a comment's reports.

The rules and audit entries are the domain's (``comments.pins``, ``comments.closing``,
``comments.reports``), which the command line uses too.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import flash, g, request
from flask_babel import gettext as _
from werkzeug.wrappers import Response as BaseResponse

from service.comments import closing, pins, reports
from service.data import Comment, Page, Report
from service.database import writing
from service.extensions import db
from service.rules.errors import ValidationError
from service.rules.validation import page_key
from service.sites import accounts
from service.sites.lookup import find_page
from service.web.admin import bp
from service.web.admin.auth import back, login_required, missing, my_site
from service.web.admin.comments import my_comment


def _page(key: str, *, owner: bool = False) -> Page:
    page = find_page(my_site(key, owner=owner), page_key(request.args.get("page")))
    if page is None:
        raise missing()
    return page


def _back_from(page: Page) -> BaseResponse:
    """Back to the comment the form was on, else to the page's view."""
    raw = request.form.get("comment", "")
    if raw.isascii() and raw.isdigit() and len(raw) <= 10:
        return back("admin.comment_detail", comment_id=int(raw))
    return back("admin.pages", key=page.site.key, page=page.key)


def _saved(change: Any) -> bool | None:
    """Run a change in a write transaction: its result, or None when the rules refused it
    (the first message flashed)."""
    try:
        with writing():
            done = change()
            db.session.commit()
    except ValidationError as error:
        db.session.rollback()
        flash(str(error.first_message()), "error")
        return None
    return bool(done)


@bp.post("/comments/<int:comment_id>/pin")
@login_required
def comment_pin(comment_id: int) -> BaseResponse:
    comment = my_comment(comment_id)
    pinned = request.form.get("action") == "pin"
    done = _saved(lambda: pins.set_pinned(g.moderator, comment, pinned))
    if done is not None:
        said = _("Comment %(id)s is pinned.") if pinned else _("Comment %(id)s is unpinned.")
        flash(said % {"id": comment.id} if done else _("Nothing changed."), "info")
    return back("admin.comment_detail", comment_id=comment.id)


@bp.post("/sites/<key>/thread")
@login_required
def thread_state_change(key: str) -> BaseResponse:
    """Close or reopen a page's comments: any moderator of the site."""
    page = _page(key)
    opening = request.form.get("action") == "reopen"
    change = closing.reopen if opening else closing.close
    done = _saved(lambda: change(g.moderator, page))
    if done:
        flash(_("Comments are open again.") if opening else _("Comments are closed."), "info")
    elif done is not None:
        flash(_("Nothing changed."), "info")
    return _back_from(page)


@bp.post("/sites/<key>/thread/delay")
@login_required
def thread_delay(key: str) -> BaseResponse:
    """A page's own closing delay: the site's owners."""
    page = _page(key, owner=True)

    def change() -> bool:
        days = closing.parse_days(request.form.get("close_after_days"), page=True)
        return closing.set_page_delay(g.moderator, page, days)

    done = _saved(change)
    if done is not None:
        flash(_("Page settings saved.") if done else _("Nothing changed."), "info")
    return back("admin.pages", key=page.site.key, page=page.key)


@bp.post("/sites/<key>/threads")
@login_required
def thread_rules(key: str) -> BaseResponse:
    """A site's thread rules (closing delay, report threshold): its owners."""
    site = my_site(key, owner=True)

    def change() -> list[str]:
        days = closing.parse_days(request.form.get("close_after_days"), page=False)
        raw = request.form.get("report_threshold", "").strip()
        threshold = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 5 else -1
        return closing.change_site_rules(
            g.moderator, site, close_after_days=days, report_threshold=threshold
        )

    done = _saved(change)
    if done is not None:
        flash(_("Settings saved.") if done else _("Nothing changed."), "info")
    return back("admin.site_settings", key=site.key)


# --- what the views show --------------------------------------------------------------


@bp.app_template_global()
def thread_state(page: Page) -> dict[str, Any]:
    """Where a page's comments stand, for the page and comment views."""
    site = page.site
    closes: datetime | None = page.comments_close_at
    return {
        "closed": closing.is_closed(page),
        "by_hand": page.comments_closed,
        "by_time": closing.closes_by_time(page),
        "closes": closes,
        "delay": closing.delay(site, page),
        "own_delay": page.close_after_days,
        "site_delay": site.close_after_days,
        "pinned": pins.pinned_on(page),
        "owner": accounts.role_on(g.moderator, site) == "owner",
    }


@bp.app_template_global()
def comment_reports(comment: Comment) -> list[Report]:
    """A comment's reports and their reasons (moderators only)."""
    return reports.of_comment(comment.id)
