"""The data layer: typed models, every bound and enum (``bounds``), and the migrations.

It imports nothing from the domain above it.
"""

from service.data.accounts import ApiToken, AuditEntry, Ban, BlockedWord, Moderator, Role
from service.data.imports import ImportedComment, ImportJob
from service.data.mail import Address, OutboxMessage, VisitorProof, Webhook
from service.data.models import (
    Comment,
    EditorialScore,
    Like,
    Page,
    PrivacyRequest,
    Rating,
    Site,
    utcnow,
)
from service.data.reports import Report

__all__ = [
    "Address",
    "ApiToken",
    "AuditEntry",
    "Ban",
    "BlockedWord",
    "Comment",
    "EditorialScore",
    "ImportJob",
    "ImportedComment",
    "Like",
    "Moderator",
    "OutboxMessage",
    "Page",
    "PrivacyRequest",
    "Rating",
    "Report",
    "Role",
    "Site",
    "VisitorProof",
    "Webhook",
    "utcnow",
]
