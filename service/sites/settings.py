"""Site and page settings and editorial scores: one rule set for the admin views and the
command line.

Both check every value here, with the bounds and allowed values of ``data.bounds``, and
every change is written to the audit log in the transaction that makes it (with no
moderator when it comes from the command line). Functions raise ``ValidationError`` with
a message per field; callers commit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l

from service.data import Moderator, Page, Site
from service.data.bounds import (
    EDIT_WINDOW_MAX,
    ERASURE_MODES,
    LANGUAGE_MAX,
    LANGUAGE_PATTERN,
    LINK_LIMIT_MAX,
    MODERATION_POLICIES,
    RATING_SCALES,
    SCHEMA_TYPES,
    SITE_KEY_PATTERN,
    SITE_NAME_MAX,
    THEMES,
    TITLE_MAX,
    TOKENLESS_POSTS,
    URL_MAX,
)
from service.data.versions import bump_pages, bump_site
from service.extensions import db
from service.ratings import editorial, votes
from service.rules.errors import ValidationError
from service.rules.validation import clean_http_url
from service.sites import audit
from service.sites.lookup import find_page, get_or_create_page
from service.sites.origins import parse_origins


@dataclass(frozen=True)
class SiteChanges:
    """New values for a site's settings; None leaves a setting as it is."""

    name: str | None = None
    origins: list[str] | None = None
    moderation: str | None = None
    link_limit: int | None = None
    rating_scale: int | None = None
    rescale: bool = False  # convert existing votes when the scale changes
    edit_window: int | None = None  # seconds
    language: str | None = None
    theme: str | None = None
    notify_moderators: bool | None = None
    # TOKENLESS_POSTS, or "" to follow PARLEY_TOKENLESS_POSTS again.
    tokenless_posts: str | None = None
    erasure: str | None = None  # ERASURE_MODES: what erasing a commenter's data does


