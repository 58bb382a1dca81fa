"""Operations: what the people running the service read, not its readers (``/metrics``)."""

from flask import Blueprint

bp = Blueprint("ops", __name__)

from service.web.ops import views  # noqa: E402,F401  (routes on bp)
