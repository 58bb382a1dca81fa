"""Languages: Flask-Babel's set-up and how each answer's language is chosen.

Messages live in gettext catalogues (``service/translations/LANG/LC_MESSAGES/messages.po``,
compiled to ``.mo``; ``make translations`` extracts and updates them, docs/languages.md).
Templates mark their text with ``_()``/``ngettext()``; Python code that reaches visitors
marks it with ``gettext`` (web layer, at the time of the answer) or ``lazy_gettext``
(domain errors, translated when the web layer renders them).

Which language an answer speaks (``select_locale``):

1. the ``lang`` query parameter, which the loader sends on every fragment and API read;
2. on top-level pages only (the standalone page, admin, notification and privacy pages),
   the browser's ``Accept-Language``;
3. the site's "Language" setting (the ``site`` parameter's site);
4. English.

A tag is matched as given, then by its base language (``de-AT`` is German), else the next
source is asked (``service.rules.languages``). Shared public reads (fragments, the JSON
API, counts, feeds) never look at ``Accept-Language``: their cache keys hold ``lang`` and
the site's version, so one stored answer is right for everyone who asks the same way.
Mail sent on its own (notifications) has no request: it speaks the site's language
(``service.notify.events``). Mail a person asks for in a request (a privacy link) speaks
theirs (``asker_language``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from babel.dates import format_date, get_datetime_format
from babel.dates import format_time as babel_format_time
from flask import Flask, Response, has_request_context, request
from flask_babel import Babel, get_locale, refresh
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from sqlalchemy.exc import SQLAlchemyError

from service.extensions import db
from service.rules import languages, validation
from service.rules.errors import DomainError
from service.web.headers import add_vary

log = logging.getLogger(__name__)

babel = Babel()

# Pages a person opens in the browser's own window (or the service's iframe): they may
# follow Accept-Language. None of them is kept by the shared cache or its front.
TOP_LEVEL_BLUEPRINTS = frozenset({"admin", "notify", "privacy"})
TOP_LEVEL_ENDPOINTS = frozenset(
    {"widgets.thread_page", "widgets.thread_rate", "widgets.demo", "widgets.demo_article"}
)


def is_top_level() -> bool:
    """Whether this request is for a page of its own, not a shared fragment or API read."""
    return request.blueprint in TOP_LEVEL_BLUEPRINTS or request.endpoint in TOP_LEVEL_ENDPOINTS


def _browser_language() -> str | None:
    """The best spoken match for ``Accept-Language`` (``de-AT`` matches German)."""
    for tag, _quality in request.accept_languages:
        found = languages.match(tag)
        if found:
            return found
    return None


def _site_language() -> str | None:
    """The "Language" setting of the request's site (``site`` parameter), if it has one."""
    from service.sites.lookup import get_site

    try:
        # The query's own rule first (never the body: it may be refused): a key the
        # database cannot hold (a NUL) is never sent to it.
        return get_site(validation.site_key(request.args.get("site"))).language
    except DomainError:
        return None
    except SQLAlchemyError:
        # The database is down or busy: the error page still renders, in English.
        log.warning("site language unavailable", exc_info=True)
        db.session.rollback()
        return None


def select_locale() -> str:
    """The language of this answer (see the module's docs)."""
    if not has_request_context():
        return languages.DEFAULT
    asked = languages.match(request.args.get("lang"))
    if asked:
        return asked
    if is_top_level():
        found = _browser_language()
        if found:
            return found
    return languages.resolve(_site_language())


def asker_language(site_language: str | None) -> str:
    """The language of mail a person asks for in this request (a privacy link): the ``lang``
    parameter, the browser's ``Accept-Language``, the site's setting, English. The JSON API
    too: the mail goes to the one person asking, and no shared answer varies by it."""
    return languages.resolve(request.args.get("lang"), _browser_language(), site_language)


def current_language() -> str:
    """The spoken language of this answer, as a tag for ``lang`` attributes."""
    locale = get_locale()
    return languages.match(str(locale)) or languages.DEFAULT if locale else languages.DEFAULT


