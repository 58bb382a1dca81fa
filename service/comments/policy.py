"""Which new comments are published, held for review, or refused.

Decided once, when a comment is posted, from the site's policy and lists:

- bans: a plain ban refuses the post (403); a shadow ban keeps it as spam
  and tells the author nothing;
- too many links refuses the post outright (422), whatever the policy;
- blocked words hold it for review under every policy;
- ``all`` holds everything; ``links`` holds comments with more links than the
  site allows; ``first-time`` holds authors who are not yet trusted. Trust
  needs an approved comment on the site *and* more than a typed email: the
  same visitor key, or an address confirmed through a mail link.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app

from service.comments import bans
from service.comments.blocklist import blocked_word
from service.data import Address, Comment, Page, Site
from service.extensions import db
from service.rules.errors import DomainError, ValidationError

_LINK = re.compile(r"<a\s", re.IGNORECASE)


@dataclass(frozen=True)
class Decision:
    """The status a new comment gets and why."""

    status: str
    reason: str | None = None
    shadow: bool = False


def count_links(html: str) -> int:
    """How many links the rendered HTML has."""
    return len(_LINK.findall(html))


def trusted(site: Site, *, email_index: str, visitor: str | None) -> bool:
    """An author with an approved comment here, proven by visitor key or confirmed address."""
    approved = (
        sa.select(Comment.id)
        .join(Page, Page.id == Comment.page_id)
        .where(
            Page.site_id == site.id,
            Comment.status == "approved",
            Comment.email_index == email_index,
        )
    )
    if visitor and db.session.scalar(approved.where(Comment.visitor == visitor).limit(1)):
        return True
    confirmed = db.session.scalar(
        sa.select(Address.id).where(
            Address.email_index == email_index, Address.confirmed.is_not(None)
        )
    )
    return bool(confirmed and db.session.scalar(approved.limit(1)))


def decide(
    site: Site,
    page: Page,
    html: str,
    text: str,
    *,
    email_index: str,
    address: str | None,
    visitor: str | None,
) -> Decision:
    """The status of a new comment; raises for a banned author or a link flood."""
    if page.comments_closed:
        raise DomainError("comments_closed", "Comments are closed on this page.")
    ban = bans.matching(site, email_index=email_index, address=address, visitor=visitor)
    if ban is not None and not ban.shadow:
        raise DomainError("banned", "You cannot comment on this site.")
    links = count_links(html)
    if links > current_app.config["PARLEY_MAX_LINKS"]:
        raise ValidationError(
            {"text": f"At most {current_app.config['PARLEY_MAX_LINKS']} links in a comment."}
        )
    if ban is not None:
        return Decision("spam", "Shadow-banned author.", shadow=True)
    word = blocked_word(site, text)
    if word is not None:
        return Decision("pending", f"Contains the blocked word {word!r}.")
    if site.moderation == "all":
        return Decision("pending", "The site holds every new comment for review.")
    if site.moderation == "links" and links > site.link_limit:
        return Decision("pending", f"Has {links} links; the site allows {site.link_limit}.")
    if site.moderation == "first-time" and not trusted(
        site, email_index=email_index, visitor=visitor
    ):
        return Decision("pending", "First comment from this author (not yet trusted).")
    return Decision("approved")
