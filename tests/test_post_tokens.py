"""What a post must prove: a browser's post its form token, a server its API token; posts
without either follow PARLEY_TOKENLESS_POSTS and the site's setting; a repeated post is
given back only to its proven author; the per-page limit counts a page once however its
id is spaced."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from support import (
    admin_post,
    comment_body,
    default_site,
    form_token,
    json_of,
    log_in,
    make_moderator,
    set_site,
    site_form,
    visitor_key,
)
from werkzeug.test import TestResponse

from service.config import ConfigError, from_environment
from service.data import ApiToken, AuditEntry, Comment, Site
from service.extensions import db

PAGE = "/tokens"
BROWSER = {"Origin": "http://localhost"}


def post(
    client: FlaskClient, headers: dict[str, str] | None = None, page: str = PAGE, **fields: Any
) -> TestResponse:
    return client.post(
        "/api/v1/comments",
        query_string={"page": page},
        json=comment_body(**fields),
        headers=headers or {},
    )


def stored(app: Flask) -> list[tuple[str, str]]:
    with app.app_context():
        rows = db.session.execute(sa.select(Comment.text, Comment.status).order_by(Comment.id))
        return [(text, status) for text, status in rows]


def code(response: TestResponse) -> str:
    return str(json_of(response)["error"]["code"])


# --- browser posts ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [BROWSER, {"Sec-Fetch-Site": "same-origin"}, {**BROWSER, "Sec-Fetch-Site": "same-site"}],
)
def test_a_browser_post_without_a_form_token_is_refused_and_nothing_is_stored(
    app: Flask, client: FlaskClient, headers: dict[str, str]
) -> None:
    for missing in ({}, {"form_token": ""}, {"form_token": None}):
        refused = post(client, headers, **missing)
        assert refused.status_code == 403, missing
        assert code(refused) == "bad_form_token"
    forged = post(client, headers, form_token="eyJ0IjoxfQ.forged")
    assert (forged.status_code, code(forged)) == (403, "bad_form_token")
    assert stored(app) == []
    accepted = post(client, headers, form_token=form_token(client))
    assert accepted.status_code == 201
    assert json_of(accepted)["status"] == "approved"  # the site's policy: publish at once


def test_a_filled_honeypot_is_422_with_or_without_a_token(app: Flask, client: FlaskClient) -> None:
    for headers in (BROWSER, {}):
        filled = post(client, headers, form_token=form_token(client), hp="me@example.org")
        assert filled.status_code == 422
        assert set(json_of(filled)["error"]["fields"]) == {"hp"}
    assert stored(app) == []


def test_the_standalone_pages_form_is_a_browser_post_with_its_tokens(
    app: Flask, client: FlaskClient
) -> None:
    page = client.get("/thread", query_string={"page": PAGE}).get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    token = re.search(r'name="form_token" type="hidden" value="([^"]+)"', page)
    assert csrf and token
    form = {"csrf_token": csrf.group(1), "name": "Ada", "email": "ada@example.org"}
    missing = client.post(
        f"/thread?page={PAGE}", data=form | {"text": "No token."}, headers=BROWSER
    )
    assert missing.status_code == 403
    sent = client.post(
        f"/thread?page={PAGE}",
        data=form | {"text": "With the token.", "form_token": token.group(1)},
        headers=BROWSER,
    )
    assert sent.status_code == 303
    assert stored(app) == [("With the token.", "approved")]


# --- posts without a token ----------------------------------------------------------------


def test_by_default_a_post_without_any_token_is_held_for_moderation(
    tmp_path: Path, database_url: str
) -> None:
    from support import base_config

    from service import create_app

    config = base_config(tmp_path, SQLALCHEMY_DATABASE_URI=database_url)
    del config["PARLEY_TOKENLESS_POSTS"]  # the service's own default
    app = create_app(config)
    assert app.config["PARLEY_TOKENLESS_POSTS"] == "moderate"
    client = app.test_client()
    held = post(client, text="A script's comment.")
    assert held.status_code == 201 and json_of(held)["status"] == "pending"
    with app.app_context():
        reason = db.session.scalars(sa.select(Comment.pending_reason)).one()
    assert reason is not None and "form token" in reason
    # A form token, from any client, is what the widget's form brings: the policy applies.
    mine = post(client, text="A reader's comment.", form_token=form_token(client))
    assert json_of(mine)["status"] == "approved"
    assert json_of(client.get("/api/v1/comments", query_string={"page": PAGE}))["comments"] == [
        json_of(mine)["comment"]
    ]
    with app.app_context():
        db.engine.dispose()


@pytest.mark.parametrize(
    ("rule", "status", "kept"),
    [("moderate", 201, "pending"), ("policy", 201, "approved"), ("refuse", 403, None)],
)
def test_the_tokenless_rule_from_the_configuration(
    app: Flask, client: FlaskClient, rule: str, status: int, kept: str | None
) -> None:
    app.config["PARLEY_TOKENLESS_POSTS"] = rule
    answer = post(client, text="Without a token.")
    assert answer.status_code == status
    assert stored(app) == ([("Without a token.", kept)] if kept else [])
    if status == 403:
        assert code(answer) == "bad_form_token"
    # A browser's post with its token never meets the rule.
    with_token = post(client, BROWSER, text="Read.", form_token=form_token(client))
    assert json_of(with_token)["status"] == "approved"


def test_a_sites_setting_overrides_the_configuration_from_the_cli_and_admin_form(
    app: Flask, client: FlaskClient, runner: FlaskCliRunner
) -> None:
    app.config["PARLEY_TOKENLESS_POSTS"] = "policy"
    result = runner.invoke(args=["site", "set", "default", "--tokenless-posts", "refuse"])
    assert result.exit_code == 0, result.output
    assert "tokenless-posts=refuse" in result.output
    assert post(client, text="Refused.").status_code == 403
    result = runner.invoke(args=["site", "set", "default", "--tokenless-posts", "moderate"])
    assert result.exit_code == 0, result.output
    assert json_of(post(client, text="Held."))["status"] == "pending"
    result = runner.invoke(args=["site", "set", "default", "--tokenless-posts", "default"])
    assert "tokenless-posts=default" in result.output
    assert json_of(post(client, text="Published."))["status"] == "approved"
    refused = runner.invoke(args=["site", "set", "default", "--tokenless-posts", "maybe"])
    assert refused.exit_code != 0

    make_moderator(app)
    assert log_in(client).status_code == 303
    form = client.get("/admin/sites/default").get_data(as_text=True)
    assert 'name="tokenless_posts"' in form
    saved = admin_post(client, "/admin/sites/default", **site_form(tokenless_posts="refuse"))
    assert saved.status_code == 303
    assert post(client, text="Refused again.").status_code == 403
    wrong = admin_post(client, "/admin/sites/default", **site_form(tokenless_posts="maybe"))
    assert wrong.status_code == 422
    with app.app_context():
        assert default_site().tokenless_posts == "refuse"
        details = db.session.scalars(sa.select(AuditEntry.detail)).all()
    assert any("tokenless_posts: None -> refuse" in d for d in details)


def test_the_tokenless_rule_is_read_from_the_environment() -> None:
    assert from_environment({"PARLEY_TOKENLESS_POSTS": " Refuse "}) == {
        "PARLEY_TOKENLESS_POSTS": "refuse"
    }
    with pytest.raises(ConfigError, match="PARLEY_TOKENLESS_POSTS must be one of"):
        from_environment({"PARLEY_TOKENLESS_POSTS": "sometimes"})


# --- API tokens ---------------------------------------------------------------------------


def issue(client: FlaskClient, site: str = "default", label: str = "import script") -> str:
    answer = admin_post(client, "/admin/tokens", site=site, label=label)
    assert answer.status_code == 201, answer.get_data(as_text=True)[:500]
    found = re.search(r'id="new-token" class="admin-token" value="([^"]+)"', answer.text)
    assert found, "the new token is shown once"
    return found.group(1)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_an_owner_issues_a_token_shown_once_and_stored_only_as_a_keyed_hash(
    app: Flask, owner: FlaskClient
) -> None:
    token = issue(owner)
    assert token.startswith("parley_") and len(token) >= 40
    listing = owner.get("/admin/tokens").get_data(as_text=True)
    assert "import script" in listing and token not in listing
    with app.app_context():
        row = db.session.scalars(sa.select(ApiToken)).one()
        assert row.token_hash != token and len(row.token_hash) == 64
        assert row.last_used is None and row.revoked is None
        actions = db.session.scalars(sa.select(AuditEntry.action)).all()
    assert "issue api token" in actions
    for name in ("parley.sqlite", "parley.sqlite-wal"):
        path = Path(app.instance_path) / name
        assert not path.exists() or token[7:].encode() not in path.read_bytes(), name
    assert admin_post(owner, "/admin/tokens", site="default", label="  ").status_code == 422


def test_a_post_with_an_api_token_is_taken_like_the_forms(app: Flask, owner: FlaskClient) -> None:
    app.config["PARLEY_TOKENLESS_POSTS"] = "refuse"
    set_site(app, moderation="none")
    token = issue(owner)
    client = app.test_client()  # a server: no cookies, no browser headers
    assert post(client, text="Without.").status_code == 403
    sent = post(client, bearer(token), text="From our importer.")
    assert sent.status_code == 201 and json_of(sent)["status"] == "approved"
    # A browser's post with it needs no form token either; the site's policy still applies.
    set_site(app, moderation="all")
    held = post(client, {**bearer(token), **BROWSER}, text="Held by the policy.")
    assert json_of(held)["status"] == "pending"
    with app.app_context():
        assert db.session.scalars(sa.select(ApiToken.last_used)).one() is not None


def test_an_unknown_revoked_or_other_sites_token_is_refused(app: Flask, owner: FlaskClient) -> None:
    with app.app_context():
        db.session.add(Site(key="other", name="Other", edit_window=900))
        db.session.commit()
    make_moderator(app, "other@example.org", sites={"other": "owner"})
    token = issue(owner)
    client = app.test_client()
    for wrong in ("parley_" + "x" * 43, "", "a" * 500, token + "x"):
        refused = post(client, bearer(wrong), text=f"Wrong {len(wrong)}.")
        assert (refused.status_code, code(refused)) == (403, "bad_api_token"), wrong
    elsewhere = client.post(
        "/api/v1/comments",
        query_string={"site": "other", "page": PAGE},
        json=comment_body(),
        headers=bearer(token),
    )
    assert (elsewhere.status_code, code(elsewhere)) == (403, "bad_api_token")
    with app.app_context():
        ident = db.session.scalars(sa.select(ApiToken.id)).one()
    # Another site's owner cannot revoke it; its own owner can.
    other = app.test_client()
    assert log_in(other, "other@example.org").status_code == 303
    assert admin_post(other, f"/admin/tokens/{ident}/revoke").status_code == 404
    assert post(client, bearer(token), text="Still good.").status_code == 201
    assert admin_post(owner, f"/admin/tokens/{ident}/revoke").status_code == 303
    revoked = post(client, bearer(token), text="After revoking.")
    assert (revoked.status_code, code(revoked)) == (403, "bad_api_token")
    assert "revoked" in owner.get("/admin/tokens").get_data(as_text=True)
    assert stored(app) == [("Still good.", "approved")]


def test_only_owners_issue_tokens(app: Flask, client: FlaskClient) -> None:
    make_moderator(app, "mod@example.org", sites={"default": "moderator"})
    assert log_in(client, "mod@example.org").status_code == 303
    page = client.get("/admin/tokens")
    assert page.status_code == 200 and "you own no site" in page.get_data(as_text=True)
    refused = admin_post(client, "/admin/tokens", site="default", label="mine")
    assert refused.status_code == 422
    with app.app_context():
        assert db.session.scalars(sa.select(ApiToken)).all() == []


def test_the_document_names_the_bearer_token_as_optional() -> None:
    from service.web.api.openapi import openapi_document

    document = openapi_document()
    scheme = document["components"]["securitySchemes"]["apiToken"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    assert document["paths"]["/api/v1/comments"]["post"]["security"] == [{}, {"apiToken": []}]


# --- repeated posts -----------------------------------------------------------------------


def test_a_repeat_by_its_proven_author_gets_the_first_comment_back(
    app: Flask, client: FlaskClient
) -> None:
    key = visitor_key(client)
    first = post(client, {"X-Parley-Visitor": key}, text="Said once.")
    assert first.status_code == 201
    again = post(client, {"X-Parley-Visitor": key}, text="Said once.")
    assert again.status_code == 200
    assert json_of(again)["comment"] == json_of(first)["comment"]
    assert json_of(again)["edit_token"] == json_of(first)["edit_token"]
    # The first comment's edit token proves it too (a client that lost the answer has not
    # got it, but one that resends the same post has).
    token = {"X-Parley-Edit-Token": json_of(first)["edit_token"]}
    by_token = post(client, token, text="Said once.")
    assert by_token.status_code == 200
    assert json_of(by_token)["edit_token"] == json_of(first)["edit_token"]
    assert stored(app) == [("Said once.", "approved")]


def test_any_other_repeat_is_409_naming_the_first_comment_with_no_token(
    app: Flask, client: FlaskClient
) -> None:
    key = visitor_key(client)
    first = post(client, {"X-Parley-Visitor": key}, text="Mine.")
    ident = json_of(first)["comment"]["id"]
    for headers in (
        {},  # someone who typed the author's email
        {"X-Parley-Visitor": visitor_key(client)},  # another visitor
        {"X-Parley-Edit-Token": "not-the-token"},
        {"X-Parley-Edit-Token": "x" * 5000},
    ):
        repeat = post(client, headers, text="Mine.")
        assert repeat.status_code == 409, headers
        error = json_of(repeat)["error"]
        assert error["code"] == "duplicate"
        assert error["fields"] == {"duplicate_of": str(ident)}
        assert "edit_token" not in repeat.get_data(as_text=True)
    assert stored(app) == [("Mine.", "approved")]
    # Another author, another text, or a reply is no repeat.
    assert post(client, email="grace@example.org", text="Mine.").status_code == 201
    assert post(client, text="Mine, again.").status_code == 201
    assert post(client, text="Mine.", parent=ident).status_code == 201


# --- the per-page limit -------------------------------------------------------------------


PAGE_LIMIT = {
    "RATELIMIT_ENABLED": True,
    "PARLEY_POST_LIMIT": "100/minute",
    "PARLEY_PAGE_POST_LIMIT": "3/minute",
}


@pytest.mark.parametrize("app_config", [PAGE_LIMIT])
def test_the_per_page_limit_counts_a_page_once_however_its_id_is_spaced(
    client: FlaskClient,
) -> None:
    codes = [
        client.post(
            "/api/v1/comments",
            query_string={"page": page},
            json=comment_body(text=f"Spaced {n}."),
            environ_base={"REMOTE_ADDR": f"198.51.100.{n}"},
        ).status_code
        for n, page in enumerate(["/p", " /p", "/p ", "\t/p\n"])
    ]
    assert codes == [201, 201, 201, 429]
    with client.application.app_context():
        keys = db.session.scalars(sa.select(Comment.page_id).distinct()).all()
    assert len(keys) == 1
