"""Which new comments are published, held for review, or refused.

Decided once, when a comment is posted, from the site's policy and lists:

- bans: a plain ban refuses the post (403); a shadow ban keeps it as spam
  and tells the author nothing;
- too many links refuses the post outright (422), whatever the policy;
- blocked words hold it for review under every policy;
- a post that brought neither a form token nor an API token (``tokenless``)
  follows the site's rule for them (``sites.settings.tokenless_posts``):
  ``refuse`` (403), ``moderate`` (held, whatever the policy) or ``policy``;
- ``all`` holds everything; ``links`` holds comments with more links than the
  site allows; ``first-time`` holds authors who are not yet trusted. Trust
  needs an approved comment on the site by that email *and* proof that the
  poster controls it, which a typed email never is: the visitor key that wrote
  such a comment, or a visitor key that confirmed the address through the
  link in a confirmation mail (a ``VisitorProof``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l

from service.comments import bans, closing
from service.comments.blocklist import blocked_word
from service.data import Comment, Page, Site, VisitorProof
from service.extensions import db
from service.rules.errors import DomainError, ValidationError
from service.sites.settings import tokenless_posts

_LINK = re.compile(r"<a\s", re.IGNORECASE)


@dataclass(frozen=True)
class Decision:
    """The status a new comment gets and why."""

    status: str
    reason: str | None = None
    shadow: bool = False
    # Held only because the author is not trusted yet: the author may prove the email is
    # theirs at once (a confirmation mail, when they asked for reply mail with a key).
    untrusted: bool = False


def count_links(html: str) -> int:
    """How many links the rendered HTML has."""
    return len(_LINK.findall(html))


def trusted(site: Site, *, email_index: str, visitor: str | None) -> bool:
    """An author with an approved comment here who proved the email is theirs: with the
    visitor key that wrote such a comment, or one that confirmed the address."""
    if not visitor:
        return False  # a typed email proves nothing
    approved = (
        sa.select(Comment.id)
        .join(Page, Page.id == Comment.page_id)
        .where(
            Page.site_id == site.id,
            Comment.status == "approved",
            Comment.email_index == email_index,
        )
    )
    if db.session.scalar(approved.where(Comment.visitor == visitor).limit(1)):
        return True
    proven = db.session.scalar(
        sa.select(VisitorProof.id).where(
            VisitorProof.email_index == email_index, VisitorProof.visitor == visitor
        )
    )
    return bool(proven and db.session.scalar(approved.limit(1)))


def decide(
    site: Site,
    page: Page | None,
    html: str,
    text: str,
    *,
    email_index: str,
    address: str | None,
    visitor: str | None,
    tokenless: bool = False,
) -> Decision:
    """The status of a new comment; raises for a banned author, a link flood, or a post
    without a token where the site refuses those."""
    if closing.is_closed(page):  # by hand, or its closing time has passed
        raise DomainError("comments_closed", _l("Comments are closed on this page."))
    rule = tokenless_posts(site) if tokenless else "policy"
    if rule == "refuse":
        raise DomainError(
            "bad_form_token",
            _l(
                "This site takes comments only from its comment form, or from a client with "
                "an API token (Authorization: Bearer)."
            ),
        )
    ban = bans.matching(site, email_index=email_index, address=address, visitor=visitor)
    if ban is not None and not ban.shadow:
        raise DomainError("banned", _l("You cannot comment on this site."))
    links = count_links(html)
    if links > current_app.config["PARLEY_MAX_LINKS"]:
        raise ValidationError(
            {
                "text": _l(
                    "At most %(max)s links in a comment.",
                    max=current_app.config["PARLEY_MAX_LINKS"],
                )
            }
        )
    if ban is not None:
        return Decision("spam", "Shadow-banned author.", shadow=True)
    word = blocked_word(site, text)
    if word is not None:
        return Decision("pending", f"Contains the blocked word {word!r}.")
    if rule == "moderate":
        return Decision("pending", "Posted without a form token or an API token.")
    if site.moderation == "all":
        return Decision("pending", "The site holds every new comment for review.")
    if site.moderation == "links" and links > site.link_limit:
        return Decision("pending", f"Has {links} links; the site allows {site.link_limit}.")
    if site.moderation == "first-time" and not trusted(
        site, email_index=email_index, visitor=visitor
    ):
        return Decision(
            "pending", "First comment from this author (not yet trusted).", untrusted=True
        )
    return Decision("approved")
