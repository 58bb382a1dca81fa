"""One comment in detail: its author's history and bans, and a moderator's actions on it
(moderate, edit its text, reply, ban its author).

Moderators see and act on the comments of the sites they hold a role on (anything else is
a 404). The actions are the domain's (``comments.moderation``, ``comments.bans``), which
audit them.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from flask import flash, g, render_template, request
from flask_babel import gettext as _
from werkzeug.wrappers import Response as BaseResponse

from service.comments import bans, moderation
from service.comments.queue import author_history, email_of
from service.data import Comment, Page
from service.data.bounds import BAN_KINDS, MAX_ID
from service.database import writing
from service.extensions import db
from service.ratings.votes import review_value
from service.rules.errors import ValidationError
from service.sites import accounts
from service.web.admin import bp
from service.web.admin.auth import back, login_required, missing
from service.web.admin.forms import ActionForm
from service.web.i18n import label


def my_comment(comment_id: int) -> Comment:
    """A comment on one of the moderator's sites (404 otherwise)."""
    comment = None
    if comment_id <= MAX_ID:
        comment = db.session.scalar(
            sa.select(Comment)
            .join(Page, Page.id == Comment.page_id)
            .where(Comment.id == comment_id, Page.site_id.in_(g.site_ids))
        )
    if comment is None:
        raise missing()
    return comment


def _render_comment(
    comment: Comment,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
) -> tuple[str, int]:
    site = comment.page.site
    html = render_template(
        "admin/comment.html",
        c=comment,
        site=site,
        email=email_of(comment),
        history=author_history(comment),
        review=review_value(comment),
        bans=bans.of_author(comment),
        is_owner=accounts.role_on(g.moderator, site) == "owner",
        errors=errors or {},
        values=values or {},
        action_form=ActionForm(),
    )
    return html, status


def _act(
    comment: Comment, form: str, values: dict[str, str], change: Callable[[], tuple[int, str]]
) -> BaseResponse | tuple[str, int]:
    """Run one of the comment page's forms.

    ``change`` does the work and returns the comment to show next and what to tell the
    moderator. Refused, the page comes back (422) with the message beside the form and
    what was typed kept; done, the change is committed.
    """
    try:
        with writing():
            shown, message = change()
            db.session.commit()
    except ValidationError as error:
        db.session.rollback()
        return _render_comment(comment, {form: error.first_message()}, values, 422)
    flash(str(message), "info")
    return back("admin.comment_detail", comment_id=shown)


@bp.get("/comments/<int:comment_id>")
@login_required
def comment_detail(comment_id: int) -> tuple[str, int]:
    return _render_comment(my_comment(comment_id))


@bp.post("/comments/<int:comment_id>/moderate")
@login_required
def comment_moderate(comment_id: int) -> BaseResponse:
    comment = my_comment(comment_id)
    action = request.form.get("action", "")
    if action not in moderation.ACTIONS:
        flash(_("Choose an action."), "error")
    else:
        with writing():
            done = moderation.apply(g.moderator, [comment.id], action, g.site_ids)
        what = str(label(action, "action")).lower()
        done_text = _("Comment %(id)s: %(action)s.", id=comment.id, action=what)
        flash(done_text if done else _("Nothing changed."), "info")
    return back("admin.comment_detail", comment_id=comment.id)


@bp.post("/comments/<int:comment_id>/edit")
@login_required
def comment_edit(comment_id: int) -> BaseResponse | tuple[str, int]:
    comment = my_comment(comment_id)
    text = request.form.get("text", "")

    def edit() -> tuple[int, str]:
        moderation.edit_text(g.moderator, comment, text)
        return comment.id, _("The comment's text is saved.")

    return _act(comment, "edit", {"edit": text}, edit)


@bp.post("/comments/<int:comment_id>/reply")
@login_required
def comment_reply(comment_id: int) -> BaseResponse | tuple[str, int]:
    comment = my_comment(comment_id)
    text = request.form.get("text", "")

    def reply() -> tuple[int, str]:
        return moderation.reply_as_moderator(g.moderator, comment, text).id, _(
            "Your reply is published."
        )

    return _act(comment, "reply", {"reply": text}, reply)


@bp.post("/comments/<int:comment_id>/ban")
@login_required
def comment_ban(comment_id: int) -> BaseResponse | tuple[str, int]:
    comment = my_comment(comment_id)
    kinds = [kind for kind in request.form.getlist("kinds") if kind in BAN_KINDS]
    shadow = request.form.get("shadow") == "1"
    reason = " ".join(request.form.get("reason", "").split())

    def ban() -> tuple[int, str]:
        made = bans.ban_author(g.moderator, comment, kinds, shadow=shadow, reason=reason)
        kind_list = ", ".join(str(label(b.kind, "ban")) for b in made)
        if shadow:
            return comment.id, _("Shadow-banned by %(kinds)s.", kinds=kind_list)
        return comment.id, _("Banned by %(kinds)s.", kinds=kind_list)

    return _act(comment, "ban", {"reason": reason}, ban)
