"""Cross-site rules, CORS, framing and the loader's delivery."""

from __future__ import annotations

import gzip

import pytest
import sqlalchemy as sa
from support import form_token

from service.data import Comment, Site
from service.extensions import db

ALLOWED = "https://reviews.example"
OTHER_SITE = "https://other.example"
EVIL = "https://evil.example"


@pytest.fixture
def app_config():
    return {"PARLEY_ALLOWED_ORIGINS": [ALLOWED]}


@pytest.fixture
def second_site(app):
    with app.app_context():
        site = Site(key="other", name="Other", edit_window=900)
        site.origins = [OTHER_SITE]
        db.session.add(site)
        db.session.commit()


def count(app):
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(Comment))


def body(**extra):
    return {"name": "Ada", "email": "ada@example.org", "text": "Hello", **extra}


@pytest.mark.parametrize(
    ("origin", "status"),
    [
        (ALLOWED, 201),
        ("http://localhost", 201),
        (None, 201),
        (EVIL, 403),
        ("null", 403),
        (ALLOWED + ".evil.example", 403),
        (ALLOWED.replace("https", "http"), 403),
    ],
)
def test_writes_are_allowed_only_from_the_sites_origins(app, client, origin, status):
    headers = {"Origin": origin} if origin else {}
    # A browser's post brings the form's token (test_post_tokens.py: without it, 403).
    sent = body(form_token=form_token(client))
    response = client.post("/api/v1/comments?page=/p", json=sent, headers=headers)
    assert response.status_code == status
    if status == 403:
        assert response.json["error"]["code"] == "origin_not_allowed"
        assert count(app) == 0
        assert "Access-Control-Allow-Origin" not in response.headers


def test_a_browser_request_marked_cross_site_without_origin_is_refused(app, client):
    response = client.post(
        "/api/v1/comments?page=/p", json=body(), headers={"Sec-Fetch-Site": "cross-site"}
    )
    assert response.status_code == 403
    assert response.json["error"]["code"] == "cross_site"
    assert count(app) == 0


def test_same_origin_browser_requests_without_origin_are_allowed(client):
    response = client.post(
        "/api/v1/comments?page=/p",
        json=body(form_token=form_token(client)),
        headers={"Sec-Fetch-Site": "same-origin"},
    )
    assert response.status_code == 201


def test_cors_answers_only_allowed_origins(client):
    allowed = client.get("/api/v1/comments?page=/p", headers={"Origin": ALLOWED})
    assert allowed.headers["Access-Control-Allow-Origin"] == ALLOWED
    assert "Origin" in allowed.headers["Vary"]
    assert "Access-Control-Allow-Credentials" not in allowed.headers
    refused = client.get("/api/v1/comments?page=/p", headers={"Origin": EVIL})
    assert refused.status_code == 200  # public data, but the browser may not read it
    assert "Access-Control-Allow-Origin" not in refused.headers


def test_preflight_allows_the_api_headers_for_allowed_origins(client):
    response = client.options(
        "/api/v1/ratings?page=/p",
        headers={
            "Origin": ALLOWED,
            "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "content-type,x-parley-visitor",
        },
    )
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == ALLOWED
    assert "PUT" in response.headers["Access-Control-Allow-Methods"]
    assert "X-Parley-Visitor" in response.headers["Access-Control-Allow-Headers"]
    refused = client.options(
        "/api/v1/ratings?page=/p", headers={"Origin": EVIL, "Access-Control-Request-Method": "PUT"}
    )
    assert "Access-Control-Allow-Origin" not in refused.headers


def test_fragments_are_readable_by_allowed_origins_only(client):
    for path in ("/widget/comments?page=/p", "/widget/rating?page=/p"):
        assert (
            client.get(path, headers={"Origin": ALLOWED}).headers["Access-Control-Allow-Origin"]
            == ALLOWED
        )
        assert (
            "Access-Control-Allow-Origin" not in client.get(path, headers={"Origin": EVIL}).headers
        )


