"""What an import tells people, kept so it can be read later in the reader's language.

An import job's message (why a file was refused, or what the import did) is written by the
worker, stored in the job's row and read on the admin page, later and in whatever language
that reader's browser asks for. So it is stored as notes, each a stable ``code`` and its
values (JSON), never as text; a note becomes text when it is shown (``str(note)``), in the
language of that answer, and in English on the command line and in the worker. The values
(counts, ids, a parser's own words about a broken file) stay as they were; the sentence
around them is translated. The same notes are the refusals raised while a file is read
(``sources.FileRefused``) and the lines of an import's report (``importer.Report``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from flask_babel import format_decimal, gettext, ngettext
from flask_babel import lazy_gettext as _l

log = logging.getLogger(__name__)

# The formats, as a sentence names them (the ``label`` value of a note).
FORMATS = {
    "wordpress": _l("a WordPress export (WXR)"),
    "disqus": _l("a Disqus export"),
    "isso": _l("an Isso database"),
    "remark42": _l("a Remark42 backup"),
    "commento": _l("a Commento or Comentario export"),
}

# Why entries of a file were not imported (a ``Skip``'s reason, counted in the report).
SKIPPED = {
    "pingbacks": _l("pingbacks and trackbacks"),
    "no_thread": _l("posts on a thread missing from the file or without a link"),
    "deleted_thread": _l("posts on deleted threads"),
}

TEXTS = {
    # The upload and the job.
    "choose_format": _l("Choose the format of the file."),
    "choose_file": _l("Choose the export file to upload."),
    "unknown_format": _l("Unknown format %(format)s: one of %(formats)s."),
    "empty": _l("The file is empty."),
    "too_large": _l("The file is larger than the import limit of %(limit)s bytes."),
    "gone": _l("The site or the uploaded file is gone."),
    "unexpected": _l(
        "The import stopped on an unexpected error (see the service's log); what was "
        "imported stays, and uploading the file again completes it."
    ),
    "changed": _l("The file changed while it was imported: run the import again."),
    "bad_rewrite": _l("A prefix rewrite is OLD=NEW, not %(value)s."),
    # Any format.
    "no_id": _l("A comment has no usable id (%(id)s): is this the right format?"),
    "no_post_id": _l("A post has no usable id (%(id)s): is this the right format?"),
    "id_twice": _l("Comment id %(id)s appears twice in the file."),
    "bad_date": _l("Comment %(id)s has a date that cannot be read: %(text)s."),
    "bad_page_url": _l("A page URL gives no usable page id: %(url)s."),
    # XML (WordPress, Disqus).
    "wrong_root": _l("This is not %(label)s: its root element is <%(found)s>, not <%(root)s>."),
    "not_xml": _l("The file is not well-formed XML (%(error)s): truncated, or not %(label)s."),
    "hostile": _l(
        "The file was refused: it declares a DTD, entities or external references "
        "(%(error)s), which exports never need and attacks use."
    ),
    "unclosed": _l("The file ends before its last element closes: truncated %(label)s."),
    "no_channel": _l("This is not %(label)s: it has no <channel>."),
    "no_link": _l("A post with comments in %(label)s has no <link>."),
    "no_date": _l("A comment in %(label)s has no date that can be read."),
    "unknown_state": _l("Comment %(id)s has an unknown state %(state)s."),
    # Isso.
    "not_database": _l("This is not %(label)s: %(error)s."),
    "no_tables": _l(
        "This is not %(label)s: %(error)s (it needs Isso's comments and threads tables)."
    ),
    "bad_time": _l("Comment %(id)s has a time that cannot be read."),
    "unknown_mode": _l("Comment %(id)s has an unknown mode %(mode)s."),
    "unreadable_database": _l("The database could not be read to its end: %(error)s."),
    # JSON (Remark42, Commento).
    "line_not_json": _l("Line %(line)s of the file is not JSON: truncated, or not %(label)s."),
    "line_not_object": _l("Line %(line)s of the file is not a JSON object: not %(label)s."),
    "not_remark42_comment": _l("Line %(line)s is not a Remark42 comment (no locator url or user)."),
    "no_version_line": _l("This is not %(label)s: its first line has no version."),
    "no_lines": _l("This is not %(label)s: it is empty."),
    "unreadable": _l("The file could not be read to its end (%(error)s)."),
    "no_version": _l("This is not %(label)s: it has no export version 1 or 3."),
    "comment_not_object": _l("A comment of %(label)s is not a JSON object."),
    "not_whole_json": _l("The file is not whole JSON (%(error)s): truncated, or not %(label)s."),
}


def _status_count(status: str, num: int) -> str:
    counts = {
        "approved": lambda: ngettext("%(num)s approved", "%(num)s approved", num),
        "pending": lambda: ngettext("%(num)s pending", "%(num)s pending", num),
        "spam": lambda: ngettext("%(num)s spam", "%(num)s spam", num),
        "deleted": lambda: ngettext("%(num)s deleted", "%(num)s deleted", num),
    }
    return counts[status]() if status in counts else f"{num} {status}"


def _listed(items: list[str]) -> str:
    """Counts as a list ("4 approved, 1 spam"): each language joins them its own way."""
    if not items:
        return gettext("none")
    text = items[0]
    for item in items[1:]:
        text = gettext("%(list)s, %(item)s", list=text, item=item)
    return text


def _summary(comments: int, statuses: dict[str, int], pages: int, new_pages: int) -> str:
    return gettext(
        "%(comments)s (%(statuses)s) on %(pages)s (%(new)s of them new).",
        comments=ngettext("%(num)d comment", "%(num)d comments", comments),
        statuses=_listed([_status_count(status, n) for status, n in sorted(statuses.items())]),
        pages=ngettext("%(num)d page", "%(num)d pages", pages),
        new=new_pages,
    )


# The report's lines: counted, so each picks its plural form.
REPORT: dict[str, Callable[..., str]] = {
    "summary": _summary,
    "created": lambda num, existing: ngettext(
        "%(num)s comment created; %(existing)s were imported before.",
        "%(num)s comments created; %(existing)s were imported before.",
        num,
        existing=existing,
    ),
    "would_create": lambda num, existing: ngettext(
        "%(num)s comment would be created; %(existing)s were imported before.",
        "%(num)s comments would be created; %(existing)s were imported before.",
        num,
        existing=existing,
    ),
    "orphans": lambda num: gettext(
        "Replies kept top-level, their parent not in the file: %(num)s.", num=num
    ),
    "closed": lambda num: gettext(
        "New pages closed to comments, as in the file: %(num)s.", num=num
    ),
    "would_close": lambda num: gettext(
        "New pages would be closed to comments, as in the file: %(num)s.", num=num
    ),
    "left_open": lambda num: gettext(
        "Pages closed in the file but open here, left open: %(num)s.", num=num
    ),
    "skipped": lambda reason, num: gettext(
        "Skipped, %(reason)s: %(num)s.", reason=str(SKIPPED.get(reason, reason)), num=num
    ),
}


def _value(name: str, value: Any) -> Any:
    if name == "label":
        return str(FORMATS.get(value, value))
    if isinstance(value, int) and not isinstance(value, bool):
        return format_decimal(value)
    return value


@dataclass(frozen=True)
class Note:
    """A message kept as its ``code`` and values; ``str()`` is its text in the language of
    the current answer (English outside a request)."""

    code: str
    values: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        try:
            if self.code in REPORT:
                return REPORT[self.code](**self.values)
            values = {name: _value(name, value) for name, value in self.values.items()}
            return str(TEXTS[self.code]) % values
        except (KeyError, TypeError, ValueError):  # a note written by another version
            log.warning("import note %r cannot be shown with %r", self.code, self.values)
            return self.code


def dumps(notes: Iterable[Note]) -> str:
    """Notes as a job row keeps them (JSON)."""
    return json.dumps([{"code": n.code, "values": n.values} for n in notes], ensure_ascii=False)


def loads(stored: str) -> list[Note]:
    """The notes of a job row ([] for none, or for text that is not notes)."""
    try:
        items = json.loads(stored) if stored.startswith("[") else None
    except ValueError:
        items = None
    if not isinstance(items, list):
        return []
    return [
        Note(str(item.get("code")), dict(item.get("values") or {}))
        for item in items
        if isinstance(item, dict)
    ]


def shown(stored: str) -> str:
    """A job row's message as text in the current answer's language. A row written before
    messages were notes holds English text: it is looked up as a message id."""
    if not stored:
        return ""
    notes = loads(stored)
    if not notes:
        return gettext(stored)
    return " ".join(str(note) for note in notes)
