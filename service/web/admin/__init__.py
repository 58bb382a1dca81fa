"""Admin views under /admin: login, dashboard, queue, comments, bans and blocklist, site and
page settings, audit log, one's own password and the moderators of one's sites, API tokens.

Every page needs a logged-in moderator and shows only the sites they hold a role on; site
and page settings are for owners. Every POST carries a Flask-WTF CSRF token; pages refuse
framing and are never cached.
"""

from flask import Blueprint, Response

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.after_request
def _admin_headers(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


from service.web.admin import (  # noqa: E402,F401
    accounts,
    auth,
    comments,
    export,
    imports,
    invitations,
    lists,
    outbox,
    privacy,
    queue,
    settings,
    sites,
    threads,
    tokens,
)
