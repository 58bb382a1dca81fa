"""Atom feeds of published comments (GET /feed/comments.atom?site[&page]): valid Atom read
by a real parser (feedparser), no emails, absolute URLs from the configuration, and cached
like the other public reads (ETag, 304, replayed by the front until a write)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import feedparser
import pytest
from flask import Flask, request_started
from flask.testing import FlaskClient
from support import EMAIL, set_site
from werkzeug.test import TestResponse

FEED = "/feed/comments.atom"
PAGE = "/feeds/article"
PAGE_URL = "https://blog.example/feeds/article"
TAG = re.compile(r"^tag:[a-z0-9.-]+,\d{4}-\d{2}-\d{2}:parley/[^\s]+$")


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {"PARLEY_ALLOWED_ORIGINS": ["https://blog.example"]}


@pytest.fixture
def entered(app: Flask) -> Iterator[list[str]]:
    """The requests that reached Flask (one the front replays never does)."""
    seen: list[str] = []

    def record(_sender: Flask, **_extra: Any) -> None:
        from flask import request

        seen.append(request.path)

    request_started.connect(record, app)
    yield seen
    request_started.disconnect(record, app)


def feed(client: FlaskClient, page: str | None = PAGE, **headers: str) -> TestResponse:
    query = {"site": "default", **({"page": page} if page else {})}
    return client.get(FEED, query_string=query, headers=headers)


def parsed(response: TestResponse) -> Any:
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/atom+xml"
    document = feedparser.parse(response.get_data())
    assert not document.bozo, document.get("bozo_exception")
    assert document.version == "atom10"
    return document


def check_required_elements(document: Any) -> None:
    """RFC 4287's required elements, and Parley's rules for ids and links."""
    head = document.feed
    assert TAG.match(head.id), head.id
    assert head.title and head.updated_parsed
    rels = {link.rel: link.href for link in head.links}
    assert rels["self"].startswith("http://localhost/feed/comments.atom?site=default")
    assert rels["alternate"].startswith(("http://localhost/", "https://blog.example/"))
    for entry in document.entries:
        assert TAG.match(entry.id), entry.id
        assert entry.title and entry.updated_parsed and entry.published_parsed
        assert entry.author_detail.name
        assert entry.content[0].type == "text/html" and entry.content[0].value
        assert entry.link.startswith(("http://localhost/", "https://blog.example/"))


def test_a_page_feed_is_valid_atom_with_every_required_element(
    post: Callable[..., TestResponse], client: FlaskClient
) -> None:
    first = post(PAGE, title="Feeds article", url=PAGE_URL, text="The **first** one.")
    assert first.status_code == 201
    parent = first.json["comment"]["id"]  # type: ignore[index]
    assert post(PAGE, name="Grace", text="A reply.", parent=parent).status_code == 201
    document = parsed(feed(client))
    check_required_elements(document)
    assert document.feed.title == "Comments on Feeds article"
    assert [entry.author for entry in document.entries] == ["Grace", "Ada"]  # newest first
    assert "<strong>first</strong>" in document.entries[1].content[0].value
    assert document.entries[1].link == f"{PAGE_URL}#c{parent}"
    assert {link.href for link in document.feed.links if link.rel == "alternate"} == {PAGE_URL}


def test_entry_ids_stay_the_same_from_one_read_to_the_next(
    post: Callable[..., TestResponse], client: FlaskClient
) -> None:
    post(PAGE, text="One.")
    before = parsed(feed(client))
    post(PAGE, text="Two.")
    after = parsed(feed(client))
    assert after.feed.id == before.feed.id
    assert after.entries[1].id == before.entries[0].id
    assert len({entry.id for entry in after.entries}) == 2


def test_the_site_feed_holds_every_page_newest_first_and_at_most_fifty(
    post: Callable[..., TestResponse], client: FlaskClient
) -> None:
    for n in range(51):
        assert post(f"/feeds/{n % 3}", text=f"Comment number {n}.").status_code == 201
    document = parsed(feed(client, page=None))
    check_required_elements(document)
    assert len(document.entries) == 50
    texts = [entry.content[0].value for entry in document.entries]
    assert "Comment number 50." in texts[0] and "Comment number 1." in texts[-1]
    assert not any("Comment number 0." in text for text in texts)
    assert {entry.link.split("#")[0] for entry in document.entries} == {
        f"http://localhost/thread?site=default&page=%2Ffeeds%2F{n}" for n in range(3)
    }


def test_only_published_comments_are_in_a_feed(
    app: Flask, post: Callable[..., TestResponse], client: FlaskClient
) -> None:
    post(PAGE, text="Published.")
    set_site(app, moderation="all")
    assert post(PAGE, text="Held for review.").json["status"] == "pending"  # type: ignore[index]
    for document in (parsed(feed(client)), parsed(feed(client, page=None))):
        assert [entry.content[0].value for entry in document.entries] == ["<p>Published.</p>"]


def test_a_feed_never_carries_an_email_and_escapes_what_it_shows(
    post: Callable[..., TestResponse], client: FlaskClient
) -> None:
    post(PAGE, name="<b>Eve</b>", text="<script>alert(1)</script> & more", website="eve.example")
    for response in (feed(client), feed(client, page=None)):
        body = response.get_data(as_text=True)
        assert EMAIL not in body and "ada.lovelace" not in body
        assert "<script" not in body and "<b>" not in body
        entry = parsed(response).entries[0]
        assert entry.author == "<b>Eve</b>"  # shown as text, never as markup
        assert entry.author_detail.href == "https://eve.example"


def test_absolute_urls_come_from_the_configuration_never_from_host(
    post: Callable[..., TestResponse], client: FlaskClient
) -> None:
    post(PAGE, text="Hello.")
    for page in (PAGE, None):
        query = {"site": "default", **({"page": page} if page else {})}
        response = client.get(
            FEED,
            query_string=query,
            headers={"Host": "evil.example", "X-Forwarded-Host": "evil.example"},
        )
        assert "evil.example" not in response.get_data(as_text=True)
        check_required_elements(parsed(response))


def test_a_page_nobody_wrote_on_has_an_empty_valid_feed(client: FlaskClient) -> None:
    document = parsed(feed(client, page="/nobody/here"))
    check_required_elements(document)
    assert document.entries == []


def test_bad_parameters_are_refused_clearly(client: FlaskClient) -> None:
    assert client.get(FEED, query_string={"site": "nosuchsite"}).status_code == 404
    assert client.get(FEED, query_string={"page": "x" * 600}).status_code == 400
    assert client.get(FEED, query_string={"page": "/a\x01b"}).status_code == 400


@pytest.mark.parametrize("page", [PAGE, None], ids=["page", "site"])
def test_a_feed_is_cached_until_a_new_comment_and_then_shows_it_at_once(
    post: Callable[..., TestResponse],
    client: FlaskClient,
    entered: list[str],
    page: str | None,
) -> None:
    post(PAGE, text="First.")
    first = feed(client, page)
    etag = first.headers["ETag"]
    assert first.headers["Cache-Control"].startswith("public, max-age=")
    assert "Accept-Encoding" in first.headers["Vary"]
    # Unchanged: 304 to the ETag, and the front replays the answer without Flask.
    entered.clear()
    assert feed(client, page, **{"If-None-Match": etag}).status_code == 304
    again = feed(client, page)
    assert again.get_data() == first.get_data() and again.headers["ETag"] == etag
    assert entered == []
    # A new published comment (on another page too, for the site's feed) shows at once.
    post(PAGE if page else "/feeds/elsewhere", text="Second.")
    fresh = feed(client, page, **{"If-None-Match": etag})
    assert fresh.status_code == 200 and fresh.headers["ETag"] != etag
    texts = [entry.content[0].value for entry in parsed(fresh).entries]
    assert texts == ["<p>Second.</p>", "<p>First.</p>"]


def test_the_fragment_and_the_standalone_page_link_the_feed(client: FlaskClient) -> None:
    fragment = client.get("/widget/comments", query_string={"page": PAGE})
    html = fragment.get_data(as_text=True)
    assert re.search(
        r'<a href="http://localhost/feed/comments\.atom\?site=default&amp;page=/feeds/article"'
        r' type="application/atom\+xml">Feed</a>',
        html,
    ), html
    page = client.get("/thread", query_string={"page": PAGE}).get_data(as_text=True)
    head = page.split("</head>")[0]
    assert re.search(
        r'<link rel="alternate" type="application/atom\+xml" title="[^"]+" '
        r'href="http://localhost/feed/comments\.atom\?site=default&amp;page=/feeds/article">',
        head,
    ), head