def _whole(value: Any, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _checked_site(changes: SiteChanges) -> dict[str, Any]:
    """The settings to apply, each checked; raises ValidationError naming every bad one."""
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    if changes.name is not None:
        name = " ".join(changes.name.split())
        if not name:
            errors["name"] = _l("Give the site a name.")
        elif len(name) > SITE_NAME_MAX or not name.isprintable():
            errors["name"] = _l("A name of at most %(max)s characters.", max=SITE_NAME_MAX)
        values["name"] = name
    if changes.origins is not None:
        try:
            values["origins"] = sorted(parse_origins(changes.origins))
        except ValueError as error:
            errors["origins"] = str(error)
    if changes.moderation is not None:
        if changes.moderation not in MODERATION_POLICIES:
            errors["moderation"] = _l("One of: %(kinds)s.", kinds=", ".join(MODERATION_POLICIES))
        values["moderation"] = changes.moderation
    if changes.link_limit is not None:
        if not _whole(changes.link_limit, 0, LINK_LIMIT_MAX):
            errors["link_limit"] = _l("A number from 0 to %(max)s.", max=LINK_LIMIT_MAX)
        values["link_limit"] = changes.link_limit
    if changes.rating_scale is not None and changes.rating_scale not in RATING_SCALES:
        errors["rating_scale"] = _l("One of: %(kinds)s.", kinds=", ".join(map(str, RATING_SCALES)))
    if changes.edit_window is not None:
        if not _whole(changes.edit_window, 0, EDIT_WINDOW_MAX):
            errors["edit_window"] = _l("From 0 to %(max)s minutes.", max=EDIT_WINDOW_MAX // 60)
        values["edit_window"] = changes.edit_window
    if changes.language is not None:
        language = changes.language.strip()
        if len(language) > LANGUAGE_MAX or not re.fullmatch(LANGUAGE_PATTERN, language):
            errors["language"] = _l("A language tag like en or pt-BR.")
        values["language"] = language
    if changes.theme is not None:
        if changes.theme not in THEMES:
            errors["theme"] = _l("One of: %(kinds)s.", kinds=", ".join(THEMES))
        values["theme"] = changes.theme
    if changes.notify_moderators is not None:
        values["notify_moderators"] = bool(changes.notify_moderators)
    if changes.tokenless_posts is not None:
        if changes.tokenless_posts not in ("", *TOKENLESS_POSTS):
            errors["tokenless_posts"] = _l(
                "One of: %(kinds)s, or empty for the service's default.",
                kinds=", ".join(TOKENLESS_POSTS),
            )
        values["tokenless_posts"] = changes.tokenless_posts or None
    if changes.erasure is not None:
        if changes.erasure not in ERASURE_MODES:
            errors["erasure"] = _l("One of: %(kinds)s.", kinds=", ".join(ERASURE_MODES))
        values["erasure"] = changes.erasure
    if errors:
        raise ValidationError(errors)
    return values


def change_site(moderator: Moderator | None, site: Site, changes: SiteChanges) -> list[str]:
    """Apply new settings to a site; returns what changed, as audited."""
    values = _checked_site(changes)
    scale = []
    if changes.rating_scale is not None and changes.rating_scale != site.rating_scale:
        before = site.rating_scale
        votes.set_scale(site, changes.rating_scale, rescale=changes.rescale)
        scale = [f"rating_scale: {before} -> {changes.rating_scale}"]
        if changes.rescale:
            scale[0] += " (votes rescaled)"
    changed = scale + audit.changed_fields(site, values)
    if changed:
        # Any setting may show in every page's answers (scale, edit window, language,
        # theme...): a new site version renews them all at once, and changes are rare.
        bump_site(site.id)
        audit.record(moderator, site.id, "site settings", f"site {site.key}", "; ".join(changed))
    return changed


def create_site(
    moderator: Moderator | None,
    key: str,
    changes: SiteChanges,
) -> Site:
    """A new site with a key (the embed's ``data-site``) and its settings; audited."""
    errors: dict[str, str] = {}
    if not re.fullmatch(SITE_KEY_PATTERN, key):
        errors["key"] = _l("Lower-case letters, digits, '.', '_' and '-', at most 64 characters.")
    elif db.session.scalar(sa.select(Site.id).where(Site.key == key)) is not None:
        errors["key"] = _l("Site %(key)r exists already.", key=key)
    if changes.name is None:
        errors["name"] = _l("Give the site a name.")
    try:
        values = _checked_site(changes)
    except ValidationError as error:
        errors.update(error.fields)
        values = {}
    if errors:
        raise ValidationError(errors)
    config = current_app.config
    site = Site(
        key=key,
        name=values["name"],
        moderation=values.get("moderation", config["PARLEY_MODERATION"]),
        edit_window=values.get("edit_window", config["PARLEY_EDIT_WINDOW"]),
        rating_scale=changes.rating_scale or RATING_SCALES[0],
    )
    site.origins = values.get("origins", [])
    for name in ("link_limit", "language", "theme", "notify_moderators", "tokenless_posts"):
        if name in values:
            setattr(site, name, values[name])
    db.session.add(site)
    db.session.flush()
    audit.record(moderator, site.id, "create site", f"site {key}", describe(site))
    return site


def describe(site: Site) -> str:
    """A site's settings in one line."""
    return (
        f"{site.key}: {site.name} | moderation={site.moderation} scale={site.rating_scale} "
        f"edit-window={site.edit_window}s link-limit={site.link_limit} "
        f"language={site.language} theme={site.theme} "
        f"notify-moderators={'yes' if site.notify_moderators else 'no'} "
        f"tokenless-posts={site.tokenless_posts or 'default'} "
        f"origins={','.join(site.origins) or '-'}"
    )


def tokenless_posts(site: Site) -> str:
    """What the site does with a post that brings no form token and no API token."""
    return site.tokenless_posts or str(current_app.config["PARLEY_TOKENLESS_POSTS"])


# --- pages ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PageChanges:
    """New values for a page's settings; None leaves a setting as it is ("" clears text)."""

    title: str | None = None
    url: str | None = None
    schema_type: str | None = None
    comments_closed: bool | None = None
    ratings_closed: bool | None = None
    editorial_scale: int | str | None = None  # the Final Summary's; "": automatic


def _checked_page(page: Page, changes: PageChanges) -> dict[str, Any]:
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    if changes.title is not None:
        title = " ".join("".join(ch if ch.isprintable() else " " for ch in changes.title).split())
        if len(title) > TITLE_MAX:
            errors["title"] = _l("At most %(max)s characters.", max=TITLE_MAX)
        values["title"] = title or None
    if changes.url is not None:
        url = changes.url.strip() or None
        if url is not None and clean_http_url(url, URL_MAX) is None:
            errors["url"] = _l("An address starting with http:// or https://.")
        values["url"] = url
    if changes.schema_type is not None:
        schema_type = changes.schema_type.strip() or None
        # A type set before the list was closed stays until it is changed.
        if schema_type not in (None, page.schema_type, *SCHEMA_TYPES):
            errors["schema_type"] = _l("One of: %(kinds)s.", kinds=", ".join(SCHEMA_TYPES))
        values["schema_type"] = schema_type
    for name in ("comments_closed", "ratings_closed"):
        value = getattr(changes, name)
        if value is not None:
            values[name] = bool(value)
    if changes.editorial_scale is not None:
        values["editorial_scale"] = editorial.clean_box_scale(changes.editorial_scale, errors)
    if errors:
        raise ValidationError(errors)
    return values


def change_page(moderator: Moderator | None, page: Page, changes: PageChanges) -> list[str]:
    """Apply new settings to a page; returns what changed, as audited."""
    changed = audit.changed_fields(page, _checked_page(page, changes))
    if changed:
        bump_pages(page.id)  # title, URL, type, closed flags and the summary's scale show
        audit.record(
            moderator, page.site_id, "page settings", f"page {page.key}", "; ".join(changed)
        )
    return changed


def page_for(moderator: Moderator | None, site: Site, key: str) -> Page:
    """The page, set up first if nobody commented on or rated it yet (audited)."""
    page = find_page(site, key)
    if page is None:
        page = get_or_create_page(site, key, title=None, url=None, service_origin="")
        audit.record(moderator, site.id, "create page", f"page {key}")
    return page


# --- editorial scores ---------------------------------------------------------------------


def set_score(
    moderator: Moderator | None,
    page: Page,
    label: str,
    score: Any,
    scale: Any,
    url: str | None,
    *,
    original: str | None = None,
) -> editorial.Score:
    """Add or change an editorial score (``editorial.save_score`` says which); audited."""
    checked = editorial.clean_score(label, score, scale, url)
    editorial.save_score(page, checked, original)
    audit.record(
        moderator,
        page.site_id,
        "editorial score",
        f"page {page.key}",
        f"{checked.label}: {checked.score:g}/{checked.scale}",
    )
    return checked


def remove_score(moderator: Moderator | None, page: Page, label: str) -> None:
    """Remove an editorial score; audited."""
    editorial.remove_score(page, label)
    audit.record(moderator, page.site_id, "remove score", f"page {page.key}", label)
