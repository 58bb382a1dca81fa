"""Owners give roles on their sites: an existing account at once, any other address by a
signed, expiring, single-use invitation link (mailed through the outbox and shown once);
roles change and go, a site keeps an owner; moderators only look. ``grant`` on the command
line follows the same rules and is audited."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from servers import Mailbox
from support import (
    OWNER,
    PASSWORD,
    admin_post,
    csrf_token,
    log_in,
    make_moderator,
    outbox_rows,
    send_outbox,
)

from service.data import AuditEntry, Moderator, Role, Site
from service.extensions import db
from service.rules import privacy
from service.rules.logs import redact_target

MOD = "mod@example.org"
NEW = "newcomer@example.org"
NEW_PASSWORD = "the newcomer's password"
LINK = re.compile(r'value="(http://localhost/admin/invitation\?token=[A-Za-z0-9_.\-]+)"')


@pytest.fixture
def app_config(mailbox: Mailbox) -> dict[str, Any]:
    return {
        "PARLEY_SMTP_HOST": "127.0.0.1",
        "PARLEY_SMTP_PORT": mailbox.port,
        "PARLEY_SMTP_SECURITY": "none",
        "PARLEY_SMTP_FROM": "Parley <parley@parley.test>",
    }


@pytest.fixture
def other_site(app):
    with app.app_context():
        db.session.add(Site(key="other", name="Other", moderation="none", edit_window=900))
        db.session.commit()


@pytest.fixture
def two_sites(app, client, other_site):
    """The test client, logged in as the owner of the default site and of "other"."""
    make_moderator(app, sites={"default": "owner", "other": "owner"})
    assert log_in(client).status_code == 303
    return client


def browser(app) -> FlaskClient:
    return app.test_client()


def audit_rows(app):
    with app.app_context():
        return [
            (e.action, e.target, e.detail, e.moderator_id)
            for e in db.session.scalars(sa.select(AuditEntry).order_by(AuditEntry.id))
        ]


def account(app, email):
    with app.app_context():
        found = db.session.scalars(sa.select(Moderator).where(Moderator.email == email)).one()
        db.session.expunge(found)
        return found


def roles_of(app, email):
    with app.app_context():
        rows = db.session.execute(
            sa.select(Site.key, Role.role)
            .join(Role, Role.site_id == Site.id)
            .join(Moderator, Moderator.id == Role.moderator_id)
            .where(Moderator.email == email)
            .order_by(Site.key)
        )
        return [tuple(row) for row in rows]


def tag(html: str, name: str, ident: str) -> str:
    """The opening tag of the element with this id."""
    match = re.search(rf'<{name}\b[^>]*\bid="{ident}"[^>]*>', html)
    assert match, f"no <{name} id={ident}>"
    return match.group(0)


def invite(client, email, site="default", role="moderator"):
    return admin_post(client, "/admin/moderators/invite", site=site, email=email, role=role)


def invitation_link(response) -> str:
    assert response.status_code == 201, response.get_data(as_text=True)[-2000:]
    (link,) = LINK.findall(response.get_data(as_text=True))
    return link.replace("http://localhost", "")


def accept(client, path, password=NEW_PASSWORD, confirm=None):
    page = client.get(path)
    assert page.status_code == 200, page.get_data(as_text=True)[-1500:]
    token = csrf_token(page.get_data(as_text=True))
    data = {"csrf_token": token, "password": password, "confirm": confirm or password}
    return client.post(path, data=data)


def change_role(client, app, email, role, site="default"):
    ident = str(account(app, email).id)
    return admin_post(client, "/admin/moderators/role", site=site, moderator=ident, role=role)


# --- an existing account ----------------------------------------------------------------------


def test_an_existing_account_gets_the_role_at_once(app, two_sites, mailbox):
    """The demo admin's case: an account that moderates one site is given a second one."""
    make_moderator(app, MOD, {"other": "moderator"})
    given = invite(two_sites, MOD.upper(), site="default", role="moderator")
    assert given.status_code == 303
    page = two_sites.get("/admin/moderators").get_data(as_text=True)
    assert f"{MOD} is now moderator of default." in page
    assert roles_of(app, MOD) == [("default", "moderator"), ("other", "moderator")]
    owner_id, mod_id = account(app, OWNER).id, account(app, MOD).id
    assert audit_rows(app) == [("grant role", f"moderator {mod_id}", "moderator", owner_id)]
    assert outbox_rows(app) == []  # no invitation, no mail
    moderator = browser(app)
    assert log_in(moderator, MOD).status_code == 303
    assert 'id="site-default"' in moderator.get("/admin/sites").get_data(as_text=True)


