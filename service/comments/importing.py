"""Import mode of the one write path: a comment from another system, stored by
``posting.store_post`` with the same rendering, sanitising and counters as a post.

What the source says is kept (its status, times, parent and likes), and nothing a new post
goes through applies: no policy, ban, blocklist, link limit, duplicate check, rate limit,
edit token, mail or webhook. ``service.transfer`` reads the files and calls this.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from service.comments.policy import Decision
from service.comments.posting import Prepared, reply_target
from service.data import Comment, Page, Site
from service.data.bounds import NAME_MAX, STATUSES, URL_MAX, WEBSITE_MAX
from service.rules import privacy
from service.rules.sanitize import render_comment
from service.rules.text import display_name, normalize_url
from service.rules.validation import CommentInput, clean_email, clean_title
from service.sites.lookup import find_page

ANONYMOUS = "Anonymous"


@dataclass(frozen=True)
class Kept:
    """What an import keeps from its source instead of what a post would get now."""

    created: datetime
    edited: datetime | None = None
    likes: int = 0


def usable_email(email: str) -> str:
    """The address if it is one ("" otherwise: sources keep placeholders and typos)."""
    errors: dict[str, str] = {}
    return (clean_email(email, errors) or "") if email.strip() else ""


def prepare_import(
    site: Site,
    page_key: str,
    *,
    name: str,
    email: str,
    website: str | None,
    text: str,
    status: str,
    kept: Kept,
    parent: Comment | None,
    address: str | None,
    title: str | None,
    url: str | None,
    service_origin: str,
    page: Page | None = None,
) -> Prepared:
    """A ``Prepared`` for ``store_post`` (inside ``writing()``; caller commits).

    The name is cleaned and bounded (none: "Anonymous"), an email that is not an address is
    dropped, a website that is not an http(s) URL too, and the client address is anonymised
    as a post's is. A parent on another page (a broken file) is dropped: the comment is
    top-level. A reply deeper than the site shows hangs at the deepest level, as a post's.
    """
    if status not in STATUSES:
        raise ValueError(f"Unknown status {status!r}.")
    page = page or find_page(site, page_key)
    if parent is not None and (page is None or parent.page_id != page.id):
        parent = None
    email = usable_email(email)
    data = CommentInput(
        name=display_name(name)[:NAME_MAX] or ANONYMOUS,
        email=email,
        text=text,
        website=normalize_url(website, WEBSITE_MAX) if website else None,
        title=clean_title(title) if title else None,
        url=normalize_url(url, URL_MAX) if url else None,
    )
    return Prepared(
        site=site,
        page_key=page_key,
        page=page,
        data=data,
        email_index=privacy.email_index(email) if email else "",
        parent=reply_target(parent) if parent is not None else None,
        html=render_comment(text),
        decision=Decision(status),
        address=privacy.anonymize_address(address) if address else None,
        service_origin=service_origin,
        visitor=None,
        moderator=None,
        edit_token=None,
        kept=kept,
    )
