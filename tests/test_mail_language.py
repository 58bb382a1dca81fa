"""Mail a person asks for speaks their language: the privacy link is written in the
request's ``lang``, else its ``Accept-Language``, else the site's setting, else English,
from the JSON API and the privacy page alike (docs/languages.md). Mail goes through the
outbox, and here once through a real SMTP server on loopback (aiosmtpd)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from servers import Mailbox
from support import EMAIL, csrf_token, json_of, outbox_rows, send_outbox, set_site
from werkzeug.test import TestResponse

from service.data import OutboxMessage

GERMAN_EXPORT = "[Default site] Ihre Daten: Link zum Herunterladen"
ARABIC_EXPORT = "[Default site] بياناتك: رابط التنزيل"
GERMAN_ERASE = "[Default site] Löschen Ihrer Daten bestätigen"
LINK = re.compile(r"http://localhost/privacy/(?:export|erase)/[A-Za-z0-9_.\-]+")


@pytest.fixture
def app_config(mailbox: Mailbox) -> dict[str, Any]:
    return {
        "PARLEY_SMTP_HOST": "127.0.0.1",
        "PARLEY_SMTP_PORT": mailbox.port,
        "PARLEY_SMTP_SECURITY": "none",
        "PARLEY_SMTP_FROM": "Parley <parley@parley.test>",
    }


@pytest.fixture
def known(post: Any) -> None:
    """A comment sent with EMAIL: something is stored about the address, so it gets mail."""
    assert post(text="Something stored about Ada.").status_code == 201


def ask(
    client: FlaskClient, kind: str = "export", headers: dict[str, str] | None = None, **query: str
) -> TestResponse:
    return client.post(
        "/api/v1/privacy-requests",
        query_string=query,
        json={"email": EMAIL, "kind": kind},
        headers=headers or {},
    )


def privacy_mail(app: Flask) -> OutboxMessage:
    (mail,) = [row for row in outbox_rows(app) if row.kind == "mail"]
    return mail


def test_the_api_mails_the_link_in_the_accept_language(app, client, known) -> None:
    answer = ask(client, headers={"Accept-Language": "de-AT,de;q=0.9,en;q=0.5"})
    assert answer.status_code == 202
    # The answer itself is the API's: chosen by lang and the site, never by the header.
    assert json_of(answer)["message"].startswith("If anything is stored about this address")
    mail = privacy_mail(app)
    assert mail.subject == GERMAN_EXPORT
    assert "Jemand, hoffentlich Sie, hat alles angefordert" in mail.body
    assert "Someone" not in mail.body and LINK.search(mail.body)
    assert '<html lang="de" dir="ltr">' in mail.html and "Meine Daten herunterladen" in mail.html


def test_the_lang_parameter_comes_before_the_accept_language(app, client, known) -> None:
    answer = ask(client, headers={"Accept-Language": "de"}, lang="ar")
    assert answer.status_code == 202
    mail = privacy_mail(app)
    assert mail.subject == ARABIC_EXPORT
    assert "طلب شخص ما، نأمل أن تكون أنت، كل ما" in mail.body
    assert '<html lang="ar" dir="rtl">' in mail.html and "تنزيل بياناتي" in mail.html


def test_an_unknown_language_falls_back_to_the_site_then_english(app, client, known) -> None:
    set_site(app, language="es")
    assert ask(client, headers={"Accept-Language": "fr-CA,fr"}, lang="xx").status_code == 202
    assert privacy_mail(app).subject == "[Default site] Tus datos: enlace de descarga"


def test_without_a_language_asked_the_mail_speaks_the_site_language(app, client, known) -> None:
    set_site(app, language="ta")
    assert ask(client, "erase").status_code == 202
    mail = privacy_mail(app)
    assert mail.subject == "[Default site] உங்கள் தரவை அழிப்பதை உறுதிசெய்யவும்"
    assert "என் தரவை அழி" in mail.html


def test_the_privacy_page_mails_in_the_browser_language(app, client, known) -> None:
    german = {"Accept-Language": "de"}
    page = client.get("/privacy?site=default", headers=german).get_data(as_text=True)
    token = csrf_token(page)
    sent = client.post(
        "/privacy?site=default",
        data={"csrf_token": token, "email": EMAIL, "kind": "erase"},
        headers=german,
    )
    assert sent.status_code == 303
    mail = privacy_mail(app)
    assert mail.subject == GERMAN_ERASE
    assert "Daten löschen" in mail.html and '<html lang="de"' in mail.html


def test_the_privacy_page_keeps_its_lang_for_the_form_and_the_mail(app, client, known) -> None:
    page = client.get("/privacy?site=default&lang=ar", headers={"Accept-Language": "de"})
    html = page.get_data(as_text=True)
    assert 'action="/privacy?site=default&amp;lang=ar"' in html
    sent = client.post(
        "/privacy?site=default&lang=ar",
        data={"csrf_token": csrf_token(html), "email": EMAIL, "kind": "export"},
        headers={"Accept-Language": "de"},
    )
    assert sent.status_code == 303 and "lang=ar" in sent.headers["Location"]
    assert privacy_mail(app).subject == ARABIC_EXPORT
    thanks = client.get(sent.headers["Location"]).get_data(as_text=True)
    assert 'lang="ar"' in thanks


def test_the_german_mail_arrives_in_german(app, client, known, mailbox: Mailbox) -> None:
    assert ask(client, headers={"Accept-Language": "de"}).status_code == 202
    send_outbox(app)
    (message,) = mailbox.messages
    assert str(message["Subject"]) == GERMAN_EXPORT
    body = message.get_body(("plain",))
    assert body is not None and "Jemand, hoffentlich Sie" in str(body.get_content())
