"""Input rules shared by the JSON API, the standalone form and the OpenAPI document.

One function per kind of input. Each takes the raw value exactly as the client sent it,
checks its type strictly (a number is not a string, ``true`` is not 1), bounds it, and
returns a clean value or refuses it with a message a commenter can act on: body fields
record it under their name in ``errors``, query parameters raise ``invalid_query``. The
web layer's request models attach each rule to its field (``service.web.schemas``).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from email_validator import EmailNotValidError, validate_email
from flask_babel import lazy_gettext as _l

from service.data.bounds import (
    EMAIL_MAX,
    MAX_ID,
    NAME_MAX,
    PAGE_KEY_MAX,
    RATING_SCALES,
    SITE_KEY_MAX,
    TEXT_MAX,
    TITLE_MAX,
    URL_MAX,
    WEBSITE_MAX,
)
from service.rules.errors import DomainError, ValidationError, invalid_query
from service.rules.text import display_name, normalize_url

# Characters that render as nothing although Unicode calls them letters or marks.
_INVISIBLE = {"\u115f", "\u1160", "\u3164", "\uffa0", "\u2800", "\u180e", "\u034f"}
_INVISIBLE_CATEGORIES = {"Cc", "Cf", "Zs", "Zl", "Zp", "Mn", "Me", "Co", "Cn", "Cs"}
_ALLOWED_CONTROLS = {"\n", "\t"}

REQUIRED = _l("This field is required.")
TOP_SCALE = max(RATING_SCALES)


@dataclass(frozen=True)
class CommentInput:
    """A validated new comment, before it meets the database."""

    name: str
    email: str
    text: str
    website: str | None = None
    parent: int | None = None
    rating: int | None = None
    notify: bool = False
    title: str | None = None
    url: str | None = None
    form_token: str | None = None
    hp: str | None = None


def _encodable(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates from JSON "\ud800"
        return False
    return True


def is_visible(value: str) -> bool:
    """True when the text shows at least one character a reader can see."""
    return any(
        ch not in _INVISIBLE and unicodedata.category(ch) not in _INVISIBLE_CATEGORIES
        for ch in value
    )


def clean_string(
    field: str, value: Any, errors: dict[str, str], *, required: bool = False
) -> str | None:
    """A string field: a string of valid text (kept as sent), or null unless ``required``."""
    if value is None:
        if required:
            errors[field] = REQUIRED
        return None
    if not isinstance(value, str):
        errors[field] = _l("Must be a string.")
        return None
    if not _encodable(value):
        errors[field] = _l("Contains characters that are not valid text.")
        return None
    return value


def clean_name(value: Any, errors: dict[str, str]) -> str | None:
    """A name as shown: bidi controls and invisible characters removed (``text``)."""
    raw = clean_string("name", value, errors, required=True)
    if raw is None:
        return None
    name = display_name(raw)
    if not name:
        errors["name"] = _l("Please give a name.")
    elif any(unicodedata.category(ch) == "Cc" for ch in name):
        errors["name"] = _l("A name cannot contain control characters.")
    elif not is_visible(name):
        errors["name"] = _l("A name needs at least one visible character.")
    elif len(name) > NAME_MAX:
        errors["name"] = _l("At most %(max)s characters.", max=NAME_MAX)
    else:
        return name
    return None


def clean_email(value: Any, errors: dict[str, str]) -> str | None:
    raw = clean_string("email", value, errors, required=True)
    if raw is None:
        return None
    email = raw.strip()
    if not email:
        errors["email"] = _l("Please give an email address. It will not be published.")
        return None
    if len(email) > EMAIL_MAX:
        errors["email"] = _l("At most %(max)s characters.", max=EMAIL_MAX)
        return None
    try:
        # No DNS look-ups; reserved test domains are fine for a comment form.
        checked = validate_email(email, check_deliverability=False, test_environment=True)
    except EmailNotValidError:
        errors["email"] = _l("This is not a valid email address.")
        return None
    return str(checked.normalized)


def clean_title(value: str) -> str | None:
    """A page title as shown: control characters dropped, spaces collapsed, bounded."""
    visible = "".join(" " if unicodedata.category(ch) == "Cc" else ch for ch in value)
    return " ".join(visible.split())[:TITLE_MAX] or None


def clean_http_url(value: str, limit: int) -> str | None:
    """An absolute http(s) URL with a host, or None."""
    url = value.strip()
    if not url or len(url) > limit or any(ch.isspace() or ord(ch) < 32 for ch in url):
        return None
    try:
        parts = urlsplit(url)
        port = parts.port  # raises ValueError on a bad port
    except ValueError:
        return None
    del port
    if parts.scheme.lower() not in {"http", "https"} or not parts.hostname:
        return None
    if parts.username is not None or parts.password is not None:
        return None
    return url


def clean_page_title(value: Any, errors: dict[str, str]) -> str | None:
    """The page's title sent with a comment: a string, shown as ``clean_title`` makes it."""
    title = clean_string("title", value, errors)
    return None if title is None else clean_title(title)


