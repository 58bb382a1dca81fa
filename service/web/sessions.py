"""Two session cookies: one for public pages, one scoped to the admin views.

Admin views share the service's origin with public pages, so their cookie is
kept apart: path ``/admin``, ``SameSite=Strict``, ``HttpOnly``, ``Secure`` in
production. The public cookie (``/``, ``Lax``) carries only CSRF state for
the no-JavaScript form.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, has_request_context, request
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import URLSafeTimedSerializer

ADMIN_PREFIX = "/admin"
ADMIN_COOKIE = "parley_admin"


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
