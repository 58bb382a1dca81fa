"""Atom feeds of published comments: ``GET /feed/comments.atom?site[&page]``."""

from flask import Blueprint

bp = Blueprint("feeds", __name__, url_prefix="/feed")

from service.web.feeds import views  # noqa: E402,F401  (routes on bp)
