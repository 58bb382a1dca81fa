"""Public HTML: the thread and rating fragments, the standalone page, avatars, the demo
page, the loader and its assets, and the health check."""

from flask import Blueprint

bp = Blueprint("widgets", __name__)

from service.web.widgets import (  # noqa: E402,F401  (routes on bp)
    assets,
    fragments,
    pages,
    reports,
    strings,
)
