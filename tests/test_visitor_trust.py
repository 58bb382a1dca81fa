"""Visitor keys name their site; one budget issues them however they are got; votes and
likes are limited per key and per address; "Hold first-time authors" trusts only an author
who proved the email is theirs."""

from __future__ import annotations

import re
import secrets
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from itsdangerous import Signer, URLSafeTimedSerializer
from servers import Mailbox
from support import (
    EMAIL,
    OWNER,
    PASSWORD,
    base_config,
    comment_body,
    csrf_token,
    json_of,
    send_outbox,
    set_site,
    visitor_key,
)
from werkzeug.test import TestResponse

from service import create_app
from service.comments import moderation
from service.data import Address, Comment, Moderator, Site, VisitorProof, utcnow
from service.database import writing
from service.extensions import db
from service.notify import links
from service.rules import privacy
from service.sites import accounts

PAGE = "/trust"
OTHER = "https://other.example"
VISITOR = "X-Parley-Visitor"


@pytest.fixture
def other_site(app: Flask) -> None:
    with app.app_context():
        site = Site(key="other", name="Other", edit_window=900)
        site.origins = [OTHER]
        db.session.add(site)
        db.session.commit()


def key_for(client: FlaskClient, site: str = "default") -> str:
    answer = client.post("/api/v1/visitors", query_string={"site": site})
    assert answer.status_code == 201, answer.get_data(as_text=True)
    return str(json_of(answer)["visitor"])


def vote(client: FlaskClient, key: str, site: str = "default", value: int = 4) -> TestResponse:
    return client.put(
        "/api/v1/ratings",
        query_string={"site": site, "page": PAGE},
        json={"value": value},
        headers={VISITOR: key},
    )


def code(response: TestResponse) -> str:
    return str(json_of(response)["error"]["code"])


# --- keys name their site -----------------------------------------------------------------


def test_a_key_counts_only_on_the_site_it_was_issued_for(
    app: Flask, client: FlaskClient, other_site: None
) -> None:
    mine, theirs = key_for(client), key_for(client, "other")
    assert vote(client, mine).status_code == 200
    assert vote(client, theirs, "other").status_code == 200
    posted = client.post(f"/api/v1/comments?page={PAGE}", json=comment_body())
    ident = json_of(posted)["comment"]["id"]
    refused = [
        vote(client, theirs),
        client.delete(f"/api/v1/ratings?page={PAGE}", headers={VISITOR: theirs}),
        client.put(f"/api/v1/comments/{ident}/like", headers={VISITOR: theirs}),
        client.get(f"/api/v1/ratings?page={PAGE}", headers={VISITOR: theirs}),
        client.get(f"/api/v1/likes?page={PAGE}", headers={VISITOR: theirs}),
        client.get(f"/api/v1/comments?page={PAGE}", headers={VISITOR: theirs}),
        client.post(
            f"/api/v1/comments?page={PAGE}",
            json=comment_body(text="A review.", rating=5),
            headers={VISITOR: theirs},
        ),
    ]
    assert [(r.status_code, code(r)) for r in refused] == [(403, "bad_visitor")] * len(refused)
    assert "another site" in json_of(refused[0])["error"]["message"]
    assert client.put(f"/api/v1/comments/{ident}/like", headers={VISITOR: mine}).status_code == 200
    summary = json_of(client.get(f"/api/v1/ratings?page={PAGE}", headers={VISITOR: mine}))
    assert (summary["count"], summary["yours"]) == (1, 4)


def test_keys_for_unknown_or_malformed_sites_are_not_issued(client: FlaskClient) -> None:
    unknown = client.post("/api/v1/visitors", query_string={"site": "nosuch"})
    assert (unknown.status_code, code(unknown)) == (404, "site_not_found")
    malformed = client.post("/api/v1/visitors", query_string={"site": "x" * 100})
    assert (malformed.status_code, code(malformed)) == (400, "invalid_query")


def test_keys_issued_before_keys_named_their_site_stay_valid_everywhere(
    app: Flask, client: FlaskClient, other_site: None
) -> None:
    with app.app_context():
        # What POST /api/v1/visitors used to issue: a signed random id, no site.
        old = Signer(app.config["SECRET_KEY"], salt="parley.visitor").sign(
            secrets.token_urlsafe(18)
        )
    legacy = old.decode()
    assert vote(client, legacy).status_code == 200
    assert vote(client, legacy, "other").status_code == 200
    assert json_of(vote(client, legacy, value=2))["count"] == 1  # the same visitor, as before


