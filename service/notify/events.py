"""Notifications for new comments: mail to moderators and subscribers, webhooks.

Everything is queued in the outbox inside the caller's transaction (in a
savepoint: a failure here is logged and never fails the post) and sent after
the commit by a worker, so a post never waits for or fails on mail.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from functools import partial
from typing import Any
from urllib.parse import urlencode

import sqlalchemy as sa
from flask import render_template
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import DBAPIError, IntegrityError

from service.data import Address, Comment, Moderator, Page, Role, Site, utcnow
from service.extensions import db
from service.notify import links, queue, webhooks
from service.notify.mailer import public_url, setting
from service.rules import languages, privacy

log = logging.getLogger(__name__)

EXCERPT_MAX = 2000


def comment_posted(
    comment: Comment, *, confirm_now: bool = False, language: str | None = None
) -> None:
    """Queue the mail and webhook calls a new comment causes (caller commits).

    ``confirm_now``: the comment is held only because its author is not trusted yet; if it
    asked for reply mail with a visitor key, the confirmation mail goes at once, so the
    author can prove the address is theirs (``links.confirm``) without waiting, in the
    poster's ``language`` (their request's), else the site's.

    Most comments cause nothing: ``_may_queue`` says so from the comment, the site and one
    small read, and then no savepoint is opened.
    """
    try:
        if not _may_queue(comment, confirm_now):
            return
    except DBAPIError as error:
        if error.connection_invalidated:
            raise
        log.exception("notifications for comment %s could not be queued", comment.id)
        return
    except Exception:  # as in _safely: a notification must never cost the post
        log.exception("notifications for comment %s could not be queued", comment.id)
        return
    _safely(partial(_posted, confirm_now=confirm_now, language=language), comment)


def _may_queue(comment: Comment, confirm_now: bool) -> bool:
    """Whether ``_posted`` may queue anything; False only when it surely queues nothing.

    Whether the site has an active webhook is kept by each process while the site's
    version holds. When this process does not know it yet, it is read here, outside a
    savepoint, only on SQLite, where a failed read leaves the transaction as it was (the
    errors that end an SQLite transaction end it savepoint or not). PostgreSQL aborts the
    transaction on any failed statement, so there the read runs inside ``_safely``'s
    savepoint (which then keeps the answer for the next post).
    """
    site = comment.page.site
    if comment.status == "pending":
        if site.notify_moderators:
            return True
        if confirm_now and comment.visitor and _opted_in(comment):
            return True
    elif comment.status == "approved" and (_opted_in(comment) or comment.parent_id is not None):
        return True
    if db.session.get_bind().dialect.name != "sqlite":
        return webhooks.kept_any_active(site) is not False
    return webhooks.any_active(site)


def comment_published(comment: Comment) -> None:
    """Queue what publishing a held comment causes: reply mail, webhooks (caller commits).

    Call it whenever a comment becomes approved; repeated calls notify once.
    """
    _safely(_published, comment)


def _safely(action: Callable[[Comment], None], comment: Comment) -> None:
    try:
        with db.session.begin_nested():
            action(comment)
    except DBAPIError as error:
        if error.connection_invalidated:
            raise  # the database is gone: the whole post fails (503), not just its mail
        log.exception("notifications for comment %s could not be queued", comment.id)
    except Exception:  # a notification must never cost the post or the moderation
        log.exception("notifications for comment %s could not be queued", comment.id)


def _posted(comment: Comment, confirm_now: bool = False, language: str | None = None) -> None:
    site = comment.page.site
    _call_webhooks(comment)
    if comment.status == "pending" and site.notify_moderators:
        _tell_moderators(comment, site)
    if comment.status == "pending" and confirm_now and comment.visitor and _opted_in(comment):
        _subscribe(comment, site, language)
    if comment.status == "approved":
        _on_publish(comment, site)


def _published(comment: Comment) -> None:
    if comment.status == "approved":
        _on_publish(comment, comment.page.site)
        _call_webhooks(comment, published=True)


def _on_publish(comment: Comment, site: Site) -> None:
    """Mail that waits until a comment is public: its author's opt-in, the replied-to author.

    A held comment's opt-in waits too, so spam cannot make the service mail anyone.
    """
    if _opted_in(comment):
        _subscribe(comment, site)
    _tell_parent_author(comment, site)


def _opted_in(comment: Comment) -> bool:
    return bool(comment.notify and comment.email_index and comment.email_encrypted)


# --- mail -----------------------------------------------------------------------------


def excerpt(text: str, limit: int = EXCERPT_MAX) -> str:
    """The comment's plain text for a mail, cut at ``limit`` characters."""
    text = (text or "").strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _queue(
    name: str, recipient: str, subject: Any, ref: str, headers: dict[str, str], **context: Any
) -> None:
    """Render templates/email/NAME.txt and .html and queue them for one recipient, in
    ``language`` (the request's that causes it), else the site's, the lazy ``subject`` too."""
    with force_locale(languages.resolve(context.pop("language", None), context["site"].language)):
        subject = str(subject)
        text = render_template(f"email/{name}.txt", **context)
        html = render_template(f"email/{name}.html", subject=subject, **context)
    mail: dict[str, Any] = {"subject": subject, "text": text, "html": html, "headers": headers}
    queue.queue_mail(recipient=recipient, ref=ref, site_id=context["site"].id, **mail)


