"""Admin views, part two: one comment in detail, bans, the word blocklist, site and page settings.

Routes on the ``admin`` blueprint of ``admin.py`` (same login, CSRF and framing rules).
Moderators see and act on the sites they hold a role on (anything else is a 404);
site and page settings are for owners (403). Every change is written to the audit
log in the transaction that makes it, and status changes go through
``comments.set_status`` so counters and review ratings follow.

The audit log names what changed, never an email or a comment's text: an author's
own deletion must leave nothing of theirs behind.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import current_app, flash, g, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse
from wtforms import BooleanField, IntegerField, SelectField, StringField, TextAreaField
from wtforms import ValidationError as FieldError
from wtforms.validators import InputRequired, Length, NumberRange, Regexp

from . import accounts, bans, comments, moderation, notify, privacy, ratings
from .admin import ActionForm, _sites, bp, login_required
from .errors import ApiError, ValidationError
from .extensions import db
from .models import (
    BAN_KINDS,
    SITE_KEY_MAX,
    Ban,
    BlockedWord,
    Comment,
    Moderator,
    Page,
    Site,
    utcnow,
)
from .sanitize import render_comment
from .sites import find_page, get_or_create_page, origin_of
from .validation import MAX_ID, clean_email, clean_http_url, clean_text, clean_title, page_key

POLICIES = {
    "none": "Publish at once",
    "first-time": "Hold first-time authors",
    "links": "Hold comments with many links",
    "all": "Hold every comment",
}
THEMES = {"auto": "Follow the reader's system", "light": "Light", "dark": "Dark"}
# Types with review stars (JSON-LD is emitted) and the common ones without.
SCHEMA_TYPES = tuple(sorted(ratings.JSONLD_TYPES | {"Article", "BlogPosting", "WebPage"}))
WORD_MAX = 100
REASON_MAX = 300
MAX_ORIGINS = 50
PAGE_SIZE = 50


def _missing() -> ApiError:
    return ApiError(404, "not_found", "Nothing was found here.")


def _back(endpoint: str, **values: Any) -> BaseResponse:
    return redirect(url_for(endpoint, **values), code=303)


def _my_site(key: str, *, owner: bool = False) -> Site:
    """A site the moderator holds a role on (404 otherwise); owners only if asked (403)."""
    site = db.session.scalar(
        sa.select(Site).where(Site.key == key[:SITE_KEY_MAX], Site.id.in_(g.site_ids))
    )
    if site is None:
        raise _missing()
    if owner and accounts.role_on(g.moderator, site) != "owner":
        raise ApiError(403, "forbidden", "Only the site's owners can change its settings.")
    return site


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
    max_depth = current_app.config["PARLEY_MAX_DEPTH"]
    while parent.depth >= max_depth and parent.parent is not None:
        parent = parent.parent  # the same rule as readers' replies
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


# ---- domain: bans and the blocklist ------------------------------------------------------


def ban_email(moderator: Moderator, site: Site, email: str, *, shadow: bool, reason: str) -> Ban:
    """Ban a typed email address (stored as its blind index); raises ValidationError."""
    errors: dict[str, str] = {}
    address = clean_email(email, errors)
    if address is None:
        raise ValidationError(errors)
    ban = bans.add(
        site,
        "email",
        privacy.email_index(address),
        label=address,
        shadow=shadow,
        reason=reason[:REASON_MAX],
        moderator=moderator,
    )
    db.session.flush()
    moderation.record(
        moderator, site.id, "shadow ban" if shadow else "ban", f"ban {ban.id}", "by email"
    )
    return ban


def remove_ban(moderator: Moderator, ban: Ban) -> None:
    moderation.record(moderator, ban.site_id, "unban", f"ban {ban.id}", f"by {ban.kind}")
    db.session.delete(ban)


def clean_word(value: str) -> str:
    """A blocked word or phrase: spaces collapsed, 1..100 characters; raises ValueError."""
    word = " ".join(value.split())
    if not 1 <= len(word) <= WORD_MAX:
        raise ValueError(f"Give a word or phrase of 1 to {WORD_MAX} characters.")
    if not word.isprintable():
        raise ValueError("The word contains control characters.")
    return word


def block_word(moderator: Moderator, site: Site, value: str) -> BlockedWord:
    """Add a word to a site's blocklist, unique in any case; raises ValueError."""
    word = clean_word(value)
    existing = db.session.scalars(sa.select(BlockedWord.word).where(BlockedWord.site_id == site.id))
    if any(other.casefold() == word.casefold() for other in existing):
        raise ValueError(f"{word!r} is on the list already.")
    entry = BlockedWord(site_id=site.id, word=word)
    db.session.add(entry)
    moderation.record(moderator, site.id, "block word", f"site {site.key}", word)
    return entry


