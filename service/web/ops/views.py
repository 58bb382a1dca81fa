"""``GET /metrics``: Prometheus text, off (404) unless ``PARLEY_METRICS_TOKEN`` is set, then
only with ``Authorization: Bearer <token>`` (401 otherwise); never cached."""

from __future__ import annotations

import hmac

import sqlalchemy as sa
from flask import Response, abort, current_app, request
from sqlalchemy.exc import DBAPIError

from service.data import OutboxMessage
from service.extensions import db
from service.web import metrics
from service.web.ops import bp

NO_STORE = {"Cache-Control": "no-store"}


def _authorized(token: str) -> bool:
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(given.strip().encode(), token.encode())


def _outbox() -> dict[str, int] | None:
    """Unsent outbox rows: still queued, or given up after the last attempt. None while the
    database does not answer: the other numbers matter most then."""
    maximum = int(current_app.config["PARLEY_OUTBOX_MAX_ATTEMPTS"])
    gave_up = OutboxMessage.attempts >= maximum
    query = sa.select(gave_up, sa.func.count()).where(OutboxMessage.sent.is_(None))
    try:
        rows = db.session.execute(query.group_by(gave_up)).all()
    except DBAPIError:
        db.session.rollback()
        return None
    found = {"gave_up" if given else "queued": int(n) for given, n in rows}
    db.session.commit()  # end the read transaction
    return {"queued": found.get("queued", 0), "gave_up": found.get("gave_up", 0)}


@bp.get("/metrics")
def metrics_text() -> Response:
    token = current_app.config.get("PARLEY_METRICS_TOKEN")
    if not token:
        abort(404)  # off: as if there were no such path
    if not _authorized(str(token)):
        return Response(
            "GET /metrics needs the header Authorization: Bearer <PARLEY_METRICS_TOKEN>\n",
            401,
            mimetype="text/plain",
            headers={"WWW-Authenticate": 'Bearer realm="parley-metrics"', **NO_STORE},
        )
    body = metrics.render(_outbox())
    return Response(body, 200, content_type=metrics.CONTENT_TYPE, headers=NO_STORE)
