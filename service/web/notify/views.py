"""Pages behind the links in mail: moderate, confirm, unsubscribe.

A GET only shows a page with a button (mail scanners and link previews follow
links); a POST acts. Moderation and confirmation POSTs carry the page's CSRF
token; the unsubscribe POST is also the RFC 8058 one-click request a mail client
sends without cookies, so it is exempt and the token in the path is its proof.
"""

from __future__ import annotations

from flask import Response, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm

from service.comments import moderation
from service.data import utcnow
from service.database import writing
from service.extensions import csrf, db
from service.notify import links
from service.notify.links import LinkError
from service.rules.errors import DomainError
from service.sites import accounts
from service.web.errors import status_of
from service.web.notify import bp

ACTION_LABELS = {"approve": _l("Approve"), "spam": _l("Mark as spam"), "delete": _l("Delete")}
ACTION_QUESTIONS = {
    "approve": _l("Approve this comment?"),
    "spam": _l("Mark this comment as spam?"),
    "delete": _l("Delete this comment?"),
}
DONE_MESSAGES = {
    "approve": _l("The comment is approved and published."),
    "spam": _l("The comment is marked as spam."),
    "delete": _l("The comment is deleted."),
}
HANDLED_MESSAGES = {
    "approved": _l("This comment is approved already; nothing was changed."),
    "spam": _l("This comment is marked as spam already; nothing was changed."),
    "deleted": _l("This comment is deleted already; nothing was changed."),
}

Page = tuple[str, int]


class ButtonForm(FlaskForm):
    """A form with only its CSRF token: the page's one button posts it."""


@bp.after_request
def _link_page_headers(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"  # the token is in the path
    response.headers["X-Robots-Tag"] = "noindex"
    response.headers["X-Frame-Options"] = "DENY"
    return response


def _invalid(error: LinkError) -> Page:
    status = status_of(error.code)
    return render_template("notify/invalid.html", status=status, message=error.message), status


def _done(title: str, message: str, status: int = 200) -> Page:
    return render_template("notify/done.html", title=title, message=message), status


def _csrf_checked(form: FlaskForm) -> None:
    # CSRFProtect has checked the token already; this keeps the check next to the action.
    if not form.validate_on_submit():
        raise DomainError("csrf_failed", _l("The form expired. Open the link again."))


@bp.route("/moderate/<token>", methods=["GET", "POST"])
def moderate(token: str) -> Page:
    """Show a held comment and one action button; the POST applies the action."""
    try:
        moderator, comment, action = links.read_moderation_link(token)
    except LinkError as error:
        return _invalid(error)
    site = comment.page.site
    if accounts.role_on(moderator, site) is None:
        return _invalid(LinkError("bad_link", _("Your account no longer moderates this site.")))
    if comment.status != "pending":
        return _done(
            _("Already handled"),
            str(HANDLED_MESSAGES.get(comment.status, _("Nothing was changed."))),
            409 if request.method == "POST" else 200,
        )
    form = ButtonForm()
    if request.method == "POST":
        _csrf_checked(form)
        with writing():
            changed = moderation.apply(
                moderator, [comment.id], action, accounts.site_ids(moderator)
            )
        if not changed:
            return _done(_("Nothing changed"), _("The comment could not be changed."), 409)
        return _done(str(ACTION_LABELS[action]), str(DONE_MESSAGES[action]))
    return render_template(
        "notify/moderate.html",
        form=form,
        comment=comment,
        site=site,
        page_title=comment.page.title or comment.page.key,
        page_url=links.page_link(comment.page, site),
        action=action,
        label=ACTION_LABELS[action],
        question=ACTION_QUESTIONS[action],
    ), 200


@bp.route("/confirm/<token>", methods=["GET", "POST"])
def confirm(token: str) -> Page:
    """Confirm an address for reply notifications (double opt-in), and that the visitor key
    of the comment that asked for the mail controls it."""
    try:
        address, comment_id = links.read_confirmation_link(token)
    except LinkError as error:
        return _invalid(error)
    form = ButtonForm()
    if request.method == "POST":
        _csrf_checked(form)
        with writing():
            links.confirm(address, comment_id)
            db.session.commit()
        return _done(
            _("Confirmed"),
            _("You will get a mail when someone replies to a comment you asked to be told about."),
        )
    subscribed = address.confirmed is not None and address.unsubscribed is None
    pending = subscribed and links.proves(address, comment_id) is not None
    return render_template(
        "notify/confirm.html", form=form, subscribed=subscribed and not pending
    ), 200


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
@csrf.exempt
def unsubscribe(token: str) -> Page:
    """GET: a page and a button. POST: unsubscribe (one-click) or, on request, subscribe again."""
    address = links.find_address(token)
    if address is None:
        return _invalid(
            LinkError(
                "link_target_gone",
                _("This link is not valid, or the address is not known here."),
            )
        )
    if request.method == "POST":
        with writing():
            if request.form.get("action") == "resubscribe":
                address.unsubscribed = None
                address.confirmed = address.confirmed or utcnow()  # the link came in a mail
            else:
                address.unsubscribed = address.unsubscribed or utcnow()
            db.session.commit()
    html = render_template(
        "notify/unsubscribe.html",
        unsubscribed=address.unsubscribed is not None,
        done=request.method == "POST",
    )
    return html, 200
