"""Importing a file from another comment system: validate it whole, then write in batches.

1. ``validate`` reads the whole file as a stream and writes nothing: a file that cannot be
   read to its end (truncated, hostile, the wrong format) is refused before anything is
   stored. It keeps only each comment's source id and its parent's, so memory follows the
   number of comments, never the file's size; a parent missing from the file makes its
   reply top-level (reported), as does a loop of parents.
2. ``write`` reads the file again and stores the comments through the one write path in
   import mode (``comments.importing``), a batch per short write transaction. Each
   comment's (site, format, source id) is recorded in the same transaction
   (``ImportedComment``), so a run stopped half-way is completed by running it again, and
   importing the same file twice adds nothing. A reply waits for a later pass over the
   file when its parent comes after it. A page it makes for a thread the source closed
   (``page_closed``) is closed to comments; one that exists keeps its setting (reported).
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

from service.comments.importing import Kept, prepare_import
from service.comments.posting import store_post
from service.data import Comment, ImportedComment, Page, Site
from service.database import writing
from service.extensions import db
from service.transfer import commento, disqus, isso, remark42, wordpress
from service.transfer.notes import Note
from service.transfer.sources import Entry, FileRefused, Reader, Skip, SourceComment, page_key

READERS: dict[str, Reader] = {
    "wordpress": wordpress.read,
    "disqus": disqus.read,
    "isso": isso.read,
    "remark42": remark42.read,
    "commento": commento.read,
}
BATCH = 200  # comments per write transaction: the write lock is held for a moment only


@dataclass
class Report:
    """What an import found and did, for the command line and the job's message."""

    comments: int = 0  # comments in the file, skipped ones apart
    pages: int = 0
    new_pages: int = 0
    created: int = 0
    existing: int = 0  # imported by an earlier run
    orphans: int = 0  # replies whose parent is missing: imported as top-level comments
    closed_pages: int = 0  # new pages made closed to comments, as their thread in the file
    left_open: int = 0  # existing, open pages whose thread the file closes: left as they are
    statuses: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)

    def lines(self, *, dry_run: bool) -> list[Note]:
        """The report as notes: text in the reader's language when shown (``notes``)."""
        counts = {"comments": self.comments, "pages": self.pages, "new_pages": self.new_pages}
        made = (self.comments - self.existing) if dry_run else self.created
        out = [
            Note("summary", {**counts, "statuses": dict(sorted(self.statuses.items()))}),
            Note(
                "would_create" if dry_run else "created", {"num": made, "existing": self.existing}
            ),
        ]
        if self.orphans:
            out.append(Note("orphans", {"num": self.orphans}))
        if self.closed_pages:
            out.append(Note("would_close" if dry_run else "closed", {"num": self.closed_pages}))
        if self.left_open:
            out.append(Note("left_open", {"num": self.left_open}))
        out += [Note("skipped", {"reason": r, "num": n}) for r, n in sorted(self.skipped.items())]
        return out


@dataclass
class Plan:
    """What validation learnt: every parent (None: top level), the report, the pages to close."""

    parents: dict[str, str | None]
    report: Report
    closed: set[str] = field(default_factory=set)  # new pages, to be closed to comments


def entries(source: str, path: Path) -> Iterator[Entry]:
    """The file's entries; an unknown format is refused."""
    reader = READERS.get(source)
    if reader is None:
        raise FileRefused("unknown_format", format=repr(source), formats=", ".join(READERS))
    return reader(path)


def imported_ids(site_id: int, source: str, ids: Iterable[str]) -> dict[str, int | None]:
    """Source id to comment id of those of ``ids`` imported before from this format into this
    site (asked for a batch at a time: never every id of a large import at once)."""
    found: dict[str, int | None] = {}
    listed = sorted(set(ids))
    for start in range(0, len(listed), 500):
        rows = db.session.execute(
            sa.select(ImportedComment.source_id, ImportedComment.comment_id).where(
                ImportedComment.site_id == site_id,
                ImportedComment.source == source,
                ImportedComment.source_id.in_(listed[start : start + 500]),
            )
        )
        found.update({source_id: comment_id for source_id, comment_id in rows})
    return found


def validate(site: Site, source: str, path: Path, prefixes: list[tuple[str, str]]) -> Plan:
    """Read the whole file, writing nothing; ``FileRefused`` says what is wrong with it."""
    report = Report()
    parents: dict[str, str | None] = {}
    keys: set[str] = set()
    closed: set[str] = set()  # the pages of threads the source closed
    for entry in entries(source, path):
        if isinstance(entry, Skip):
            report.skipped[entry.reason] += 1
            continue
        if entry.source_id in parents:
            raise FileRefused("id_twice", id=repr(entry.source_id))
        keys.add(key := page_key(entry.page_url, prefixes))
        if entry.page_closed:
            closed.add(key)
        # Interned: a parent's id is the same string object as its own entry's key.
        parent = sys.intern(entry.parent_id) if entry.parent_id is not None else None
        parents[sys.intern(entry.source_id)] = parent
        report.statuses[entry.status] += 1
    report.comments, report.pages = len(parents), len(keys)
    report.orphans = _top_level_orphans(parents)
    report.existing = _count_imported(site.id, source, list(parents))
    report.new_pages = len(keys) - len(_pages_here(site, keys))
    here = _pages_here(site, closed)  # pages here already keep their setting
    closed -= here.keys()
    report.closed_pages, report.left_open = len(closed), sum(not c for c in here.values())
    return Plan(parents, report, closed)