def unblock_word(moderator: Moderator, entry: BlockedWord, site: Site) -> None:
    moderation.record(moderator, site.id, "unblock word", f"site {site.key}", entry.word)
    db.session.delete(entry)


# ---- domain: site and page settings ---------------------------------------------------------


def parse_origins(text: str) -> list[str]:
    """Allowed origins, one per line, each scheme://host[:port]; raises ValueError."""
    origins: list[str] = []
    for line in text.splitlines():
        value = line.strip().rstrip("/")
        if not value:
            continue
        url = clean_http_url(value, 2048)
        if url is None or origin_of(url) != value.lower():
            raise ValueError(
                f"{value[:80]!r} is not an origin: give http:// or https://, the host and "
                "at most a port, like https://example.org"
            )
        origins.append(origin_of(url))
    if len(origins) > MAX_ORIGINS:
        raise ValueError(f"At most {MAX_ORIGINS} origins.")
    return list(dict.fromkeys(origins))


@dataclass(frozen=True)
class SiteSettings:
    name: str
    origins: list[str]
    moderation: str
    link_limit: int
    rating_scale: int
    rescale: bool
    edit_window_minutes: int
    language: str
    theme: str
    notify_moderators: bool


def save_site(moderator: Moderator, site: Site, new: SiteSettings) -> list[str]:
    """Apply settings; returns the changed fields. ValueError from the scale (caller commits)."""
    changes: list[str] = []
    if new.rating_scale != site.rating_scale:
        before = site.rating_scale
        ratings.set_scale(site, new.rating_scale, rescale=new.rescale)
        changes.append(f"rating_scale: {before} -> {new.rating_scale}")
    minutes = new.edit_window_minutes
    values: dict[str, Any] = {
        "name": new.name,
        "origins": sorted(set(new.origins)),
        "moderation": new.moderation,
        "link_limit": new.link_limit,
        # Seconds set from the CLI survive a save that leaves the minutes alone.
        "edit_window": site.edit_window if minutes == site.edit_window // 60 else minutes * 60,
        "language": new.language,
        "theme": new.theme,
        "notify_moderators": new.notify_moderators,
    }
    for name, value in values.items():
        before = getattr(site, name)
        if before != value:
            setattr(site, name, value)
            changes.append(f"{name}: {before} -> {value}")
    if changes:
        moderation.record(
            moderator, site.id, "site settings", f"site {site.key}", "; ".join(changes)
        )
    return changes


def save_page(moderator: Moderator, page: Page, values: dict[str, Any]) -> list[str]:
    """Set a page's title, URL, type and closed flags; returns the changed fields."""
    changes = []
    for name, value in values.items():
        before = getattr(page, name)
        if before != value:
            setattr(page, name, value)
            changes.append(f"{name}: {before} -> {value}")
    if changes:
        moderation.record(
            moderator, page.site_id, "page settings", f"page {page.key}", "; ".join(changes)
        )
    return changes


def clean_score(form: dict[str, str]) -> tuple[str, float, int, str | None, dict[str, str]]:
    """An editorial score row from form text: label, score, scale, URL, and errors."""
    errors: dict[str, str] = {}
    label = " ".join(form.get("label", "").split())
    if not 1 <= len(label) <= 80:
        errors["label"] = "Give a label of 1 to 80 characters."
    scale = int(form["scale"]) if form.get("scale") in ("5", "10", "100") else 0
    if not scale:
        errors["scale"] = "The scale is 5, 10 or 100."
    score = -1.0
    try:
        score = round(float(form.get("score", "").strip().replace(",", ".")), 1)
    except ValueError:
        pass
    if not 0 <= score <= (scale or 100):
        errors["score"] = f"A number from 0 to {scale or 'the scale'}."
    url = form.get("url", "").strip() or None
    if url is not None and clean_http_url(url, 2048) is None:
        errors["url"] = "An address starting with http:// or https://."
    return label, score, scale, url, errors


