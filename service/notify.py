"""Notifications for new comments: mail to moderators and subscribers, webhooks.

Everything is queued in the outbox inside the caller's transaction (in a
savepoint: a failure here is logged and never fails the post) and sent after
the commit by a worker, so a post never waits for or fails on mail.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import sqlalchemy as sa
from flask import current_app, render_template
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.exc import IntegrityError

from . import outbox, privacy, webhooks
from .extensions import db
from .mailer import public_url, setting
from .models import Address, Comment, Moderator, Page, Role, Site, utcnow

log = logging.getLogger(__name__)

MAIL_ACTIONS = ("approve", "spam", "delete")
MODERATE_PATH = "/notify/moderate/"
CONFIRM_PATH = "/notify/confirm/"
UNSUBSCRIBE_PATH = "/notify/unsubscribe/"
EXCERPT_MAX = 2000
TOKEN_MAX = 1000
_MODERATE_SALT = "parley.mail.moderate"
_CONFIRM_SALT = "parley.mail.confirm"
_ISSUE_PURPOSE = "mail-link-issue"
_HASH_PURPOSE = "mail-link"


class LinkError(Exception):
    """A mail link that cannot be used: forged, expired or stale; with a page status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def comment_posted(comment: Comment) -> None:
    """Queue the mail and webhook calls a new comment causes (caller commits)."""
    _safely(_posted, comment)


def comment_published(comment: Comment) -> None:
    """Queue what publishing a held comment causes: reply mail, webhooks (caller commits).

    Call it whenever a comment becomes approved; repeated calls notify once.
    """
    _safely(_published, comment)


def _safely(action: Callable[[Comment], None], comment: Comment) -> None:
    try:
        with db.session.begin_nested():
            action(comment)
    except Exception:  # a notification must never cost the post or the moderation
        log.exception("notifications for comment %s could not be queued", comment.id)


def _posted(comment: Comment) -> None:
    site = comment.page.site
    _call_webhooks(comment, "comment.created")
    if comment.status == "pending" and site.notify_moderators:
        _tell_moderators(comment, site)
    if comment.notify and comment.email_index and comment.email_encrypted:
        _subscribe(comment, site)
    if comment.status == "approved":
        _tell_parent_author(comment, site)


def _published(comment: Comment) -> None:
    if comment.status != "approved":
        return
    site = comment.page.site
    _tell_parent_author(comment, site)
    _call_webhooks(comment, "comment.approved")


# --- links ----------------------------------------------------------------------------


def _serializer(salt: str) -> URLSafeTimedSerializer:
    config = current_app.config
    keys = [*(config.get("SECRET_KEY_FALLBACKS") or []), config["SECRET_KEY"]]
    return URLSafeTimedSerializer(keys, salt=salt)


def _moderator_key(moderator: Moderator) -> str:
    """Binds a link to this account: a new account that reuses the id cannot use it."""
    return privacy.keyed_hash("mail-moderator", f"{moderator.id}:{moderator.email}")[:16]


def moderation_link(moderator: Moderator, comment: Comment, action: str) -> str:
    data = {"m": moderator.id, "c": comment.id, "a": action, "k": _moderator_key(moderator)}
    return public_url() + MODERATE_PATH + str(_serializer(_MODERATE_SALT).dumps(data))


def _loads(salt: str, token: str) -> Any:
    if not token or len(token) > TOKEN_MAX or not token.isascii():
        raise LinkError(403, "This link is not valid. Copy the whole link from the mail.")
    try:
        return _serializer(salt).loads(token, max_age=int(setting("PARLEY_MAIL_LINK_MAX_AGE")))
    except SignatureExpired:
        raise LinkError(410, "This link has expired.") from None
    except BadSignature:
        raise LinkError(403, "This link is not valid. Copy the whole link from the mail.") from None


def read_moderation_link(token: str) -> tuple[Moderator, Comment, str]:
    """The moderator, comment and action a moderation link names; raises LinkError."""
    data = _loads(_MODERATE_SALT, token)
    if not isinstance(data, dict) or data.get("a") not in MAIL_ACTIONS:
        raise LinkError(403, "This link is not valid.")
    moderator = db.session.get(Moderator, data.get("m")) if isinstance(data.get("m"), int) else None
    if moderator is None or not hmac.compare_digest(
        _moderator_key(moderator), str(data.get("k", ""))
    ):
        raise LinkError(403, "This link belongs to an account that no longer exists.")
    comment = db.session.get(Comment, data.get("c")) if isinstance(data.get("c"), int) else None
    if comment is None:
        raise LinkError(404, "This comment no longer exists.")
    return moderator, comment, str(data["a"])


def address_token(address: Address) -> str:
    """The address's opaque link token: derivable only with the data key, never the address."""
    stamp = address.created.isoformat()
    return privacy.keyed_hash(_ISSUE_PURPOSE, f"{address.email_index}:{stamp}")[:43]


def find_address(token: str) -> Address | None:
    """The address an opaque token stands for, looked up by its keyed hash."""
    if not token or len(token) > 64 or not token.isascii():
        return None
    digest = privacy.keyed_hash(_HASH_PURPOSE, token)
    return db.session.scalar(sa.select(Address).where(Address.token_hash == digest))


def confirmation_link(address: Address) -> str:
    signed = _serializer(_CONFIRM_SALT).dumps(address_token(address))
    return public_url() + CONFIRM_PATH + str(signed)


def read_confirmation_link(token: str) -> Address:
    """The address a (signed, expiring) confirmation link stands for; raises LinkError."""
    inner = _loads(_CONFIRM_SALT, token)
    address = find_address(inner) if isinstance(inner, str) else None
    if address is None:
        raise LinkError(404, "This address is no longer known here.")
    return address


