"""WordPress: the WXR file of Tools > Export (``<rss>``, one ``<item>`` per post or page,
its comments as ``<wp:comment>`` children; docs/imports.md has the mapping).

Pingbacks and trackbacks are not comments readers wrote: they are skipped (and counted). A
``comment_parent`` of 0 is a top-level comment. ``comment_content`` is the raw text WordPress
stores, HTML included: it is turned into markdown.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from xml.etree.ElementTree import Element

from service.transfer.sources import (
    Entry,
    FileRefused,
    Skip,
    SourceComment,
    checked_id,
    utc,
)
from service.transfer.xmlstream import child_text, elements, local

FORMAT = "wordpress"
# comment_approved: "1", "0", "spam", "trash" (and "post-trashed": the post went to the bin).
STATUSES = {"1": "approved", "0": "pending", "spam": "spam", "trash": "deleted"}
SKIPPED_TYPES = frozenset({"pingback", "trackback"})


def _date(comment: Element) -> datetime:
    for name in ("comment_date_gmt", "comment_date"):  # a draft's GMT date is all zeros
        text = child_text(comment, name)
        if text and not text.startswith("0000"):
            try:
                return utc(datetime.strptime(text, "%Y-%m-%d %H:%M:%S"))
            except ValueError:
                break
    raise FileRefused("no_date", label=FORMAT)


def _comment(comment: Element, link: str, title: str) -> Entry:
    if child_text(comment, "comment_type") in SKIPPED_TYPES:
        return Skip("pingbacks")
    source_id = checked_id(child_text(comment, "comment_id"))
    approved = child_text(comment, "comment_approved")
    status = STATUSES.get(approved, "deleted" if approved.endswith("trashed") else None)
    if status is None:
        raise FileRefused("unknown_state", id=source_id, state=repr(approved[:20]))
    parent = child_text(comment, "comment_parent")
    return SourceComment(
        source_id=source_id,
        page_url=link,
        page_title=title or None,
        parent_id=parent if parent not in ("", "0") else None,
        author=child_text(comment, "comment_author"),
        email=child_text(comment, "comment_author_email"),
        website=child_text(comment, "comment_author_url") or None,
        text=child_text(comment, "comment_content"),
        html=True,
        created=_date(comment),
        status=status,
        address=child_text(comment, "comment_author_IP") or None,
    )


def read(path: Path) -> Iterator[Entry]:
    """Every comment of every item, in the file's order."""
    seen_channel = False
    for element in elements(path, root="rss", depth=2, label=FORMAT):
        seen_channel = True
        if local(element.tag) != "item":
            continue
        link = child_text(element, "link")
        title = child_text(element, "title")
        for comment in element:
            if local(comment.tag) != "comment":
                continue
            if not link:
                raise FileRefused("no_link", label=FORMAT)
            yield _comment(comment, link, title)
    if not seen_channel:
        raise FileRefused("no_channel", label=FORMAT)
