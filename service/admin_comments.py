"""Admin views: one comment in detail, its text, a moderator's reply, bans from a comment.

Routes on the ``admin`` blueprint of ``admin.py`` (same login, CSRF and framing rules).
Moderators see and act on the comments of the sites they hold a role on (anything else is
a 404). Every change is written to the audit log in the transaction that makes it, and
status changes go through ``comments.set_status`` so counters and review ratings follow.

The audit log names what changed, never an email or a comment's text: an author's
own deletion must leave nothing of theirs behind.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import flash, g, render_template, request
from werkzeug.wrappers import Response as BaseResponse

from . import accounts, bans, comments, moderation, notify, privacy, ratings
from .admin import ActionForm, bp, login_required
from .admin_forms import REASON_MAX, _back, _missing
from .errors import ValidationError
from .extensions import db
from .models import BAN_KINDS, Ban, Comment, Moderator, Page, utcnow
from .sanitize import render_comment
from .validation import MAX_ID, clean_text


def _my_comment(comment_id: int) -> Comment:
    comment = None
    if comment_id <= MAX_ID:
        comment = db.session.scalar(
            sa.select(Comment)
            .join(Page, Page.id == Comment.page_id)
            .where(Comment.id == comment_id, Page.site_id.in_(g.site_ids))
        )
    if comment is None:
        raise _missing()
    return comment


def _email(stored: str | None) -> str | None:
    if not stored:
        return None
    try:
        return privacy.decrypt_email(stored)
    except privacy.DataKeyError:
        return "(cannot decrypt: unknown key)"


# ---- domain: comments ------------------------------------------------------------------


def author_history(comment: Comment, limit: int = 50) -> list[tuple[Comment, str]]:
    """The author's other comments on the same site (same email), newest first, with page keys."""
    if not comment.email_index:
        return []
    rows = db.session.execute(
        sa.select(Comment, Page.key)
        .join(Page, Page.id == Comment.page_id)
        .where(
            Page.site_id == comment.page.site_id,
            Comment.email_index == comment.email_index,
            Comment.id != comment.id,
        )
        .order_by(Comment.created.desc(), Comment.id.desc())
        .limit(limit)
    ).all()
    return [(other, key) for other, key in rows]


def edit_text(moderator: Moderator, comment: Comment, text: str) -> None:
    """Replace a comment's text, sanitised again; raises ValidationError (caller commits)."""
    if comment.author is None:
        raise ValidationError({"text": "Its author deleted this comment; nothing is left to edit."})
    errors: dict[str, str] = {}
    cleaned = clean_text(text, errors)
    if cleaned is None:
        raise ValidationError(errors)
    if cleaned == comment.text:
        return
    before = len(comment.text)
    comment.text, comment.html, comment.edited = cleaned, render_comment(cleaned), utcnow()
    moderation.record(
        moderator,
        comment.page.site_id,
        "edit",
        f"comment {comment.id}",
        f"text changed ({before} -> {len(cleaned)} characters)",
    )


def reply_as_moderator(moderator: Moderator, parent: Comment, text: str) -> Comment:
    """An approved reply in the moderator's name, marked as by a moderator (caller commits)."""
    errors: dict[str, str] = {}
    cleaned = clean_text(text, errors)
    if cleaned is None:
        raise ValidationError(errors)
    if parent.status != "approved":
        raise ValidationError({"text": "Approve the comment first: replies to it are not shown."})
    parent = comments.reply_target(parent)  # the same rule as readers' replies
    reply = Comment(
        page_id=parent.page_id,
        parent_id=parent.id,
        root_id=parent.root_id,
        depth=parent.depth + 1,
        author=moderator.name,
        email_encrypted=privacy.encrypt_email(moderator.email),
        email_index=privacy.email_index(moderator.email),
        avatar=privacy.avatar_id(moderator.email),
        text=cleaned,
        html=render_comment(cleaned),
        status="pending",  # set_status below publishes it and counts it
        by_moderator=True,
    )
    db.session.add(reply)
    db.session.flush()
    comments.set_status(reply, "approved")
    notify.comment_posted(reply)
    moderation.record(
        moderator, parent.page.site_id, "reply", f"comment {parent.id}", f"reply {reply.id}"
    )
    return reply