def test_the_standalone_page_keeps_one_key_per_site_in_its_cookies(
    app: Flask, client: FlaskClient, other_site: None
) -> None:
    def rate(site: str, value: int) -> None:
        page = client.get("/thread", query_string={"site": site, "page": PAGE})
        token = csrf_token(page.get_data(as_text=True))
        url = f"/thread/rate?site={site}&page={PAGE}"
        assert client.post(url, data={"csrf_token": token, "value": str(value)}).status_code == 303

    rate("default", 5)
    rate("other", 3)
    rate("default", 4)  # the same cookie changes the vote
    mine = client.get_cookie("parley_visitor_default")
    theirs = client.get_cookie("parley_visitor_other")
    assert mine is not None and theirs is not None and mine.value != theirs.value
    assert json_of(vote(client, mine.value, value=4))["count"] == 1
    assert code(vote(client, theirs.value)) == "bad_visitor"


# --- budgets ------------------------------------------------------------------------------


def limited_app(tmp_path: Path, migrated_template: Path, **config: Any) -> Flask:
    shutil.copy(migrated_template, tmp_path / "parley.sqlite")
    return create_app(base_config(tmp_path, RATELIMIT_ENABLED=True, **config))


def rate_without_js(client: FlaskClient, value: int = 5) -> int:
    """The standalone page's rating form (CSRF is off in these apps: they test limits)."""
    return client.post(f"/thread/rate?page={PAGE}", data={"value": str(value)}).status_code


def test_one_issuing_budget_covers_the_api_and_the_standalone_pages_cookie(
    tmp_path: Path, migrated_template: Path
) -> None:
    app = limited_app(
        tmp_path, migrated_template, PARLEY_VISITOR_LIMIT="3 per minute", WTF_CSRF_ENABLED=False
    )
    api, cookie, fresh = app.test_client(), app.test_client(), app.test_client()
    assert [api.post("/api/v1/visitors").status_code for _ in range(2)] == [201, 201]
    assert rate_without_js(cookie) == 303  # issued a key: the third of the budget
    assert api.post("/api/v1/visitors").status_code == 429
    assert rate_without_js(fresh) == 429  # would issue one
    assert rate_without_js(cookie, 4) == 303  # keeps its key: issues none
    elsewhere = api.post("/api/v1/visitors", environ_base={"REMOTE_ADDR": "192.0.2.77"})
    assert elsewhere.status_code == 201
    with app.app_context():
        db.engine.dispose()


def test_votes_and_likes_have_budgets_per_key_and_per_address(
    tmp_path: Path, migrated_template: Path
) -> None:
    app = limited_app(
        tmp_path,
        migrated_template,
        PARLEY_VISITOR_LIMIT="100 per minute",
        PARLEY_POST_LIMIT="100 per minute",
        PARLEY_VOTE_LIMIT="100 per minute",
        PARLEY_VISITOR_VOTE_LIMIT="2 per minute",
        PARLEY_LIKE_LIMIT="100 per minute",
        PARLEY_VISITOR_LIKE_LIMIT="3 per minute",
    )
    client = app.test_client()
    posted = client.post(f"/api/v1/comments?page={PAGE}", json=comment_body())
    like_url = f"/api/v1/comments/{json_of(posted)['comment']['id']}/like"

    def voted(key: str, address: str) -> int:
        return client.put(
            f"/api/v1/ratings?page={PAGE}",
            json={"value": 3},
            headers={VISITOR: key},
            environ_base={"REMOTE_ADDR": address},
        ).status_code

    def liked(key: str, address: str, method: str = "PUT") -> int:
        environ = {"REMOTE_ADDR": address}
        return client.open(
            like_url, method=method, headers={VISITOR: key}, environ_base=environ
        ).status_code

    # Per key, whichever address it comes from; votes and likes apart.
    one, two = key_for(client), key_for(client)
    assert [voted(one, "192.0.2.1"), voted(one, "192.0.2.1")] == [200, 200]
    assert voted(one, "192.0.2.2") == 429
    assert voted(two, "192.0.2.1") == 200
    assert [liked(one, "192.0.2.1"), liked(one, "192.0.2.1", "DELETE")] == [200, 200]
    assert [liked(one, "192.0.2.3"), liked(one, "192.0.2.1")] == [200, 429]

    # Per address, whichever key comes from it.
    app.config.update(PARLEY_VOTE_LIMIT="3 per minute", PARLEY_LIKE_LIMIT="2 per minute")
    keys = [key_for(client) for _ in range(4)]
    assert [voted(key, "198.51.100.1") for key in keys] == [200, 200, 200, 429]
    assert voted(keys[3], "198.51.100.2") == 200
    assert [liked(key, "198.51.100.3") for key in keys[:3]] == [200, 200, 429]
    assert liked(keys[2], "198.51.100.4") == 200
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[float]]:
    """A clock the test moves: the rate limiter's windows follow it."""
    now = [time.time()]
    monkeypatch.setattr(time, "time", lambda: now[0])
    yield now


