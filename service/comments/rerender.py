"""Stored comments rendered again after a change of the sanitiser.

Comments are rendered once, when written (docs/decisions.md, 1), so a change of the
rendering rules (a tag allowed or refused, bare URLs made links) reaches only comments
written after it. ``rerender`` renders every stored comment's text again with
``render_comment``, the function posts, edits and imports use, and replaces the HTML that
differs. Each page whose comments changed gets a new version in the same transaction, so
cached reads show the new HTML at once.

Comments are read in batches by id; each batch is rendered outside any transaction and its
changes are written in a short write transaction of its own, so posts and votes go on
meanwhile. A row is only replaced if its text and HTML are still those read: a comment
edited between the read and the write keeps its edit (rendered by the same rules).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa

from service.data import Comment, Page, Site
from service.data.versions import bump_pages
from service.database import writing
from service.extensions import db
from service.rules.sanitize import render_comment

BATCH = 500  # comments read, rendered and written per transaction


@dataclass
class Rerendered:
    """What a run found: comments read, comments whose HTML changed and their pages."""

    dry_run: bool = False
    read: int = 0
    changed: int = 0
    pages: set[int] = field(default_factory=set)

    def describe(self) -> str:
        verb = "would change" if self.dry_run else "changed"
        return f"{self.read} comments read, {self.changed} {verb} on {len(self.pages)} pages"


@dataclass(frozen=True)
class _Change:
    comment_id: int
    page_id: int
    text: str
    old: str
    new: str


def _batch(site_id: int | None, after: int, size: int) -> list[tuple[int, int, str, str]]:
    """The next ``size`` comments after id ``after`` (of one site, or every one); the read
    transaction is ended before rendering."""
    query = (
        sa.select(Comment.id, Comment.page_id, Comment.text, Comment.html)
        .where(Comment.id > after)
        .order_by(Comment.id)
        .limit(size)
    )
    if site_id is not None:
        query = query.join(Page, Page.id == Comment.page_id).where(Page.site_id == site_id)
    rows = [(row.id, row.page_id, row.text, row.html) for row in db.session.execute(query)]
    db.session.rollback()  # nothing was written: end the read before the write lock
    return rows


def _store(changes: list[_Change]) -> list[_Change]:
    """Replace the HTML of the comments still as read, renew their pages' versions, commit;
    the changes made."""
    made: list[_Change] = []
    with writing():
        for change in changes:
            result = db.session.execute(
                sa.update(Comment)
                .where(
                    Comment.id == change.comment_id,
                    Comment.text == change.text,
                    Comment.html == change.old,
                )
                .values(html=change.new)
                .execution_options(synchronize_session=False)
            )
            if getattr(result, "rowcount", 0):
                made.append(change)
        bump_pages(*(change.page_id for change in made))
        db.session.commit()
    return made


def rerender(site: Site | None = None, *, dry_run: bool = False, batch: int = BATCH) -> Rerendered:
    """Render every stored comment (of ``site``, or of every site) again from its text and
    store the HTML that changed (``dry_run``: count it, write nothing). Commits."""
    site_id = site.id if site is not None else None
    report = Rerendered(dry_run=dry_run)
    after = 0
    while rows := _batch(site_id, after, batch):
        after = rows[-1][0]
        report.read += len(rows)
        changes = [
            _Change(comment_id, page_id, text, old, new)
            for comment_id, page_id, text, old in rows
            if (new := render_comment(text)) != old
        ]
        if changes and not dry_run:
            changes = _store(changes)
        report.changed += len(changes)
        report.pages.update(change.page_id for change in changes)
    return report
