"""The loader's own messages, translated here: embed.js carries no catalogue.

Fragments carry them on their root element (``data-t``, JSON); placeholders without a
fragment (comment counts, the iframe's title) ask ``GET /widget/strings?site&lang``, a
public read cached like the fragments. Counts come as one text per CLDR plural category
(``n``): the loader picks one with ``Intl.PluralRules`` in the same language.
"""

from __future__ import annotations

import json
from typing import Any

from babel import Locale
from flask import Response, request
from flask_babel import get_translations
from flask_babel import lazy_gettext as _l

from service.rules import validation
from service.web.cache import PublicRead, lang
from service.web.i18n import current_language
from service.web.widgets import bp

MESSAGES = {
    "pending": _l("Awaiting moderation"),
    "sent": _l("Thank you! Your comment is online."),
    "held": _l("Thank you! It awaits moderation."),
    "expired": _l("The form expired: please send again."),
    "net": _l("No connection: please try again."),
    "replyTo": _l("Reply to %(name)s"),
    "cancel": _l("Cancel"),
    "edit": _l("Edit"),
    "del": _l("Delete"),
    "save": _l("Save"),
    "confirm": _l("Delete this comment?"),
    "yours": _l("Your rating: %(value)s"),
    "retract": _l("Remove my rating"),
    "frame": _l("Comments"),
    "why": _l("Why should the moderators look at it? Only they see this."),
    "report": _l("Send report"),
    "reported": _l("Thank you. The moderators will look at it."),
}
# The fragments' own count message (templates/widget/_thread.html), with "%(num)d" kept.
COUNT = ("%(num)d comment", "%(num)d comments")
SAMPLES = (*range(200), 10**6)  # a number of each plural category, in every language


def _count_forms(language: str) -> dict[str, str]:
    """The count's text per CLDR plural category ("%(num)d" for the number)."""
    locale = Locale.parse(language)
    translations = get_translations()
    forms: dict[str, str] = {}
    for n in SAMPLES:
        forms.setdefault(locale.plural_form(n), translations.ngettext(*COUNT, n))
    return forms


def loader_strings() -> dict[str, Any]:
    """Every message the loader shows, in this answer's language."""
    # Without arguments, "%(name)s" and "%(value)s" stay for the loader to fill in.
    strings: dict[str, Any] = {key: str(text) for key, text in MESSAGES.items()}
    strings["lang"] = current_language()
    strings["n"] = _count_forms(strings["lang"])
    return strings


@bp.app_template_global()
def loader_strings_json() -> str:
    """``loader_strings`` as JSON, for a fragment's ``data-t``."""
    return json.dumps(loader_strings(), ensure_ascii=False, separators=(",", ":"))


@bp.get("/widget/strings")
def strings() -> Response:
    """The loader's messages as JSON: public, the same for everyone asking alike."""
    site_key = validation.site_key(request.args.get("site"))
    read = PublicRead("loader-strings", site_key, [], (lang(),))

    def render() -> Response:
        return Response(loader_strings_json(), mimetype="application/json")

    return read.shared(render)