def clean_page_url(value: Any, errors: dict[str, str]) -> str | None:
    """The page's URL sent with a comment: a string; anything but an http(s) URL is dropped."""
    url = clean_string("url", value, errors)
    return None if url is None else clean_http_url(url, URL_MAX)


def clean_website(value: Any, errors: dict[str, str]) -> str | None:
    """The author's website, stored as one normalised URL (``text.normalize_url``)."""
    raw = clean_string("website", value, errors)
    if raw is None or not raw.strip():
        return None
    cleaned = normalize_url(raw, WEBSITE_MAX)
    if cleaned is None:
        errors["website"] = _l(
            "Must be a web address such as https://example.org: http:// or https://, a valid "
            "host name, no user name or password, at most %(max)s characters.",
            max=WEBSITE_MAX,
        )
    return cleaned


def clean_text(value: Any, errors: dict[str, str]) -> str | None:
    raw = clean_string("text", value, errors, required=True)
    if raw is None:
        return None
    text = raw.replace("\r\n", "\n").replace("\r", "\n").strip()
    if len(text) > TEXT_MAX:
        size = {"max": format(TEXT_MAX, ","), "length": format(len(text), ",")}
        errors["text"] = _l("At most %(max)s characters (this has %(length)s).", **size)
    elif any(unicodedata.category(ch) == "Cc" and ch not in _ALLOWED_CONTROLS for ch in text):
        errors["text"] = _l("The comment contains control characters.")
    elif not is_visible(text):
        errors["text"] = _l("Please write a comment.")
    else:
        return text
    return None


def clean_id(field: str, value: Any, errors: dict[str, str]) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        errors[field] = _l("Must be a whole number.")
        return None
    if not 1 <= value <= MAX_ID:
        errors[field] = _l("No such comment.")
        return None
    return value


def clean_rating(value: Any, errors: dict[str, str], *, required: bool = False) -> int | None:
    """A review's rating: a whole number up to the largest scale (the site's is checked
    later). Null means no rating, unless ``required`` (an edit naming the rating)."""
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= TOP_SCALE:
        errors["rating"] = _l("Give a whole number from 1 to the site's scale.")
        return None
    return value


def clean_bool(field: str, value: Any, errors: dict[str, str]) -> bool:
    if value is None:
        return False
    if not isinstance(value, bool):
        errors[field] = _l("Must be true or false.")
        return False
    return value


@dataclass(frozen=True)
class EditInput:
    """A validated edit: new text, new rating, or both."""

    text: str | None
    rating: int | None


def _query_string(field: str, value: str | None, limit: int) -> str:
    if value is None or not value.strip():
        raise invalid_query(field, _l("This parameter is required."))
    cleaned = value.strip()
    if len(cleaned) > limit:
        raise invalid_query(field, _l("At most %(max)s characters.", max=limit))
    if any(unicodedata.category(ch) == "Cc" for ch in cleaned) or not _encodable(cleaned):
        raise invalid_query(field, _l("Contains control characters."))
    return cleaned


def site_key(value: str | None) -> str:
    """The ``site`` query parameter (default ``default``)."""
    return _query_string("site", value if value is not None else "default", SITE_KEY_MAX)


def page_key(value: str | None) -> str:
    """The ``page`` query parameter: the page id the embed gives."""
    return _query_string("page", value, PAGE_KEY_MAX)


def page_keys(value: Any, limit: int) -> list[str]:
    """A JSON list of page ids (as in POST /counts), each checked like ``page``."""
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValidationError({"pages": _l("A list of page ids (strings).")})
    if len(value) > limit:
        raise ValidationError({"pages": _l("At most %(max)s page ids at once.", max=limit)})
    keys = []
    for item in value:
        try:
            keys.append(page_key(item))
        except DomainError as error:
            message = error.fields.get("page", error.message)
            raise ValidationError({"pages": f"{item[:40]!r}: {message}"}) from None
    return list(dict.fromkeys(keys))


def query_int(field: str, value: str | None, default: int, low: int, high: int) -> int:
    """A bounded whole-number query parameter."""
    if value is None or value == "":
        return default
    if not (value.isascii() and value.isdigit() and len(value) <= 10 and low <= int(value) <= high):
        message = _l("A whole number from %(low)s to %(high)s.", low=low, high=high)
        raise invalid_query(field, message)
    return int(value)


def query_choice(field: str, value: str | None, choices: tuple[str, ...]) -> str:
    """A query parameter from a fixed list; the first choice is the default."""
    if value is None or value == "":
        return choices[0]
    if value not in choices:
        raise invalid_query(field, _l("One of: %(kinds)s.", kinds=", ".join(choices)))
    return value


def like_pattern(value: str) -> str:
    """A LIKE pattern that matches the text literally (wildcards escaped)."""
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
