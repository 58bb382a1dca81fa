"""The JSON API under /api/v1: comments, votes and likes, counts, and its OpenAPI document."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

from service.web.api import comments, meta, privacy, reports, votes  # noqa: E402,F401  (routes on bp)
