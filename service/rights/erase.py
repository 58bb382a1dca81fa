"""Erasing what is stored about an email address, in one write transaction.

- Its comments are anonymised or removed as each comment's site says (``site.erasure``):
  anonymised, the text stays without a name, address, website, avatar, network, edit
  token, visitor key or reply mail; removed, the comment goes the way an author's own
  deletion goes (a placeholder only where replies hang from it). Status changes go
  through ``comments.status.set_status``, so counts and versions follow.
- The votes and likes of every visitor key that posted as the address (a review's rating
  among them) go, through ``ratings.votes`` and ``comments.likes``: aggregates follow; so do
  their reports of comments (``comments.reports``).
- Reply mail ends: the address's mail row and its proven visitor keys are deleted, and
  (the commenter's own erasure) the outbox's mail to the address, sent or not.
- Every page touched gets a new version: cached answers change at once.

Bans and audit entries stay: they are the moderators' record, and name no address.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from service.comments import likes, reports
from service.comments.status import set_status
from service.data import Address, Comment, OutboxMessage, Page, Rating, VisitorProof, utcnow
from service.data.versions import bump_pages
from service.extensions import db
from service.ratings import votes
from service.rights.export import Scope, comments_of, visitors_of
from service.rules import privacy


@dataclass(frozen=True)
class Erased:
    """What an erasure changed, in numbers (for the audit log and the page that says so)."""

    anonymised: int = 0
    removed: int = 0
    votes: int = 0
    likes: int = 0
    subscriptions: int = 0
    proofs: int = 0

    def describe(self) -> str:
        return (
            f"comments anonymised {self.anonymised}, removed {self.removed}; votes "
            f"{self.votes}; likes {self.likes}; reply mail {self.subscriptions}; "
            f"proven browsers {self.proofs}"
        )


def _anonymise(comment: Comment) -> None:
    votes.sync_review(comment, removed=True)  # the review's rating goes, counted or not
    comment.author = comment.email_encrypted = comment.email_index = None
    comment.website = comment.remote_addr = comment.edit_token_hash = comment.visitor = None
    comment.avatar = ""
    comment.notify = False
    bump_pages(comment.page_id)


def _remove(comment: Comment) -> None:
    set_status(comment, "deleted")  # the count and the review's rating follow
    votes.sync_review(comment, removed=True)
    comment.author = comment.email_encrypted = comment.email_index = None
    comment.website = comment.remote_addr = comment.edit_token_hash = comment.visitor = None
    comment.avatar = comment.text = comment.html = ""
    comment.notify = False
    comment.edited = utcnow()
    bump_pages(comment.page_id)


def _drop_placeholders(ids: list[int]) -> None:
    """Delete removed comments nobody replied to (children first: a parent may go next)."""
    for ident in sorted(ids, reverse=True):
        comment = db.session.get(Comment, ident)
        if comment is None or comment.status != "deleted" or comment.author is not None:
            continue
        replies = sa.select(sa.func.count()).where(Comment.parent_id == ident)
        if not db.session.scalar(replies):
            db.session.delete(comment)
            db.session.flush()


def erase(scope: Scope) -> Erased:
    """Erase what is stored about the address in the scope (caller commits, in a write
    transaction)."""
    comments = comments_of(scope)
    visitors = visitors_of(scope, comments)
    anonymised: list[int] = []
    removed: list[int] = []
    for comment in comments:
        if comment.page.site.erasure == "remove":
            _remove(comment)
            removed.append(comment.id)
        else:
            _anonymise(comment)
            anonymised.append(comment.id)
    db.session.flush()
    _drop_placeholders(removed)
    dropped = 0
    if visitors:
        query = (
            sa.select(Rating.visitor, Page)
            .join(Page, Page.id == Rating.page_id)
            .where(scope.on_pages(), Rating.visitor.in_(sorted(visitors)))
        )
        for visitor, page in db.session.execute(query).all():
            votes.retract(page, visitor, commit=False)
            dropped += 1
    liked = likes.forget_visitors(visitors, scope.site_ids)
    reports.forget_visitors(visitors, scope.site_ids)  # their reasons, never shown publicly
    proofs = sa.delete(VisitorProof).where(VisitorProof.email_index == scope.email_index)
    if scope.site_ids is not None:
        proofs = proofs.where(VisitorProof.visitor.in_(sorted(visitors)))
    proofs_gone = db.session.execute(proofs.execution_options(synchronize_session=False))
    subscriptions = _end_reply_mail(scope)
    if scope.site_ids is None:
        _forget_mail(scope.email_index)
    return Erased(
        anonymised=len(anonymised),
        removed=len(removed),
        votes=dropped,
        likes=liked,
        subscriptions=subscriptions,
        proofs=int(getattr(proofs_gone, "rowcount", 0) or 0),
    )


def _end_reply_mail(scope: Scope) -> int:
    """Delete the address's mail row: everywhere, or (one site) once no comment anywhere
    keeps the address."""
    if scope.site_ids is not None:
        left = sa.select(Comment.id).where(Comment.email_index == scope.email_index).limit(1)
        if db.session.scalar(left) is not None:
            return 0
    gone = db.session.execute(
        sa.delete(Address)
        .where(Address.email_index == scope.email_index)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(gone, "rowcount", 0) or 0)


def _forget_mail(email_index: str) -> int:
    """Delete the outbox's mail to the address (its recipients are encrypted, each with a
    nonce of its own: each is decrypted to compare; the outbox keeps a week at most)."""
    rows = db.session.execute(
        sa.select(OutboxMessage.id, OutboxMessage.recipient).where(OutboxMessage.kind == "mail")
    ).all()
    ids = []
    for ident, recipient in rows:
        try:
            address = privacy.decrypt_email(recipient)
        except privacy.DataKeyError:
            continue
        if privacy.email_index(address) == email_index:
            ids.append(ident)
    if ids:
        db.session.execute(
            sa.delete(OutboxMessage)
            .where(OutboxMessage.id.in_(ids))
            .execution_options(synchronize_session=False)
        )
    return len(ids)
