"""Rate limits: the limiter, its key (a keyed hash of the client's address), and the
budgets every way of posting, voting and logging in shares.

Budgets come from configuration (``PARLEY_*_LIMIT``); storage is in-process by default and
Redis with ``PARLEY_REDIS_URL``.
"""

from __future__ import annotations

import hashlib
from typing import Any

from flask import Response, current_app, request
from flask_limiter import Limiter

from service.rules import privacy
from service.web.requests import client_address


def client_key() -> str:
    """The limiter's bucket for this client: a keyed hash, so its storage holds no addresses."""
    return privacy.limit_bucket(client_address())


limiter = Limiter(key_func=client_key)


def _setting(name: str) -> str:
    return str(current_app.config[name])


def _stored(response: Response) -> bool:
    return response.status_code in (201, 303)


def _page_bucket() -> str:
    # One budget per page, whoever posts: a flood from many addresses still stops.
    site = request.args.get("site") or "default"
    page = request.args.get("page") or ""
    return "page:" + hashlib.sha256(f"{site}\n{page}".encode()).hexdigest()[:32]


# One budget per client address for every way of posting (API and form); only posts that
# were stored spend it, so fixing a typo in a refused form is free.
post_limit = limiter.shared_limit(
    lambda: _setting("PARLEY_POST_LIMIT"),
    scope="comment-post",
    methods=["POST"],
    deduct_when=_stored,
)
page_limit = limiter.shared_limit(
    lambda: _setting("PARLEY_PAGE_POST_LIMIT"),
    scope="page-post",
    key_func=_page_bucket,
    methods=["POST"],
    deduct_when=_stored,
)


def visitor_limit(scope: str) -> Any:
    """The budget for issuing visitor keys and voting without JavaScript, per address."""
    return limiter.limit(lambda: _setting("PARLEY_VISITOR_LIMIT"), scope=scope)


def _failed(response: Response) -> bool:
    return response.status_code == 401


# Failed logins per address (the per-account lock is the accounts module's).
login_limit = limiter.limit(
    lambda: _setting("PARLEY_LOGIN_LIMIT"),
    methods=["POST"],
    scope="admin-login",
    deduct_when=_failed,
)
