"""The word blocklist: comments with a listed word or phrase wait for review.

One rule set for the admin views and the command line; every change is audited.
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from service.data import BlockedWord, Moderator, Site, versions
from service.data.bounds import WORD_MAX
from service.extensions import db
from service.rules.errors import ValidationError
from service.sites import audit


def clean_word(value: str) -> str:
    """A blocked word or phrase: spaces collapsed, 1 to WORD_MAX characters."""
    word = " ".join(value.split())
    if not 1 <= len(word) <= WORD_MAX:
        raise ValidationError(
            {"word": _l("Give a word or phrase of 1 to %(max)s characters.", max=WORD_MAX)}
        )
    if not word.isprintable():
        raise ValidationError({"word": _l("The word contains control characters.")})
    return word


def words(site: Site) -> list[BlockedWord]:
    """The site's blocked words, in alphabetical order."""
    return list(
        db.session.scalars(
            sa.select(BlockedWord).where(BlockedWord.site_id == site.id).order_by(BlockedWord.word)
        )
    )


def block(moderator: Moderator | None, site: Site, value: str) -> BlockedWord:
    """Add a word to a site's blocklist, unique in any case (caller commits)."""
    word = clean_word(value)
    if any(entry.word.casefold() == word.casefold() for entry in words(site)):
        raise ValidationError({"word": _l("%(word)r is on the list already.", word=word)})
    entry = BlockedWord(site_id=site.id, word=word)
    db.session.add(entry)
    audit.record(moderator, site.id, "block word", f"site {site.key}", word)
    return entry


def unblock(moderator: Moderator | None, site: Site, entry: BlockedWord) -> None:
    """Take a word off the site's list (caller commits)."""
    audit.record(moderator, site.id, "unblock word", f"site {site.key}", entry.word)
    db.session.delete(entry)


def find(site: Site, value: str) -> BlockedWord | None:
    """The site's entry for a word, in any case."""
    word = " ".join(value.split()).casefold()
    return next((entry for entry in words(site) if entry.word.casefold() == word), None)


_WORDS = sa.select(BlockedWord.__table__.c.word).where(
    BlockedWord.__table__.c.site_id == sa.bindparam("site_id")
)


def _patterns(site_id: int) -> list[tuple[str, re.Pattern[str]]]:
    """Each word of the site's list, and the pattern that finds it (whole words, any case)."""
    listed = db.session.connection().scalars(_WORDS, {"site_id": site_id})
    return [(word, re.compile(rf"(?<!\w){re.escape(word.casefold())}(?!\w)")) for word in listed]


_KEPT = versions.SiteMemo("blocked_words", _patterns)  # every post asks it


def blocked_word(site: Site, text: str) -> str | None:
    """The first blocked word or phrase that appears in the text (whole words, any case)."""
    patterns = _KEPT.get(site)
    if not patterns:
        return None
    lowered = text.casefold()
    return next((word for word, pattern in patterns if pattern.search(lowered)), None)
