"""Domain errors: a stable code, a message for a person, and a message per field.

They carry no HTTP status: the web layer maps each code to one (``service.web.errors``),
and the command line turns them into its own messages.

Messages are marked with Flask-Babel's ``lazy_gettext`` (imported as ``_l``): a lazy string
is translated when it is turned into text, which the web layer does when it renders the
error, in the language of that answer (``service.web.i18n``); outside a request (the
command line) it is English. The code stays the same in every language, for programs.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

INVALID_MESSAGE = _l("Some fields are not valid.")


class DomainError(Exception):
    """A request the rules refuse: ``code`` is stable and machine-readable."""

    def __init__(self, code: str, message: str, fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.fields = dict(fields or {})

    def first_message(self) -> str:
        """The first per-field message, else the message: what a one-line answer says."""
        return next(iter(self.fields.values()), self.message)


def invalid_query(field: str, message: str) -> DomainError:
    """A query parameter the rules refuse, with its message beside it."""
    summary = _l("The %(field)s parameter is not valid.", field=field)
    return DomainError("invalid_query", summary, {field: message})


class ValidationError(DomainError):
    """Invalid fields, with a message per field."""

    def __init__(self, fields: dict[str, str], message: str | None = None) -> None:
        super().__init__("validation_failed", message or INVALID_MESSAGE, fields)
