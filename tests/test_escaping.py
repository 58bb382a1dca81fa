"""Translated messages that carry a value are escaped in HTML like any other text.

Flask-Babel's lazy strings say they are HTML (``__html__``), so Jinja would print them, and
the values inside them, as they are. The application's Jinja ``finalize`` turns every lazy
string into plain text first (service.web.i18n).
"""

from __future__ import annotations

from flask import render_template_string
from flask_babel import lazy_gettext as _l
from support import admin_post, log_in, make_moderator

HOSTILE = '<img src=x onerror="alert(1)">'


def test_a_refusal_naming_what_the_owner_typed_is_escaped(app, client):
    make_moderator(app, sites={"default": "owner"})
    assert log_in(client).status_code == 303
    assert admin_post(client, "/admin/blocklist", site="default", word=HOSTILE).status_code in (
        200,
        303,
    )
    refused = admin_post(client, "/admin/blocklist", site="default", word=HOSTILE)
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert "is on the list already" in html
    assert "<img src=x" not in html
    assert "&lt;img src=x onerror=" in html


def test_lazy_messages_are_escaped_in_every_template(app):
    with app.test_request_context("/"):
        shown = render_template_string(
            "<p>{{ message }}</p>", message=_l("There is no score %(label)r.", label=HOSTILE)
        )
    assert "<img" not in shown and "&lt;img" in shown
