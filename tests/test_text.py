"""Text that must not lie: names, right-to-left comments and websites.

- Names lose bidi embeddings, overrides and isolates, zero-width space, word joiner,
  byte-order mark and tag characters; zero-width joiners and non-joiners stay where they
  join (Persian, Indic scripts, emoji sequences) and go elsewhere.
- Comment bodies and names render with ``dir="auto"`` in the widget, the standalone page
  and the admin views, so Arabic, Hebrew and Tamil read in their own direction and never
  reorder what stands around them.
- A website is stored as one normalised URL, percent-encoded, or refused; the OpenAPI
  pattern of `website` lists only what the service takes and keeps as sent.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask.testing import FlaskClient
from hypothesis import given, settings
from hypothesis import strategies as st
from support import comment_body, json_of

from service.data.bounds import WEBSITE_MAX
from service.rules.text import display_name, normalize_url
from service.rules.validation import clean_name, clean_website
from service.web import schemas

ZWJ, ZWNJ, RLO, PDF = "\u200d", "\u200c", "\u202e", "\u202c"
PERSIAN = f"فاطمه{ZWNJ}زهرا"  # Fatemeh-Zahra: the ZWNJ keeps the two names' letters apart
HEBREW = "דוד כהן"
TAMIL = f"க்{ZWJ}ஷ ராமன்"  # a conjunct asked for with ZWJ after the virama
DEVANAGARI = f"क्{ZWJ}ष"
EMOJI = f"👩🏽{ZWJ}💻 🏳️{ZWJ}🌈"


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        (PERSIAN, PERSIAN),
        (TAMIL, TAMIL),
        (DEVANAGARI, DEVANAGARI),
        (EMOJI, EMOJI),
        (f"{RLO}{HEBREW}{PDF}", HEBREW),
        (f"Ada{RLO}gnp.exe", "Adagnp.exe"),
        ("\u2066Isolated\u2069 \u2067Name\u2068\u2069", "Isolated Name"),
        ("Zero\u200bWidth\u2060Joined\ufeff", "ZeroWidthJoined"),
        ("Bob\U000e0001\U000e0041\U000e0064\U000e007f", "Bob"),  # tag characters
        (f"{ZWJ}Ada{ZWNJ}", "Ada"),  # leading, trailing
        (f"Ad{ZWJ}{ZWJ}a", "Ada"),  # doubled
        (f"Ada {ZWNJ} Lovelace", "Ada Lovelace"),  # beside spaces, not letters
        (f"1{ZWJ}2", "12"),  # digits do not join
        ("Ada \u200b Lovelace", "Ada Lovelace"),  # removal leaves no double space
    ],
)
def test_names_lose_characters_that_hide_or_reorder_text(raw: str, shown: str) -> None:
    assert display_name(raw) == shown
    errors: dict[str, str] = {}
    assert clean_name(raw, errors) == shown and not errors


@pytest.mark.parametrize("raw", [RLO, f"{ZWJ}\u200b{ZWNJ}", "\U000e0041\U000e0042 \ufeff"])
def test_a_name_of_only_hidden_characters_is_refused(raw: str) -> None:
    errors: dict[str, str] = {}
    assert clean_name(raw, errors) is None and errors["name"] == "Please give a name."


def _post(client: FlaskClient, page: str, **fields: Any) -> dict[str, Any]:
    response = client.post(
        "/api/v1/comments", query_string={"page": page}, json=comment_body(**fields)
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    return json_of(response)["comment"]


RTL_TEXT = {
    "arabic": (f"{RLO}{PERSIAN}", PERSIAN, "مرحبا بالعالم، هذه **مقالة** رائعة."),
    "hebrew": (f"\u2067{HEBREW}\u2069", HEBREW, "שלום עולם, מאמר **נהדר**."),
    "tamil": (TAMIL, TAMIL, "வணக்கம் உலகம், அருமையான **கட்டுரை**."),
}


def _author_markup(html: str, name: str) -> bool:
    return bool(re.search(rf'class="parley-author" dir="auto"[^>]*>{re.escape(name)}<', html))


def test_arabic_hebrew_and_tamil_comments_render_in_their_own_direction(
    client: FlaskClient, owner: FlaskClient
) -> None:
    posted = {}
    for script, (name, shown, text) in RTL_TEXT.items():
        comment = _post(client, "/scripts", name=name, text=text)
        assert comment["author"] == shown, script
        assert RLO not in comment["author"] and "\u2067" not in comment["author"]
        posted[script] = comment
    fragment = client.get("/widget/comments?page=/scripts").get_data(as_text=True)
    standalone = client.get("/thread?page=/scripts").get_data(as_text=True)
    for html in (fragment, standalone):
        for script, (_, shown, _) in RTL_TEXT.items():
            assert _author_markup(html, shown), script
            body = re.search(
                rf'id="c{posted[script]["id"]}".*?<div class="parley-body" dir="auto">(.*?)</div>',
                html,
                re.S,
            )
            assert body and "<strong>" in body.group(1), script
        assert RLO not in html and "\u2067" not in html

    dashboard = owner.get("/admin/").get_data(as_text=True)
    for script, (_, shown, _) in RTL_TEXT.items():
        assert f'<strong dir="auto">{shown}</strong>' in dashboard, script
        detail = owner.get(f"/admin/comments/{posted[script]['id']}").get_data(as_text=True)
        assert f'<span dir="auto">{shown}</span>' in detail, script
        assert '<div class="admin-text admin-body" dir="auto"><p>' in detail, script
    assert dashboard.count('<div dir="auto"><p>') >= len(RTL_TEXT)


# --- websites ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("example.org", "https://example.org"),
        ("//example.org/x", "https://example.org/x"),
        ("HTTPS://Example.ORG:443/Path?Q=1#Top", "https://example.org/Path?Q=1#Top"),
        ("http://example.org:80/", "http://example.org/"),
        ("http://example.org:8080", "http://example.org:8080"),
        ("https://example.org./", "https://example.org/"),
        ("https://Bücher.example/straße", "https://xn--bcher-kva.example/stra%C3%9Fe"),
        ("https://例え.テスト/", "https://xn--r8jz45g.xn--zckzah/"),
        (
            'https://example.org/"><script>alert(1)</script>',
            "https://example.org/%22%3E%3Cscript%3Ealert(1)%3C/script%3E",
        ),
        (
            "https://example.org/it's here?q=<b>&x='1'",
            "https://example.org/it%27s%20here?q=%3Cb%3E&x=%271%27",
        ),
        ("https://example.org/%7euser/%zz", "https://example.org/%7Euser/%25zz"),
        ("https://example.org/a\\b`{|}^", "https://example.org/a%5Cb%60%7B%7C%7D%5E"),
        ("https://example.org/\u202egnp.exe", "https://example.org/%E2%80%AEgnp.exe"),
        ("http://192.0.2.7:8000/x", "http://192.0.2.7:8000/x"),
        ("http://[2001:DB8:0::1]/", "http://[2001:db8::1]/"),
    ],
)
def test_a_website_is_stored_as_one_normalised_url(
    client: FlaskClient, typed: str, stored: str
) -> None:
    assert normalize_url(typed, WEBSITE_MAX) == stored
    assert _post(client, "/sites", website=typed)["website"] == stored


@pytest.mark.parametrize(
    "typed",
    [
        "https://localhost",  # no dot: not a site readers can visit
        "https://exa_mple.org",
        "https://-example.org",
        "https://example..org",
        "http://127.1/",  # read as 127.0.0.1 by browsers: only a plain dotted quad counts
        "http://0x7f.0.0.1/",
        "http://256.1.1.1/",
        "https://[fe80::1%25eth0]/",
        "https://example.org:0",
        "https://example.org\\@evil.example",
        "https://evil.example\\.example.org",
        "https://☃.example",  # not a valid international name (IDNA 2008)
        "https://example.org/" + "%22" * 200,
        "https://example.org/" + '"' * 200,  # 600 characters once encoded
    ],
)
def test_a_website_that_cannot_be_a_clean_url_is_refused_with_a_clear_message(
    client: FlaskClient, typed: str
) -> None:
    errors: dict[str, str] = {}
    assert clean_website(typed, errors) is None
    assert "such as https://example.org" in errors["website"]
    response = client.post("/api/v1/comments?page=/sites", json=comment_body(website=typed))
    assert response.status_code == 422
    assert json_of(response)["error"]["fields"]["website"] == errors["website"]


WEBSITE = re.compile(schemas.WEBSITE)


DEFAULT_PORTS = {"http": 80, "https": 443}


@settings(max_examples=300, deadline=None)
@given(st.from_regex(WEBSITE, fullmatch=True).filter(lambda url: 0 < len(url) <= WEBSITE_MAX))
def test_a_website_matching_its_schema_is_kept_as_sent_but_for_case_and_port(url: str) -> None:
    errors: dict[str, str] = {}
    stored = clean_website(url, errors)
    assert stored is not None and not errors, (url, errors)
    found = re.fullmatch(r"(https?)://([^/?#:]+)(?::([0-9]+))?(.*)", url, re.S)
    assert found, url
    scheme, host, port, rest = found.groups()
    port = "" if port is None or int(port) == DEFAULT_PORTS[scheme] else f":{port}"
    rest = re.sub(r"%[0-9A-Fa-f]{2}", lambda escape: escape.group().upper(), rest)
    before, _, fragment = rest.partition("#")
    path, _, query = before.partition("?")  # an empty query or fragment is dropped
    rest = path + (f"?{query}" if query else "") + (f"#{fragment}" if fragment else "")
    assert stored == f"{scheme}://{host.lower()}{port}{rest}"
