"""WTForms for the standalone page. Validation rules live in ``validation``.

The form only carries the fields and the CSRF token. Its values, in the API's JSON
types, go through ``service.web.posting.NewComment``, the model the JSON API validates
its body with, so the form and the API cannot drift; the model's messages are put back
beside the fields.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField, TextAreaField
from wtforms.fields import EmailField, URLField


class CommentForm(FlaskForm):
    """The "Leave a Reply" form of the standalone page."""

    name = StringField(_l("Name"))
    email = EmailField(_l("Email"))
    website = URLField(_l("Website"))
    text = TextAreaField(_l("Comment"))
    parent = HiddenField()
    form_token = HiddenField()
    hp = StringField(_l("Leave this field empty"))

    def as_input(self) -> dict[str, Any]:
        """The submitted values with the API's JSON types (parent as a number), for
        ``NewComment`` (``submit_comment`` validates them)."""
        data: dict[str, Any] = {
            "name": self.name.data or "",
            "email": self.email.data or "",
            "website": self.website.data or None,
            "text": self.text.data or "",
            "form_token": self.form_token.data or "",
            "hp": self.hp.data or None,
        }
        parent = (self.parent.data or "").strip()
        if parent:
            data["parent"] = (
                int(parent)
                if parent.isascii() and parent.isdigit() and len(parent) <= 10
                else parent
            )
        return data

    def show_errors(self, fields: dict[str, str]) -> None:
        """Put the rule messages beside the fields they belong to."""
        for name, message in fields.items():
            field = self._fields.get(name)
            if field is not None:
                field.errors = [*field.errors, message]