def test_with_the_defaults_one_address_cannot_cast_200_counted_votes_in_minutes(
    tmp_path: Path, migrated_template: Path, clock: list[float]
) -> None:
    """Each counted vote needs its own key. Keys come from one budget per address, however
    they are got (60 an hour by default); keys gathered for hours are then spent against
    the address's vote budget (20 a minute, 100 an hour). 250 keys, then a vote a second
    for four minutes: far fewer than 200 votes count."""
    app = limited_app(tmp_path, migrated_template, WTF_CSRF_ENABLED=False)
    api, form = app.test_client(), app.test_client()
    keys: list[str] = []
    start, first_hour = clock[0], 0
    for turn in range(5_000):  # both ways, taking turns, for as long as it takes
        if len(keys) == 250:
            break
        if turn % 2:
            issued = api.post("/api/v1/visitors")
            got = str(json_of(issued)["visitor"]) if issued.status_code == 201 else None
        else:
            form.delete_cookie("parley_visitor_default")
            rated = form.post("/thread/rate?page=/harvest", data={"value": "1"})
            cookie = form.get_cookie("parley_visitor_default")
            got = cookie.value if rated.status_code == 303 and cookie else None
        if got:
            keys.append(got)
        clock[0] += 1 if got else 60
        if clock[0] - start <= 3600:
            first_hour = len(keys)
    assert len(keys) == 250
    assert first_hour <= 60  # one budget: the API's keys and the form's cookies together
    for key in keys:
        clock[0] += 1
        vote(api, key, value=5)
    count = json_of(api.get(f"/api/v1/ratings?page={PAGE}"))["count"]
    assert 20 <= count <= 100, count
    with app.app_context():
        db.engine.dispose()


# --- trust ----------------------------------------------------------------------------------


@pytest.fixture
def app_config(mailbox: Mailbox) -> dict[str, Any]:
    return {
        "PARLEY_SMTP_HOST": "127.0.0.1",
        "PARLEY_SMTP_PORT": mailbox.port,
        "PARLEY_SMTP_SECURITY": "none",
        "PARLEY_SMTP_FROM": "Parley <parley@parley.test>",
    }


def send(client: FlaskClient, key: str | None = None, **fields: Any) -> TestResponse:
    headers = {VISITOR: key} if key else {}
    return client.post(
        f"/api/v1/comments?page={PAGE}", json=comment_body(**fields), headers=headers
    )


def status(response: TestResponse) -> str:
    assert response.status_code in (200, 201), response.get_data(as_text=True)
    return str(json_of(response)["status"])


def approve(app: Flask, response: TestResponse) -> None:
    with app.app_context(), writing():
        owner = db.session.scalars(sa.select(Moderator).where(Moderator.email == OWNER)).one()
        ident = json_of(response)["comment"]["id"]
        moderation.apply(owner, [ident], "approve", accounts.site_ids(owner))


@pytest.fixture
def first_time(app: Flask) -> None:
    set_site(app, moderation="first-time", notify_moderators=False)
    with app.app_context(), writing():
        accounts.create_moderator(OWNER, PASSWORD, sites={"default": "owner"})
        db.session.commit()


def confirmation_path(mailbox: Mailbox) -> str:
    text = mailbox.messages[-1].get_body(("plain",))
    assert text is not None
    (path,) = re.findall(r"https?://[^/\s]+(/notify/confirm/\S+)", str(text.get_content()))
    return path


def follow(client: FlaskClient, path: str) -> None:
    page = client.get(path)
    assert page.status_code == 200
    token = csrf_token(page.get_data(as_text=True))
    assert client.post(path, data={"csrf_token": token}).status_code == 200


def test_typing_a_trusted_authors_email_earns_nothing(
    app: Flask, client: FlaskClient, first_time: None
) -> None:
    ada = visitor_key(client)
    first = send(client, ada, text="Hello, first time here.")
    assert status(first) == "pending"
    approve(app, first)
    assert status(send(client, ada, text="Back again.")) == "approved"
    # Someone else typing Ada's email: without a key, with their own, or after Ada's
    # address was confirmed for reply mail (which once made anyone typing it trusted).
    assert status(send(client, text="I am Ada, honestly.")) == "pending"
    assert status(send(client, visitor_key(client), text="Really Ada.")) == "pending"
    with app.app_context():
        address = Address(
            email_index=privacy.email_index(EMAIL),
            email_encrypted="x",
            token_hash="y" * 64,
            confirmed=db.func.now(),
        )
        db.session.add(address)
        db.session.commit()
    assert status(send(client, visitor_key(client), text="Ada, confirmed.")) == "pending"
    assert status(send(client, text="Ada, without a key.")) == "pending"


