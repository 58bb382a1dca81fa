"""The JSON API's helpers: the widget form's time token, and the OpenAPI document."""

from __future__ import annotations

from flask import Response, jsonify

from service.rules import spam
from service.web.api.comments import no_store
from service.web.api.contract import Answer, operation
from service.web.api.openapi import openapi_document
from service.web.schemas import FormToken


@operation(
    "get",
    "/form-token",
    "formToken",
    "A fresh form token",
    "For the widget's form: a signed time token, never cached.",
    answers={"200": Answer("The token.", FormToken)},
    tag="widget",
)
def form_token() -> Response:
    """A fresh signed time token for the widget's form (never cached)."""
    return no_store(jsonify(form_token=spam.issue_form_token()))


@operation(
    "get",
    "/openapi.json",
    "openapi",
    "This document",
    "The OpenAPI 3.1 description of the API.",
    answers={"200": Answer("The document.", {"type": "object"})},
    tag="service",
)
def openapi() -> Response:
    return jsonify(openapi_document())
