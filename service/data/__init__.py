"""The data layer: typed models, every bound and enum (``bounds``), and the migrations.

It imports nothing from the domain above it.
"""

from service.data.accounts import ApiToken, AuditEntry, Ban, BlockedWord, Moderator, Role
from service.data.mail import Address, OutboxMessage, VisitorProof, Webhook
from service.data.models import Comment, EditorialScore, Like, Page, Rating, Site, utcnow

__all__ = [
    "Address",
    "ApiToken",
    "AuditEntry",
    "Ban",
    "BlockedWord",
    "Comment",
    "EditorialScore",
    "Like",
    "Moderator",
    "OutboxMessage",
    "Page",
    "Rating",
    "Role",
    "Site",
    "VisitorProof",
    "Webhook",
    "utcnow",
]
