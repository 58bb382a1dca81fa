"""Spam basics that need no captcha: a honeypot field and a signed time token.

The widget form carries ``form_token``, a signed timestamp issued when the form was shown.
A post that brings it back too soon was typed by a script; one that brings it back much
later (or a forged one) is refused with a clear message so a person knows to reload.
Browser posts must bring it (the web layer says which posts come from a browser); other
clients without one are handled by the tokenless rule (``comments.policy``).
"""

from __future__ import annotations

import time

from flask import current_app
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, URLSafeTimedSerializer

from service.rules.errors import DomainError, ValidationError

_SALT = "parley.form-token"


def _serializer() -> URLSafeTimedSerializer:
    config = current_app.config
    keys = [*(config.get("SECRET_KEY_FALLBACKS") or []), config["SECRET_KEY"]]
    return URLSafeTimedSerializer(keys, salt=_SALT)


def issue_form_token(now: float | None = None) -> str:
    """A token saying 'this form was shown at this time', signed with the secret key."""
    issued = int(now if now is not None else time.time())
    return _serializer().dumps({"t": issued})


def check_honeypot(honeypot: str | None) -> None:
    """Refuse a post that filled the hidden field (422)."""
    if honeypot:
        raise ValidationError(
            {"hp": _l("Leave this field empty.")},
            _l(
                "This post looks automated. If you are a person, clear the hidden "
                "field (some autofill tools fill it) and send again."
            ),
        )


def missing_form_token() -> DomainError:
    """A browser's post without the form's token (403)."""
    return DomainError(
        "bad_form_token", _l("The form is not complete: reload the page and send it again.")
    )


def check_form_token(form_token: str | None, now: float | None = None) -> None:
    """Refuse a missing, forged, too fresh or stale form token."""
    if not form_token:
        raise missing_form_token()
    config = current_app.config
    current = now if now is not None else time.time()
    try:
        payload = _serializer().loads(form_token, max_age=None)
        issued = int(payload["t"])
    except (BadSignature, KeyError, TypeError, ValueError):
        raise DomainError(
            "bad_form_token", _l("The form is not valid. Reload the page and try again.")
        ) from None
    age = current - issued
    if age < config["PARLEY_FORM_MIN_SECONDS"]:
        raise DomainError(
            "too_fast",
            _l("That was very quick. Please wait a few seconds and send again."),
        )
    if age > config["PARLEY_FORM_MAX_AGE"]:
        raise DomainError(
            "form_expired",
            _l("The form has expired. Your text is kept: reload the form and send it again."),
        )