def unsubscribe_link(address: Address) -> str:
    return public_url() + UNSUBSCRIBE_PATH + address_token(address)


def page_link(page: Page, site: Site, comment_id: int | None = None) -> str:
    """The host page's URL when known, else the standalone thread page."""
    if page.url:
        return page.url
    query = urlencode({"site": site.key, "page": page.key})
    return f"{public_url()}/thread?{query}" + (f"#c{comment_id}" if comment_id else "")


# --- mail -----------------------------------------------------------------------------


def excerpt(text: str, limit: int = EXCERPT_MAX) -> str:
    text = (text or "").strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _queue(
    name: str, recipient: str, subject: str, ref: str, headers: dict[str, str], **context: Any
) -> None:
    """Render templates/email/NAME.txt and .html and queue them for one recipient."""
    text = render_template(f"email/{name}.txt", **context)
    html = render_template(f"email/{name}.html", subject=subject, **context)
    outbox.queue_mail(
        recipient=recipient, subject=subject, text=text, html=html, headers=headers, ref=ref
    )


def _page_title(page: Page) -> str:
    return page.title or page.key


def _tell_moderators(comment: Comment, site: Site) -> None:
    moderators = db.session.scalars(
        sa.select(Moderator)
        .join(Role, Role.moderator_id == Moderator.id)
        .where(Role.site_id == site.id)
        .order_by(Moderator.id)
    ).all()
    page = comment.page
    days = max(1, int(setting("PARLEY_MAIL_LINK_MAX_AGE")) // 86400)
    for moderator in moderators:
        links = {action: moderation_link(moderator, comment, action) for action in MAIL_ACTIONS}
        _queue(
            "moderate",
            privacy.encrypt_email(moderator.email),
            f"[{site.name}] Comment awaiting review on {_page_title(page)}",
            f"moderate:{comment.id}:{moderator.id}",
            {},
            site=site,
            page_title=_page_title(page),
            page_url=page_link(page, site),
            author=comment.author or "",
            website=comment.website or "",
            text=excerpt(comment.text),
            reason=comment.pending_reason or "",
            links=links,
            queue_url=public_url() + "/admin/queue?" + urlencode({"site": site.key}),
            days=days,
        )


def _address_for(comment: Comment) -> Address:
    """The address row of a comment's email, created on first sight."""
    query = sa.select(Address).where(Address.email_index == comment.email_index)
    address = db.session.scalar(query)
    if address is not None:
        return address
    address = Address(
        email_index=comment.email_index,
        email_encrypted=comment.email_encrypted,
        created=utcnow(),
    )
    address.token_hash = privacy.keyed_hash(_HASH_PURPOSE, address_token(address))
    try:
        with db.session.begin_nested():
            db.session.add(address)
    except IntegrityError:  # the same address was just added by a concurrent post
        found = db.session.scalar(query)
        if found is None:
            raise
        return found
    return address


def _unsubscribe_headers(address: Address) -> dict[str, str]:
    return {
        "List-Unsubscribe": f"<{unsubscribe_link(address)}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


def _subscribe(comment: Comment, site: Site) -> None:
    """Opt in to replies: an unconfirmed address gets one confirmation mail per interval."""
    address = _address_for(comment)
    if address.confirmed is not None or address.unsubscribed is not None:
        return  # subscribed already, or asked for no mail at all
    since = utcnow() - timedelta(seconds=int(setting("PARLEY_CONFIRM_INTERVAL")))
    ref = f"confirm:{address.id}"
    if outbox.already_queued(ref, since):
        return
    _queue(
        "confirm",
        address.email_encrypted,
        f"[{site.name}] Confirm reply notifications",
        ref,
        _unsubscribe_headers(address),
        site=site,
        page_title=_page_title(comment.page),
        page_url=page_link(comment.page, site),
        confirm_url=confirmation_link(address),
        unsubscribe_url=unsubscribe_link(address),
        days=max(1, int(setting("PARLEY_MAIL_LINK_MAX_AGE")) // 86400),
    )


def _tell_parent_author(comment: Comment, site: Site) -> None:
    """Mail the author of the comment replied to, if they opted in and confirmed."""
    parent = comment.parent
    if parent is None or not parent.notify or not parent.email_index:
        return
    if parent.status != "approved" or comment.email_index == parent.email_index:
        return  # nothing to reply to, or the author answering themself
    address = db.session.scalar(sa.select(Address).where(Address.email_index == parent.email_index))
    if address is None or address.confirmed is None or address.unsubscribed is not None:
        return
    ref = f"reply:{comment.id}"
    if outbox.already_queued(ref):
        return
    page = comment.page
    author = comment.author or "Someone"
    _queue(
        "reply",
        address.email_encrypted,
        f"[{site.name}] {author} replied to your comment on {_page_title(page)}",
        ref,
        _unsubscribe_headers(address),
        site=site,
        page_title=_page_title(page),
        page_url=page_link(page, site, comment.id),
        author=author,
        text=excerpt(comment.text),
        yours=excerpt(parent.text, 300),
        unsubscribe_url=unsubscribe_link(address),
    )


def _call_webhooks(comment: Comment, event: str) -> None:
    hooks = webhooks.active_for(comment.page.site_id)
    if not hooks:
        return
    body = webhooks.payload(comment, event)
    for hook in hooks:
        ref = f"hook:{hook.id}:{event}:{comment.id}"
        if event != "comment.created" and outbox.already_queued(ref):
            continue
        outbox.queue_webhook(hook, body, event=event, ref=ref)
