"""Commento and Comentario: their JSON export, read as a stream (ijson).

Commento (and Comentario before v3) write ``{"version": 1, "comments": [...],
"commenters": [...]}``: a comment has ``commentHex``, ``url`` (Comentario: ``path``),
``commenterHex``, ``markdown``, ``parentHex`` ("root" at the top), ``score``, ``state``
(approved, unapproved, flagged), ``creationDate`` and ``deleted``; a commenter has
``commenterHex``, ``email``, ``name`` and ``link`` (or ``websiteUrl``). Comentario v3 writes
``{"version": 3, "pages": [...], "comments": [...], "commenters": [...]}`` with ``id``,
``parentId``, ``pageId``, ``isApproved``, ``isPending``, ``isDeleted``, ``createdTime`` and
``userCreated``. A first pass keeps the commenters and pages, a second reads the comments.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import ijson
from ijson.common import ObjectBuilder

from service.transfer.sources import Entry, FileRefused, SourceComment, checked_id, iso_time

FORMAT = "commento"
KEPT = ("commenters.item", "pages.item")
ANONYMOUS = frozenset({"anonymous", "0" * 64, "00000000-0000-0000-0000-000000000000"})
V1_STATES = {"approved": "approved", "unapproved": "pending", "flagged": "spam"}


def _preamble(path: Path) -> tuple[int, dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """The version, the commenters by id and the pages by id."""
    version = None
    kept: dict[str, dict[str, dict[str, Any]]] = {prefix: {} for prefix in KEPT}
    builder: ObjectBuilder | None = None
    with path.open("rb") as stream:
        for prefix, event, value in ijson.parse(stream, use_float=True):
            if prefix == "version" and event == "number":
                version = int(value)
            elif prefix in KEPT and event == "start_map":
                builder = ObjectBuilder()
            if builder is not None:
                builder.event(event, value)
                if prefix in KEPT and event == "end_map":
                    item = builder.value
                    key = item.get("commenterHex") or item.get("id")
                    if key:
                        kept[prefix][str(key)] = item
                    builder = None
    if version not in (1, 2, 3):
        raise FileRefused("no_version", label=FORMAT)
    return version, kept["commenters.item"], kept["pages.item"]


def _page_path(value: object) -> str:
    text = str(value or "").strip()
    if not text or text.startswith(("http://", "https://")):
        return text
    return "/" + text.lstrip("/")


def _website(value: object) -> str | None:
    text = str(value or "").strip()
    return None if text in ("", "undefined") else text  # Commento's placeholder


def _v1(item: dict[str, Any], commenters: dict[str, dict[str, Any]]) -> SourceComment:
    source_id = checked_id(item.get("commentHex"))
    who = commenters.get(str(item.get("commenterHex")), {})
    parent = str(item.get("parentHex") or "root")
    state = V1_STATES.get(str(item.get("state")), "pending")
    return SourceComment(
        source_id=source_id,
        page_url=_page_path(item.get("path") or item.get("url")),
        page_title=None,
        parent_id=None if parent == "root" else parent,
        author=str(who.get("name") or ""),
        email=str(who.get("email") or ""),
        website=_website(who.get("link") or who.get("websiteUrl")),
        text=str(item.get("markdown") or ""),
        created=iso_time(item.get("creationDate"), source_id),
        status="deleted" if item.get("deleted") else state,
        likes=max(int(item.get("score") or 0), 0),
    )


def _v3(
    item: dict[str, Any], commenters: dict[str, dict[str, Any]], pages: dict[str, dict[str, Any]]
) -> SourceComment:
    source_id = checked_id(item.get("id"))
    page = pages.get(str(item.get("pageId")), {})
    who = commenters.get(str(item.get("userCreated")), {})
    if item.get("isDeleted"):
        status = "deleted"
    elif item.get("isApproved"):
        status = "approved"
    else:
        status = "pending" if item.get("isPending") else "spam"  # rejected by a moderator
    return SourceComment(
        source_id=source_id,
        page_url=_page_path(page.get("path")),
        page_title=str(page.get("title") or "") or None,
        parent_id=str(item["parentId"]) if item.get("parentId") else None,
        author=str(who.get("name") or item.get("authorName") or ""),
        email=str(who.get("email") or ""),
        website=_website(who.get("websiteUrl")),
        text=str(item.get("markdown") or ""),
        created=iso_time(item.get("createdTime"), source_id),
        status=status,
        likes=max(int(item.get("score") or 0), 0),
    )


def read(path: Path) -> Iterator[Entry]:
    """Every comment, in the file's order."""
    try:
        version, commenters, pages = _preamble(path)
        for key in ANONYMOUS:
            commenters.pop(key, None)
        with path.open("rb") as stream:
            for item in ijson.items(stream, "comments.item", use_float=True):
                if not isinstance(item, dict):
                    raise FileRefused("comment_not_object", label=FORMAT)
                yield _v3(item, commenters, pages) if version == 3 else _v1(item, commenters)
    except ijson.JSONError as error:
        reason = (str(error).splitlines() or [type(error).__name__])[0]
        raise FileRefused("not_whole_json", error=reason, label=FORMAT) from None
