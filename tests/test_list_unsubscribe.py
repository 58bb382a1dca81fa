"""The List-Unsubscribe header as it reaches a real SMTP server (aiosmtpd on loopback): one
plain ``<https://...>`` line, never RFC 2047 encoded words, whose link unsubscribes."""

from __future__ import annotations

import re
from itertools import takewhile
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from servers import Mailbox
from support import send_outbox

from service.data import Address
from service.extensions import db
from service.notify.mailer import build_message

# A short address, and one long enough that the header passes 78 characters by far.
PUBLIC_URLS = ["http://parley.test", "https://comments.a-rather-long-site-name.example.org"]


@pytest.fixture(params=PUBLIC_URLS)
def public(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def app_config(mailbox: Mailbox, public: str) -> dict[str, Any]:
    return {
        "PARLEY_SMTP_HOST": "127.0.0.1",
        "PARLEY_SMTP_PORT": mailbox.port,
        "PARLEY_SMTP_SECURITY": "none",
        "PARLEY_SMTP_FROM": "Parley <parley@parley.test>",
        "PARLEY_PUBLIC_URL": public,
    }


def raw_headers(raw: bytes) -> list[bytes]:
    """The header lines of a message as sent, continuation lines kept apart."""
    head = raw.replace(b"\r\n", b"\n").split(b"\n\n", 1)[0]
    return head.split(b"\n")


def test_list_unsubscribe_is_one_plain_line_and_its_link_works(
    app: Flask, post: Any, mailbox: Mailbox, public: str
) -> None:
    assert post(text="Tell me about replies.", notify=True).status_code == 201
    assert send_outbox(app).sent == 1
    (raw,) = mailbox.raw
    lines = raw_headers(raw)

    pattern = rb"List-Unsubscribe: <" + re.escape(public.encode()) + rb"/notify/unsubscribe/"
    pattern += rb"[A-Za-z0-9_-]{43}>"
    (header,) = [line for line in lines if line.lower().startswith(b"list-unsubscribe:")]
    assert re.fullmatch(pattern, header), header
    assert b"=?" not in header
    following = lines[lines.index(header) + 1]
    assert not following[:1].isspace()  # not folded onto a continuation line
    assert following == b"List-Unsubscribe-Post: List-Unsubscribe=One-Click"
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))

    # What a mail client reads is the same link, and its one-click POST unsubscribes.
    (message,) = mailbox.messages
    url = header.decode().split(": ", 1)[1][1:-1]
    assert message["List-Unsubscribe"] == f"<{url}>"
    answer = app.test_client().post(url, data={"List-Unsubscribe": "One-Click"})
    assert answer.status_code == 200
    with app.app_context():
        assert db.session.scalar(sa.select(Address.unsubscribed)) is not None


def test_other_headers_are_still_folded_and_encoded_as_mail_expects() -> None:
    """Only List-Unsubscribe is written as given: a long non-ASCII subject is still folded
    into encoded words on lines of at most 78 characters."""
    subject = "Antwort auf Ihren Kommentar über „Grüße aus Köln“ " * 3
    long_link = "<https://example.org/" + "u" * 90 + ">"
    message = build_message(
        sender="Parley <parley@parley.test>",
        to="ada@example.org",
        subject=subject,
        text="text",
        html="",
        headers={"List-Unsubscribe": long_link},
    )
    lines = raw_headers(message.as_bytes(policy=message.policy.clone(linesep="\r\n")))
    first = next(i for i, line in enumerate(lines) if line.startswith(b"Subject:"))
    folded = [lines[first], *takewhile(lambda line: line[:1] == b" ", lines[first + 1 :])][
        : len(lines)
    ]
    words = re.findall(rb"=\?utf-8\?[bq]\?[^?]*\?=", b"".join(folded))
    assert len(folded) > 1 and words and all(len(line) <= 78 for line in folded)
    assert f"List-Unsubscribe: {long_link}".encode() in lines


@pytest.mark.parametrize("public", [PUBLIC_URLS[1]])
def test_over_https_only_the_one_click_request_goes_without_an_origin(
    app: Flask, post: Any, mailbox: Mailbox, public: str
) -> None:
    """A mail provider's RFC 8058 POST carries neither Origin nor Referer; a browser's
    form from another site, or another form without either, is still refused."""
    assert post(text="Tell me about replies.", notify=True).status_code == 201
    assert send_outbox(app).sent == 1
    url = mailbox.messages[0]["List-Unsubscribe"][1:-1]
    assert url.startswith("https://")
    client = app.test_client()
    one_click = {"List-Unsubscribe": "One-Click"}
    foreign = {"Origin": "https://evil.example"}
    assert client.post(url, data=one_click, headers=foreign).status_code == 400
    assert client.post(url, data={"action": "resubscribe"}).status_code == 400
    with app.app_context():
        assert db.session.scalar(sa.select(Address.unsubscribed)) is None
    assert client.post(url, data=one_click).status_code == 200
    with app.app_context():
        assert db.session.scalar(sa.select(Address.unsubscribed)) is not None