def test_each_site_allows_its_own_origins(app, client, second_site):
    def post(site: str, origin: str) -> int:
        sent = body(form_token=form_token(client))
        url = f"/api/v1/comments?site={site}&page=/p"
        return client.post(url, json=sent, headers={"Origin": origin}).status_code

    assert post("other", OTHER_SITE) == 201
    assert post("other", ALLOWED) == 403
    assert post("default", OTHER_SITE) == 403


def test_edits_are_checked_against_the_comments_own_site(app, client, second_site):
    posted = client.post("/api/v1/comments?page=/p", json=body()).json
    headers = {"X-Parley-Edit-Token": posted["edit_token"], "Origin": OTHER_SITE}
    url = f"/api/v1/comments/{posted['comment']['id']}?site=other"
    assert client.patch(url, json={"text": "x"}, headers=headers).status_code == 403
    assert client.delete(url, headers=headers).status_code == 403
    headers["Origin"] = ALLOWED
    assert client.patch(url, json={"text": "x"}, headers=headers).status_code == 200


def test_the_standalone_page_may_be_framed_by_the_sites_origins_only(client):
    response = client.get("/thread?page=/p")
    csp = response.headers["Content-Security-Policy"]
    assert f"frame-ancestors 'self' {ALLOWED}" in csp
    assert "'unsafe-inline'" not in csp
    assert response.headers["X-Robots-Tag"] == "noindex"


def test_other_pages_refuse_framing_and_carry_security_headers(client):
    for path in ("/demo/glass-orchard", "/widget/comments?page=/p", "/healthz"):
        response = client.get(path)
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


def test_the_loader_is_compressed_revalidated_and_briefly_cached(client):
    response = client.get("/embed.js", headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert response.headers["Content-Encoding"] == "gzip"
    assert response.headers["Cache-Control"] == "public, max-age=300"
    source = gzip.decompress(response.get_data()).decode()
    assert "__PARLEY_CSS_URL__" not in source
    etag = response.headers["ETag"]
    again = client.get("/embed.js", headers={"If-None-Match": etag})
    assert again.status_code == 304


def test_the_loader_fits_in_6144_bytes_gzipped(client):
    response = client.get("/embed.js", headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200 and response.mimetype == "text/javascript"
    assert response.headers["Content-Encoding"] == "gzip"
    assert len(response.get_data()) <= 6144
    # Served as built: compressed once, never again on the way out (nor as br).
    gzip.decompress(response.get_data())
    assert client.get("/embed.js", headers={"Accept-Encoding": "br, gzip"}).get_data() == (
        response.get_data()
    )


def test_the_loader_points_at_a_versioned_long_cached_stylesheet(client):
    import re

    loader = client.get("/embed.js")
    assert loader.status_code == 200 and loader.mimetype == "text/javascript"
    source = loader.get_data(as_text=True)
    url = re.search(r"http://localhost(/assets/[0-9a-f]{16}/widget\.css)", source)
    assert url, "the loader does not name the versioned stylesheet"
    css = client.get(url.group(1))
    assert css.status_code == 200 and css.mimetype == "text/css"
    assert "immutable" in css.headers["Cache-Control"]
    assert ":host" in css.get_data(as_text=True)
    assert client.get("/assets/0000000000000000/widget.css").status_code == 404
    assert client.get("/assets/x/secret_key").status_code == 404


def test_the_served_minified_loader_is_built_from_the_current_source():
    import hashlib
    from pathlib import Path

    static = Path(__file__).resolve().parent.parent / "service" / "static"
    source = hashlib.sha256((static / "embed.js").read_bytes()).hexdigest()
    first_line = (static / "embed.min.js").read_text().splitlines()[0]
    assert f"sha256:{source}" in first_line, "embed.min.js is stale: run `make embed`"
