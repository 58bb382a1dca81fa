"""Refusals with values in them read in the answer's language too: a counts GET over its
length (``lang``), and a scale change refused because votes exist (the admin's
``Accept-Language``); the command line keeps English."""

from __future__ import annotations

import html

from flask.testing import FlaskClient
from support import admin_post, csrf_token, json_of, site_form, visitor_key


def test_a_counts_get_over_its_length_is_refused_in_the_lang_asked(client: FlaskClient) -> None:
    long_ids = ["/" + "x" * 500 for _ in range(8)]
    german = client.get("/api/v1/counts", query_string={"page": long_ids, "lang": "de"})
    assert german.status_code == 414
    error = json_of(german)["error"]
    assert error["code"] == "uri_too_long"
    assert (
        error["message"] == "Die URL ist länger als 4000 Bytes: Verwenden Sie POST /api/v1/counts."
    )
    english = json_of(client.get("/api/v1/counts", query_string={"page": long_ids}))
    assert english["error"]["message"] == "The URL is over 4000 bytes: use POST /api/v1/counts."


def test_a_refused_scale_change_reads_in_the_admins_language(app, owner, client) -> None:
    key = visitor_key(client)
    vote = client.put(
        "/api/v1/ratings?page=/a", json={"value": 4}, headers={"X-Parley-Visitor": key}
    )
    assert vote.status_code == 200
    page = owner.get("/admin/sites/default", headers={"Accept-Language": "es"})
    assert page.status_code == 200
    refused = owner.post(
        "/admin/sites/default",
        data={
            **site_form(rating_scale="10"),
            "csrf_token": csrf_token(page.get_data(as_text=True)),
        },
        headers={"Accept-Language": "es"},
    )
    assert refused.status_code == 422
    text = html.unescape(refused.get_data(as_text=True))  # the key's quotes are escaped
    assert "El sitio 'default' tiene 1 votos en una escala de 5" in text
    assert "--rescale" in text and "has 1 votes" not in text
    english = admin_post(owner, "/admin/sites/default", **site_form(rating_scale="10"))
    assert "has 1 votes on a scale of 5" in english.get_data(as_text=True)
