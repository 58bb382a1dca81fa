"""Languages: complete catalogues, how an answer's language is chosen, and where it shows.

The catalogues are compared with the messages extracted from the code and templates right
now (babel.cfg, as ``make translations`` does): a message someone marks and nobody
translates fails here, in every language.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from flask import Flask
from flask.testing import FlaskClient
from support import comment_body, make_moderator, outbox_rows, set_site

from service.rules import languages

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "service" / "translations"
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None, "_l": None}
PLURALS = {"en": 2, "de": 2, "es": 3, "ta": 2, "ar": 6}
PLACEHOLDER = re.compile(r"%\([a-z_]+\)[sdr]")


@cache
def extracted() -> dict[str, tuple[str, ...]]:
    """Every marked message (msgid: its msgid and plural), from service/ and templates/."""
    with open(ROOT / "babel.cfg", encoding="utf-8") as config:
        method_map, options_map = parse_mapping_cfg(config)
    found: dict[str, tuple[str, ...]] = {}
    for folder in ("service", "templates"):
        for _file, _line, message, _comments, _context in extract_from_dir(
            ROOT / folder, method_map, options_map, keywords=KEYWORDS
        ):
            ids = (message,) if isinstance(message, str) else tuple(message)
            found[ids[0]] = ids
    return found


def catalogue(language: str) -> Catalog:
    with open(TRANSLATIONS / language / "LC_MESSAGES" / "messages.po", "rb") as po:
        return read_po(po, locale=language)


def test_messages_are_extracted_from_templates_and_code():
    messages = extracted()
    assert "Leave a Reply" in messages  # a template
    assert "Please write a comment." in messages  # a domain rule (rules/validation.py)
    assert messages["%(num)d comment"] == ("%(num)d comment", "%(num)d comments")


@pytest.mark.parametrize("language", languages.SPOKEN)
def test_every_message_is_translated_in_every_language(language):
    catalog = catalogue(language)
    assert catalog.num_plurals == PLURALS[language]
    missing, empty, fuzzy, broken = [], [], [], []
    for msgid, ids in extracted().items():
        entry = catalog.get(msgid)
        if entry is None:
            missing.append(msgid)
            continue
        found = entry.string
        strings = tuple(found) if isinstance(found, tuple | list) else (found or "",)
        if len(ids) == 2 and len(strings) != catalog.num_plurals:
            broken.append(f"{msgid!r}: {len(strings)} plural forms")
        if not all(s.strip() for s in strings):
            empty.append(msgid)
        if entry.fuzzy:
            fuzzy.append(msgid)
        wanted = set(PLACEHOLDER.findall(" ".join(ids)))
        for text in strings:
            # Each translation keeps the placeholders (a plural form may leave out the number).
            if set(PLACEHOLDER.findall(text)) - wanted or (
                len(ids) == 1 and set(PLACEHOLDER.findall(text)) != wanted
            ):
                broken.append(f"{msgid!r}: placeholders of {text!r}")
    assert not missing, f"{language}: not in the catalogue (make translations): {missing}"
    assert not empty, f"{language}: not translated: {empty}"
    assert not fuzzy, f"{language}: fuzzy: {fuzzy}"
    assert not broken, f"{language}: {broken}"


def _key(value: object) -> object:
    return tuple(value) if isinstance(value, list | tuple) else value


@pytest.mark.parametrize("language", languages.SPOKEN)
def test_compiled_catalogues_are_in_step_with_their_sources(language):
    folder = TRANSLATIONS / language / "LC_MESSAGES"
    source = catalogue(language)
    with open(folder / "messages.mo", "rb") as mo:
        compiled = read_mo(mo)
    wanted = {
        _key(m.id): _key(m.string)
        for m in source
        if m.id and not m.fuzzy and all(m.string if isinstance(m.string, tuple) else [m.string])
    }
    have = {_key(m.id): _key(m.string) for m in compiled if m.id}
    assert have == wanted, f"{language}: run `make translations` (pybabel compile)"


def test_a_tag_is_matched_by_itself_then_by_its_base_language():
    assert languages.match("de-AT") == "de"
    assert languages.match("AR_eg") == "ar"
    assert languages.match("ta") == "ta"
    assert languages.match("fr") is None
    assert languages.match("not a tag") is None
    assert languages.resolve("fr", "es-MX", "de") == "es"
    assert languages.resolve(None, "zz") == "en"
    assert languages.direction("ar") == "rtl" and languages.direction("de") == "ltr"


# --- answers ------------------------------------------------------------------------------


def fragment(client: FlaskClient, headers: dict[str, str] | None = None, **params: str) -> str:
    query = {"site": "default", "page": "/article", **params}
    response = client.get("/widget/comments", query_string=query, headers=headers or {})
    assert response.status_code == 200
    return response.get_data(as_text=True)


def root_of(html: str) -> str:
    found = re.search(r'<div class="parley"[^>]*>', html)
    assert found, html[:300]
    return found.group(0)


def test_the_lang_parameter_chooses_the_fragment_language_with_plural_forms(post, client):
    for n in range(3):
        assert post(text=f"Comment number {n}").status_code == 201
    german = fragment(client, lang="de")
    assert "3 Kommentare" in german and "3 comments" not in german
    assert "Antworten" in german or "Kommentar verfassen" in german
    assert 'lang="de"' in root_of(german) and 'dir="ltr"' in root_of(german)
    arabic = fragment(client, lang="ar")
    assert 'lang="ar"' in root_of(arabic) and 'dir="rtl"' in root_of(arabic)
    assert "3 تعليقات" in arabic  # Arabic's "few" form (3 to 10)
    assert "3 comments" in fragment(client)  # no lang, and the site speaks English


def test_an_unknown_language_falls_back_to_the_base_language_then_the_site(app, post, client):
    assert post().status_code == 201
    assert "1 Kommentar<" in fragment(client, lang="de-AT")
    assert "1 comment<" in fragment(client, lang="fr")
    set_site(app, language="es-MX")
    assert "1 comentario<" in fragment(client, lang="fr")  # the site's setting, by its base


def test_the_site_language_setting_applies_without_lang(app, post, client):
    assert post().status_code == 201
    set_site(app, language="ta")
    html = fragment(client)
    assert 'lang="ta"' in root_of(html)
    assert "1 கருத்து" in html


def test_shared_reads_ignore_accept_language_and_top_level_pages_follow_it(post, client):
    assert post().status_code == 201
    german = {"Accept-Language": "de-DE,de;q=0.9,en;q=0.5"}
    shared = client.get(
        "/widget/comments", query_string={"site": "default", "page": "/article"}, headers=german
    )
    assert "1 comment<" in shared.get_data(as_text=True)
    assert "Accept-Language" not in shared.headers.get("Vary", "")
    page = client.get(
        "/thread", query_string={"site": "default", "page": "/article"}, headers=german
    )
    html = page.get_data(as_text=True)
    assert '<html lang="de" dir="ltr">' in html and "1 Kommentar<" in html
    arabic = client.get(
        "/thread",
        query_string={"site": "default", "page": "/article"},
        headers={"Accept-Language": "ar"},
    )
    assert '<html lang="ar" dir="rtl">' in arabic.get_data(as_text=True)


def test_cached_answers_are_kept_per_language(post, client):
    assert post().status_code == 201
    for _ in range(2):  # the second round comes from the cache and its front
        assert "1 Kommentar<" in fragment(client, lang="de")
        assert "1 comentario<" in fragment(client, lang="es")
        assert "1 comment<" in fragment(client)


def test_dates_are_absolute_and_localised_in_time_elements(post, client):
    assert post().status_code == 201
    html = fragment(client, lang="de")
    found = re.search(r'<time datetime="(\d{4})-(\d\d)-(\d\d)T[^"]+Z">([^<]+)</time>', html)
    assert found, html
    year, month, day, shown = found.groups()
    assert year in shown and str(int(day)) in shown
    assert re.search(r"\d\d:\d\d", shown)  # the time of day too
    assert not shown.startswith(f"{year}-{month}")  # not the ISO text


def test_api_errors_are_translated_and_keep_their_code(client):
    answer = client.get(
        "/api/v1/comments", query_string={"site": "nowhere", "page": "/a", "lang": "de"}
    )
    error = answer.get_json()["error"]
    assert answer.status_code == 404 and error["code"] == "site_not_found"
    assert error["message"] == "Auf diesem Dienst gibt es keine Website 'nowhere'."
    english = client.get("/api/v1/comments", query_string={"site": "nowhere", "page": "/a"})
    assert english.get_json()["error"]["message"] == "There is no site 'nowhere' on this service."


def test_field_errors_are_translated(client):
    answer = client.post(
        "/api/v1/comments",
        query_string={"site": "default", "page": "/a", "lang": "es"},
        json=comment_body(text="   "),
    )
    assert answer.status_code == 422
    assert answer.get_json()["error"]["fields"]["text"] == "Escribe un comentario."


def test_mail_speaks_the_site_language(app: Flask, post):
    set_site(app, moderation="all", notify_moderators=True, language="de")
    make_moderator(app)
    assert post(text="Hallo").status_code == 201
    (mail,) = [row for row in outbox_rows(app) if row.kind == "mail"]
    assert mail.subject.startswith("[Default site] Neuer Kommentar wartet auf Prüfung")
    assert "wartet auf Prüfung" in mail.body
    assert '<html lang="de" dir="ltr">' in (mail.html or "")


def test_every_stored_value_has_a_label():
    from service.data import bounds
    from service.web.i18n import LABELS

    assert set(LABELS["status"]) == set(bounds.STATUSES)
    assert set(LABELS["role"]) == set(bounds.ROLES)
    assert set(LABELS["ban"]) == set(bounds.BAN_KINDS)
    assert set(LABELS["policy"]) == set(bounds.MODERATION_POLICIES)
    assert set(LABELS["theme"]) == set(bounds.THEMES)
    assert set(LABELS["tokenless"]) == set(bounds.TOKENLESS_POSTS)
    assert set(LABELS["erasure"]) == set(bounds.ERASURE_MODES)
    assert set(LABELS["import"]) == set(bounds.IMPORT_STATES)


def test_the_loader_gets_its_messages_and_every_plural_category(post, client):
    assert post().status_code == 201
    strings = client.get("/widget/strings", query_string={"site": "default", "lang": "ar"})
    assert strings.status_code == 200 and "public" in strings.headers["Cache-Control"]
    found = strings.get_json()
    assert found["lang"] == "ar" and found["confirm"] == "هل تحذف هذا التعليق؟"
    assert set(found["n"]) == {"zero", "one", "two", "few", "many", "other"}
    assert found["n"]["few"] == "%(num)d تعليقات"
    assert found["replyTo"] == "الردّ على %(name)s"  # the loader fills in the name
    html = fragment(client, lang="de")
    assert "Diesen Kommentar löschen?" in root_of(html)  # data-t on the fragment's root


def test_admin_views_follow_the_browser_language(app, client):
    make_moderator(app)
    page = client.get("/admin/login", headers={"Accept-Language": "es-ES,es;q=0.9"})
    html = page.get_data(as_text=True)
    assert '<html lang="es" dir="ltr">' in html and "Inicia sesión para moderar" in html
    assert "Accept-Language" in page.headers["Vary"]
