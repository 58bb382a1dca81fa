"""Command line for threads, in the ``site``, ``page`` and ``comment`` groups: a site's thread
rules, closing and reopening a page's comments and its own closing delay, pinning comments.

The rules and audit entries are the admin views' (``comments.closing``, ``comments.pins``),
with no moderator.
"""

from __future__ import annotations

import click

from service.cli.sites import change, comment_cli, page_cli, site_cli, site_named
from service.comments import closing, pins
from service.data import Comment, Page
from service.data.bounds import REPORT_THRESHOLD_MAX
from service.extensions import db
from service.sites.lookup import find_page


def _page(site_key: str, page_key: str) -> Page:
    page = find_page(site_named(site_key), page_key)
    if page is None:
        raise click.ClickException(f"No page {page_key!r} on site {site_key!r}.")
    return page


def _state(page: Page) -> str:
    if page.comments_closed:
        return "closed"
    if closing.closes_by_time(page):
        return f"closed since {page.comments_close_at:%Y-%m-%d %H:%M} UTC"
    if page.comments_close_at is not None:
        return f"open until {page.comments_close_at:%Y-%m-%d %H:%M} UTC"
    return "open"


@site_cli.command("threads")
@click.argument("site_key", metavar="SITE")
@click.option(
    "--close-after", help="Close comments this many days after a page's first comment, or never."
)
@click.option(
    "--report-threshold",
    type=click.IntRange(1, REPORT_THRESHOLD_MAX),
    help="Readers' reports that put a published comment back in the queue.",
)
def site_threads(site_key: str, close_after: str | None, report_threshold: int | None) -> None:
    """Show or set a site's thread rules; every page's closing time follows a new delay."""
    with change():
        site = site_named(site_key)
        days = False if close_after is None else closing.parse_days(close_after, page=False)
        closing.change_site_rules(
            None, site, close_after_days=days, report_threshold=report_threshold
        )
    delay = site.close_after_days
    click.echo(
        f"{site.key}: close-after={'never' if delay is None else f'{delay} days'} "
        f"report-threshold={site.report_threshold}"
    )


@page_cli.command("close")
@click.argument("site_key", metavar="SITE")
@click.argument("page_key", metavar="PAGE")
def page_close(site_key: str, page_key: str) -> None:
    """Close a page's comments (the thread stays, the form gives way to a notice)."""
    with change():
        page = _page(site_key, page_key)
        closing.close(None, page)
    click.echo(f"{page.key}: {_state(page)}")


@page_cli.command("reopen")
@click.argument("site_key", metavar="SITE")
@click.argument("page_key", metavar="PAGE")
def page_reopen(site_key: str, page_key: str) -> None:
    """Open a page's comments again; one closed by its time then never closes by itself."""
    with change():
        page = _page(site_key, page_key)
        closing.reopen(None, page)
    click.echo(f"{page.key}: {_state(page)}")


@page_cli.command("close-after")
@click.argument("site_key", metavar="SITE")
@click.argument("page_key", metavar="PAGE")
@click.argument("days", metavar="DAYS|never|site")
def page_close_after(site_key: str, page_key: str, days: str) -> None:
    """A page's own closing delay: days after its first comment, never, or the site's."""
    with change():
        page = _page(site_key, page_key)
        wanted = None if days.strip().lower() == "site" else closing.parse_days(days, page=True)
        if wanted is None and days.strip().lower() != "site":
            raise click.ClickException("Give a number of days, never, or site.")
        closing.set_page_delay(None, page, wanted)
    click.echo(f"{page.key}: {_state(page)}")


def _pin(comment_id: int, pinned: bool) -> None:
    with change():
        comment = db.session.get(Comment, comment_id)
        if comment is None:
            raise click.ClickException(f"No comment {comment_id}.")
        pins.set_pinned(None, comment, pinned)
    click.echo(f"Comment {comment_id} is {'pinned' if pinned else 'not pinned'}.")


@comment_cli.command("pin")
@click.argument("comment_id", type=int)
def comment_pin(comment_id: int) -> None:
    """Pin a published top-level comment: its page shows it first."""
    _pin(comment_id, True)


@comment_cli.command("unpin")
@click.argument("comment_id", type=int)
def comment_unpin(comment_id: int) -> None:
    """Unpin a comment: it goes back to its place in the thread."""
    _pin(comment_id, False)
