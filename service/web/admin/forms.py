"""The admin views' forms. They carry fields, types and the CSRF token; the rules for the
values live in the domain (``sites.settings``), and their messages are put back beside the
fields by ``show_errors``."""

from __future__ import annotations

from flask import request
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
    MODERATION_POLICIES,
    PASSWORD_MAX,
    PASSWORD_MIN,
    RATING_SCALES,
    THEMES,
    TOKENLESS_POSTS,
)

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
    email = EmailField("Email")
    password = PasswordField("Password")


class PasswordForm(ActionForm):
    current = PasswordField("Current password")
    password = PasswordField(
        "New password", description=f"{PASSWORD_MIN} to {PASSWORD_MAX} characters."
    )
    confirm = PasswordField("New password again")


class SiteForm(ActionForm):
    name = StringField("Name")
    origins = TextAreaField(
        "Allowed origins",
        description="One per line, like https://example.org: the pages that may embed the "
        "widgets and post to them.",
    )
    moderation = SelectField("Moderation", choices=MODERATION_POLICIES, validate_choice=False)
    link_limit = IntegerField(
        "Link limit",
        description="Under “Hold comments with many links”: more links than this wait.",
    )
    rating_scale = SelectField(
        "Rating scale",
        choices={str(scale): f"1 to {scale}" for scale in RATING_SCALES},
        validate_choice=False,
    )
    rescale = BooleanField(
        "Rescale existing votes",
        description="Needed to change the scale once there are votes: each vote is converted.",
    )
    edit_window = IntegerField(
        "Edit window (minutes)", description="How long authors may edit or delete their comments."
    )
    language = StringField("Language")
    theme = SelectField("Theme", choices=THEMES, validate_choice=False)
    notify_moderators = BooleanField("Email moderators about new comments")
    tokenless_posts = SelectField(
        "Posts without a form token",
        choices={"": "The service's default (PARLEY_TOKENLESS_POSTS)", **TOKENLESS_POSTS},
        validate_choice=False,
        description="Comments sent by clients that are neither the comment form nor bring one "
        "of the site's API tokens (scripts, other servers).",
    )


class PageForm(ActionForm):
    title = StringField("Title")
    url = StringField("Address (URL)", description="The page's public address, http(s).")
    schema_type = SelectField(
        "schema.org type",
        default="",
        validate_choice=False,
        description="Review stars (JSON-LD) appear only for types that search engines accept; "
        "never for Article, BlogPosting or WebPage.",
    )
    comments_closed = BooleanField("Close comments")
    ratings_closed = BooleanField("Close ratings")


def offset_arg() -> int:
    """The ``offset`` of a paged admin list: a small whole number, else the start."""
    offset = request.args.get("offset", "0")
    return int(offset) if offset.isdigit() and len(offset) <= OFFSET_MAX_DIGITS else 0
