"""One rule set for site and page settings, editorial scores and the blocklist.

The admin views and the command line check the same values with the same bounds and
allowed values, and both write the same audit entries (the command line's with no
moderator, shown as "system").
"""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from support import OWNER, admin_post, default_site, site_form

from service.data import AuditEntry, BlockedWord, Page, Site
from service.data.bounds import (
    EDIT_WINDOW_MAX,
    LINK_LIMIT_MAX,
    MODERATION_POLICIES,
    SCHEMA_TYPES,
    TITLE_MAX,
)
from service.extensions import db


def audit(app: Flask) -> list[tuple[str | None, str, str, str]]:
    """Every audit entry as (moderator email or None, action, target, detail)."""
    with app.app_context():
        entries = db.session.scalars(sa.select(AuditEntry).order_by(AuditEntry.id))
        return [
            (e.moderator.email if e.moderator else None, e.action, e.target, e.detail)
            for e in entries
        ]


def site_row(app: Flask) -> Site:
    with app.app_context():
        site = default_site()
        db.session.expunge(site)
        return site


def cli(runner: FlaskCliRunner, *args: str) -> Any:
    return runner.invoke(args=list(args))


# ---- the same allowed values ------------------------------------------------------------


@pytest.mark.parametrize("policy", list(MODERATION_POLICIES))
def test_the_command_line_accepts_every_moderation_policy_the_admin_views_offer(
    app: Flask, runner: FlaskCliRunner, owner: FlaskClient, policy: str
) -> None:
    added = cli(runner, "site", "add", f"s-{policy}", "--name", "A site", "--moderation", policy)
    assert added.exit_code == 0, added.output
    assert f"moderation={policy}" in added.output
    changed = cli(runner, "site", "set", "default", "--moderation", policy)
    assert changed.exit_code == 0, changed.output
    assert site_row(app).moderation == policy
    cli(runner, "site", "set", "default", "--moderation", "none")
    assert (
        admin_post(owner, "/admin/sites/default", **site_form(moderation=policy)).status_code == 303
    )
    assert site_row(app).moderation == policy


def test_a_policy_neither_offers_is_refused_by_both(
    app: Flask, runner: FlaskCliRunner, owner: FlaskClient
) -> None:
    assert cli(runner, "site", "set", "default", "--moderation", "lenient").exit_code != 0
    refused = admin_post(owner, "/admin/sites/default", **site_form(moderation="lenient"))
    assert refused.status_code == 422
    assert "One of: none, first-time, links, all." in refused.get_data(as_text=True)
    assert site_row(app).moderation == "none"


@pytest.mark.parametrize(
    ("option", "value", "field", "message"),
    [
        (
            "--link-limit",
            str(LINK_LIMIT_MAX + 1),
            "link_limit",
            f"A number from 0 to {LINK_LIMIT_MAX}.",
        ),
        ("--language", "english please", "language", "A language tag like en or pt-BR."),
        ("--name", "   ", "name", "Give the site a name."),
        ("--add-origin", "https://example.org/path", "origins", "is not an origin"),
    ],
)
def test_site_settings_outside_the_bounds_are_refused_alike(
    app: Flask,
    runner: FlaskCliRunner,
    owner: FlaskClient,
    option: str,
    value: str,
    field: str,
    message: str,
) -> None:
    before = site_row(app)
    refused = cli(runner, "site", "set", "default", option, value)
    assert refused.exit_code != 0 and message in refused.output, refused.output
    form_field = {"link_limit": "link_limit", "language": "language", "name": "name"}.get(field)
    typed = {form_field: value} if form_field else {"origins": value}
    answer = admin_post(owner, "/admin/sites/default", **site_form(**typed))
    assert answer.status_code == 422 and message in answer.get_data(as_text=True)
    after = site_row(app)
    assert (after.name, after.link_limit, after.language, after.origins) == (
        before.name,
        before.link_limit,
        before.language,
        before.origins,
    )
    assert audit(app) == []


def test_the_edit_window_has_one_bound_in_seconds_and_minutes(
    app: Flask, runner: FlaskCliRunner, owner: FlaskClient
) -> None:
    assert (
        cli(runner, "site", "set", "default", "--edit-window", str(EDIT_WINDOW_MAX)).exit_code == 0
    )
    assert site_row(app).edit_window == EDIT_WINDOW_MAX
    too_long = cli(runner, "site", "set", "default", "--edit-window", str(EDIT_WINDOW_MAX + 1))
    assert too_long.exit_code != 0 and "edit_window" in too_long.output
    minutes = EDIT_WINDOW_MAX // 60
    refused = admin_post(owner, "/admin/sites/default", **site_form(edit_window=str(minutes + 1)))
    assert refused.status_code == 422
    assert f"From 0 to {minutes} minutes." in refused.get_data(as_text=True)
    saved = admin_post(owner, "/admin/sites/default", **site_form(edit_window="30"))
    assert saved.status_code == 303 and site_row(app).edit_window == 30 * 60


