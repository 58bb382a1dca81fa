"""Two session cookies: one for public pages, one scoped to the admin views; and the
admin's known-device cookie.

Admin views share the service's origin with public pages, so their cookie is
kept apart: path ``/admin``, ``SameSite=Strict``, ``HttpOnly``, ``Secure`` in
production. It carries the moderator's id and session version, nothing of the
password. The public cookie (``/``, ``Lax``) carries only CSRF state for the
no-JavaScript form.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from flask import Flask, Request, current_app, has_request_context, request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from itsdangerous import BadData, URLSafeTimedSerializer
from werkzeug.wrappers import Response

ADMIN_PREFIX = "/admin"
ADMIN_COOKIE = "parley_admin"
DEVICE_COOKIE_MAX = 400  # characters: a genuine cookie is about 120


def _is_admin() -> bool:
    if not has_request_context():
        return False
    return request.path == ADMIN_PREFIX or request.path.startswith(ADMIN_PREFIX + "/")


class ScopedSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions with a separate cookie for /admin."""

    def get_cookie_name(self, app: Flask) -> str:
        return ADMIN_COOKIE if _is_admin() else super().get_cookie_name(app)

    def get_cookie_path(self, app: Flask) -> str:
        return ADMIN_PREFIX if _is_admin() else super().get_cookie_path(app)

    def get_cookie_samesite(self, app: Flask) -> str | None:
        return "Strict" if _is_admin() else super().get_cookie_samesite(app)

    def get_cookie_httponly(self, app: Flask) -> bool:
        return True

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        # Most requests (public reads, the API) carry no session cookie: give them an empty
        # session without building a signer.
        if app.secret_key and not request.cookies.get(self.get_cookie_name(app)):
            return self.session_class()
        return super().open_session(app, request)

    def get_signing_serializer(self, app: Flask) -> Any:
        # A public cookie must never pass for an admin one: each has its own salt.
        if not app.secret_key:
            return None
        keys = [*(app.config.get("SECRET_KEY_FALLBACKS") or []), app.secret_key]
        return URLSafeTimedSerializer(
            keys,
            salt="parley-admin-session" if _is_admin() else self.salt,
            serializer=self.serializer,
            signer_kwargs={
                "key_derivation": self.key_derivation,
                "digest_method": self.digest_method,
            },
        )


# --- the known-device cookie ----------------------------------------------------------------

DEVICE_COOKIE = "parley_device"
_DEVICE_SALT = "parley-known-device"


@dataclass(frozen=True)
class KnownDevice:
    """What a known-device cookie says: the account, its session version, the device's id."""

    moderator_id: int
    version: int
    device: str


def _device_serializer() -> URLSafeTimedSerializer:
    app = current_app
    keys = [*(app.config.get("SECRET_KEY_FALLBACKS") or []), app.secret_key]
    return URLSafeTimedSerializer(keys, salt=_DEVICE_SALT)


def remember_device(response: Response, moderator_id: int, version: int) -> None:
    """Mark this browser as a device the account logged in from (a fresh id each time).

    Signed with the signing key and bound to the account and its session version, so a
    new password, a removal or a logout elsewhere forgets every other device; scoped to
    /admin, HttpOnly, SameSite=Strict, Secure in production. It never logs anyone in:
    it only lets a password be tried from an address that is throttled.
    """
    value = _device_serializer().dumps([moderator_id, version, secrets.token_urlsafe(16)])
    response.set_cookie(
        DEVICE_COOKIE,
        value,
        max_age=int(current_app.config["PARLEY_KNOWN_DEVICE_MAX_AGE"]),
        path=ADMIN_PREFIX,
        secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")),
        httponly=True,
        samesite="Strict",
    )


def known_device() -> KnownDevice | None:
    """The request's known-device cookie if it is genuine and not too old (else None)."""
    value = request.cookies.get(DEVICE_COOKIE, "")
    if not value or len(value) > DEVICE_COOKIE_MAX:
        return None
    try:
        found = _device_serializer().loads(
            value, max_age=int(current_app.config["PARLEY_KNOWN_DEVICE_MAX_AGE"])
        )
    except BadData:
        return None
    if (
        not isinstance(found, list)
        or len(found) != 3
        or not all(isinstance(part, int) and not isinstance(part, bool) for part in found[:2])
        or not isinstance(found[2], str)
    ):
        return None
    return KnownDevice(found[0], found[1], found[2])
