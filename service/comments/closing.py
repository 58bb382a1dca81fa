"""Closing a page's comments: by hand (moderators close and reopen a thread) and by time
(comments close some days after a page's first comment), and a site's thread rules.

A page takes no comments while ``comments_closed`` is set or once its ``comments_close_at``
has passed. That time is set when the page's first comment is stored, from the page's own
delay (``page.close_after_days``: None follows the site, 0 never) or else the site's
(``site.close_after_days``: None never), and computed again from the first comment when
either delay changes. Passing the time writes nothing: public answers hold each page's
closing phase in their stamp (``data.stamps``), so a cached fragment stops offering the
form once the time has passed. Closing, reopening and settings are audited; closing and
reopening give the page a new version. Callers commit.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from service.data import Comment, Moderator, Page, Site, utcnow
from service.data.bounds import CLOSE_AFTER_DAYS_MAX, REPORT_THRESHOLD_MAX
from service.data.versions import bump_pages
from service.extensions import db
from service.rules.errors import ValidationError
from service.sites import audit

NEVER = 0  # a page's delay that keeps it open whatever the site's says
DAYS_REFUSED = _l("Whole days from 1 to %(max)s, or never.", max=CLOSE_AFTER_DAYS_MAX)

_PAGE = Page.__table__
# Built once: a post runs it when its page has a delay and no closing time yet. Only the
# first comment stored sets the time (two at once: the first to write it).
_START = (
    sa.update(_PAGE)
    .where(_PAGE.c.id == sa.bindparam("page_id"), _PAGE.c.comments_close_at.is_(None))
    .values(comments_close_at=sa.bindparam("closes", type_=sa.DateTime()))
)


def closes_by_time(page: Page | None, now: datetime | None = None) -> bool:
    """Whether the page's closing time has passed."""
    closes = page.comments_close_at if page is not None else None
    return closes is not None and closes <= (now or utcnow())


def is_closed(page: Page | None, now: datetime | None = None) -> bool:
    """Whether the page takes no comments now: closed by hand, or its time has passed."""
    return page is not None and (page.comments_closed or closes_by_time(page, now))


def delay(site: Site, page: Page | None) -> int | None:
    """Days after the first comment that the page's comments close (None: never)."""
    days = page.close_after_days if page is not None else None
    if days is None:
        return site.close_after_days
    return None if days == NEVER else days


def on_comment(site: Site, page: Page, created: datetime) -> None:
    """A comment was stored on the page (its first, if the page has no closing time yet):
    with a delay that applies, the page closes that many days after it."""
    days = delay(site, page)
    if days is None or page.comments_close_at is not None:
        return
    closes = created + timedelta(days=days)
    db.session.connection().execute(_START, {"page_id": page.id, "closes": closes})


def recompute(site: Site, page: Page | None = None) -> int:
    """Every page's closing time again (or one page's) from its first comment and its delay;
    returns how many changed. The site's own row is as the caller set it."""
    first = (
        sa.select(sa.func.min(Comment.created)).where(Comment.page_id == Page.id).scalar_subquery()
    )
    query = sa.select(Page, first).where(Page.site_id == site.id)
    if page is not None:
        query = query.where(Page.id == page.id)
    changed = 0
    for found, started in db.session.execute(query).all():
        days = delay(site, found)
        closes = started + timedelta(days=days) if started and days is not None else None
        if closes != found.comments_close_at:
            found.comments_close_at = closes
            changed += 1
    return changed


def close(moderator: Moderator | None, page: Page) -> bool:
    """Close the page's comments; False when they were closed already."""
    if page.comments_closed:
        return False
    page.comments_closed = True
    bump_pages(page.id)  # the form gives way to the notice
    audit.record(moderator, page.site_id, "close comments", f"page {page.key}")
    return True


def reopen(moderator: Moderator | None, page: Page) -> bool:
    """Open the page's comments again; False when they were open. A page whose closing time
    had passed keeps no time and stays open for good (its delay becomes "never")."""
    if not is_closed(page):
        return False
    detail = ""
    if closes_by_time(page):
        page.comments_close_at, page.close_after_days = None, NEVER
        detail = "closing time cleared; closes automatically: never"
    page.comments_closed = False
    bump_pages(page.id)
    audit.record(moderator, page.site_id, "reopen comments", f"page {page.key}", detail)
    return True


def parse_days(text: str | None, *, page: bool) -> int | None:
    """A delay as typed (the admin form, the command line): empty (the site's setting, for a
    page; never, for a site), "never" or 0 (never), or whole days."""
    value = (text or "").strip().lower()
    if not value:
        return None
    if value == "never":
        return NEVER if page else None
    if value.isascii() and value.isdigit() and len(value) <= 5:
        days = int(value)
        if days == NEVER and not page:
            return None
        if days <= CLOSE_AFTER_DAYS_MAX:
            return days
    raise ValidationError({"close_after_days": DAYS_REFUSED})


def _checked_days(days: Any, low: int) -> int | None:
    if days is None or (type(days) is int and low <= days <= CLOSE_AFTER_DAYS_MAX):
        return days
    raise ValidationError({"close_after_days": DAYS_REFUSED})


def set_page_delay(moderator: Moderator | None, page: Page, days: int | None) -> bool:
    """The page's own delay (None: the site's; 0: never), its closing time following."""
    days = _checked_days(days, NEVER)
    if days == page.close_after_days:
        return False
    before = page.close_after_days
    page.close_after_days = days
    recompute(page.site, page)
    bump_pages(page.id)
    closes = page.comments_close_at or "never"
    detail = f"close_after_days: {before} -> {days}; closes at {closes}"
    audit.record(moderator, page.site_id, "page settings", f"page {page.key}", detail)
    return True


def change_site_rules(
    moderator: Moderator | None,
    site: Site,
    *,
    close_after_days: int | None | bool = False,
    report_threshold: int | None = None,
) -> list[str]:
    """A site's thread rules: the delay after which its pages close (None: never; False:
    unchanged) and the reports that put a comment back in the queue (None: unchanged).
    Every page's closing time follows a new delay. Returns what changed, as audited."""
    values: dict[str, Any] = {}
    if close_after_days is not False:
        values["close_after_days"] = _checked_days(close_after_days, 1)
    if report_threshold is not None:
        if not (type(report_threshold) is int and 1 <= report_threshold <= REPORT_THRESHOLD_MAX):
            raise ValidationError(
                {"report_threshold": _l("From 1 to %(max)s.", max=REPORT_THRESHOLD_MAX)}
            )
        values["report_threshold"] = report_threshold
    changed = audit.changed_fields(site, values)
    if not changed:
        return []
    if "close_after_days" in values and any(c.startswith("close_after_days") for c in changed):
        pages = recompute(site)
        changed.append(f"closing times recomputed: {pages} pages")
    # The site's row changed: its version too (data.versions), renewing its answers.
    audit.record(moderator, site.id, "site settings", f"site {site.key}", "; ".join(changed))
    return changed