# --- invitations ------------------------------------------------------------------------------


def test_an_invitation_makes_the_account_once_and_it_sees_only_its_site(app, two_sites, mailbox):
    answer = invite(two_sites, NEW, site="other", role="moderator")
    path = invitation_link(answer)
    assert "it will not be shown again" in answer.get_data(as_text=True)
    assert invite(two_sites, "not an address").status_code == 422
    (row,) = outbox_rows(app)
    with app.app_context():
        assert privacy.decrypt_email(row.recipient) == NEW
    send_outbox(app)
    (mail,) = mailbox.messages
    assert mail["To"] == NEW and "[Other]" in mail["Subject"]
    assert path in str(mail.get_body(("plain",)).get_content())
    assert NEW not in path and "newcomer" not in path  # the address is encrypted in the link
    assert redact_target(path) == "/admin/invitation?token=[redacted]"  # not in the access log
    owner_id = account(app, OWNER).id
    ((action, target, detail, who),) = audit_rows(app)
    assert (action, detail, who) == ("invite", "moderator", owner_id)
    assert target.startswith("invitation ") and NEW not in target

    newcomer = browser(app)
    shown = newcomer.get(path).get_data(as_text=True)
    assert "Join Other" in shown and NEW in shown
    assert newcomer.get(path).status_code == 200  # a GET (a mail scanner) uses nothing
    differ = accept(newcomer, path, confirm="another password here")
    assert differ.status_code == 422
    assert " autofocus " in tag(differ.get_data(as_text=True), "input", "confirm")
    assert accept(newcomer, path, password="short").status_code == 422
    with app.app_context():
        assert db.session.scalar(sa.select(Moderator).where(Moderator.email == NEW)) is None

    late = browser(app)  # opened the link too, and presses after the newcomer
    late_token = csrf_token(late.get(path).get_data(as_text=True))
    done = accept(newcomer, path)
    assert done.status_code == 303 and done.headers["Location"].endswith("/admin/")
    sites = newcomer.get("/admin/sites").get_data(as_text=True)
    assert 'id="site-other"' in sites and 'id="site-default"' not in sites
    assert newcomer.get("/admin/sites/default/pages").status_code == 404
    assert roles_of(app, NEW) == [("other", "moderator")]
    new_id = account(app, NEW).id
    assert [(a, t, w) for a, t, _, w in audit_rows(app)[1:]] == [
        ("create account", f"moderator {new_id}", new_id),
        ("accept invitation", f"moderator {new_id}", new_id),
    ]

    again = browser(app).get(path)
    assert again.status_code == 410 and "used already" in again.get_data(as_text=True)
    pressed = late.post(
        path, data={"csrf_token": late_token, "password": "x" * 12, "confirm": "x" * 12}
    )
    assert pressed.status_code == 410 and "used already" in pressed.get_data(as_text=True)
    assert log_in(browser(app), NEW, NEW_PASSWORD).status_code == 303


def test_an_invitation_expires_and_a_forged_one_is_refused(app, owner):
    path = invitation_link(invite(owner, NEW))
    token = path.split("token=", 1)[1]

    class FourDaysOld(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - 4 * 24 * 3600

    with app.app_context():
        plain = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt="parley.invitation")
        data = plain.loads(token)
        old = URLSafeTimedSerializer(
            app.config["SECRET_KEY"], salt="parley.invitation", signer=FourDaysOld
        ).dumps(data)
        forged = URLSafeTimedSerializer("another key", salt="parley.invitation").dumps(data)
    expired = browser(app).get(f"/admin/invitation?token={old}")
    assert expired.status_code == 410 and "expired" in expired.get_data(as_text=True)
    assert browser(app).get(f"/admin/invitation?token={forged}").status_code == 403
    assert browser(app).get("/admin/invitation?token=" + token[:-3] + "abc").status_code == 403
    assert browser(app).get("/admin/invitation").status_code == 403
    assert accept(browser(app), path).status_code == 303  # the genuine one still works


def test_an_invitation_ends_when_its_inviter_no_longer_owns_the_site(app, owner):
    make_moderator(app, "second@example.org", {"default": "owner"})
    path = invitation_link(invite(owner, NEW))
    second = browser(app)
    assert log_in(second, "second@example.org").status_code == 303
    assert change_role(second, app, OWNER, "moderator").status_code == 303
    refused = browser(app).get(path)
    assert refused.status_code == 403 and "no longer valid" in refused.get_data(as_text=True)