def _top_level_orphans(parents: dict[str, str | None]) -> int:
    """Make replies to a missing parent, and loops of parents, top-level; how many."""
    orphans = 0
    reaches_top: set[str] = set()
    for start in parents:
        path: list[str] = []
        on_path: set[str] = set()
        node: str | None = start
        while node is not None and node not in reaches_top:
            if node in on_path or node not in parents:  # a loop, or a parent not in the file
                child = path[-1]
                parents[child] = None
                orphans += 1
                break
            path.append(node)
            on_path.add(node)
            node = parents[node]
        reaches_top.update(path)
    return orphans


def _count_imported(site_id: int, source: str, ids: list[str]) -> int:
    return sum(
        len(imported_ids(site_id, source, ids[start : start + 5000]))
        for start in range(0, len(ids), 5000)
    )


def _pages_here(site: Site, keys: set[str]) -> dict[str, bool]:
    """Those of ``keys`` that are pages of the site already, with their ``comments_closed``."""
    found: dict[str, bool] = {}
    listed = sorted(keys)
    query = sa.select(Page.key, Page.comments_closed).where(Page.site_id == site.id)
    for start in range(0, len(listed), 500):
        rows = db.session.execute(query.where(Page.key.in_(listed[start : start + 500])))
        found.update({key: shut for key, shut in rows})
    return found


def write(
    site: Site,
    source: str,
    path: Path,
    prefixes: list[tuple[str, str]],
    plan: Plan,
    *,
    service_origin: str,
    on_batch: Callable[[int], None] | None = None,
) -> Report:
    """Store what validation accepted, in batches; ``on_batch(done)`` runs inside each
    batch's transaction (a job's progress is written with it)."""
    report, site_id = plan.report, site.id
    while True:
        created_before, waiting = report.created, 0
        for chunk in _chunks(entries(source, path)):
            known = imported_ids(
                site_id, source, [e.source_id for e in chunk] + _parents_of(chunk, plan)
            )
            batch: list[SourceComment] = []
            batched: set[str] = set()
            for entry in chunk:
                if entry.source_id in known:
                    continue
                parent = plan.parents[entry.source_id]
                if parent is not None and parent not in known and parent not in batched:
                    waiting += 1  # its parent comes later in the file: the next pass
                    continue
                batch.append(entry)
                batched.add(entry.source_id)
            if batch:
                _store(site_id, source, batch, plan, known, prefixes, service_origin, on_batch)
                report.created += len(batch)
        if not waiting:
            return report
        if report.created == created_before:  # cannot happen after validation: no loop
            raise FileRefused("changed")


def _chunks(stream: Iterator[Entry]) -> Iterator[list[SourceComment]]:
    """The file's comments, BATCH at a time (skipped entries left out)."""
    chunk: list[SourceComment] = []
    for entry in stream:
        if isinstance(entry, SourceComment):
            chunk.append(entry)
            if len(chunk) >= BATCH:
                yield chunk
                chunk = []
    if chunk:
        yield chunk


def _parents_of(chunk: list[SourceComment], plan: Plan) -> list[str]:
    return [p for p in (plan.parents[e.source_id] for e in chunk) if p is not None]


def _store(
    site_id: int,
    source: str,
    batch: list[SourceComment],
    plan: Plan,
    known: dict[str, int | None],
    prefixes: list[tuple[str, str]],
    service_origin: str,
    on_batch: Callable[[int], None] | None,
) -> None:
    """One short write transaction: the batch's comments and their source ids. What can be
    read or worked out before (the site, the pages, the parents, HTML turned into markdown)
    is, so the write lock is held for the inserts alone."""
    site = db.session.get(Site, site_id)
    assert site is not None
    texts = [entry.markdown for entry in batch]
    keys = [page_key(entry.page_url, prefixes) for entry in batch]
    found = db.session.scalars(sa.select(Page).where(Page.site_id == site_id, Page.key.in_(keys)))
    pages = {page.key: page for page in found}
    wanted = {known.get(parent) for parent in _parents_of(batch, plan)} - {None}
    parents = {
        c.id: c for c in db.session.scalars(sa.select(Comment).where(Comment.id.in_(wanted)))
    }
    with writing():
        for entry, text, key in zip(batch, texts, keys, strict=True):
            parent_id = known.get(plan.parents[entry.source_id] or "")
            parent = parents.get(parent_id) if parent_id else None
            if parent_id and parent is None:  # written in this batch
                parent = db.session.get(Comment, parent_id)
            prepared = prepare_import(
                site,
                key,
                name=entry.author,
                email=entry.email,
                website=entry.website,
                text=text,
                status=entry.status,
                kept=Kept(entry.created, entry.edited, entry.likes),
                parent=parent,
                address=entry.address,
                title=entry.page_title,
                url=entry.page_url if entry.page_url.startswith(("http://", "https://")) else None,
                service_origin=service_origin,
                page=pages.get(key),
            )
            comment = store_post(prepared).comment
            page = pages.get(key) or db.session.get(Page, comment.page_id)
            if page is not None:
                pages[key] = page  # created by this comment: the batch's next ones find it
                if prepared.page is None and key in plan.closed:  # made by this comment
                    page.comments_closed = True
            db.session.add(
                ImportedComment(
                    site_id=site_id, source=source, source_id=entry.source_id, comment_id=comment.id
                )
            )
            known[entry.source_id] = comment.id
        if on_batch is not None:
            on_batch(len(batch))
        db.session.commit()
    db.session.expunge_all()  # the session holds one batch at a time
