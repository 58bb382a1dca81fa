"""Commenters' rights, without JavaScript: the page that asks for a mailed link
(``GET /privacy?site``) and the pages behind the links (download, erase)."""

from flask import Blueprint, Response

bp = Blueprint("privacy", __name__, url_prefix="/privacy")


@bp.after_request
def _privacy_headers(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"  # a link's token is in the path
    response.headers["X-Robots-Tag"] = "noindex"
    response.headers["X-Frame-Options"] = "DENY"
    return response


from service.web.privacy import views  # noqa: E402,F401  (routes on bp)
