"""Rate limits: the limiter, its key (a keyed hash of the client's address), and the
budgets every way of posting, voting and logging in shares.

Budgets come from configuration (``PARLEY_*_LIMIT``); storage is in-process by default and
Redis with ``PARLEY_REDIS_URL``.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable
from typing import Any

from flask import Response, current_app, request
from flask_limiter import Limiter
from limits import RateLimitItem, RateLimitItemPerSecond, parse_many

from service.rules import privacy, validation, visitors
from service.rules.errors import DomainError
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
    # One budget per page, whoever posts: a flood from many addresses still stops. The site
    # and page are read as the views read them (trimmed), so " /p", "/p " and "/p" are one
    # page here as they are in the database.
    try:
        site = validation.site_key(request.args.get("site"))
        page = validation.page_key(request.args.get("page"))
    except DomainError:
        site = page = ""  # refused by the view: nothing is stored, nothing is spent
    return "page:" + hashlib.sha256(f"{site}\n{page}".encode()).hexdigest()[:32]


# One budget per client address for every way of posting (API and form), and one per page.
# A post spends its budget before it runs, so posts sent at once cannot all pass the check,
# and gets it back unless something was stored (``refund_unstored``): fixing a typo in a
# refused form is free.
REFUNDED_SCOPES = ("comment-post", "page-post")
post_limit = limiter.shared_limit(
    lambda: _setting("PARLEY_POST_LIMIT"), scope="comment-post", methods=["POST"]
)
page_limit = limiter.shared_limit(
    lambda: _setting("PARLEY_PAGE_POST_LIMIT"),
    scope="page-post",
    key_func=_page_bucket,
    methods=["POST"],
)


def refund_unstored(response: Response) -> Response:
    """Give a post's budgets back when it stored nothing (refused, repeated, or over budget)."""
    spent = [lim for lim in limiter.current_limits if lim.request_args[-1] in REFUNDED_SCOPES]
    if not spent or _stored(response):
        return response
    storage = limiter.limiter.storage
    for limit in spent:
        if hasattr(storage, "decr"):  # in memory
            storage.decr(limit.key)
        elif storage.get(limit.key) > 0:  # Redis: never below zero in a fresh window
            storage.incr(limit.key, limit.limit.get_expiry(), amount=-1)
    return response


# Commenters' requests for their data or its erasure, API and form alike: one budget per
# client address (the per-address budget of mails is the domain's: ``rights.requests``).
privacy_limit = limiter.shared_limit(
    lambda: _setting("PARLEY_PRIVACY_LIMIT"), scope="privacy-request", methods=["POST"]
)


def visitor_issue_limit(exempt_when: Callable[[], bool] | None = None) -> Any:
    """One budget per client address for every way of getting a visitor key: the API, and
    the standalone page's cookie (``exempt_when``: this request issues none)."""
    return limiter.shared_limit(
        lambda: _setting("PARLEY_VISITOR_LIMIT"), scope="visitor-issue", exempt_when=exempt_when
    )


def _visitor_key() -> str:
    """The visitor key a vote or like comes with: the API's header, else the standalone
    page's cookie for the site (the one from before keys named their site too)."""
    key = request.headers.get(visitors.HEADER)
    if not key:
        site = request.args.get("site") or "default"
        key = request.cookies.get(visitors.cookie_name(site)) or request.cookies.get(
            visitors.COOKIE
        )
    return key or ""


def _visitor_bucket() -> str:
    # A keyed hash: the limiter's storage holds no keys.
    return "visitor:" + privacy.keyed_hash("rate-limit-visitor", _visitor_key())[:32]


def _keyless() -> bool:
    return not _visitor_key()  # refused (400), or a key issued now: a fresh budget


def _per_address_and_key(action: str, address_setting: str, key_setting: str) -> Any:
    by_address = limiter.shared_limit(lambda: _setting(address_setting), scope=action)
    by_key = limiter.shared_limit(
        lambda: _setting(key_setting),
        scope=f"{action}-visitor",
        key_func=_visitor_bucket,
        exempt_when=_keyless,
    )

    def limited(view: Callable[..., Any]) -> Any:
        return by_address(by_key(view))

    return limited


# Votes (and taking them back), from the API and the standalone page, and likes: each a
# budget per client address and one per visitor key.
vote_limit = _per_address_and_key("vote", "PARLEY_VOTE_LIMIT", "PARLEY_VISITOR_VOTE_LIMIT")
like_limit = _per_address_and_key("like", "PARLEY_LIKE_LIMIT", "PARLEY_VISITOR_LIKE_LIMIT")
# Readers' reports of comments, API and standalone page: budgets of their own, as large as
# the likes' (each visitor's report of a comment counts once, whatever it sends).
report_limit = _per_address_and_key("report", "PARLEY_LIKE_LIMIT", "PARLEY_VISITOR_LIKE_LIMIT")


class LoginThrottle:
    """Failed logins, counted per bucket: the client's address, or a known device.

    A bucket that spends ``PARLEY_LOGIN_LIMIT`` (5 failures in 15 minutes) is refused for
    ``PARLEY_LOGIN_BLOCK`` seconds from its last failure, whichever account it tried: no
    account is ever locked for everyone. A known device (a signed cookie from an earlier
    login, ``web.sessions``) has a bucket of its own, so its owner logs in from an address
    someone else is throttling. Counts live in the limiter's storage (in-process or Redis).
    """

    scope = "admin-login"

    def _active(self) -> bool:
        return bool(current_app.config.get("RATELIMIT_ENABLED", True)) and limiter.enabled

    def _ids(self, kind: str, bucket: str) -> tuple[str, ...]:
        return (_setting("RATELIMIT_KEY_PREFIX"), self.scope, kind, bucket)

    def _block(self) -> RateLimitItem:
        return RateLimitItemPerSecond(1, int(_setting("PARLEY_LOGIN_BLOCK")))

    def address_bucket(self) -> str:
        return "address:" + client_key()

    def device_bucket(self, device: str) -> str:
        return "device:" + hashlib.sha256(device.encode()).hexdigest()[:32]

    def retry_after(self, bucket: str) -> int | None:
        """Seconds until the bucket may try a password again; None when it may now."""
        if not self._active():
            return None
        strategy, ids = limiter.limiter, self._ids("block", bucket)
        if strategy.test(self._block(), *ids):
            return None
        reset, _remaining = strategy.get_window_stats(self._block(), *ids)
        return max(1, math.ceil(reset - time.time()))

    def failed(self, bucket: str) -> None:
        """Count a failed login; spending the budget starts the block."""
        if not self._active():
            return
        strategy, ids = limiter.limiter, self._ids("failures", bucket)
        spent = False
        for item in parse_many(_setting("PARLEY_LOGIN_LIMIT")):
            strategy.hit(item, *ids)
            spent = spent or not strategy.test(item, *ids)
        if spent:
            strategy.hit(self._block(), *self._ids("block", bucket))


login_limit = LoginThrottle()
