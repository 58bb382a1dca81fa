"""A commenter's request, by email address, for a link to their data or to its erasure.

Asking answers the same whether the address is known or not: the request is recorded
either way (its blind index only), and a link is mailed only when something is stored
about the address and its budget allows (``MAILS_PER_HOUR``, ``MAILS_PER_DAY``). The budget
is counted from the recorded requests, so it holds across every worker and host. The mail
is written in the asking person's language, which the web layer passes in (this module
never reads the request), else in the site's.

The link is signed with the signing key (itsdangerous, a salt of its own), expires after
``LINK_MAX_AGE`` and names its request, whose ``used`` time makes it single-use: using it
marks the request in the transaction that exports or erases, by a conditional update, so
two clicks at once cannot both pass.
"""

from __future__ import annotations

import hmac
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app, render_template
from flask_babel import force_locale, gettext
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from service.data import Address, Comment, PrivacyRequest, Site, VisitorProof, utcnow
from service.data.bounds import PRIVACY_KINDS
from service.extensions import db
from service.notify import queue
from service.notify.links import LinkError
from service.notify.mailer import public_url
from service.rules import languages, privacy
from service.rules.errors import ValidationError

LINK_MAX_AGE = 24 * 60 * 60  # seconds a mailed link works
MAILS_PER_HOUR = 1  # links mailed to one address
MAILS_PER_DAY = 5
TOKEN_MAX = 400
PATHS = {"export": "/privacy/export/", "erase": "/privacy/erase/"}
_SALT = "parley.privacy"
_BINDING = "privacy-link"


def _serializer() -> URLSafeTimedSerializer:
    config = current_app.config
    keys = [*(config.get("SECRET_KEY_FALLBACKS") or []), config["SECRET_KEY"]]
    return URLSafeTimedSerializer(keys, salt=_SALT)


def _binding(request: PrivacyRequest) -> str:
    """Ties a link to its request's address: a request id reused (a restored database)
    cannot open another address's data."""
    return privacy.keyed_hash(_BINDING, f"{request.id}:{request.email_index}")[:16]


def link(request: PrivacyRequest) -> str:
    """The absolute, signed, expiring link for a request."""
    token = _serializer().dumps({"r": request.id, "b": _binding(request)})
    return public_url() + PATHS[request.kind] + str(token)


def stored_about(email_index: str) -> bool:
    """Whether anything is stored about the address: a comment, its mail row, a proof."""
    for column in (Comment.email_index, Address.email_index, VisitorProof.email_index):
        if db.session.scalar(sa.select(column).where(column == email_index).limit(1)):
            return True
    return False


def _within_budget(email_index: str) -> bool:
    now = utcnow()
    mailed = list(
        db.session.scalars(
            sa.select(PrivacyRequest.created).where(
                PrivacyRequest.email_index == email_index,
                PrivacyRequest.mailed.is_(True),
                PrivacyRequest.created >= now - timedelta(days=1),
            )
        )
    )
    last_hour = [when for when in mailed if when >= now - timedelta(hours=1)]
    return len(mailed) < MAILS_PER_DAY and len(last_hour) < MAILS_PER_HOUR


def ask(site: Site, email: str, kind: str, language: str | None = None) -> bool:
    """Record a request and mail its link when the address is known and within its budget
    (caller commits, in a write transaction). Returns whether a mail was queued: callers
    must answer the same either way. The mail is in ``language``, the one the asking person
    reads (the web layer chooses it), else the site's."""
    if kind not in PRIVACY_KINDS:
        raise ValidationError({"kind": _l("One of: %(kinds)s.", kinds=", ".join(PRIVACY_KINDS))})
    index = privacy.email_index(email)
    # Serialises requests of a site on PostgreSQL (SQLite's write transaction holds the
    # whole database), so two at once cannot both pass the budget.
    db.session.execute(sa.select(Site.id).where(Site.id == site.id).with_for_update())
    mail = _within_budget(index) and stored_about(index)
    request = PrivacyRequest(
        site_id=site.id, email_index=index, kind=kind, mailed=mail, created=utcnow()
    )
    db.session.add(request)
    db.session.flush()
    if mail:
        _mail(site, email.strip(), request, languages.resolve(language, site.language))
    return mail


def _mail(site: Site, email: str, request: PrivacyRequest, language: str) -> None:
    context: dict[str, Any] = {
        "site": site,
        "url": link(request),
        "hours": LINK_MAX_AGE // 3600,
        "privacy_url": public_url() + "/privacy?site=" + site.key,
    }
    name = f"email/privacy_{request.kind}"
    with force_locale(language):  # subject, text and HTML in the asker's language
        if request.kind == "export":
            subject = gettext("[%(site)s] Your data: download link", site=site.name)
        else:
            subject = gettext("[%(site)s] Confirm erasing your data", site=site.name)
        text = render_template(f"{name}.txt", **context)
        html = render_template(f"{name}.html", subject=subject, **context)
    queue.queue_mail(
        recipient=privacy.encrypt_email(email),
        subject=subject,
        text=text,
        html=html,
        ref=f"privacy:{request.id}",
        site_id=site.id,
    )


def _bad() -> LinkError:
    return LinkError("bad_link", _l("This link is not valid. Copy the whole link from the mail."))


def read(token: str, kind: str) -> PrivacyRequest:
    """The unused request a link names; raises LinkError (forged, expired, used)."""
    if not token or len(token) > TOKEN_MAX or not token.isascii():
        raise _bad()
    try:
        data = _serializer().loads(token, max_age=LINK_MAX_AGE)
    except SignatureExpired:
        raise LinkError("link_expired", _l("This link has expired. Ask for a new one.")) from None
    except BadSignature:
        raise _bad() from None
    ident = data.get("r") if isinstance(data, dict) else None
    request = db.session.get(PrivacyRequest, ident) if isinstance(ident, int) else None
    if request is None or request.kind != kind:
        raise _bad()
    if not hmac.compare_digest(_binding(request), str(data.get("b", ""))):
        raise _bad()
    if request.used is not None:
        raise LinkError("link_used", _l("This link was used already. Ask for a new one."))
    return request


def use(request: PrivacyRequest) -> None:
    """Mark the request used, in the caller's write transaction; LinkError when another
    click used it first (caller commits with the export or erasure)."""
    done = db.session.execute(
        sa.update(PrivacyRequest)
        .where(PrivacyRequest.id == request.id, PrivacyRequest.used.is_(None))
        .values(used=utcnow())
        .execution_options(synchronize_session=False)
    )
    if getattr(done, "rowcount", 0) != 1:
        raise LinkError("link_used", _l("This link was used already. Ask for a new one."))
