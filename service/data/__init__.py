"""The data layer: typed models, every bound and enum (``bounds``), and the migrations.

It imports nothing from the domain above it.
"""

from service.data.accounts import AuditEntry, Ban, BlockedWord, Moderator, Role
from service.data.mail import Address, OutboxMessage, Webhook
from service.data.models import Comment, EditorialScore, Like, Page, Rating, Site, utcnow

__all__ = [
    "Address",
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
    "Webhook",
    "utcnow",
]
