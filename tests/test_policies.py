"""Moderation policies, bans, shadow bans, blocked words, link limits, duplicates, limits."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from support import default_site, set_site, visitor_key

from service.comments import bans
from service.data import Address, BlockedWord, Comment, Page
from service.extensions import db
from service.rules import privacy

PAGE = "/policy"


def send(
    client,
    text="A thoughtful comment.",
    email="ada@example.org",
    visitor=None,
    address="192.0.2.10",
    **extra,
):
    headers = {"X-Parley-Visitor": visitor} if visitor else {}
    return client.post(
        "/api/v1/comments",
        query_string={"page": PAGE},
        headers=headers,
        json={"name": "Ada", "email": email, "text": text, **extra},
        environ_base={"REMOTE_ADDR": address},
    )


def thread(client, visitor=None):
    headers = {"X-Parley-Visitor": visitor} if visitor else {}
    return client.get(f"/api/v1/comments?page={PAGE}", headers=headers).json


def approve(app, comment_id):
    from service.comments.status import set_status

    with app.app_context():
        set_status(db.session.get_one(Comment, comment_id), "approved")
        db.session.commit()


def ban(app, kind, value, shadow=False):
    with app.app_context():
        bans.add(
            default_site(), kind, value, label="test", shadow=shadow, reason="test", moderator=None
        )
        db.session.commit()


def test_a_banned_email_cannot_post(app, client):
    with app.app_context():
        index = privacy.email_index("troll@example.org")
    ban(app, "email", index)
    response = send(client, email="Troll@Example.org")
    assert response.status_code == 403
    assert response.json["error"]["code"] == "banned"
    assert send(client, email="friend@example.org").status_code == 201


def test_a_banned_address_range_cannot_post(app, client):
    with app.app_context():
        ban(app, "address", bans.address_value("192.0.2.0"))
    assert send(client, address="192.0.2.77").status_code == 403
    assert send(client, address="198.51.100.7").status_code == 201


def test_a_banned_visitor_key_cannot_post(app, client):
    visitor = visitor_key(client)
    with app.app_context():
        from service.rules.visitors import visitor_hash

        ban(app, "visitor", visitor_hash(visitor, None))
    assert send(client, visitor=visitor).status_code == 403
    assert send(client).status_code == 201


def test_a_shadow_banned_author_sees_their_comment_and_nobody_else_does(app, client):
    visitor = visitor_key(client)
    with app.app_context():
        from service.rules.visitors import visitor_hash

        ban(app, "visitor", visitor_hash(visitor, None), shadow=True)
    response = send(client, visitor=visitor, text="I am shadowed")
    assert response.status_code == 201
    assert response.json["status"] == "approved"
    own = thread(client, visitor)
    assert [c["html"] for c in own["comments"]] == ["<p>I am shadowed</p>"]
    assert thread(client)["comments"] == []
    assert thread(client, visitor_key(client))["comments"] == []
    assert "I am shadowed" not in client.get(f"/widget/comments?page={PAGE}").get_data(as_text=True)
    counts = client.post("/api/v1/counts", json={"pages": [PAGE]}).json["counts"][PAGE]
    assert counts["comments"] == 0
    with app.app_context():
        stored = db.session.scalars(sa.select(Comment)).one()
        assert stored.status == "spam" and stored.shadow


def test_blocked_words_hold_a_comment_with_the_reason(app, client):
    with app.app_context():
        db.session.add(BlockedWord(site_id=default_site().id, word="cheap pills"))
        db.session.commit()
    held = send(client, text="Buy CHEAP pills now")
    assert held.json["status"] == "pending"
    assert send(client, text="These are not cheap, pillsbury").json["status"] == "approved"
    with app.app_context():
        reason = db.session.get_one(Comment, held.json["comment"]["id"]).pending_reason
    assert reason is not None and "cheap pills" in reason


def test_the_links_policy_holds_comments_with_too_many_links(app, client):
    set_site(app, moderation="links", link_limit=1)
    assert send(client, text="See https://a.example.com").json["status"] == "approved"
    held = send(client, text="See https://a.example.com and https://b.example.com")
    assert held.json["status"] == "pending"


def test_a_link_flood_is_refused_under_every_policy(app, client):
    text = " ".join(
        f"https://site{i}.example.com" for i in range(app.config["PARLEY_MAX_LINKS"] + 1)
    )
    response = send(client, text=text)
    assert response.status_code == 422
    assert "links" in response.json["error"]["fields"]["text"]
    assert thread(client)["comments"] == []


def test_first_time_authors_wait_and_a_typed_email_alone_earns_no_trust(app, client):
    set_site(app, moderation="first-time")
    visitor = visitor_key(client)
    first = send(client, visitor=visitor, text="Hello, first time here.")
    assert first.json["status"] == "pending"
    approve(app, first.json["comment"]["id"])
    # Same visitor key and email: trusted now.
    assert send(client, visitor=visitor, text="Back again.").json["status"] == "approved"
    # Same email typed by someone else (no key, another address): not trusted.
    impostor = send(client, text="I am Ada, honestly.", address="203.0.113.5")
    assert impostor.json["status"] == "pending"


def test_a_confirmed_address_alone_earns_no_trust(app, client):
    """Confirming an address for reply mail once made anyone typing it trusted; now only a
    visitor key that proved it controls the address is (test_visitor_trust.py)."""
    set_site(app, moderation="first-time")
    first = send(client, text="First words.")
    approve(app, first.json["comment"]["id"])
    assert send(client, text="Second words.", address="203.0.113.9").json["status"] == "pending"
    with app.app_context():
        db.session.add(
            Address(
                email_index=privacy.email_index("ada@example.org"),
                email_encrypted=privacy.encrypt_email("ada@example.org"),
                token_hash="x" * 64,
                confirmed=db.func.now(),
            )
        )
        db.session.commit()
    third = send(client, text="Third words.", address="203.0.113.9")
    assert third.json["status"] == "pending"
    stranger = send(client, text="Fourth words.", visitor=visitor_key(client))
    assert stranger.json["status"] == "pending"


def test_a_double_click_returns_the_first_comment_with_its_token(app, client):
    visitor = visitor_key(client)
    first = send(client, text="Only once, please.", visitor=visitor)
    again = send(client, text="Only once, please.", visitor=visitor)
    assert first.status_code == 201 and again.status_code == 200
    assert again.json["comment"]["id"] == first.json["comment"]["id"]
    assert again.json["edit_token"] == first.json["edit_token"]
    assert len(thread(client)["comments"]) == 1
    with app.app_context():
        assert db.session.scalar(sa.select(Page.comment_count).where(Page.key == PAGE)) == 1


def test_the_same_text_from_another_author_or_as_a_reply_is_not_a_duplicate(client):
    first = send(client, text="Agreed.")
    assert send(client, text="Agreed.", email="grace@example.org").status_code == 201
    # The same author's text again, from anywhere, without proof: 409 (test_post_tokens.py).
    assert send(client, text="Agreed.", address="198.51.100.1").status_code == 409
    reply = send(client, text="Agreed.", parent=first.json["comment"]["id"])
    assert reply.status_code == 201
    assert reply.json["comment"]["parent"] == first.json["comment"]["id"]


def test_closed_comments_refuse_new_posts(app, client):
    send(client, text="Before closing.")
    with app.app_context():
        db.session.scalars(sa.select(Page).where(Page.key == PAGE)).one().comments_closed = True
        db.session.commit()
    response = send(client, text="After closing.")
    assert response.status_code == 403
    assert response.json["error"]["code"] == "comments_closed"


@pytest.mark.parametrize(
    "app_config",
    [
        {
            "RATELIMIT_ENABLED": True,
            "PARLEY_POST_LIMIT": "100 per minute",
            "PARLEY_PAGE_POST_LIMIT": "3 per minute",
        }
    ],
)
def test_a_page_flood_from_many_addresses_is_limited_per_page(client):
    codes = [send(client, text=f"flood {i}", address=f"198.51.{i}.1").status_code for i in range(4)]
    assert codes == [201, 201, 201, 429]
    other = client.post(
        "/api/v1/comments?page=/elsewhere",
        json={"name": "A", "email": "a@example.org", "text": "calm"},
    )
    assert other.status_code == 201


def test_the_default_post_limit_stops_a_burst_from_one_address(tmp_path, database_url):
    from support import base_config

    from service import create_app

    config = base_config(tmp_path, RATELIMIT_ENABLED=True, SQLALCHEMY_DATABASE_URI=database_url)
    app = create_app(config)
    client = app.test_client()
    codes = [send(client, text=f"burst {i}").status_code for i in range(8)]
    assert codes.count(201) <= 5 and codes[-1] == 429
    with app.app_context():
        db.engine.dispose()


@pytest.mark.slow
def test_rate_limits_are_shared_through_redis(tmp_path, database_url):
    """Two app instances (two workers) share one budget when PARLEY_REDIS_URL is set."""
    from support import redis_limited_config

    from service import create_app

    config = redis_limited_config(tmp_path, database_url, PARLEY_POST_LIMIT="3 per minute")
    first, second = create_app(config).test_client(), create_app(config).test_client()
    codes = [
        send(c, text=f"shared {i}").status_code
        for i, c in enumerate([first, second, first, second])
    ]
    assert codes == [201, 201, 201, 429]
