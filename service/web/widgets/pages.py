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
from flask_babel import gettext
from sqlalchemy.exc import OperationalError
from werkzeug.wrappers import Response as BaseResponse

from service.data import Page, Site
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
from service.web.limits import page_limit, post_limit, visitor_issue_limit, vote_limit
from service.web.origins import frame_ancestors
from service.web.posting import submit_comment
from service.web.requests import safe_return, service_origin, site_and_page, stored_address
from service.web.widgets import bp
from service.web.widgets.forms import CommentForm
from service.web.widgets.fragments import rating_context, thread_context


def cookie_key(site: Site) -> tuple[str, str] | None:
    """The standalone page's visitor key for the site and its hash, from its first-party
    cookie: the site's own, else the one from before keys named their site (None if absent,
    forged or another site's)."""
    for name in (visitors.cookie_name(site.key), visitors.COOKIE):
        key = request.cookies.get(name)
        try:
            visitor = visitors.optional_visitor_hash(key, site.id)
        except DomainError:
            continue
        if key and visitor:
            return key, visitor
    return None


def _cookie_visitor(site: Site) -> str | None:
    """The standalone page's visitor on the site (None without a usable cookie)."""
    found = cookie_key(site)
    return found[1] if found else None


def keeps_its_key() -> bool:
    """Whether a rating form post comes with a usable key (else it gets one: that spends
    the address's budget for issuing keys, the API's too)."""
    try:
        site, _ = site_and_page()
    except DomainError:
        return True  # refused before anything is issued
    return cookie_key(site) is not None


@bp.post("/thread/rate")
@visitor_issue_limit(exempt_when=keeps_its_key)
@vote_limit
def thread_rate() -> BaseResponse:
    """The no-JS rating form: the visitor key lives in a first-party cookie, one per site."""
    site, key = site_and_page()
    raw_key, visitor = cookie_key(site) or new_key(site)
    back = safe_return(request.form.get("return_to"))
    target = (back or url_for(".thread_page", site=site.key, page=key)).split("#")[0] + "#rating"
    try:
        if request.form.get("action") == "retract":
            page = find_page(site, key)
            if page is not None:
                with writing():
                    votes.retract(page, visitor)
            flash(gettext("Your rating was removed."), "rating")
        else:
            value = request.form.get("value", "")
            number = int(value) if value.isascii() and value.isdigit() and len(value) < 3 else 0
            votes.clean_value(number, site.rating_scale)
            address, origin = stored_address(), service_origin()
            with writing():
                page = get_or_create_page(site, key, title=None, url=None, service_origin=origin)
                votes.vote(page, visitor, number, address=address)
            flash(gettext("Thank you for rating."), "rating")
    except DomainError as error:
        db.session.rollback()
        flash(str(error.first_message()), "rating-error")
    return remember_key(redirect(target, code=303), site, raw_key)


def new_key(site: Site) -> tuple[str, str]:
    """A new visitor key for the site and its hash (the caller spent the issuing budget)."""
    raw_key = visitors.issue_key(site.id)
    return raw_key, visitors.visitor_hash(raw_key, site.id)


def remember_key(response: BaseResponse, site: Site, raw_key: str) -> BaseResponse:
    """The standalone page keeps its visitor key for the site in a first-party cookie."""
    response.set_cookie(
        visitors.cookie_name(site.key),
        raw_key,
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
        found = cookie_key(site)  # a rater's key proves a retry and earns trust, as in the API
        try:
            posted = submit_comment(
                site, key, form.as_input(), visitor_key=found[0] if found else None
            )
        except DomainError as error:
            db.session.rollback()
            form.show_errors(error.fields)
            flash(str(error.message), "error")
            status = status_of(error.code)
        else:
            if posted.comment.status == "pending":
                flash(gettext("Thank you. Your comment is awaiting moderation."), "info")
            else:
                flash(gettext("Thank you. Your comment is published."), "info")
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
    report_to = request.args.get("report", "")[:10]
    html = render_template(
        "pages/thread.html",
        form=form,
        reply_to=form.parent.data or "",
        report_to=report_to if report_to.isascii() and report_to.isdigit() else "",
        rate_action=url_for(".thread_rate", site=site.key, page=key),
        frame=request.args.get("frame") == "1",
        parent_origin=parent if parent in allowed_origins(site, service_origin()) else None,
        **rating_context(site, key, _cookie_visitor(site)),
        **thread_context(site, key),
    )
    response = Response(html, status=status, mimetype="text/html")
    # Forms, flash messages and the reader's own vote: never kept for anyone else.
    response.headers["Cache-Control"] = "private, no-store"
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
        **rating_context(site, DEMO_PAGE, _cookie_visitor(site)),
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