def save_score(moderator: Moderator, page: Page, original: str, form: dict[str, str]) -> None:
    """Add a score, or change the one labelled ``original``; raises ValidationError."""
    label, score, scale, url, errors = clean_score(form)
    taken = {item.label for item in page.editorial if item.label != original}
    if not errors and label in taken:
        errors["label"] = "Another score has this label."
    if errors:
        raise ValidationError(errors)
    row = next((item for item in page.editorial if item.label == original), None)
    if original and row is None:
        raise _missing()
    if row is not None:
        row.label = label
    ratings.set_editorial(page, label, score, scale, url)
    moderation.record(
        moderator,
        page.site_id,
        "editorial score",
        f"page {page.key}",
        f"{label}: {score:g}/{scale}",
    )


def remove_score(moderator: Moderator, page: Page, label: str) -> None:
    kept = [item for item in page.editorial if item.label != label]
    if len(kept) == len(page.editorial):
        raise _missing()
    page.editorial = kept
    moderation.record(moderator, page.site_id, "remove score", f"page {page.key}", label)


def pages_of(site: Site, search: str, offset: int) -> tuple[list[Page], bool]:
    query = sa.select(Page).where(Page.site_id == site.id)
    if search:
        query = query.where(Page.key.like(moderation._literal(search), escape="\\"))
    found = list(
        db.session.scalars(
            query.order_by(Page.created.desc(), Page.id.desc()).offset(offset).limit(PAGE_SIZE + 1)
        )
    )
    return found[:PAGE_SIZE], len(found) > PAGE_SIZE


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


# ---- views: bans and blocklist ------------------------------------------------------------


def _render_bans(
    errors: dict[str, str] | None = None, values: dict[str, Any] | None = None, status: int = 200
) -> tuple[str, int]:
    found = bans.for_site(g.site_ids)
    who_ids = {ban.moderator_id for ban in found if ban.moderator_id}
    who = {
        m.id: m for m in db.session.scalars(sa.select(Moderator).where(Moderator.id.in_(who_ids)))
    }
    site_list = _sites()
    html = render_template(
        "admin/bans.html",
        bans=found,
        who=who,
        sites=site_list,
        site_keys={site.id: site.key for site in site_list},
        errors=errors or {},
        values=values or {},
        action_form=ActionForm(),
    )
    return html, status


@bp.get("/bans")
@login_required
def ban_list() -> tuple[str, int]:
    return _render_bans()


@bp.post("/bans")
@login_required
def ban_add() -> BaseResponse | tuple[str, int]:
    site = _my_site(request.form.get("site", ""))
    email = request.form.get("email", "")
    shadow = request.form.get("shadow") == "1"
    reason = " ".join(request.form.get("reason", "").split())
    try:
        ban_email(g.moderator, site, email, shadow=shadow, reason=reason)
    except ValidationError as error:
        db.session.rollback()
        values = {"site": site.key, "email": email, "shadow": shadow, "reason": reason}
        return _render_bans(error.fields, values, 422)
    db.session.commit()
    flash(f"Banned on {site.key} by email.", "info")
    return _back("admin.ban_list")


@bp.post("/bans/<int:ban_id>/remove")
@login_required
def ban_remove(ban_id: int) -> BaseResponse:
    ban = db.session.get(Ban, ban_id) if ban_id <= MAX_ID else None
    if ban is None or ban.site_id not in g.site_ids:
        raise _missing()
    remove_ban(g.moderator, ban)
    db.session.commit()
    flash("The ban is removed.", "info")
    return _back("admin.ban_list")


def _render_blocklist(error: tuple[str, str] | None = None, status: int = 200) -> tuple[str, int]:
    sites = _sites()
    words: dict[int, list[BlockedWord]] = {site.id: [] for site in sites}
    for entry in db.session.scalars(
        sa.select(BlockedWord).where(BlockedWord.site_id.in_(g.site_ids)).order_by(BlockedWord.word)
    ):
        words[entry.site_id].append(entry)
    html = render_template(
        "admin/blocklist.html", sites=sites, words=words, error=error, action_form=ActionForm()
    )
    return html, status


@bp.get("/blocklist")
@login_required
def blocklist() -> tuple[str, int]:
    return _render_blocklist()


@bp.post("/blocklist")
@login_required
def word_add() -> BaseResponse | tuple[str, int]:
    site = _my_site(request.form.get("site", ""))
    try:
        entry = block_word(g.moderator, site, request.form.get("word", ""))
    except ValueError as error:
        db.session.rollback()
        return _render_blocklist((site.key, str(error)), 422)
    db.session.commit()
    flash(f"Comments with {entry.word!r} now wait for review on {site.key}.", "info")
    return _back("admin.blocklist")