def test_a_key_that_confirmed_the_address_is_trusted_and_only_that_key(
    app: Flask, client: FlaskClient, first_time: None, mailbox: Mailbox
) -> None:
    laptop = visitor_key(client)
    approve(app, send(client, laptop, text="From my laptop."))
    # A new device: held, and since Ada asked for reply mail with her key, the confirmation
    # mail goes at once.
    phone = visitor_key(client)
    held = send(client, phone, text="From my phone.", notify=True)
    assert status(held) == "pending"
    assert send_outbox(app).sent == 1
    assert mailbox.envelopes[-1][1] == [EMAIL]
    path = confirmation_path(mailbox)
    assert status(send(client, phone, text="Still from my phone.")) == "pending"
    follow(client, path)
    with app.app_context():
        proofs = db.session.execute(sa.select(VisitorProof.email_index, VisitorProof.visitor))
        comment = db.session.get_one(Comment, json_of(held)["comment"]["id"])
        assert list(proofs) == [(privacy.email_index(EMAIL), comment.visitor)]
    assert status(send(client, phone, text="Trusted on my phone now.")) == "approved"
    # The proof is the phone's key's: anyone else typing the address is still held.
    assert status(send(client, visitor_key(client), text="Not Ada.")) == "pending"
    assert status(send(client, text="Not Ada either.")) == "pending"
    again = client.get(path).get_data(as_text=True)  # nothing left to confirm
    assert "confirmed already" in again and "<form" not in again
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(VisitorProof)) == 1


def test_a_confirmed_address_asks_again_for_an_unproven_key(
    app: Flask, client: FlaskClient, first_time: None, mailbox: Mailbox
) -> None:
    set_site(app, moderation="none")
    first = visitor_key(client)
    assert status(send(client, first, text="Notify me.", notify=True)) == "approved"
    assert send_outbox(app).sent == 1
    follow(client, confirmation_path(mailbox))
    with app.app_context():
        assert db.session.scalars(sa.select(Address.confirmed)).one() is not None
    # Subscribed already; a second key asks to prove itself (once the interval allows).
    with app.app_context(), writing():
        db.session.execute(sa.text("UPDATE outbox SET created = '2000-01-01'"))
        db.session.commit()
    second = visitor_key(client)
    assert status(send(client, second, text="Notify me here too.", notify=True)) == "approved"
    assert send_outbox(app).sent == 1
    page = client.get(confirmation_path(mailbox)).get_data(as_text=True)
    assert "Confirm my address" in page  # not "confirmed already": there is a key to prove
    # The first key proved it already: nothing more to ask.
    with app.app_context(), writing():
        db.session.execute(sa.text("UPDATE outbox SET created = '2000-01-01'"))
        db.session.commit()
    assert status(send(client, first, text="And again.", notify=True)) == "approved"
    assert send_outbox(app).sent == 0


def test_a_confirmation_link_from_before_confirms_the_address_only(
    app: Flask, client: FlaskClient, first_time: None
) -> None:
    with app.app_context(), writing():
        address = Address(
            email_index=privacy.email_index(EMAIL),
            email_encrypted="x",
            token_hash="",
            created=utcnow(),
        )
        token = links.link_token(address)
        db.session.add(address)
        db.session.commit()
        serializer = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt="parley.mail.confirm")
        path = links.CONFIRM_PATH + str(serializer.dumps(token))
    follow(client, path)
    with app.app_context():
        assert db.session.scalars(sa.select(Address.confirmed)).one() is not None
        assert db.session.scalars(sa.select(VisitorProof)).all() == []


def subject_of_last(mailbox: Mailbox) -> str:
    return str(mailbox.messages[-1]["Subject"])


def test_the_confirmation_sent_at_once_speaks_the_posters_language(
    app: Flask, client: FlaskClient, first_time: None, mailbox: Mailbox
) -> None:
    """The mail a post causes at once answers that post's request: its ``lang``, then its
    ``Accept-Language``, then the site's setting (API.md: mail honours Accept-Language)."""
    approve(app, send(client, visitor_key(client), text="Trusted once."))
    german = client.post(
        f"/api/v1/comments?page={PAGE}",
        json=comment_body(text="Neues Gerät.", notify=True),
        headers={VISITOR: visitor_key(client), "Accept-Language": "de-DE,de;q=0.9"},
    )
    assert status(german) == "pending"
    assert send_outbox(app).sent == 1
    assert "Benachrichtigungen über Antworten bestätigen" in subject_of_last(mailbox)
    set_site(app, language="es")
    arabic = client.post(
        f"/api/v1/comments?page={PAGE}&lang=ar",
        json=comment_body(text="جهاز جديد.", notify=True, email="other@example.org"),
        headers={VISITOR: visitor_key(client), "Accept-Language": "de"},
    )
    assert status(arabic) == "pending"
    assert send_outbox(app).sent == 1
    assert "أكّد إشعارات الردود" in subject_of_last(mailbox)
