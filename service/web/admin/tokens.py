"""API tokens of the sites one owns: issue (shown once), list, revoke.

A token lets a server post to its site as the widget's form does (``sites.tokens``). Only
a site's owners see and manage its tokens; the service keeps a keyed hash of each, so a
new token is shown in the answer to the form that issued it and never again (not flashed:
the session cookie is signed, not secret).
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import flash, g, render_template
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers import Response as BaseResponse
from wtforms import SelectField, StringField

from service.data import ApiToken, Moderator, Site
from service.database import writing
from service.extensions import db
from service.rules.errors import ValidationError
from service.sites import accounts, tokens
from service.web.admin import bp
from service.web.admin.auth import back, login_required, missing, my_sites
from service.web.admin.forms import ActionForm


class TokenForm(ActionForm):
    site = SelectField(_l("Site"), validate_choice=False)
    label = StringField(
        _l("Name"),
        description=_l("What will use it, e.g. “import script” or “newsletter server”."),
    )


def _owned() -> list[Site]:
    return [site for site in my_sites() if accounts.role_on(g.moderator, site) == "owner"]


Page = tuple[str, int]


def _page(form: TokenForm, owned: list[Site], status: int = 200, secret: str = "") -> Page:
    form.site.choices = [(site.key, f"{site.name} ({site.key})") for site in owned]
    keys = {site.id: site.key for site in owned}
    listed = tokens.tokens_of(list(keys))
    ids = {token.moderator_id for token in listed if token.moderator_id}
    who = {m.id: m for m in db.session.scalars(sa.select(Moderator).where(Moderator.id.in_(ids)))}
    html = render_template(
        "admin/tokens.html",
        form=form,
        owned=owned,
        tokens=listed,
        site_keys=keys,
        who=who,
        secret=secret,
    )
    return html, status


@bp.get("/tokens")
@login_required
def api_tokens() -> Page:
    return _page(TokenForm(), _owned())


@bp.post("/tokens")
@login_required
def api_token_issue() -> Page:
    owned = _owned()
    form = TokenForm()
    if not form.validate():
        return _page(form, owned, 400)
    site = next((s for s in owned if s.key == form.site.data), None)
    if site is None:
        form.show_errors({"site": "Choose a site you own."})
        return _page(form, owned, 422)
    try:
        with writing():
            _token, secret = tokens.issue(g.moderator, site, form.label.data or "")
            db.session.commit()
    except ValidationError as error:
        db.session.rollback()
        form.show_errors(error.fields)
        return _page(form, owned, 422)
    return _page(TokenForm(), owned, 201, secret)


@bp.post("/tokens/<int:token_id>/revoke")
@login_required
def api_token_revoke(token_id: int) -> BaseResponse:
    owned = {site.id: site for site in _owned()}
    token = db.session.get(ApiToken, token_id)
    site = owned.get(token.site_id) if token is not None else None
    if site is None:
        raise missing()  # another site's token is as unknown as none at all
    with writing():
        revoked = tokens.revoke(g.moderator, site, token_id)
        db.session.commit()
    flash(
        _("The token “%(name)s” is revoked: posts with it are refused.", name=revoked.label), "info"
    )
    return back("admin.api_tokens")
