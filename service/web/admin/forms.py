"""The admin views' forms. They carry fields, types and the CSRF token; the rules for the
values live in the domain (``sites.settings``), and their messages are put back beside the
fields by ``show_errors``."""

from __future__ import annotations

from flask import request
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    IntegerField,
    PasswordField,
    SelectField,
    StringField,
    TextAreaField,
)

from service.data.bounds import (
    ERASURE_MODES,
    MODERATION_POLICIES,
    PASSWORD_MAX,
    PASSWORD_MIN,
    RATING_SCALES,
    THEMES,
    TOKENLESS_POSTS,
)
from service.web.i18n import choices

OFFSET_MAX_DIGITS = 6


class ActionForm(FlaskForm):
    """A form with only its CSRF token: every admin button posts one."""

    def show_errors(self, fields: dict[str, str]) -> None:
        """Put the domain's messages beside the fields they belong to."""
        for name, message in fields.items():
            field = self._fields.get(name)
            if field is not None:
                field.errors = [*field.errors, message]


class LoginForm(FlaskForm):
    email = EmailField(_l("Email"))
    password = PasswordField(_l("Password"))


class PasswordForm(ActionForm):
    current = PasswordField(_l("Current password"))
    password = PasswordField(
        _l("New password"),
        description=_l("%(min)s to %(max)s characters.", min=PASSWORD_MIN, max=PASSWORD_MAX),
    )
    confirm = PasswordField(_l("New password again"))


class SiteForm(ActionForm):
    name = StringField(_l("Name"))
    origins = TextAreaField(
        _l("Allowed origins"),
        description=_l(
            "One per line, like https://example.org: the pages that may embed the "
            "widgets and post to them."
        ),
    )
    moderation = SelectField(
        _l("Moderation"), choices=choices("policy", MODERATION_POLICIES), validate_choice=False
    )
    link_limit = IntegerField(
        _l("Link limit"),
        description=_l("Under “Hold comments with many links”: more links than this wait."),
    )
    rating_scale = SelectField(
        _l("Rating scale"),
        choices=lambda: {str(s): str(_l("1 to %(max)s", max=s)) for s in RATING_SCALES},
        validate_choice=False,
    )
    rescale = BooleanField(
        _l("Rescale existing votes"),
        description=_l("Needed to change the scale once there are votes: each vote is converted."),
    )
    edit_window = IntegerField(
        _l("Edit window (minutes)"),
        description=_l("How long authors may edit or delete their comments."),
    )
    language = StringField(_l("Language"))
    theme = SelectField(_l("Theme"), choices=choices("theme", THEMES), validate_choice=False)
    notify_moderators = BooleanField(_l("Email moderators about new comments"))
    tokenless_posts = SelectField(
        _l("Posts without a form token"),
        choices=lambda: {
            "": str(_l("The service's default (PARLEY_TOKENLESS_POSTS)")),
            **choices("tokenless", TOKENLESS_POSTS)(),
        },
        validate_choice=False,
        description=_l(
            "Comments sent by clients that are neither the comment form nor bring one "
            "of the site's API tokens (scripts, other servers)."
        ),
    )
    erasure = SelectField(
        _l("Erasing a commenter's data"),
        choices=choices("erasure", ERASURE_MODES),
        validate_choice=False,
        description=_l(
            "What a commenter's (or your) erasure by address does to their comments; "
            "their votes, likes and reply mail go either way."
        ),
    )


class PrivacyForm(ActionForm):
    """An owner's download or erasure of what is stored about one address, on one site."""

    site = SelectField(_l("Site"), validate_choice=False)
    email = EmailField(_l("Email address"))


class PageForm(ActionForm):
    title = StringField(_l("Title"))
    url = StringField(_l("Address (URL)"), description=_l("The page's public address, http(s)."))
    schema_type = SelectField(
        _l("schema.org type"),
        default="",
        validate_choice=False,
        description=_l(
            "Review stars (JSON-LD) appear only for types that search engines accept; "
            "never for Article, BlogPosting or WebPage."
        ),
    )
    comments_closed = BooleanField(_l("Close comments"))
    ratings_closed = BooleanField(_l("Close ratings"))


def offset_arg() -> int:
    """The ``offset`` of a paged admin list: a small whole number, else the start."""
    offset = request.args.get("offset", "0")
    return int(offset) if offset.isdigit() and len(offset) <= OFFSET_MAX_DIGITS else 0
