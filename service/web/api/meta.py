"""The JSON API's helpers: the widget form's time token, and the OpenAPI document."""

from __future__ import annotations

from flask import Response, jsonify

from service.rules import spam
from service.web.api import bp
from service.web.api.comments import no_store
from service.web.api.openapi import openapi_document


@bp.get("/form-token")
def form_token() -> Response:
    """A fresh signed time token for the widget's form (never cached)."""
    return no_store(jsonify(form_token=spam.issue_form_token()))


@bp.get("/openapi.json")
def openapi() -> Response:
    return jsonify(openapi_document())
