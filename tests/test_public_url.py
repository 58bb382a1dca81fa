"""The service's own address comes from PARLEY_PUBLIC_URL, never from the request.

A request's ``Host`` (or, behind trusted proxies, ``X-Forwarded-Host``) is chosen by the
client: if absolute URLs or origin checks followed it, cached answers, mail and stored
page URLs would point wherever an attacker liked, and any origin could pass as the
service's own. Caches the loader and assets use stay bounded whatever the requests say.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from support import (
    OWNER,
    PASSWORD,
    base_config,
    comment_body,
    csrf_token,
    form_token,
    json_of,
    make_moderator,
)

from service import create_app
from service.config import ConfigError, new_data_key
from service.data import Page
from service.extensions import db
from service.web.widgets import assets

EVIL = "evil.example"
SPOOFED = {"Host": EVIL, "X-Forwarded-Host": EVIL, "X-Forwarded-Proto": "https"}


@pytest.fixture
def app_config() -> dict[str, Any]:
    # Behind one trusted proxy: X-Forwarded-For and -Proto count, -Host never does.
    return {"PARLEY_PUBLIC_URL": "https://comments.example.org", "PARLEY_TRUSTED_PROXIES": 1}


def test_production_refuses_to_start_without_a_public_url(tmp_path: Path, monkeypatch: Any):
    monkeypatch.setenv("PARLEY_ENV", "production")
    monkeypatch.setenv("PARLEY_SECRET_KEY", "s" * 48)
    monkeypatch.setenv("PARLEY_DATA_KEY", new_data_key())
    with pytest.raises(ConfigError, match="PARLEY_PUBLIC_URL"):
        create_app({"PARLEY_INSTANCE_PATH": str(tmp_path)})
    monkeypatch.setenv("PARLEY_PUBLIC_URL", "not a url")
    with pytest.raises(ConfigError, match="PARLEY_PUBLIC_URL must be an http"):
        create_app({"PARLEY_INSTANCE_PATH": str(tmp_path)})


def test_development_defaults_to_the_loopback_address_make_run_prints(tmp_path: Path):
    config = base_config(tmp_path, PARLEY_PORT=8123)
    del config["PARLEY_PUBLIC_URL"]
    assert create_app(config).config["PARLEY_PUBLIC_URL"] == "http://127.0.0.1:8123"


def test_absolute_urls_follow_the_public_url_whatever_the_host_header(
    client: FlaskClient, post: Any
):
    assert post("/p").status_code == 201
    answers = [
        client.get("/api/v1/comments?page=/p", headers=SPOOFED),
        client.get("/widget/comments?page=/p", headers=SPOOFED),
        client.get("/embed.js", headers=SPOOFED),
        client.get("/thread?page=/p", headers=SPOOFED),
    ]
    for answer in answers:
        assert answer.status_code == 200
        assert EVIL not in answer.get_data(as_text=True)
    avatar = json_of(answers[0])["comments"][0]["avatar"]
    assert avatar.startswith("https://comments.example.org/avatar/")
    fragment = answers[1].get_data(as_text=True)
    assert 'href="https://comments.example.org/thread?site=default' in fragment
    assert "https://comments.example.org/assets/" in answers[2].get_data(as_text=True)


def test_a_spoofed_host_does_not_make_an_origin_the_services_own(client: FlaskClient):
    refused = client.post(
        "/api/v1/comments?page=/p",
        json=comment_body(form_token=form_token(client)),  # a browser's post brings one
        headers={"Origin": f"https://{EVIL}", **SPOOFED},
    )
    assert refused.status_code == 403
    assert json_of(refused)["error"]["code"] == "origin_not_allowed"
    own = client.post(
        "/api/v1/comments?page=/p",
        json=comment_body(form_token=form_token(client)),
        headers={"Origin": "https://comments.example.org", **SPOOFED},
    )
    assert own.status_code == 201
    assert "access-control-allow-origin" not in {k.lower() for k in refused.headers.keys()}


def test_page_metadata_is_believed_only_from_the_sites_origins_never_from_the_host(
    app: Flask, client: FlaskClient
):
    # A non-browser client sends the page's metadata with a spoofed Host: the URL is on the
    # Host's "origin", not one the site allows, so neither title nor URL is kept.
    body = comment_body(title="Hijacked", url=f"https://{EVIL}/phish")
    assert client.post("/api/v1/comments?page=/meta", json=body, headers=SPOOFED).status_code == 201
    own = comment_body(title="Ours", url="https://comments.example.org/thread?page=/own")
    assert client.post("/api/v1/comments?page=/own", json=own, headers=SPOOFED).status_code == 201
    with app.app_context():
        pages = {p.key: (p.title, p.url) for p in db.session.query(Page).all()}
    assert pages["/meta"] == (None, None)
    assert pages["/own"] == ("Ours", "https://comments.example.org/thread?page=/own")


def test_localhost_and_127_0_0_1_are_the_same_loopback_origin(
    tmp_path: Path, migrated_template: Path
):
    shutil.copy(migrated_template, tmp_path / "parley.sqlite")
    config = base_config(tmp_path, PARLEY_PUBLIC_URL="http://127.0.0.1:8000")
    with create_app(config).test_client() as client:
        for origin in ("http://127.0.0.1:8000", "http://localhost:8000"):
            answer = client.post(
                "/api/v1/comments?page=/loop",
                json=comment_body(text=f"From {origin}.", form_token=form_token(client)),
                headers={"Origin": origin},
            )
            assert answer.status_code == 201, origin
        other_port = client.post(
            "/api/v1/comments?page=/loop",
            json=comment_body(text="From another port.", form_token=form_token(client)),
            headers={"Origin": "http://localhost:9000"},
        )
        assert other_port.status_code == 403


def test_the_loader_is_built_once_however_many_hosts_ask(client: FlaskClient):
    assets._loader_for.cache_clear()
    first = client.get("/embed.js").get_data()
    for n in range(300):
        answer = client.get("/embed.js", headers={"Host": f"h{n}.example", "Accept-Encoding": ""})
        assert answer.get_data() == first
    info = assets._loader_for.cache_info()
    assert info.currsize == 1 and info.maxsize == assets.LOADERS_KEPT
    assert assets.versioned.cache_info().maxsize == len(assets.FILES)


def test_unknown_asset_names_are_not_read_or_kept(client: FlaskClient):
    before = assets.versioned.cache_info().currsize
    for name in ("../secret_key", "embed.js", "x" * 200):
        etag = "0" * 16
        assert client.get(f"/assets/{etag}/{name}").status_code == 404
    assert assets.versioned.cache_info().currsize == before
    with pytest.raises(KeyError):
        assets.versioned("not-an-asset.css")
    assert re.fullmatch(r"[0-9a-f]{16}", assets.versioned("widget.css").etag)


def test_forms_of_the_services_own_pages_are_checked_against_the_public_url(
    app: Flask, client: FlaskClient
) -> None:
    """The admin login form, sent through a proxy whatever Host it passes on: its Origin or
    Referer must be PARLEY_PUBLIC_URL's origin, never whatever Host says."""
    make_moderator(app)
    own = "https://comments.example.org"

    def send(**headers: str) -> Any:
        page = client.get("/admin/login", headers=SPOOFED).get_data(as_text=True)
        form = {"csrf_token": csrf_token(page), "email": OWNER, "password": PASSWORD}
        return client.post("/admin/login", data=form, headers={**SPOOFED, **headers})

    assert send(Referer=f"{own}/admin/login").status_code == 303  # logged in
    client.post("/admin/logout", data={}, headers={**SPOOFED, "Origin": own})
    assert send(Origin=own).status_code == 303
    for refused in (
        {"Referer": f"https://{EVIL}/admin/login"},  # what Host says is not the service
        {"Origin": f"https://{EVIL}"},
        {},  # over HTTPS, a form must say where it came from
    ):
        answer = send(**refused)
        assert answer.status_code == 400, refused
        assert "sent from elsewhere" in answer.get_data(as_text=True)