def format_time(value: datetime | str | None) -> str:
    """An absolute date and time in the answer's language (UTC: the loader shows it
    relative to now and in the reader's own time zone)."""
    if not value:
        return ""
    when = datetime.fromisoformat(value) if isinstance(value, str) else value
    language = current_language()
    # The language's own way to join a date and a time ("{1}, {0}"), without seconds.
    pattern = str(get_datetime_format("medium", locale=language))
    day = format_date(when, "medium", locale=language)
    hour = babel_format_time(when, "short", tzinfo=when.tzinfo, locale=language)
    return pattern.replace("{1}", day).replace("{0}", hour) + " UTC"


# Stored values as people read them: statuses, roles, ban kinds and the settings' choices
# (service.data.bounds holds the values; tests/test_i18n.py checks both list the same).
LABELS: dict[str, dict[str, Any]] = {
    "status": {
        "pending": _l("pending"),
        "approved": _l("approved"),
        "spam": _l("spam"),
        "deleted": _l("deleted"),
    },
    "role": {"owner": _l("owner"), "moderator": _l("moderator")},
    "ban": {"email": _l("email address"), "address": _l("address"), "visitor": _l("visitor key")},
    "action": {
        "approve": _l("Approve"),
        "spam": _l("Spam"),
        "delete": _l("Delete"),
        "restore": _l("Restore"),
        "hold": _l("Hold"),
    },
    "policy": {
        "none": _l("Publish at once"),
        "first-time": _l("Hold first-time authors"),
        "links": _l("Hold comments with many links"),
        "all": _l("Hold every comment"),
    },
    "theme": {"auto": _l("Follow the reader's system"), "light": _l("Light"), "dark": _l("Dark")},
    "tokenless": {
        "moderate": _l("Hold them for moderation"),
        "policy": _l("Apply the site's moderation policy"),
        "refuse": _l("Refuse them"),
    },
    "import": {
        "queued": _l("queued"),
        "validating": _l("validating"),
        "importing": _l("importing"),
        "done": _l("done"),
        "failed": _l("failed"),
    },
    "erasure": {
        "anonymize": _l("Anonymise them: the text stays, without a name or anything personal"),
        "remove": _l("Remove them: a placeholder stays only where replies hang from one"),
    },
}


def label(value: Any, kind: str) -> Any:
    """A stored value as people read it, in this answer's language (``|label('status')``)."""
    return LABELS.get(kind, {}).get(value, value)


def choices(kind: str, values: dict[str, str]) -> Callable[[], dict[str, str]]:
    """A select field's choices, labelled in the language of the form's answer (WTForms
    calls it when the form is made)."""
    return lambda: {value: str(label(value, kind)) for value in values}


def _vary_with_the_browser_language(response: Response) -> Response:
    """A top-level page chosen by ``Accept-Language`` says so (none is kept by a shared
    cache: they are private; this is for the browser's own)."""
    if is_top_level() and not languages.match(request.args.get("lang")):
        add_vary(response, "Accept-Language")
    return response


def _template_globals() -> dict[str, object]:
    language = current_language()
    return {"lang": language, "text_dir": languages.direction(language)}


def _as_text(value: Any) -> Any:
    """Jinja's ``finalize``: a lazy message is printed as plain text, escaped like any other.

    Flask-Babel's lazy strings say they are HTML (``__html__``), so Jinja would print them,
    and the values formatted into them (a word or label someone typed), unescaped."""
    return str(value) if isinstance(value, LazyString) else value


def init_app(app: Flask) -> None:
    """Attach Flask-Babel with the selector; ``lang``, ``text_dir`` and ``format_time``
    for every template."""
    app.config.setdefault("BABEL_DEFAULT_LOCALE", languages.DEFAULT)
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", "UTC")
    babel.init_app(app, locale_selector=select_locale)
    # Each request chooses again, even inside an application context a test kept open.
    app.before_request(refresh)
    app.after_request(_vary_with_the_browser_language)
    app.context_processor(_template_globals)
    app.jinja_env.finalize = _as_text
    app.jinja_env.filters["format_time"] = format_time
    app.jinja_env.filters["label"] = label
    app.jinja_env.policies["ext.i18n.trimmed"] = True  # {% trans %} blocks: one line each
