"""Disqus: the XML export of Moderation > Export (``<disqus>``: ``<category>``, then one
``<thread dsq:id>`` per page, then one ``<post dsq:id>`` per comment naming its thread and
parent by ``dsq:id``; docs/imports.md has the mapping).

Threads are read in a first pass (a page's link and title), posts in a second, so a post
may come before its thread. A thread's own ``<id>`` (the site's identifier) is often empty:
pages are keyed by the thread's ``<link>``. Posts on a thread missing from the file or
deleted are skipped and counted. A closed thread (``<isClosed>``) makes its page closed to
comments when the import creates it (``importer``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from xml.etree.ElementTree import Element

from service.transfer.sources import (
    Entry,
    Skip,
    SourceComment,
    checked_id,
    iso_time,
)
from service.transfer.xmlstream import child, child_text, elements, local

FORMAT = "disqus"


@dataclass(frozen=True)
class Thread:
    link: str
    title: str
    deleted: bool
    closed: bool


def dsq_id(element: Element | None) -> str:
    """The ``dsq:id`` attribute, whatever prefix the file binds the namespace to."""
    if element is None:
        return ""
    return next((v.strip() for k, v in element.attrib.items() if local(k) == "id"), "")


def _true(element: Element, name: str) -> bool:
    return child_text(element, name).lower() == "true"


def _threads(path: Path) -> dict[str, Thread]:
    threads: dict[str, Thread] = {}
    for element in elements(path, root="disqus", depth=1, label=FORMAT):
        if local(element.tag) == "thread" and dsq_id(element):
            threads[dsq_id(element)] = Thread(
                child_text(element, "link"),
                child_text(element, "title"),
                _true(element, "isDeleted"),
                _true(element, "isClosed"),
            )
    return threads


def _post(post: Element, threads: dict[str, Thread]) -> Entry:
    source_id = checked_id(dsq_id(post), "post")
    thread = threads.get(dsq_id(child(post, "thread")))
    if thread is None or not thread.link:
        return Skip("no_thread")
    if thread.deleted:
        return Skip("deleted_thread")
    author = child(post, "author")
    name = email = ""
    if author is not None:
        name = child_text(author, "name") or child_text(author, "username")
        email = child_text(author, "email")
    if _true(post, "isSpam"):
        status = "spam"
    elif _true(post, "isDeleted"):
        status = "deleted"
    elif child_text(post, "isApproved").lower() == "false":
        status = "pending"
    else:
        status = "approved"
    return SourceComment(
        source_id=source_id,
        page_url=thread.link,
        page_title=thread.title or None,
        parent_id=dsq_id(child(post, "parent")) or None,
        author=name,
        email=email,
        website=None,
        text=child_text(post, "message"),
        html=True,
        created=iso_time(child_text(post, "createdAt"), source_id),
        status=status,
        address=child_text(post, "ipAddress") or None,
        page_closed=thread.closed,
    )


def read(path: Path) -> Iterator[Entry]:
    """Every post, in the file's order."""
    threads = _threads(path)
    for element in elements(path, root="disqus", depth=1, label=FORMAT):
        if local(element.tag) == "post":
            yield _post(element, threads)