def existing_bans(comment: Comment) -> list[Ban]:
    """The bans on the comment's site that match its author."""
    values = [("email", comment.email_index), ("visitor", comment.visitor)]
    if comment.remote_addr:
        values.append(("address", bans.address_value(comment.remote_addr)))
    wanted = [sa.and_(Ban.kind == kind, Ban.value == value) for kind, value in values if value]
    if not wanted:
        return []
    return list(
        db.session.scalars(
            sa.select(Ban).where(Ban.site_id == comment.page.site_id, sa.or_(*wanted))
        )
    )


def ban_author(
    moderator: Moderator, comment: Comment, kinds: list[str], *, shadow: bool, reason: str
) -> list[Ban]:
    """Ban a comment's author by the chosen kinds; raises ValidationError (caller commits)."""
    made = bans.from_comment(
        comment, kinds, shadow=shadow, reason=reason[:REASON_MAX], moderator=moderator
    )
    if not made:
        raise ValidationError({"kinds": "Choose what to ban the author by."})
    kind_list = ", ".join(ban.kind for ban in made)
    moderation.record(
        moderator,
        comment.page.site_id,
        "shadow ban" if shadow else "ban",
        f"comment {comment.id}",
        f"by {kind_list}" + (f": {reason[:REASON_MAX]}" if reason else ""),
    )
    return made


# ---- views: one comment ----------------------------------------------------------------


def _render_comment(
    comment: Comment,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
) -> tuple[str, int]:
    site = comment.page.site
    review = ratings.review_rating(comment)
    html = render_template(
        "admin/comment.html",
        c=comment,
        site=site,
        email=_email(comment.email_encrypted),
        history=author_history(comment),
        review=review.value if review else None,
        bans=existing_bans(comment),
        is_owner=accounts.role_on(g.moderator, site) == "owner",
        errors=errors or {},
        values=values or {},
        action_form=ActionForm(),
    )
    return html, status


@bp.get("/comments/<int:comment_id>")
@login_required
def comment_detail(comment_id: int) -> tuple[str, int]:
    return _render_comment(_my_comment(comment_id))


@bp.post("/comments/<int:comment_id>/moderate")
@login_required
def comment_moderate(comment_id: int) -> BaseResponse:
    comment = _my_comment(comment_id)
    action = request.form.get("action", "")
    if action not in moderation.ACTIONS:
        flash("Choose an action.", "error")
    else:
        done = moderation.apply(g.moderator, [comment.id], action, g.site_ids)
        flash(f"Comment {comment.id}: {action}." if done else "Nothing changed.", "info")
    return _back("admin.comment_detail", comment_id=comment.id)


@bp.post("/comments/<int:comment_id>/edit")
@login_required
def comment_edit(comment_id: int) -> BaseResponse | tuple[str, int]:
    comment = _my_comment(comment_id)
    text = request.form.get("text", "")
    try:
        edit_text(g.moderator, comment, text)
    except ValidationError as error:
        db.session.rollback()
        return _render_comment(comment, {"edit": error.fields["text"]}, {"edit": text}, 422)
    db.session.commit()
    flash("The comment's text is saved.", "info")
    return _back("admin.comment_detail", comment_id=comment.id)


@bp.post("/comments/<int:comment_id>/reply")
@login_required
def comment_reply(comment_id: int) -> BaseResponse | tuple[str, int]:
    comment = _my_comment(comment_id)
    text = request.form.get("text", "")
    try:
        reply = reply_as_moderator(g.moderator, comment, text)
    except ValidationError as error:
        db.session.rollback()
        return _render_comment(comment, {"reply": error.fields["text"]}, {"reply": text}, 422)
    db.session.commit()
    flash("Your reply is published.", "info")
    return _back("admin.comment_detail", comment_id=reply.id)


@bp.post("/comments/<int:comment_id>/ban")
@login_required
def comment_ban(comment_id: int) -> BaseResponse | tuple[str, int]:
    comment = _my_comment(comment_id)
    kinds = [kind for kind in request.form.getlist("kinds") if kind in BAN_KINDS]
    shadow = request.form.get("shadow") == "1"
    reason = " ".join(request.form.get("reason", "").split())
    try:
        made = ban_author(g.moderator, comment, kinds, shadow=shadow, reason=reason)
    except ValidationError as error:
        db.session.rollback()
        return _render_comment(comment, {"ban": error.fields["kinds"]}, {"reason": reason}, 422)
    db.session.commit()
    flash(f"Banned {'(shadow) ' if shadow else ''}by {', '.join(b.kind for b in made)}.", "info")
    return _back("admin.comment_detail", comment_id=comment.id)
