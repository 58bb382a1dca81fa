"""Pages behind the links in mail, under /notify: moderate, confirm, unsubscribe."""

from flask import Blueprint

bp = Blueprint("notify", __name__, url_prefix="/notify")

from service.web.notify import views  # noqa: E402,F401  (routes on bp)
