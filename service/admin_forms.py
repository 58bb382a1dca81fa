"""Shared pieces of the admin views: the owner and lookup helpers, and the settings forms.

Used by ``admin_comments``, ``admin_lists`` and ``admin_settings``, whose routes are on the
``admin`` blueprint of ``admin.py`` (same login, CSRF and framing rules). Moderators see
and act on the sites they hold a role on (anything else is a 404); site and page settings
are for owners (403).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import g, redirect, url_for
from werkzeug.wrappers import Response as BaseResponse
from wtforms import BooleanField, IntegerField, SelectField, StringField, TextAreaField
from wtforms import ValidationError as FieldError
from wtforms.validators import InputRequired, Length, NumberRange, Regexp

from . import accounts, ratings
from .admin import ActionForm
from .errors import ApiError
from .extensions import db
from .models import SITE_KEY_MAX, Page, Site
from .sites import origin_of
from .validation import clean_http_url

POLICIES = {
    "none": "Publish at once",
    "first-time": "Hold first-time authors",
    "links": "Hold comments with many links",
    "all": "Hold every comment",
}
THEMES = {"auto": "Follow the reader's system", "light": "Light", "dark": "Dark"}
# Types with review stars (JSON-LD is emitted) and the common ones without.
SCHEMA_TYPES = tuple(sorted(ratings.JSONLD_TYPES | {"Article", "BlogPosting", "WebPage"}))
REASON_MAX = 300
MAX_ORIGINS = 50


def _missing() -> ApiError:
    return ApiError(404, "not_found", "Nothing was found here.")


def _back(endpoint: str, **values: Any) -> BaseResponse:
    return redirect(url_for(endpoint, **values), code=303)


def _my_site(key: str, *, owner: bool = False) -> Site:
    """A site the moderator holds a role on (404 otherwise); owners only if asked (403)."""
    site = db.session.scalar(
        sa.select(Site).where(Site.key == key[:SITE_KEY_MAX], Site.id.in_(g.site_ids))
    )
    if site is None:
        raise _missing()
    if owner and accounts.role_on(g.moderator, site) != "owner":
        raise ApiError(403, "forbidden", "Only the site's owners can change its settings.")
    return site


def parse_origins(text: str) -> list[str]:
    """Allowed origins, one per line, each scheme://host[:port]; raises ValueError."""
    origins: list[str] = []
    for line in text.splitlines():
        value = line.strip().rstrip("/")
        if not value:
            continue
        url = clean_http_url(value, 2048)
        if url is None or origin_of(url) != value.lower():
            raise ValueError(
                f"{value[:80]!r} is not an origin: give http:// or https://, the host and "
                "at most a port, like https://example.org"
            )
        origins.append(origin_of(url))
    if len(origins) > MAX_ORIGINS:
        raise ValueError(f"At most {MAX_ORIGINS} origins.")
    return list(dict.fromkeys(origins))


# ---- forms: site and page settings ----------------------------------------------------------


def _squash(value: str | None) -> str:
    return " ".join((value or "").split())


class SiteForm(ActionForm):
    name = StringField(
        "Name", [InputRequired("Give the site a name."), Length(max=200)], filters=[_squash]
    )
    origins = TextAreaField(
        "Allowed origins",
        description="One per line, like https://example.org: the pages that may embed the "
        "widgets and post to them.",
    )
    moderation = SelectField("Moderation", choices=POLICIES)
    link_limit = IntegerField(
        "Link limit",
        [InputRequired("Give a number."), NumberRange(0, 50)],
        description="Under “Hold comments with many links”: more links than this wait.",
    )
    rating_scale = SelectField("Rating scale", choices={"5": "1 to 5", "10": "1 to 10"})
    rescale = BooleanField(
        "Rescale existing votes",
        description="Needed to change the scale once there are votes: each vote is converted.",
    )
    edit_window = IntegerField(
        "Edit window (minutes)",
        [InputRequired("Give a number of minutes."), NumberRange(0, 7 * 24 * 60)],
        description="How long authors may edit or delete their comments.",
    )
    language = StringField(
        "Language",
        [
            InputRequired("Give a language tag, like en or pt-BR."),
            Regexp(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8}){0,3}$", message="A tag like en or pt-BR."),
            Length(max=16),
        ],
        filters=[lambda v: (v or "").strip()],
    )
    theme = SelectField("Theme", choices=THEMES)
    notify_moderators = BooleanField("Email moderators about new comments")

    def validate_origins(self, field: TextAreaField) -> None:
        try:
            parse_origins(field.data or "")
        except ValueError as error:
            raise FieldError(str(error)) from None


class PageForm(ActionForm):
    title = StringField("Title", [Length(max=200)])
    url = StringField("Address (URL)", description="The page's public address, http(s).")
    schema_type = SelectField(
        "schema.org type",
        default="",
        description="Review stars (JSON-LD) appear only for types that search engines accept; "
        "never for Article, BlogPosting or WebPage.",
    )
    comments_closed = BooleanField("Close comments")
    ratings_closed = BooleanField("Close ratings")

    def validate_url(self, field: StringField) -> None:
        if (field.data or "").strip() and clean_http_url(field.data, 2048) is None:
            raise FieldError("An address starting with http:// or https://.")


def _page_form(page: Page, *, submitted: bool) -> PageForm:
    """The page form: the submitted values, or the page's own; its type choices."""
    form = PageForm() if submitted else PageForm(None, obj=page, schema_type=page.schema_type or "")
    types = list(SCHEMA_TYPES)
    if page.schema_type and page.schema_type not in types:
        types.append(page.schema_type)  # set from the CLI: keep it choosable
    form.schema_type.choices = {"": "None"} | {
        t: t if t in ratings.JSONLD_TYPES else f"{t} (no review stars)" for t in types
    }
    return form
