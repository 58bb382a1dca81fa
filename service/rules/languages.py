"""The languages Parley speaks, and how a language tag is matched to one of them.

One rule for every caller: the web layer (the ``lang`` parameter, a site's "Language"
setting, ``Accept-Language``) and mail (the site's setting). A tag is matched as given,
then by its base language (``de-AT`` is German), else it is not spoken here and the next
source of a language is asked; English is the last.
"""

from __future__ import annotations

import re

from service.data.bounds import LANGUAGE_MAX, LANGUAGE_PATTERN

DEFAULT = "en"
# The languages with a complete catalogue in service/translations (tests/test_i18n.py).
SPOKEN = ("en", "ar", "de", "es", "ta")
RIGHT_TO_LEFT = frozenset({"ar"})


def match(tag: str | None) -> str | None:
    """The spoken language for a tag (``de-AT`` and ``de_at`` give ``de``), or None."""
    if not tag or len(tag) > LANGUAGE_MAX:
        return None
    tag = tag.strip().replace("_", "-")
    if not re.fullmatch(LANGUAGE_PATTERN, tag):
        return None
    tag = tag.lower()
    if tag in SPOKEN:
        return tag
    base = tag.split("-", 1)[0]
    return base if base in SPOKEN else None


def resolve(*tags: str | None) -> str:
    """The first of ``tags`` that is spoken here, else English."""
    for tag in tags:
        found = match(tag)
        if found:
            return found
    return DEFAULT


def direction(language: str) -> str:
    """``rtl`` or ``ltr``: the writing direction of a spoken language."""
    return "rtl" if language in RIGHT_TO_LEFT else "ltr"