@bp.post("/blocklist/<int:word_id>/remove")
@login_required
def word_remove(word_id: int) -> BaseResponse:
    entry = db.session.get(BlockedWord, word_id) if word_id <= MAX_ID else None
    if entry is None or entry.site_id not in g.site_ids:
        raise _missing()
    site = db.session.get(Site, entry.site_id)
    assert site is not None
    unblock_word(g.moderator, entry, site)
    db.session.commit()
    flash(f"{entry.word!r} is off the list.", "info")
    return _back("admin.blocklist")


# ---- views: site settings -------------------------------------------------------------------


def _squash(value: str | None) -> str:
    return " ".join((value or "").split())


class SiteForm(ActionForm):
    name = StringField(
        "Name", [InputRequired("Give the site a name."), Length(max=200)], filters=[_squash]
    )
    origins = TextAreaField(
        "Allowed origins",
        description="One per line, like https://example.org: the pages that may embed the "
        "widgets and post to them.",
    )
    moderation = SelectField("Moderation", choices=POLICIES)
    link_limit = IntegerField(
        "Link limit",
        [InputRequired("Give a number."), NumberRange(0, 50)],
        description="Under “Hold comments with many links”: more links than this wait.",
    )
    rating_scale = SelectField("Rating scale", choices={"5": "1 to 5", "10": "1 to 10"})
    rescale = BooleanField(
        "Rescale existing votes",
        description="Needed to change the scale once there are votes: each vote is converted.",
    )
    edit_window = IntegerField(
        "Edit window (minutes)",
        [InputRequired("Give a number of minutes."), NumberRange(0, 7 * 24 * 60)],
        description="How long authors may edit or delete their comments.",
    )
    language = StringField(
        "Language",
        [
            InputRequired("Give a language tag, like en or pt-BR."),
            Regexp(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8}){0,3}$", message="A tag like en or pt-BR."),
            Length(max=16),
        ],
        filters=[lambda v: (v or "").strip()],
    )
    theme = SelectField("Theme", choices=THEMES)
    notify_moderators = BooleanField("Email moderators about new comments")

    def validate_origins(self, field: TextAreaField) -> None:
        try:
            parse_origins(field.data or "")
        except ValueError as error:
            raise FieldError(str(error)) from None


@bp.get("/sites")
@login_required
def site_list() -> str:
    sites = _sites()
    roles = {site.id: accounts.role_on(g.moderator, site) for site in sites}
    return render_template("admin/sites.html", sites=sites, roles=roles)


@bp.route("/sites/<key>", methods=["GET", "POST"])
@login_required
def site_settings(key: str) -> BaseResponse | tuple[str, int]:
    site = _my_site(key, owner=True)
    if request.method == "GET":
        form = SiteForm(
            data={
                "name": site.name,
                "origins": "\n".join(site.origins),
                "moderation": site.moderation,
                "link_limit": site.link_limit,
                "rating_scale": str(site.rating_scale),
                "edit_window": site.edit_window // 60,
                "language": site.language,
                "theme": site.theme,
                "notify_moderators": site.notify_moderators,
            }
        )
        return render_template("admin/site.html", site=site, form=form), 200
    form = SiteForm()
    if form.validate():
        settings = SiteSettings(
            name=form.name.data,
            origins=parse_origins(form.origins.data or ""),
            moderation=form.moderation.data,
            link_limit=form.link_limit.data,
            rating_scale=int(form.rating_scale.data),
            rescale=form.rescale.data,
            edit_window_minutes=form.edit_window.data,
            language=form.language.data,
            theme=form.theme.data,
            notify_moderators=form.notify_moderators.data,
        )
        try:
            changes = save_site(g.moderator, site, settings)
        except ValueError as error:
            db.session.rollback()
            form.rating_scale.errors = [str(error)]
        else:
            db.session.commit()
            flash("Settings saved." if changes else "Nothing changed.", "info")
            return _back("admin.site_settings", key=site.key)
    return render_template("admin/site.html", site=site, form=form), 422


# ---- views: pages ---------------------------------------------------------------------------