@pytest.mark.parametrize(
    ("option", "value", "field"),
    [
        ("--type", "Nonsense", "schema_type"),
        ("--url", "javascript:alert(1)", "url"),
        ("--title", "x" * (TITLE_MAX + 1), "title"),
    ],
)
def test_page_settings_outside_the_rules_are_refused_alike(
    app: Flask, runner: FlaskCliRunner, owner: FlaskClient, option: str, value: str, field: str
) -> None:
    assert cli(runner, "page", "set", "default", "/p", "--title", "Kept").exit_code == 0
    refused = cli(runner, "page", "set", "default", "/p", option, value)
    assert refused.exit_code != 0 and field in refused.output, refused.output
    answer = admin_post(
        owner, "/admin/sites/default/pages?page=/p", **({"title": "Kept"} | {field: value})
    )
    assert answer.status_code == 422
    with app.app_context():
        page = db.session.scalar(sa.select(Page).where(Page.key == "/p"))
        assert page is not None
        assert (page.title, page.url, page.schema_type) == ("Kept", None, None)


def test_every_schema_type_the_admin_offers_the_command_line_accepts(
    app: Flask, runner: FlaskCliRunner
) -> None:
    for schema_type in SCHEMA_TYPES:
        assert cli(runner, "page", "set", "default", "/t", "--type", schema_type).exit_code == 0
    closed = cli(runner, "page", "set", "default", "/t", "--no-comments")
    assert closed.exit_code == 0
    with app.app_context():
        page = db.session.scalar(sa.select(Page).where(Page.key == "/t"))
        assert page is not None and page.comments_closed and page.schema_type == SCHEMA_TYPES[-1]


@pytest.mark.parametrize(
    ("score", "scale", "label", "field"),
    [("11", "10", "IMDB", "score"), ("5", "7", "IMDB", "scale"), ("5", "10", "x" * 81, "label")],
)
def test_editorial_scores_outside_the_rules_are_refused_alike(
    app: Flask,
    runner: FlaskCliRunner,
    owner: FlaskClient,
    score: str,
    scale: str,
    label: str,
    field: str,
) -> None:
    assert cli(runner, "page", "set", "default", "/s", "--title", "Scored").exit_code == 0
    refused = cli(runner, "page", "score", "default", "/s", label, score, "--scale", scale)
    assert refused.exit_code != 0
    if scale in ("5", "10", "100"):  # the command line's own choices refuse other scales
        assert field in refused.output, refused.output
    scores = "/admin/sites/default/pages/scores?page=/s"
    answer = admin_post(owner, scores, label=label, score=score, scale=scale)
    assert answer.status_code == 422
    with app.app_context():
        page = db.session.scalar(sa.select(Page).where(Page.key == "/s"))
        assert page is not None and page.editorial == []


# ---- the same audit entries --------------------------------------------------------------


def test_command_line_changes_are_audited_like_the_admin_views(
    app: Flask, runner: FlaskCliRunner, owner: FlaskClient, post: Any
) -> None:
    steps = [
        ("site", "add", "blog", "--name", "Blog", "--moderation", "links"),
        ("site", "set", "default", "--name", "Renamed", "--link-limit", "3"),
        ("page", "set", "default", "/movie", "--type", "Movie"),
        ("page", "score", "default", "/movie", "IMDB", "5.9"),
        ("page", "unscore", "default", "/movie", "IMDB"),
        ("blocklist", "add", "default", "casino"),
        ("blocklist", "remove", "default", "CASINO"),
    ]
    for step in steps:
        done = cli(runner, *step)
        assert done.exit_code == 0, (step, done.output)
    ident = post("/held").json["comment"]["id"]
    assert cli(runner, "comment", "moderate", str(ident), "spam").exit_code == 0
    entries = audit(app)
    assert [(who, action, target) for who, action, target, _ in entries] == [
        (None, "create site", "site blog"),
        (None, "site settings", "site default"),
        (None, "create page", "page /movie"),
        (None, "page settings", "page /movie"),
        (None, "editorial score", "page /movie"),
        (None, "remove score", "page /movie"),
        (None, "block word", "site default"),
        (None, "unblock word", "site default"),
        (None, "spam", f"comment {ident}"),
    ]
    details = [detail for *_, detail in entries]  # the command line's say so first
    assert details[1] == "[cli] name: Default site -> Renamed; link_limit: 2 -> 3"
    assert details[3] == "[cli] schema_type: None -> Movie"
    assert details[4] == "[cli] IMDB: 5.9/10"
    assert details[8] == "[cli] approved -> spam"
    assert all(detail.startswith("[cli]") for detail in details)
    # The admin view writes the same entry for the same change, with its moderator.
    saved = admin_post(
        owner, "/admin/sites/default", **site_form(name="Renamed", origins="", link_limit="4")
    )
    assert saved.status_code == 303
    assert audit(app)[-1] == (OWNER, "site settings", "site default", "link_limit: 3 -> 4")
    assert "system" in owner.get("/admin/audit").get_data(as_text=True)


def test_the_blocklist_from_the_command_line_holds_comments_like_the_admin_one(
    app: Flask, runner: FlaskCliRunner, post: Any
) -> None:
    assert cli(runner, "blocklist", "add", "default", "Cheap  Pills").exit_code == 0
    again = cli(runner, "blocklist", "add", "default", "cheap pills")
    assert again.exit_code != 0 and "on the list already" in again.output
    assert cli(runner, "blocklist", "list", "default").output == "Cheap Pills\n"
    held = post("/b", text="Buy cheap pills here.").json
    assert held["status"] == "pending"
    assert cli(runner, "blocklist", "remove", "default", "cheap pills").exit_code == 0
    assert cli(runner, "blocklist", "remove", "default", "cheap pills").exit_code != 0
    assert post("/b", text="No more cheap pills here.").json["status"] == "approved"
    with app.app_context():
        assert db.session.scalars(sa.select(BlockedWord)).all() == []
