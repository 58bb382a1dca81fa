"""Sites in the admin views: owners create them (and own them), edit their name and allowed
origins; moderators cannot. Every change is audited, and the command line's too."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from support import OWNER, admin_post, default_site, log_in, make_moderator, site_form

from service.data import AuditEntry, Moderator, Role, Site
from service.extensions import db

MOD = "mod@example.org"


def audit_rows(app):
    with app.app_context():
        return [
            (e.action, e.target, e.detail, e.moderator_id)
            for e in db.session.scalars(sa.select(AuditEntry).order_by(AuditEntry.id))
        ]


def account_id(app, email):
    with app.app_context():
        return db.session.scalars(sa.select(Moderator.id).where(Moderator.email == email)).one()


def site_row(app, key):
    with app.app_context():
        site = db.session.scalars(sa.select(Site).where(Site.key == key)).one_or_none()
        if site is not None:
            db.session.expunge(site)
        return site


def roles_on(app, key):
    with app.app_context():
        rows = db.session.execute(
            sa.select(Moderator.email, Role.role)
            .join(Role, Role.moderator_id == Moderator.id)
            .join(Site, Site.id == Role.site_id)
            .where(Site.key == key)
            .order_by(Moderator.email)
        )
        return [tuple(row) for row in rows]


def tag(html, name, ident):
    """The opening tag of the element with this id."""
    match = re.search(rf'<{name}\b[^>]*\bid="{ident}"[^>]*>', html)
    assert match, f"no <{name} id={ident}>"
    return match.group(0)


def new_site(client, **fields):
    data = {"key": "blog", "name": "My Blog", "origins": "https://blog.example\n"}
    data.update(fields)
    return admin_post(client, "/admin/sites", **data)


def visitor_from(client, site, origin):
    """A write from a page at ``origin`` to the site: allowed, or 403."""
    return client.post(f"/api/v1/visitors?site={site}", headers={"Origin": origin})


@pytest.fixture
def moderator(app, client):
    """The test client, logged in as a moderator (not an owner) of the default site."""
    make_moderator(app)
    make_moderator(app, MOD, {"default": "moderator"})
    assert log_in(client, MOD).status_code == 303
    return client


def test_an_owner_creates_a_site_owns_it_and_its_origins_take_effect(app, owner, client):
    page = owner.get("/admin/sites").get_data(as_text=True)
    assert 'action="/admin/sites"' in page and 'name="key"' in page
    created = new_site(owner, origins="https://blog.example\nhttp://LOCALHOST:8000/")
    assert created.status_code == 303
    assert created.headers["Location"].endswith("/admin/sites/blog")
    settings = owner.get("/admin/sites/blog").get_data(as_text=True)
    assert "Site My Blog created; you are its owner." in settings
    site = site_row(app, "blog")
    assert site is not None and site.name == "My Blog"
    assert site.origins == ["http://localhost:8000", "https://blog.example"]
    assert roles_on(app, "blog") == [(OWNER, "owner")]
    owner_id = account_id(app, OWNER)
    assert [(a, t, m) for a, t, _, m in audit_rows(app)] == [
        ("create site", "site blog", owner_id),
        ("grant role", f"moderator {owner_id}", owner_id),
    ]
    assert visitor_from(client, "blog", "https://blog.example").status_code == 201
    assert visitor_from(client, "blog", "https://elsewhere.example").status_code == 403
    listed = owner.get("/admin/sites").get_data(as_text=True)
    assert 'id="site-blog"' in listed and 'id="site-default"' in listed


def test_a_refused_site_is_not_created_and_the_first_wrong_field_is_focused(app, owner):
    bad = new_site(owner, key="Blog!", origins="ftp://files.example")
    assert bad.status_code == 422
    text = bad.get_data(as_text=True)
    assert "No site was created" in text
    assert "Lower-case letters, digits" in text
    assert "is not an origin: give http:// or https://" in text
    assert " autofocus " in tag(text, "input", "key")
    assert text.count("autofocus") == 1
    only_origin = new_site(owner, origins="https://blog.example/path").get_data(as_text=True)
    assert " autofocus " in tag(only_origin, "textarea", "origins")
    assert "https://blog.example/path" in only_origin  # the value is kept to correct it
    taken = new_site(owner, key="default")
    assert taken.status_code == 422 and "exists already" in taken.get_data(as_text=True)
    assert new_site(owner, name="  ").status_code == 422
    assert site_row(app, "blog") is None
    assert audit_rows(app) == []


def test_editing_the_name_and_origins_renews_the_version_and_is_audited(app, owner, client):
    with app.app_context():
        before, name = default_site().version, default_site().name
    read = client.get("/widget/comments?site=default&page=/a")
    assert read.status_code == 200
    etag = read.headers["ETag"]
    changed = admin_post(
        owner,
        "/admin/sites/default",
        **site_form(name="Renamed", origins="https://new.example", moderation="none"),
    )
    assert changed.status_code == 303
    site = site_row(app, "default")
    assert site.name == "Renamed" and site.origins == ["https://new.example"]
    assert site.version != before
    again = client.get("/widget/comments?site=default&page=/a", headers={"If-None-Match": etag})
    assert again.status_code == 200 and again.headers["ETag"] != etag  # cached answers follow
    assert visitor_from(client, "default", "https://new.example").status_code == 201
    ((action, target, detail, who),) = audit_rows(app)
    assert (action, target, who) == ("site settings", "site default", account_id(app, OWNER))
    assert f"name: {name} -> Renamed" in detail
    assert "origins: [] -> ['https://new.example']" in detail

    refused = admin_post(owner, "/admin/sites/default", **site_form(origins="not an origin"))
    assert refused.status_code == 422
    assert "is not an origin" in refused.get_data(as_text=True)
    after = site_row(app, "default")
    assert (after.origins, after.version) == (["https://new.example"], site.version)
    assert len(audit_rows(app)) == 1


def test_a_moderator_cannot_create_edit_or_grant(app, moderator):
    page = moderator.get("/admin/sites").get_data(as_text=True)
    assert 'action="/admin/sites"' not in page  # no form to create a site
    assert new_site(moderator).status_code == 403
    assert admin_post(moderator, "/admin/sites/default", **site_form()).status_code == 403
    invite = admin_post(
        moderator, "/admin/moderators/invite", site="default", email="x@example.org", role="owner"
    )
    assert invite.status_code == 403
    owner_id = account_id(app, OWNER)
    change = admin_post(
        moderator,
        "/admin/moderators/role",
        site="default",
        moderator=str(owner_id),
        role="moderator",
    )
    assert change.status_code == 403
    assert site_row(app, "blog") is None
    assert roles_on(app, "default") == [(MOD, "moderator"), (OWNER, "owner")]
    assert audit_rows(app) == []


def test_the_new_forms_need_a_csrf_token(app, owner):
    owner_id = str(account_id(app, OWNER))
    for path, data in (
        ("/admin/sites", {"key": "blog", "name": "Blog"}),
        ("/admin/moderators/invite", {"site": "default", "email": "x@example.org"}),
        ("/admin/moderators/role", {"site": "default", "moderator": owner_id, "role": "owner"}),
    ):
        response = owner.post(path, data=data)
        assert response.status_code == 400, path
        assert "form expired" in response.get_data(as_text=True)
    assert audit_rows(app) == []


def test_site_and_role_commands_are_audited_as_the_command_lines(app, runner):
    added = runner.invoke(args=["site", "add", "blog", "--name", "Blog"])
    assert added.exit_code == 0, added.output
    changed = runner.invoke(args=["site", "set", "blog", "--add-origin", "https://blog.example"])
    assert changed.exit_code == 0, changed.output
    made = runner.invoke(
        args=["create-admin", "boss@example.org", "--site", "blog", "--password", "x" * 12]
    )
    assert made.exit_code == 0, made.output
    boss = account_id(app, "boss@example.org")
    rows = audit_rows(app)
    assert [(a, t) for a, t, _, _ in rows] == [
        ("create site", "site blog"),
        ("site settings", "site blog"),
        ("create account", f"moderator {boss}"),
        ("grant role", f"moderator {boss}"),
    ]
    assert all(who is None and detail.startswith("[cli]") for _, _, detail, who in rows)
    assert rows[-1][2] == "[cli] owner"
    refused = runner.invoke(
        args=["create-admin", "b@example.org", "--site", "nope", "--password", "x" * 12]
    )
    assert refused.exit_code != 0
    assert len(audit_rows(app)) == 4