def _page_title(page: Page) -> str:
    return page.title or page.key


def _tell_moderators(comment: Comment, site: Site) -> None:
    """Mail every account with a role on the site: the held comment and its action links."""
    moderators = db.session.scalars(
        sa.select(Moderator)
        .join(Role, Role.moderator_id == Moderator.id)
        .where(Role.site_id == site.id)
        .order_by(Moderator.id)
    ).all()
    page = comment.page
    title = _page_title(page)
    days = max(1, int(setting("PARLEY_MAIL_LINK_MAX_AGE")) // 86400)
    for moderator in moderators:
        actions = {
            action: links.moderation_link(moderator, comment, action)
            for action in links.MAIL_ACTIONS
        }
        _queue(
            "moderate",
            privacy.encrypt_email(moderator.email),
            _l("[%(site)s] Comment awaiting review on %(page)s", site=site.name, page=title),
            f"moderate:{comment.id}:{moderator.id}",
            {},
            site=site,
            page_title=_page_title(page),
            page_url=links.page_link(page, site),
            author=comment.author or "",
            website=comment.website or "",
            text=excerpt(comment.text),
            reason=comment.pending_reason or "",
            links=actions,
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
    links.link_token(address)
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
        "List-Unsubscribe": f"<{links.unsubscribe_link(address)}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


def _subscribe(comment: Comment, site: Site, language: str | None = None) -> None:
    """Opt in to replies: an address gets one confirmation mail per interval while it is
    unconfirmed, or while the comment's visitor key has not proven it controls it (the
    link in the mail proves it: ``links.confirm``)."""
    address = _address_for(comment)
    if address.unsubscribed is not None:
        return  # asked for no mail at all
    if address.confirmed is not None and links.proves(address, comment.id) is None:
        return  # subscribed already, and nothing left to prove
    since = utcnow() - timedelta(seconds=int(setting("PARLEY_CONFIRM_INTERVAL")))
    ref = f"confirm:{address.id}"
    if queue.already_queued(ref, since):
        return
    _queue(
        "confirm",
        address.email_encrypted,
        _l("[%(site)s] Confirm reply notifications", site=site.name),
        ref,
        _unsubscribe_headers(address),
        site=site,
        page_title=_page_title(comment.page),
        page_url=links.page_link(comment.page, site),
        confirm_url=links.confirmation_link(address, comment),
        unsubscribe_url=links.unsubscribe_link(address),
        days=max(1, int(setting("PARLEY_MAIL_LINK_MAX_AGE")) // 86400),
        language=language,
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
    if queue.already_queued(ref):
        return
    page = comment.page
    author = comment.author or _l("Someone")
    names = {"site": site.name, "author": author, "page": _page_title(page)}
    _queue(
        "reply",
        address.email_encrypted,
        _l("[%(site)s] %(author)s replied to your comment on %(page)s", **names),
        ref,
        _unsubscribe_headers(address),
        site=site,
        page_title=_page_title(page),
        page_url=links.page_link(page, site, comment.id),
        author=author,
        text=excerpt(comment.text),
        yours=excerpt(parent.text, 300),
        unsubscribe_url=links.unsubscribe_link(address),
    )


def _call_webhooks(comment: Comment, published: bool = False) -> None:
    """One call per active webhook of the site and event, never twice for the same event.

    Publishing sends comment.approved to a hook that was told about the comment
    before, else comment.created (a moderator's reply, a hook added meanwhile).
    """
    for hook in webhooks.active_for(comment.page.site):
        created = f"hook:{hook.id}:comment.created:{comment.id}"
        told = queue.already_queued(created)
        event = "comment.approved" if published and told else "comment.created"
        ref = f"hook:{hook.id}:{event}:{comment.id}"
        if told if event == "comment.created" else queue.already_queued(ref):
            continue
        queue.queue_webhook(hook, webhooks.payload(comment, event), event=event, ref=ref)
