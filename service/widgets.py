"""Public HTML: the thread fragment, the standalone page, avatars, the demo page."""

from __future__ import annotations

import zlib

import sqlalchemy as sa
from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from sqlalchemy.exc import OperationalError
from werkzeug.wrappers import Response as BaseResponse

from . import comments, privacy, ratings, spam, threads, validation, visitors
from .demo import DEMO_PAGE
from .embedding import allowed_origins, frame_ancestors, service_origin
from .errors import ApiError
from .extensions import db, limiter
from .forms import CommentForm
from .headers import page_csp
from .models import Page, Site
from .sites import find_page, get_or_create_page, get_site

bp = Blueprint("widgets", __name__)

FRAGMENT_MAX_AGE = 30
THREAD_PAGE = 100


def _thread_context(site: Site, key: str) -> dict[str, object]:
    """A page of the thread: the first, or the one ``cursor`` names, or one comment's replies.

    ``parent`` and ``cursor`` come from the "more replies" and "more comments"
    links, which work with and without JavaScript.
    """
    page = find_page(site, key)
    parent = validation.query_int("parent", request.args.get("parent"), 0, 0, validation.MAX_ID)
    cursor = request.args.get("cursor") or None
    thread = threads.read_thread(page, limit=THREAD_PAGE, cursor=cursor, parent_id=parent or None)
    return {
        "site": site,
        "page_key": key,
        "page": threads.public_page(page, key),
        "comments": [threads.public_comment(n) for n in thread.nodes],
        "next_cursor": thread.next_cursor,
        "parent_id": parent or None,
        "continued": bool(cursor or parent),
    }


def _rating_context(site: Site, key: str, visitor: str | None = None) -> dict[str, object]:
    page = find_page(site, key)
    return {
        "summary": ratings.summary(site, page, visitor),
        "jsonld": ratings.jsonld(site, page),
    }


def _cookie_visitor() -> str | None:
    """The standalone page's visitor, from its first-party cookie (None if absent or bad)."""
    try:
        return visitors.optional_visitor_hash(request.cookies.get(visitors.COOKIE))
    except ApiError:
        return None


@bp.app_template_filter("star_id")
def star_id(value: str) -> str:
    """A short id that keeps two score boxes on one page from sharing input ids."""
    return format(zlib.crc32(value.encode()), "08x")


def safe_return(value: str | None) -> str | None:
    """A same-origin path to go back to after a form, or None (never another host)."""
    if not value or len(value) > 512 or not value.startswith("/"):
        return None
    if value.startswith(("//", "/\\")) or any(ord(ch) < 32 or ch == "\\" for ch in value):
        return None
    return value


def _site_and_page() -> tuple[Site, str]:
    site = get_site(validation.site_key(request.args.get("site")))
    return site, validation.page_key(request.args.get("page"))


@bp.get("/widget/comments")
def comments_fragment() -> Response:
    """The public thread fragment: the same for every visitor, so cacheable."""
    site, key = _site_and_page()
    context = _thread_context(site, key)
    # part=1: only the comments of a later page, for the loader to append.
    template = "widget/_more.html" if request.args.get("part") == "1" else "widget/comments.html"
    html = render_template(template, **context)
    response = Response(html, mimetype="text/html")
    response.headers["Cache-Control"] = f"public, max-age={FRAGMENT_MAX_AGE}"
    return response


@bp.get("/widget/rating")
def rating_fragment() -> Response:
    """The public score box: the same for every visitor; their own vote comes as JSON."""
    site, key = _site_and_page()
    html = render_template(
        "widget/rating.html",
        site=site,
        page_key=key,
        rate_action=None,
        csrf_token_value=None,
        **_rating_context(site, key),
    )
    response = Response(html, mimetype="text/html")
    response.headers["Cache-Control"] = f"public, max-age={FRAGMENT_MAX_AGE}"
    return response