def test_a_disabled_account_is_invited_and_enabled_once(app, owner):
    make_moderator(app, MOD, {"default": "moderator"})
    removed = admin_post(
        owner, "/admin/moderators/remove", site="default", moderator=str(account(app, MOD).id)
    )
    assert removed.status_code == 303 and account(app, MOD).disabled is not None
    path = invitation_link(invite(owner, MOD, role="owner"))  # disabled: no role at once
    assert roles_of(app, MOD) == []
    assert accept(browser(app), path).status_code == 303
    assert account(app, MOD).disabled is None
    assert roles_of(app, MOD) == [("default", "owner")]
    assert log_in(browser(app), MOD, PASSWORD).status_code == 401
    assert log_in(browser(app), MOD, NEW_PASSWORD).status_code == 303
    assert browser(app).get(path).status_code == 410


# --- changing and removing roles --------------------------------------------------------------


def test_roles_change_and_a_site_keeps_an_owner(app, owner):
    make_moderator(app, MOD, {"default": "moderator"})
    alone = change_role(owner, app, OWNER, "moderator")
    assert alone.status_code == 422
    text = alone.get_data(as_text=True)
    assert "is the only owner of default" in text
    owner_id, mod_id = account(app, OWNER).id, account(app, MOD).id
    control = tag(text, "select", f"change-role-default-{owner_id}")
    assert 'aria-invalid="true"' in control and " autofocus" in control
    removed = admin_post(owner, "/admin/moderators/remove", site="default", moderator=str(owner_id))
    assert removed.status_code == 422 and "only owner" in removed.get_data(as_text=True)
    assert roles_of(app, OWNER) == [("default", "owner")]

    assert change_role(owner, app, MOD, "owner").status_code == 303
    assert change_role(owner, app, OWNER, "moderator").status_code == 303  # another owner now
    assert roles_of(app, OWNER) == [("default", "moderator")]
    assert change_role(owner, app, MOD, "moderator").status_code == 403  # no longer an owner
    assert (
        admin_post(owner, "/admin/moderators/role", site="default", moderator="999").status_code
        == 403
    )
    assert audit_rows(app) == [
        ("change role", f"moderator {mod_id}", "moderator -> owner", owner_id),
        ("change role", f"moderator {owner_id}", "owner -> moderator", owner_id),
    ]


def test_moderators_see_who_moderates_their_sites_without_controls(app, owner, other_site):
    make_moderator(app, MOD, {"default": "moderator"})
    make_moderator(app, "elsewhere@example.org", {"other": "owner"})
    moderator = browser(app)
    assert log_in(moderator, MOD).status_code == 303
    page = moderator.get("/admin/moderators").get_data(as_text=True)
    assert OWNER in page and MOD in page
    assert "elsewhere@example.org" not in page  # not a site of theirs
    assert "/admin/moderators/invite" not in page and "/admin/moderators/role" not in page
    assert "/admin/moderators/remove" not in page
    listed = owner.get("/admin/moderators").get_data(as_text=True)
    assert "/admin/moderators/invite" in listed and "/admin/moderators/role" in listed


# --- the command line -------------------------------------------------------------------------


def test_grant_on_the_command_line(app, runner, other_site):
    make_moderator(app)
    make_moderator(app, MOD, {"other": "owner"})
    unknown = runner.invoke(args=["grant", NEW, "--site", "default", "--role", "moderator"])
    assert unknown.exit_code != 0
    assert f"create-admin {NEW} --site default --role moderator" in unknown.output
    twice = runner.invoke(args=["create-admin", MOD, "--site", "default", "--password", "x" * 12])
    assert twice.exit_code != 0 and "`grant` gives it a role" in twice.output
    given = runner.invoke(args=["grant", MOD, "--site", "default", "--role", "moderator"])
    assert given.exit_code == 0, given.output
    assert "now moderator of default" in given.output
    assert roles_of(app, MOD) == [("default", "moderator"), ("other", "owner")]
    again = runner.invoke(args=["grant", MOD, "--site", "default", "--role", "moderator"])
    assert again.exit_code == 0 and "nothing changed" in again.output
    last = runner.invoke(args=["grant", MOD, "--site", "other", "--role", "moderator"])
    assert last.exit_code != 0 and "only owner of other" in last.output
    assert runner.invoke(args=["grant", MOD, "--site", "nope", "--role", "owner"]).exit_code != 0
    assert runner.invoke(args=["grant", MOD, "--site", "default", "--role", "king"]).exit_code != 0
    mod_id = account(app, MOD).id
    assert audit_rows(app) == [("grant role", f"moderator {mod_id}", "[cli] moderator", None)]
    # The account the grant gave a role logs in and moderates the site.
    moderator = browser(app)
    assert log_in(moderator, MOD).status_code == 303
    assert 'id="site-default"' in moderator.get("/admin/sites").get_data(as_text=True)
