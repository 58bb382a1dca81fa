"""The standalone page (iframe mode and readers without JavaScript) with its plain forms,
avatars, the demo page and the health check."""

from __future__ import annotations

import sqlalchemy as sa
from flask import (
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

from service.data import Page
from service.database import writing
from service.extensions import db
from service.ratings import votes
from service.rules import privacy, spam, visitors
from service.rules.errors import DomainError
from service.sites.demo import DEMO_PAGE
from service.sites.lookup import find_page, get_or_create_page, get_site
from service.sites.origins import allowed_origins
from service.web.errors import status_of
from service.web.headers import page_csp
from service.web.limits import page_limit, post_limit, visitor_limit
from service.web.origins import frame_ancestors
from service.web.posting import submit_comment
from service.web.requests import safe_return, service_origin, site_and_page, stored_address
from service.web.widgets import bp
from service.web.widgets.forms import CommentForm
from service.web.widgets.fragments import rating_context, thread_context


def _cookie_visitor() -> str | None:
    """The standalone page's visitor, from its first-party cookie (None if absent or bad)."""
    try:
        return visitors.optional_visitor_hash(request.cookies.get(visitors.COOKIE))
    except DomainError:
        return None


@bp.post("/thread/rate")
@visitor_limit("thread-rate")
def thread_rate() -> BaseResponse:
    """The no-JS rating form: the visitor key lives in a first-party cookie."""
    site, key = site_and_page()
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
                with writing():
                    votes.retract(page, visitor)
            flash("Your rating was removed.", "rating")
        else:
            value = request.form.get("value", "")
            number = int(value) if value.isascii() and value.isdigit() and len(value) < 3 else 0
            votes.clean_value(number, site.rating_scale)
            address, origin = stored_address(), service_origin()
            with writing():
                page = get_or_create_page(site, key, title=None, url=None, service_origin=origin)
                votes.vote(page, visitor, number, address=address)
            flash("Thank you for rating.", "rating")
    except DomainError as error:
        db.session.rollback()
        flash(error.first_message(), "rating-error")
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
@post_limit
@page_limit
def thread_page() -> BaseResponse:
    """The standalone page: the thread and a plain form, post/redirect/get."""
    site, key = site_and_page()
    form = CommentForm()
    status = 200
    if form.validate_on_submit():
        try:
            posted = submit_comment(site, key, form.as_input(), visitor_key=None)
        except DomainError as error:
            db.session.rollback()
            form.show_errors(error.fields)
            flash(error.message, "error")
            status = status_of(error.code)
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
        parent_origin=parent if parent in allowed_origins(site, service_origin()) else None,
        **rating_context(site, key, _cookie_visitor()),
        **thread_context(site, key),
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
        **rating_context(site, DEMO_PAGE, _cookie_visitor()),
        **thread_context(site, DEMO_PAGE),
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