@bp.post("/thread/rate")
@limiter.limit(lambda: str(current_app.config["PARLEY_VISITOR_LIMIT"]), scope="thread-rate")
def thread_rate() -> BaseResponse:
    """The no-JS rating form: the visitor key lives in a first-party cookie."""
    site, key = _site_and_page()
    raw_key = request.cookies.get(visitors.COOKIE)
    visitor = _cookie_visitor()
    if visitor is None:
        raw_key = visitors.issue_key()
        visitor = visitors.visitor_hash(raw_key)
    back = safe_return(request.form.get("return_to"))
    target = (back or url_for(".thread_page", site=site.key, page=key)).split("#")[0] + "#rating"
    try:
        if request.form.get("action") == "retract":
            page = find_page(site, key)
            if page is not None:
                ratings.retract(page, visitor)
            flash("Your rating was removed.", "rating")
        else:
            value = request.form.get("value", "")
            number = int(value) if value.isascii() and value.isdigit() and len(value) < 3 else 0
            ratings.clean_value(number, site.rating_scale)
            page = get_or_create_page(
                site, key, title=None, url=None, service_origin=service_origin()
            )
            ratings.vote(page, visitor, number, address=privacy.stored_address())
            flash("Thank you for rating.", "rating")
    except ApiError as error:
        db.session.rollback()
        message = next(iter(error.fields.values()), error.message)
        flash(message, "rating-error")
    response = redirect(target, code=303)
    response.set_cookie(
        visitors.COOKIE,
        raw_key or "",
        max_age=400 * 24 * 3600,
        httponly=True,
        samesite="Lax",
        secure=current_app.config["PARLEY_ENV"] == "production",
    )
    return response


@bp.route("/thread", methods=["GET", "POST"])
@spam.post_rate_limit
@spam.page_rate_limit
def thread_page() -> BaseResponse:
    """The standalone page: the thread and a plain form, post/redirect/get."""
    site, key = _site_and_page()
    form = CommentForm()
    status = 200
    if form.validate_on_submit():
        try:
            data = validation.comment_input(form.as_input())
            spam.check_form(data.form_token, data.hp)
            posted = comments.post_comment(
                site,
                key,
                data,
                address=privacy.stored_address(),
                service_origin=service_origin(),
            )
        except ApiError as error:
            db.session.rollback()
            form.show_errors(error.fields)
            flash(error.message, "error")
            status = 422 if error.status == 422 else error.status
        else:
            if posted.comment.status == "pending":
                flash("Thank you. Your comment is awaiting moderation.", "info")
            else:
                flash("Thank you. Your comment is published.", "info")
            back = safe_return(request.form.get("return_to"))
            target = (back or url_for(".thread_page", site=site.key, page=key)).split("#")[0]
            return redirect(f"{target}#c{posted.comment.id}", code=303)
    elif request.method == "POST":
        status = 400
    form.form_token.data = spam.issue_form_token()
    parent = request.args.get("origin", "")
    reply_to = request.args.get("reply", "")
    if reply_to.isascii() and reply_to.isdigit() and len(reply_to) <= 10:
        form.parent.data = reply_to
    html = render_template(
        "pages/thread.html",
        form=form,
        reply_to=form.parent.data or "",
        rate_action=url_for(".thread_rate", site=site.key, page=key),
        frame=request.args.get("frame") == "1",
        parent_origin=parent if parent in allowed_origins(site) else None,
        **_rating_context(site, key, _cookie_visitor()),
        **_thread_context(site, key),
    )
    response = Response(html, status=status, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    response.headers["Content-Security-Policy"] = page_csp(frame_ancestors(site))
    return response


@bp.get("/avatar/<avatar>.svg")
def avatar(avatar: str) -> Response:
    """An identicon drawn from a keyed hash: no email, no third party."""
    try:
        svg = privacy.identicon_svg(avatar)
    except ValueError:
        abort(404)
    response = Response(svg, mimetype="image/svg+xml")
    response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    return response


@bp.get("/demo")
def demo() -> BaseResponse:
    return redirect(url_for(".demo_article"), code=302)


@bp.get(DEMO_PAGE)
def demo_article() -> str:
    """The demo article, with its thread and the reply form under it."""
    site = get_site("default")
    form = CommentForm()
    form.form_token.data = spam.issue_form_token()
    return render_template(
        "pages/demo.html",
        form=form,
        reply_to="",
        return_to=url_for(".demo_article"),
        rate_action=url_for(".thread_rate", site=site.key, page=DEMO_PAGE),
        **_rating_context(site, DEMO_PAGE, _cookie_visitor()),
        **_thread_context(site, DEMO_PAGE),
    )


@bp.get("/healthz")
def health() -> tuple[Response, int]:
    """200 when the database answers, 503 when it does not."""
    try:
        db.session.execute(sa.select(sa.func.count()).select_from(Page).limit(1))
    except OperationalError:
        db.session.rollback()
        response = jsonify(status="unavailable")
        response.headers["Retry-After"] = "5"
        return response, 503
    return jsonify(status="ok"), 200
