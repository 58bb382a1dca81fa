"""Domain errors: a stable code, a message for a person, and a message per field.

They carry no HTTP status: the web layer maps each code to one (``service.web.errors``),
and the command line turns them into its own messages.
"""

from __future__ import annotations

INVALID_MESSAGE = "Some fields are not valid."


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


class ValidationError(DomainError):
    """Invalid fields, with a message per field."""

    def __init__(self, fields: dict[str, str], message: str | None = None) -> None:
        super().__init__("validation_failed", message or INVALID_MESSAGE, fields)