class PageForm(ActionForm):
    title = StringField("Title", [Length(max=200)])
    url = StringField("Address (URL)", description="The page's public address, http(s).")
    schema_type = SelectField(
        "schema.org type",
        default="",
        description="Review stars (JSON-LD) appear only for types that search engines accept; "
        "never for Article, BlogPosting or WebPage.",
    )
    comments_closed = BooleanField("Close comments")
    ratings_closed = BooleanField("Close ratings")

    def validate_url(self, field: StringField) -> None:
        if (field.data or "").strip() and clean_http_url(field.data, 2048) is None:
            raise FieldError("An address starting with http:// or https://.")


def _page_form(page: Page, *, submitted: bool) -> PageForm:
    """The page form: the submitted values, or the page's own; its type choices."""
    form = PageForm() if submitted else PageForm(None, obj=page, schema_type=page.schema_type or "")
    types = list(SCHEMA_TYPES)
    if page.schema_type and page.schema_type not in types:
        types.append(page.schema_type)  # set from the CLI: keep it choosable
    form.schema_type.choices = {"": "None"} | {
        t: t if t in ratings.JSONLD_TYPES else f"{t} (no review stars)" for t in types
    }
    return form


def _render_page(
    site: Site, page: Page, form: PageForm, status: int = 200, score: dict[str, Any] | None = None
) -> tuple[str, int]:
    html = render_template(
        "admin/page.html",
        site=site,
        page=page,
        form=form,
        average=ratings.average(page),
        score=score or {},
        scales=ratings.EDITORIAL_SCALES,
        action_form=ActionForm(),
    )
    return html, status


@bp.route("/sites/<key>/pages", methods=["GET", "POST"])
@login_required
def pages(key: str) -> BaseResponse | tuple[str, int]:
    site = _my_site(key, owner=True)
    if request.args.get("page") is None:
        if request.method == "POST":
            raise _missing()
        search = request.args.get("q", "").strip()[:200]
        offset = request.args.get("offset", "0")
        start = int(offset) if offset.isdigit() and len(offset) < 7 else 0
        found, more = pages_of(site, search, start)
        html = render_template(
            "admin/pages.html",
            site=site,
            pages=found,
            more=more,
            offset=start,
            search=search,
            average=ratings.average,
            action_form=ActionForm(),
        )
        return html, 200
    page = find_page(site, page_key(request.args.get("page")))
    if page is None:
        raise _missing()
    if request.method == "GET":
        return _render_page(site, page, _page_form(page, submitted=False))
    form = _page_form(page, submitted=True)
    if not form.validate():
        return _render_page(site, page, form, 422)
    changes = save_page(
        g.moderator,
        page,
        {
            "title": clean_title(form.title.data or ""),
            "url": (form.url.data or "").strip() or None,
            "schema_type": form.schema_type.data or None,
            "comments_closed": form.comments_closed.data,
            "ratings_closed": form.ratings_closed.data,
        },
    )
    db.session.commit()
    flash("Page settings saved." if changes else "Nothing changed.", "info")
    return _back("admin.pages", key=site.key, page=page.key)


@bp.post("/sites/<key>/pages/new")
@login_required
def page_new(key: str) -> BaseResponse:
    """Set up a page nobody has commented on yet (to give it scores or a type first)."""
    site = _my_site(key, owner=True)
    new_key = page_key(request.form.get("page"))
    page = find_page(site, new_key)
    if page is None:
        page = get_or_create_page(site, new_key, title=None, url=None, service_origin="")
        moderation.record(g.moderator, site.id, "create page", f"page {new_key}")
        db.session.commit()
    return _back("admin.pages", key=site.key, page=page.key)


@bp.post("/sites/<key>/pages/scores")
@login_required
def page_scores(key: str) -> BaseResponse | tuple[str, int]:
    site = _my_site(key, owner=True)
    page = find_page(site, page_key(request.args.get("page")))
    if page is None:
        raise _missing()
    original = request.form.get("original", "")
    if request.form.get("action") == "remove":
        remove_score(g.moderator, page, original)
        db.session.commit()
        flash(f"Score {original!r} removed.", "info")
        return _back("admin.pages", key=site.key, page=page.key)
    values = {name: request.form.get(name, "") for name in ("label", "score", "scale", "url")}
    try:
        save_score(g.moderator, page, original, values)
    except ValidationError as error:
        db.session.rollback()
        form = _page_form(page, submitted=False)
        score = {"original": original, "values": values, "errors": error.fields}
        return _render_page(site, page, form, 422, score)
    db.session.commit()
    flash(f"Score {values['label'].strip()!r} saved.", "info")
    return _back("admin.pages", key=site.key, page=page.key)
