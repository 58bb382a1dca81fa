"""Bad input of every kind gets a clear, JSON (or HTML-form) refusal and stores nothing.

The rules: name, email and text are required and bounded; website is an optional
http(s) address; parent is an approved comment on the same page. JSON types are
checked strictly, unknown fields are refused, malformed bodies get 400, other
content types 415, oversized ones 413, and nothing a client sends produces a 500.
"""

from __future__ import annotations

import base64
import json
import re
import sqlite3
import time
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from support import EMAIL, comment_body, json_of, open_form, set_site

from service import database
from service.data import Comment, Page, Site
from service.extensions import db
from service.rules import spam

PAGE = "/article"
COMMENTS = "/api/v1/comments"


# Helpers


def send(client: FlaskClient, body: Any, page: str = PAGE, site: str = "default") -> Any:
    """POST a JSON value (any JSON type) as a new comment."""
    return client.post(COMMENTS, query_string={"site": site, "page": page}, json=body)


def send_raw(
    client: FlaskClient,
    data: bytes | str,
    content_type: str | None = "application/json",
    page: str = PAGE,
) -> Any:
    """POST a body exactly as given, with the given Content-Type (None: no header)."""
    headers = {} if content_type is None else {"Content-Type": content_type}
    return client.post(COMMENTS, query_string={"page": page}, data=data, headers=headers)


def stored(app: Flask) -> tuple[int, int]:
    """How many comment and page rows the database holds."""
    with app.app_context():
        comments = db.session.scalars(sa.select(sa.func.count()).select_from(Comment)).one()
        pages = db.session.scalars(sa.select(sa.func.count()).select_from(Page)).one()
    return comments, pages


def shown_count(client: FlaskClient, page: str = PAGE) -> int:
    """The comment count a reader of the page sees."""
    response = client.get(COMMENTS, query_string={"page": page})
    assert response.status_code == 200, response.json
    return int(json_of(response)["page"]["comment_count"])


def assert_error(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    """The response is a JSON error with this status; returns its ``error`` object."""
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True))
    assert response.mimetype == "application/json"
    error = response.json["error"]
    assert isinstance(error["code"], str) and error["code"]
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["fields"], dict)
    if code is not None:
        assert error["code"] == code
    return error


def assert_refused_field(response: Any, field: str, status: int = 422) -> str:
    """Refused for one named field; returns that field's message."""
    error = assert_error(response, status)
    assert field in error["fields"], error
    message = error["fields"][field]
    assert isinstance(message, str) and message
    return message


@pytest.fixture
def before(app: Flask) -> tuple[int, int]:
    """The row counts before the test's own requests."""
    return stored(app)


def assert_nothing_stored(app: Flask, client: FlaskClient, before: tuple[int, int]) -> None:
    assert stored(app) == before
    assert shown_count(client) == 0


def posted(client: FlaskClient, page: str = PAGE, **fields: Any) -> dict[str, Any]:
    """Post a valid comment and return its public form."""
    response = send(client, comment_body(**fields), page=page)
    assert response.status_code == 201, response.json
    return response.json["comment"]


def b64(value: Any) -> str:
    raw = value if isinstance(value, bytes) else json.dumps(value).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def field_block(html: str, field: str) -> str:
    """The <p> holding one form field, its label and its messages."""
    match = re.search(
        rf'<p class="parley-field[^"]*">\s*<label for="{field}">.*?</p>', html, flags=re.S
    )
    assert match, f"no {field} field in the form"
    return match.group(0)


def submit_form(client: FlaskClient, page: str = "/x", **fields: str) -> Any:
    return client.post("/thread", query_string={"site": "default", "page": page}, data=fields)


# Required fields


@pytest.mark.parametrize("field", ["name", "email", "text"])
def test_a_comment_missing_a_required_field_is_refused(app, client, before, field):
    body = comment_body()
    del body[field]
    assert_refused_field(send(client, body), field)
    assert_nothing_stored(app, client, before)


@pytest.mark.parametrize("field", ["name", "email", "text"])
def test_a_required_field_sent_as_null_is_refused(app, client, before, field):
    assert_refused_field(send(client, comment_body() | {field: None}), field)
    assert_nothing_stored(app, client, before)


@pytest.mark.parametrize("field", ["name", "email", "text", "website"])
@pytest.mark.parametrize(
    "value",
    [0, 42, 1.5, True, False, [], ["Ada"], {}, {"value": "Ada"}],
    ids=["zero", "int", "float", "true", "false", "empty-list", "list", "empty-object", "object"],
)
def test_a_text_field_of_another_json_type_is_refused(app, client, before, field, value):
    message = assert_refused_field(send(client, comment_body() | {field: value}), field)
    assert "string" in message
    assert_nothing_stored(app, client, before)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("title", 7),
        ("title", ["Title"]),
        ("url", 7),
        ("url", {"href": "https://example.org"}),
        ("notify", "yes"),
        ("notify", 1),
        ("notify", 0),
        ("form_token", 7),
        ("hp", 0),
        ("hp", False),
    ],
)
def test_an_optional_field_of_the_wrong_json_type_is_refused(app, client, before, field, value):
    assert_refused_field(send(client, comment_body() | {field: value}), field)
    assert_nothing_stored(app, client, before)


@pytest.mark.parametrize(
    "raw",
    [
        b'{"name": "Ada", "email": "ada@example.org", "text": "Hi", "parent": 1e400}',
        b'{"name": "Ada", "email": "ada@example.org", "text": "Hi", "parent": -1e400}',
        b'{"name": "Ada", "email": "ada@example.org", "text": "Hi", "parent": 1'
        + b"0" * 5000
        + b"}",
        b'{"name": 1' + b"0" * 5000 + b', "email": "ada@example.org", "text": "Hi"}',
    ],
    ids=["overflowing-float", "overflowing-negative-float", "5000-digit-parent", "5000-digit-name"],
)
def test_a_number_too_big_for_any_field_is_refused_without_a_500(app, client, before, raw):
    response = send_raw(client, raw)
    assert_error(response, response.status_code)
    assert response.status_code in (400, 422)
    assert_nothing_stored(app, client, before)


@pytest.mark.parametrize("field", ["name", "email", "text"])
@pytest.mark.parametrize("value", ["", " ", "   \t\n  ", "\u3000", "\r\n"])
def test_an_empty_or_whitespace_only_required_field_is_refused(app, client, before, field, value):
    assert_refused_field(send(client, comment_body() | {field: value}), field)
    assert_nothing_stored(app, client, before)


def test_the_missing_fields_are_all_named_in_one_answer(app, client, before):
    error = assert_error(send(client, {}), 422, "validation_failed")
    assert set(error["fields"]) == {"name", "email", "text"}
    assert_nothing_stored(app, client, before)


# Lengths: the maximum is accepted, one more is refused


def long_email(length: int) -> str:
    """A valid-looking address of exactly ``length`` characters (at least 80)."""
    local = "a" * 64
    domain_length = length - len(local) - 1
    last = domain_length - 2 * 64 - len(".org")
    return f"{local}@{'x' * 63}.{'y' * 63}.{'z' * last}.org"


def test_a_name_of_exactly_80_characters_is_accepted(client):
    assert posted(client, name="N" * 80)["author"] == "N" * 80


def test_a_name_of_81_characters_is_refused(app, client, before):
    message = assert_refused_field(send(client, comment_body(name="N" * 81)), "name")
    assert "80" in message
    assert_nothing_stored(app, client, before)


def test_a_name_is_measured_after_trimming_and_joining_spaces(client):
    assert posted(client, name="  " + "N" * 80 + "\t ")["author"] == "N" * 80
    joined = posted(client, name="  Ada \n  Lovelace ", text="A second comment.")
    assert joined["author"] == "Ada Lovelace"


def test_an_email_of_exactly_254_characters_is_accepted(client):
    email = long_email(254)
    assert len(email) == 254
    posted(client, email=email)


def test_an_email_of_255_characters_is_refused(app, client, before):
    email = long_email(255)
    assert len(email) == 255
    assert_refused_field(send(client, comment_body(email=email)), "email")
    assert_nothing_stored(app, client, before)


def test_a_website_of_exactly_512_characters_is_accepted(client):
    website = "https://example.org/" + "p" * (512 - len("https://example.org/"))
    assert posted(client, website=website)["website"] == website


def test_a_website_of_513_characters_is_refused(app, client, before):
    website = "https://example.org/" + "p" * (513 - len("https://example.org/"))
    assert "512" in assert_refused_field(send(client, comment_body(website=website)), "website")
    assert_nothing_stored(app, client, before)


def test_a_text_of_exactly_10000_characters_is_accepted(client):
    comment = posted(client, text="w" * 10_000)
    assert comment["html"].count("w") == 10_000


def test_a_text_of_10001_characters_is_refused_as_invalid_not_too_large(app, client, before):
    message = assert_refused_field(send(client, comment_body(text="w" * 10_001)), "text")
    assert "10,000" in message
    assert_nothing_stored(app, client, before)


def test_a_text_is_measured_after_trimming(client):
    posted(client, text="\n  " + "w" * 10_000 + "  \n")


# Invisible and control characters


@pytest.mark.parametrize(
    "name",
    [
        "\u200b\u200b",  # zero-width spaces
        "\u3164",  # Hangul filler
        "\u115f\u1160",  # Hangul choseong/jungseong fillers
        "\uffa0",  # halfwidth Hangul filler
        "\u2800\u2800",  # Braille blank
        "\u200d\u200c",  # zero-width joiner / non-joiner
        "\u00ad",  # soft hyphen
        "\u2060\ufeff",  # word joiner, BOM
        "\u202e\u202d",  # bidi overrides
        "\u0301\u0301",  # lone combining marks
        "\ue000",  # private use
    ],
)
def test_a_name_of_only_invisible_characters_is_refused(app, client, before, name):
    assert_refused_field(send(client, comment_body(name=name)), "name")
    assert_nothing_stored(app, client, before)


@pytest.mark.parametrize("text", ["\u200b", "\u3164\u3164", "\u2800", "\u200b \u200d\n\u2060"])
def test_a_text_of_only_invisible_characters_is_refused(app, client, before, text):
    assert_refused_field(send(client, comment_body(text=text)), "text")
    assert_nothing_stored(app, client, before)


def test_a_name_with_visible_characters_around_a_zero_width_joiner_is_accepted(client):
    assert posted(client, name="Zoë 👩\u200d💻")["author"] == "Zoë 👩\u200d💻"


@pytest.mark.parametrize("field", ["name", "text"])
@pytest.mark.parametrize("char", ["\x00", "\x07", "\x1b", "\x7f", "\x9b"])
def test_a_control_character_in_name_or_text_is_refused(app, client, before, field, char):
    value = f"Ada{char}Lovelace"
    assert_refused_field(send(client, comment_body() | {field: value}), field)
    assert_nothing_stored(app, client, before)


def test_newlines_and_tabs_are_allowed_in_a_comment(client):
    comment = posted(client, text="first line\n\tindented\r\nthird line")
    assert "third line" in comment["html"]


@pytest.mark.parametrize("field", ["name", "email", "text", "website"])
def test_a_lone_surrogate_in_a_field_is_refused(app, client, before, field):
    values = {"name": "Ada", "email": EMAIL, "text": "Hi", "website": "example.org"}
    values[field] = "ab\\ud800cd"  # a JSON escape that is no Unicode character
    raw = "{" + ", ".join(f'"{k}": "{v}"' for k, v in values.items()) + "}"
    assert_refused_field(send_raw(client, raw.encode()), field)
    assert_nothing_stored(app, client, before)


def test_a_surrogate_pair_escape_is_an_ordinary_character(client):
    raw = '{"name": "Ada \\ud83d\\ude00", "email": "' + EMAIL + '", "text": "Hi"}'
    response = send_raw(client, raw.encode())
    assert response.status_code == 201, response.json
    assert response.json["comment"]["author"] == "Ada 😀"


# Email


@pytest.mark.parametrize(
    "email",
    [
        "ada",
        "ada@",
        "@example.org",
        "ada@@example.org",
        "ada lovelace@example.org",
        "ada@example..org",
        "ada@-example.org",
        "<ada@example.org>",
        "Ada <ada@example.org>",
        "ada@example.org\nBcc: eve@example.org",
        "ada@exa\x00mple.org",
    ],
)
def test_an_invalid_email_is_refused_without_echoing_it(app, client, before, email):
    message = assert_refused_field(send(client, comment_body(email=email)), "email")
    assert email not in message
    assert_nothing_stored(app, client, before)


def test_an_email_with_spaces_around_it_is_accepted(client):
    posted(client, email=f"  {EMAIL}  ")


# Website


@pytest.mark.parametrize(
    "website",
    [
        "javascript:alert(1)",
        "JavaScript://example.org/%0Aalert(1)",
        "data:text/html,<script>alert(1)</script>",
        "ftp://example.org/file",
        "mailto:ada@example.org",
        "file:///etc/passwd",
        "http://",
        "https://",
        "https://user:secret@example.org",
        "https://user@example.org",
        "https://example.org:99999",
        "https://exa mple.org",
        "https://example.org/\x00",
        "https://[::1",
        "https://exam\u2028ple.org",
    ],
)
def test_a_website_that_is_not_a_plain_web_address_is_refused(app, client, before, website):
    message = assert_refused_field(send(client, comment_body(website=website)), "website")
    assert "http" in message
    assert_nothing_stored(app, client, before)


@pytest.mark.parametrize(
    ("typed", "shown"),
    [
        ("example.org", "https://example.org"),
        ("  example.org/about  ", "https://example.org/about"),
        ("http://example.org/", "http://example.org/"),
        ("HTTPS://Example.org/Path?q=1", "https://example.org/Path?q=1"),  # normalised
    ],
)
def test_a_website_is_accepted_as_an_http_address(client, typed, shown):
    assert posted(client, website=typed)["website"] == shown


@pytest.mark.parametrize("website", [None, "", "   "])
def test_an_absent_or_empty_website_is_simply_no_website(client, website):
    body = comment_body()
    body["website"] = website
    response = send(client, body)
    assert response.status_code == 201, response.json
    assert response.json["comment"]["website"] is None


# Page metadata sent with the first comment


@pytest.mark.parametrize("title", ["Glass\x00Orchard", "Glass\x1bOrchard", "Glass\x07Orchard"])
def test_a_page_title_with_control_characters_is_not_stored_as_sent(client, title):
    response = send(client, comment_body(title=title, url="http://localhost/glass-orchard"))
    page = client.get(COMMENTS, query_string={"page": PAGE}).json["page"]
    if response.status_code == 201:
        assert page["title"] != title
        assert not any(ord(ch) < 32 for ch in page["title"] or "")
    else:
        assert_refused_field(response, "title")
        assert page["comment_count"] == 0


def test_a_page_title_from_the_service_origin_is_kept(client):
    posted(client, title="  Glass   Orchard ", url="http://localhost/glass-orchard")
    page = client.get(COMMENTS, query_string={"page": PAGE}).json["page"]
    assert page["title"] == "Glass Orchard"


# Parent


@pytest.mark.parametrize(
    "parent",
    [True, False, "1", "", 1.0, 1.5, -0.0, [1], {"id": 1}],
    ids=[
        "true",
        "false",
        "string",
        "empty-string",
        "float",
        "fraction",
        "negative-zero",
        "list",
        "object",
    ],
)
def test_a_parent_that_is_not_a_whole_number_is_refused(app, client, parent):
    posted(client)  # comment 1 exists, so only the type can be wrong
    before = stored(app)
    message = assert_refused_field(send(client, comment_body(parent=parent)), "parent")
    assert "whole number" in message
    assert stored(app) == before
    assert shown_count(client) == 1


@pytest.mark.parametrize(
    "parent", [0, -1, 2**31, 2**63, 10**30, 999], ids=["0", "-1", "2^31", "2^63", "10^30", "absent"]
)
def test_a_parent_that_names_no_comment_is_refused(app, client, parent):
    posted(client)
    before = stored(app)
    assert_refused_field(send(client, comment_body(parent=parent)), "parent")
    assert stored(app) == before
    assert shown_count(client) == 1


def test_a_parent_on_another_page_is_refused(app, client):
    elsewhere = posted(client, page="/elsewhere")
    before = stored(app)
    assert_refused_field(send(client, comment_body(parent=elsewhere["id"])), "parent")
    assert stored(app) == before
    assert shown_count(client) == 0
    assert shown_count(client, "/elsewhere") == 1


def test_a_parent_on_another_site_with_the_same_page_id_is_refused(app, client):
    with app.app_context():
        db.session.add(Site(key="other", name="Other"))
        db.session.commit()
    response = send(client, comment_body(), site="other")
    assert response.status_code == 201, response.json
    before = stored(app)
    reply = send(client, comment_body(parent=response.json["comment"]["id"]))
    assert_refused_field(reply, "parent")
    assert stored(app) == before


def test_a_reply_to_a_pending_comment_is_refused(app, client):
    set_site(app, moderation="all")
    response = send(client, comment_body())
    assert response.status_code == 201, response.json
    assert response.json["status"] == "pending"
    before = stored(app)
    assert_refused_field(
        send(client, comment_body(parent=response.json["comment"]["id"])), "parent"
    )
    assert stored(app) == before


def test_a_reply_to_a_deleted_comment_is_refused(app, client):
    response = send(client, comment_body())
    ident, token = response.json["comment"]["id"], response.json["edit_token"]
    deleted = client.delete(f"{COMMENTS}/{ident}", headers={"X-Parley-Edit-Token": token})
    assert deleted.status_code == 204
    before = stored(app)
    assert_refused_field(send(client, comment_body(parent=ident)), "parent")
    assert stored(app) == before


def test_a_stale_reply_to_a_deleted_comment_never_lands_under_a_newer_comment(app, client):
    response = send(client, comment_body(text="soon deleted"))
    ident, token = response.json["comment"]["id"], response.json["edit_token"]
    deleted = client.delete(f"{COMMENTS}/{ident}", headers={"X-Parley-Edit-Token": token})
    assert deleted.status_code == 204
    newer = posted(client, text="posted after the deletion")
    # A reply form opened before the deletion still names the old id.
    reply = send(client, comment_body(text="stale reply", parent=ident))
    if reply.status_code == 201:
        assert reply.json["comment"]["parent"] != newer["id"], "the reply joined a stranger"
    else:
        assert_refused_field(reply, "parent")
    assert newer["id"] != ident, "a deleted comment's id (and permalink #c<id>) was reused"


def _depth_in_thread(comments: list[dict[str, Any]], ident: int, depth: int = 0) -> int | None:
    for comment in comments:
        if comment["id"] == ident:
            return depth
        found = _depth_in_thread(comment["replies"], ident, depth + 1)
        if found is not None:
            return found
    return None


def test_a_reply_deeper_than_the_cap_attaches_at_the_deepest_level(app, client):
    max_depth = app.config["PARLEY_MAX_DEPTH"]
    chain = [posted(client, text="level 0")]
    for level in range(1, max_depth + 1):
        chain.append(posted(client, text=f"level {level}", parent=chain[-1]["id"]))
    assert [c["parent"] for c in chain[1:]] == [c["id"] for c in chain[:-1]]

    deeper = posted(client, text="one level too deep", parent=chain[-1]["id"])
    assert deeper["parent"] == chain[-2]["id"]  # a sibling of the deepest reply

    thread = client.get(COMMENTS, query_string={"page": PAGE}).json["comments"]
    assert _depth_in_thread(thread, chain[-1]["id"]) == max_depth
    assert _depth_in_thread(thread, deeper["id"]) == max_depth


# Unknown fields


@pytest.mark.parametrize("field", ["id", "status", "author", "is_admin", "email_encrypted", ""])
def test_an_unknown_field_is_refused_by_name(app, client, before, field):
    response = send(client, comment_body() | {field: "approved"})
    error = assert_error(response, 422, "validation_failed")
    assert error["fields"] == {field: "Unknown field."}
    assert_nothing_stored(app, client, before)


def test_an_unknown_field_named_by_a_lone_surrogate_is_refused(app, client, before):
    raw = '{"name": "Ada", "email": "' + EMAIL + '", "text": "Hi", "\\udc80": 1}'
    error = assert_error(send_raw(client, raw.encode()), 422, "validation_failed")
    assert len(error["fields"]) == 1
    assert_nothing_stored(app, client, before)


def test_an_unknown_field_name_is_not_echoed_at_any_length(app, client, before):
    response = send(client, comment_body() | {"x" * 5000: 1})
    error = assert_error(response, 422)
    assert all(len(name) <= 64 for name in error["fields"])
    assert_nothing_stored(app, client, before)


@pytest.mark.parametrize(
    ("raw", "content_type", "status"),
    [
        (b'{"text": "changed"', "application/json", 400),
        (b'{"text": NaN}', "application/json", 400),
        (b'["changed"]', "application/json", 400),
        (b'{"text": "changed"}', "text/plain", 415),
        (b"text=changed", "application/x-www-form-urlencoded", 415),
    ],
)
def test_a_malformed_edit_is_refused_and_changes_nothing(client, raw, content_type, status):
    response = send(client, comment_body(text="original"))
    ident, token = response.json["comment"]["id"], response.json["edit_token"]
    edit = client.patch(
        f"{COMMENTS}/{ident}",
        data=raw,
        content_type=content_type,
        headers={"X-Parley-Edit-Token": token},
    )
    assert_error(edit, status)
    shown = client.get(COMMENTS, query_string={"page": PAGE}).json["comments"][0]
    assert shown["html"] == "<p>original</p>"


def test_an_edit_with_an_unknown_field_is_refused_and_changes_nothing(client):
    response = send(client, comment_body(text="original"))
    ident, token = response.json["comment"]["id"], response.json["edit_token"]
    edit = client.patch(
        f"{COMMENTS}/{ident}",
        json={"text": "changed", "author": "Mallory"},
        headers={"X-Parley-Edit-Token": token},
    )
    assert assert_error(edit, 422)["fields"] == {"author": "Unknown field."}
    shown = client.get(COMMENTS, query_string={"page": PAGE}).json["comments"][0]
    assert (shown["author"], shown["html"]) == ("Ada", "<p>original</p>")


@pytest.mark.parametrize("text", [None, "", "   ", 7, "\x00", "w" * 10_001])
def test_an_edit_with_bad_text_is_refused_and_changes_nothing(client, text):
    response = send(client, comment_body(text="original"))
    ident, token = response.json["comment"]["id"], response.json["edit_token"]
    edit = client.patch(
        f"{COMMENTS}/{ident}", json={"text": text}, headers={"X-Parley-Edit-Token": token}
    )
    assert_refused_field(edit, "text")
    shown = client.get(COMMENTS, query_string={"page": PAGE}).json["comments"][0]
    assert shown["html"] == "<p>original</p>"
    assert shown["edited"] is None


# Malformed JSON: 400


@pytest.mark.parametrize(
    "raw",
    [
        b'{"name": "Ada", "email": "ada@example.org", "text": "Hi"',
        b'{"name": "Ada"} trailing',
        b"{} {}",
        b'{"name": NaN}',
        b'{"name": "Ada", "text": Infinity}',
        b'{"parent": -Infinity}',
        b'{"name": "Ada", "name": "Eve", "email": "ada@example.org", "text": "Hi"}',
        b"[]",
        b'[{"name": "Ada"}]',
        b'"a string"',
        b"42",
        b"true",
        b"null",
        b"",
        b"   ",
        b'{"name": "\xff\xfe", "email": "ada@example.org", "text": "Hi"}',
        b'{"name": "Ada\xc3"}',
        b"{'name': 'Ada'}",
        b'{name: "Ada"}',
        b'{"name": "Ada",}',
        b"[" * 100_000,
        b"[" * 50_000 + b"]" * 50_000,
        b'{"a":' * 20_000 + b"1" + b"}" * 20_000,
    ],
    ids=[
        "truncated",
        "trailing-garbage",
        "two-objects",
        "NaN",
        "Infinity",
        "-Infinity",
        "duplicate-keys",
        "empty-array",
        "array",
        "string",
        "number",
        "true",
        "null",
        "empty",
        "blank",
        "invalid-utf8",
        "truncated-utf8",
        "single-quotes",
        "bare-key",
        "trailing-comma",
        "deep-open-arrays",
        "deep-closed-arrays",
        "deep-objects",
    ],
)
def test_a_malformed_json_body_is_refused_with_400(app, client, before, raw):
    assert_error(send_raw(client, raw), 400, "malformed_json")
    assert_nothing_stored(app, client, before)


def test_a_json_body_with_a_charset_parameter_is_accepted(client):
    body = json.dumps(comment_body()).encode()
    response = send_raw(client, body, "application/json; charset=utf-8")
    assert response.status_code == 201, response.json


# Wrong content type: 415


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=xyz",
        "application/xml",
        "application/jsonp",
        "text/json",
        None,
    ],
)
def test_a_body_that_is_not_declared_as_json_is_refused_with_415(app, client, before, content_type):
    body = json.dumps(comment_body()).encode()
    assert_error(send_raw(client, body, content_type), 415, "unsupported_media_type")
    assert_nothing_stored(app, client, before)


def test_a_form_encoded_comment_to_the_api_is_refused_with_415(app, client, before):
    response = client.post(COMMENTS, query_string={"page": PAGE}, data=comment_body())
    assert_error(response, 415)
    assert_nothing_stored(app, client, before)


# Too large: 413


def test_a_body_over_128_kib_is_refused_with_413_json(app, client, before):
    assert app.config["MAX_CONTENT_LENGTH"] == 128 * 1024
    body = json.dumps(comment_body(text="w" * (130 * 1024))).encode()
    assert_error(send_raw(client, body), 413, "too_large")
    assert_nothing_stored(app, client, before)


def test_an_oversized_body_of_another_type_is_still_refused_without_a_500(app, client, before):
    response = send_raw(client, b"x" * (200 * 1024), "text/plain")
    assert response.status_code in (413, 415)
    assert_error(response, response.status_code)
    assert_nothing_stored(app, client, before)


def test_an_oversized_edit_is_refused_with_413(client):
    response = send(client, comment_body(text="original"))
    ident, token = response.json["comment"]["id"], response.json["edit_token"]
    edit = client.patch(
        f"{COMMENTS}/{ident}",
        data=json.dumps({"text": "w" * (130 * 1024)}),
        content_type="application/json",
        headers={"X-Parley-Edit-Token": token},
    )
    assert_error(edit, 413)


def test_an_oversized_form_post_gets_413_not_500(app, client, before):
    response = client.post(
        "/thread?site=default&page=/x",
        data=b"text=" + b"w" * (200 * 1024),
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 413
    assert stored(app) == before


# Methods and paths: 405 and 404


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("PUT", COMMENTS, {"GET", "POST"}),
        ("DELETE", COMMENTS, {"GET", "POST"}),
        ("PATCH", COMMENTS, {"GET", "POST"}),
        ("GET", f"{COMMENTS}/1", {"PATCH", "DELETE"}),
        ("POST", f"{COMMENTS}/1", {"PATCH", "DELETE"}),
        ("PUT", "/api/v1/counts", {"GET", "POST"}),
        ("DELETE", "/api/v1/openapi.json", {"GET"}),
    ],
)
def test_a_wrong_method_gets_405_json_with_an_allow_header(client, method, path, allowed):
    response = client.open(path, method=method, json={})
    assert_error(response, 405, "method_not_allowed")
    listed = {m.strip() for m in response.headers["Allow"].split(",")}
    assert allowed <= listed
    assert method not in listed


@pytest.mark.parametrize(
    "path",
    ["/api/v1/", "/api/v1/nope", "/api/v1/comments/abc", "/api/v2/comments", "/api/v1/comments/-1"],
)
def test_an_unknown_api_path_gets_404_json(client, path):
    assert_error(client.get(path), 404, "not_found")


def test_an_unknown_site_gets_404_json_and_nothing_is_stored(app, client, before):
    assert_error(client.get(COMMENTS, query_string={"site": "nope", "page": PAGE}), 404)
    assert_error(send(client, comment_body(), site="nope"), 404, "site_not_found")
    assert_error(client.post("/api/v1/counts?site=nope", json={"pages": [PAGE]}), 404)
    assert stored(app) == before


@pytest.mark.parametrize("ident", ["0", "999", str(2**31), str(2**63), "9" * 40])
@pytest.mark.parametrize("method", ["PATCH", "DELETE"])
def test_a_comment_id_that_names_no_comment_gets_404(client, method, ident):
    posted(client)
    response = client.open(
        f"{COMMENTS}/{ident}",
        method=method,
        json={"text": "changed"},
        headers={"X-Parley-Edit-Token": "whatever"},
    )
    assert_error(response, 404, "not_found")


@pytest.mark.parametrize("token", [None, "", "forged", "x" * 5000])
def test_an_edit_without_the_right_token_gets_403_and_changes_nothing(client, token):
    response = send(client, comment_body(text="original"))
    ident = response.json["comment"]["id"]
    headers = {} if token is None else {"X-Parley-Edit-Token": token}
    edit = client.patch(f"{COMMENTS}/{ident}", json={"text": "changed"}, headers=headers)
    assert_error(edit, 403, "bad_edit_token")
    removal = client.delete(f"{COMMENTS}/{ident}", headers=headers)
    assert_error(removal, 403, "bad_edit_token")
    assert client.get(COMMENTS, query_string={"page": PAGE}).json["comments"][0]["html"] == (
        "<p>original</p>"
    )


# Query parameters: 400


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({}, "page"),
        ({"page": ""}, "page"),
        ({"page": "   "}, "page"),
        ({"page": "/" + "p" * 512}, "page"),
        ({"page": "/a\x00b"}, "page"),
        ({"page": "/a\nb"}, "page"),
        ({"page": "/a\x1bb"}, "page"),
        ({"page": PAGE, "site": ""}, "site"),
        ({"page": PAGE, "site": "s" * 65}, "site"),
        ({"page": PAGE, "site": "a\x00"}, "site"),
        ({"page": PAGE, "limit": "0"}, "limit"),
        ({"page": PAGE, "limit": "101"}, "limit"),
        ({"page": PAGE, "limit": "abc"}, "limit"),
        ({"page": PAGE, "limit": "-1"}, "limit"),
        ({"page": PAGE, "limit": "1.5"}, "limit"),
        ({"page": PAGE, "limit": " 5"}, "limit"),
        ({"page": PAGE, "limit": "\uff15"}, "limit"),  # fullwidth digit five
        ({"page": PAGE, "limit": "9" * 30}, "limit"),
        ({"page": PAGE, "sort": "bogus"}, "sort"),
        ({"page": PAGE, "sort": "OLDEST"}, "sort"),
        ({"page": PAGE, "parent": "x"}, "parent"),
        ({"page": PAGE, "parent": "-3"}, "parent"),
        ({"page": PAGE, "parent": "9" * 30}, "parent"),
    ],
)
def test_a_bad_query_parameter_gets_400_naming_it(client, query, field):
    response = client.get(COMMENTS, query_string=query)
    error = assert_error(response, 400, "invalid_query")
    assert field in error["fields"]


def test_a_page_id_of_exactly_512_characters_is_accepted(client):
    page = "/" + "p" * 511
    posted(client, page=page)
    assert shown_count(client, page) == 1


@pytest.mark.parametrize("path", ["/widget/comments", "/thread"])
@pytest.mark.parametrize("query", [{}, {"page": "/a\x00b"}, {"page": "/" + "p" * 512}])
def test_a_bad_page_parameter_on_an_html_view_gets_400_not_500(client, path, query):
    response = client.get(path, query_string=query)
    assert response.status_code == 400


BAD_CURSORS = {
    "garbage": "garbage",
    "punctuation": "!!!",
    "non-ascii": "é",
    "padding-only": "=",
    "binary": b64(b"\xff\xfe\x00"),
    "object": b64({"sort": "oldest"}),
    "numbers": b64([1, 2, 3]),
    "string": b64("abc"),
    "null": b64(None),
    "number": b64(123),
    "empty-list": b64([]),
    "one-item": b64(["oldest"]),
    "two-items": b64(["oldest", "2024-01-01T00:00:00"]),
    "four-items": b64(["oldest", "2024-01-01T00:00:00", 1, 2]),
    "other-sort": b64(["newest", "2024-01-01T00:00:00", 1]),
    "bad-date": b64(["oldest", "not a date", 1]),
    "number-date": b64(["oldest", 5, 1]),
    "null-date": b64(["oldest", None, 1]),
    "string-id": b64(["oldest", "2024-01-01T00:00:00", "1"]),
    "bool-id": b64(["oldest", "2024-01-01T00:00:00", True]),
    "float-id": b64(["oldest", "2024-01-01T00:00:00", 1.5]),
    "huge-id": b64(["oldest", "2024-01-01T00:00:00", 10**30]),
    "huge-negative-id": b64(["oldest", "2024-01-01T00:00:00", -(10**30)]),
}


@pytest.mark.parametrize("cursor", BAD_CURSORS.values(), ids=BAD_CURSORS.keys())
def test_a_cursor_the_service_did_not_make_gets_400(client, cursor):
    posted(client)  # with comments there, the cursor is really used
    response = client.get(COMMENTS, query_string={"page": PAGE, "cursor": cursor})
    error = assert_error(response, 400, "invalid_query")
    assert "cursor" in error["fields"]


def test_the_next_cursor_of_an_answer_is_accepted(client):
    for n in range(3):
        posted(client, text=f"comment {n}")
    first = client.get(COMMENTS, query_string={"page": PAGE, "limit": 2}).json
    assert first["next"]
    second = client.get(COMMENTS, query_string={"page": PAGE, "limit": 2, "cursor": first["next"]})
    assert second.status_code == 200
    assert [c["html"] for c in second.json["comments"]] == ["<p>comment 2</p>"]


# POST /api/v1/counts


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"pages": None},
        {"pages": "/article"},
        {"pages": {"/article": 1}},
        {"pages": [1]},
        {"pages": [None]},
        {"pages": [["/article"]]},
        {"pages": ["/article", True]},
        {"pages": [f"/p{n}" for n in range(101)]},
        {"pages": ["/article"], "site": "default"},
    ],
    ids=[
        "no-pages",
        "null",
        "string",
        "object",
        "number",
        "null-item",
        "nested-list",
        "bool-item",
        "101-pages",
        "extra-field",
    ],
)
def test_counts_with_a_bad_body_are_refused_with_422(client, body):
    assert_error(client.post("/api/v1/counts", json=body), 422, "validation_failed")


@pytest.mark.parametrize("page", ["", "   ", "/" + "p" * 512, "/a\x00b"])
def test_counts_for_an_invalid_page_id_are_refused_as_an_invalid_field(client, page):
    response = client.post("/api/v1/counts", json={"pages": ["/article", page]})
    error = assert_error(response, 422, "validation_failed")
    assert "pages" in error["fields"]


def test_counts_for_exactly_100_pages_are_answered(client):
    posted(client)
    pages = [PAGE] + [f"/p{n}" for n in range(99)]
    response = client.post("/api/v1/counts", json={"pages": pages})
    assert response.status_code == 200
    assert len(response.json["counts"]) == 100
    assert response.json["counts"][PAGE]["comments"] == 1


@pytest.mark.parametrize("raw", [b"[]", b'{"pages": NaN}', b"{", b""])
def test_counts_with_malformed_json_get_400(client, raw):
    response = client.post("/api/v1/counts", data=raw, content_type="application/json")
    assert_error(response, 400, "malformed_json")


def test_counts_sent_as_a_form_get_415(client):
    assert_error(client.post("/api/v1/counts", data={"pages": PAGE}), 415)


# Spam basics: honeypot and form token


@pytest.mark.parametrize("hp", ["x", "https://spam.example", " "])
def test_a_filled_honeypot_is_refused(app, client, before, hp):
    message = assert_refused_field(send(client, comment_body(hp=hp)), "hp")
    assert "empty" in message
    assert_nothing_stored(app, client, before)


def test_an_empty_honeypot_is_fine(client):
    posted(client, hp="")


@pytest.mark.parametrize("token", ["forged", "", "eyJ0IjoxfQ.AAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAA"])
def test_a_forged_form_token_gets_403(app, client, before, token):
    assert_error(send(client, comment_body(form_token=token)), 403, "bad_form_token")
    assert_nothing_stored(app, client, before)


def test_a_form_token_signed_with_another_key_gets_403(app, client, before):
    other = Flask("other")
    other.config["SECRET_KEY"] = "another-secret-key-" + "y" * 32
    with other.app_context():
        token = spam.issue_form_token()
    assert_error(send(client, comment_body(form_token=token)), 403, "bad_form_token")
    assert_nothing_stored(app, client, before)


def test_a_stale_form_token_gets_403_and_says_to_reload(app, client, before):
    with app.app_context():
        token = spam.issue_form_token(now=time.time() - 10**6)
    error = assert_error(send(client, comment_body(form_token=token)), 403, "form_expired")
    assert "reload" in error["message"].lower()
    assert_nothing_stored(app, client, before)


@pytest.mark.parametrize("app_config", [{"PARLEY_FORM_MIN_SECONDS": 3}])
def test_a_form_sent_back_too_fast_gets_422(app, client, before):
    with app.app_context():
        token = spam.issue_form_token()
    error = assert_error(send(client, comment_body(form_token=token)), 422, "too_fast")
    assert "wait" in error["message"].lower()
    assert_nothing_stored(app, client, before)


@pytest.mark.parametrize("app_config", [{"PARLEY_FORM_MIN_SECONDS": 3}])
def test_a_form_sent_back_after_the_minimum_time_is_accepted(app, client):
    with app.app_context():
        token = spam.issue_form_token(now=time.time() - 10)
    posted(client, form_token=token)


# The standalone form (no JavaScript)


def test_the_form_stores_a_valid_comment_and_redirects(app, client):
    tokens = open_form(client, "/x")
    response = submit_form(client, **tokens, name="Ada", email=EMAIL, text="Plain form")
    assert response.status_code == 303
    assert shown_count(client, "/x") == 1


def test_the_form_shows_a_missing_name_beside_the_field_and_keeps_the_text(app, client, before):
    tokens = open_form(client, "/x")
    typed = "My carefully typed <thoughts> & more"
    response = submit_form(client, **tokens, name="", email=EMAIL, text=typed)
    assert response.status_code == 422
    assert response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert "Please give a name." in field_block(html, "name")
    assert 'aria-invalid="true"' in field_block(html, "name")
    assert "parley-error-text" not in field_block(html, "email")
    assert "My carefully typed &lt;thoughts&gt; &amp; more</textarea>" in html
    assert stored(app) == before


def test_the_form_shows_an_invalid_email_beside_the_field_and_keeps_everything(app, client, before):
    tokens = open_form(client, "/x")
    response = submit_form(client, **tokens, name="Ada", email="ada@", text="Kept text")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "This is not a valid email address." in field_block(html, "email")
    assert 'value="Ada"' in field_block(html, "name")
    assert "Kept text</textarea>" in html
    assert stored(app) == before


def test_the_form_names_every_missing_field(app, client, before):
    tokens = open_form(client, "/x")
    response = submit_form(client, **tokens, name="", email="", text="")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    for field in ("name", "email", "text"):
        assert "parley-error-text" in field_block(html, field), field
    assert stored(app) == before


def test_a_form_post_without_a_csrf_token_gets_a_400_page(app, client, before):
    tokens = open_form(client, "/x")
    response = submit_form(
        client, form_token=tokens["form_token"], name="Ada", email=EMAIL, text="Hi"
    )
    assert response.status_code == 400
    assert response.mimetype == "text/html"
    assert "Reload the page" in response.get_data(as_text=True)
    assert stored(app) == before


def test_a_form_post_with_a_forged_csrf_token_gets_a_400_page(app, client, before):
    tokens = open_form(client, "/x")
    response = submit_form(
        client,
        csrf_token="forged",
        form_token=tokens["form_token"],
        name="Ada",
        email=EMAIL,
        text="x",
    )
    assert response.status_code == 400
    assert response.mimetype == "text/html"
    assert stored(app) == before


def test_a_form_post_with_a_filled_honeypot_is_refused_with_a_message(app, client, before):
    tokens = open_form(client, "/x")
    response = submit_form(client, **tokens, name="Ada", email=EMAIL, text="Buy now", hp="x")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "looks automated" in html
    assert "Buy now</textarea>" in html
    assert stored(app) == before


def test_a_form_post_with_a_stale_form_token_keeps_the_text_and_says_to_reload(app, client, before):
    tokens = open_form(client, "/x")
    with app.app_context():
        tokens["form_token"] = spam.issue_form_token(now=time.time() - 10**6)
    response = submit_form(client, **tokens, name="Ada", email=EMAIL, text="Kept for later")
    assert response.status_code == 403
    html = response.get_data(as_text=True)
    assert "expired" in html
    assert "Kept for later</textarea>" in html
    assert stored(app) == before


@pytest.mark.parametrize("parent", ["abc", "1.0", "-1", "9" * 40, "0"])
def test_a_form_reply_to_a_bad_parent_is_refused_without_a_500(app, client, before, parent):
    tokens = open_form(client, "/x")
    response = submit_form(client, **tokens, name="Ada", email=EMAIL, text="Hi", parent=parent)
    assert response.status_code == 422
    assert stored(app) == before


# Rate limit: 429


RATE_LIMITED = {"RATELIMIT_ENABLED": True, "PARLEY_POST_LIMIT": "2 per minute"}


@pytest.mark.parametrize("app_config", [RATE_LIMITED])
def test_the_third_stored_post_in_a_minute_gets_429_with_retry_after(app, client):
    posted(client, text="one")
    posted(client, text="two")
    response = send(client, comment_body(text="three"))
    assert_error(response, 429, "rate_limited")
    assert int(response.headers["Retry-After"]) > 0
    assert stored(app)[0] == 2
    assert shown_count(client) == 2


@pytest.mark.parametrize("app_config", [RATE_LIMITED])
def test_refused_posts_do_not_spend_the_rate_limit_budget(app, client):
    for _ in range(4):
        assert send(client, comment_body(email="not an address")).status_code == 422
    posted(client, text="one")
    posted(client, text="two")
    assert send(client, comment_body(text="three")).status_code == 429


@pytest.mark.parametrize("app_config", [RATE_LIMITED])
def test_the_form_and_the_api_share_one_posting_budget(app, client):
    posted(client, text="one")
    posted(client, text="two")
    tokens = open_form(client, "/x")
    response = submit_form(client, **tokens, name="Ada", email=EMAIL, text="three")
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
    assert stored(app)[0] == 2


@pytest.mark.parametrize("app_config", [RATE_LIMITED])
def test_reading_is_not_limited_by_the_posting_budget(client):
    posted(client, text="one")
    posted(client, text="two")
    for _ in range(5):
        assert client.get(COMMENTS, query_string={"page": PAGE}).status_code == 200


# Storage unavailable: 503


@pytest.mark.parametrize(
    "app_config",
    [{"SQLALCHEMY_DATABASE_URI": "sqlite:////nonexistent-parley-dir/nested/parley.sqlite"}],
)
@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", f"{COMMENTS}?page={PAGE}", None),
        ("POST", f"{COMMENTS}?page={PAGE}", comment_body()),
        ("PATCH", f"{COMMENTS}/1", {"text": "changed"}),
        ("DELETE", f"{COMMENTS}/1", None),
        ("POST", "/api/v1/counts", {"pages": [PAGE]}),
    ],
)
def test_the_api_answers_503_with_retry_after_when_the_database_is_gone(client, method, path, body):
    response = client.open(path, method=method, json=body, headers={"X-Parley-Edit-Token": "token"})
    assert_error(response, 503, "storage_unavailable")
    assert int(response.headers["Retry-After"]) > 0


@pytest.mark.parametrize(
    "app_config",
    [{"SQLALCHEMY_DATABASE_URI": "sqlite:////nonexistent-parley-dir/nested/parley.sqlite"}],
)
def test_healthz_answers_503_json_when_the_database_is_gone(client):
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.mimetype == "application/json"
    assert response.json["status"] != "ok"
    assert int(response.headers["Retry-After"]) > 0


@pytest.mark.parametrize(
    "app_config",
    [{"SQLALCHEMY_DATABASE_URI": "sqlite:////nonexistent-parley-dir/nested/parley.sqlite"}],
)
@pytest.mark.parametrize(
    "path", ["/widget/comments?page=/x", "/thread?page=/x", "/demo/glass-orchard"]
)
def test_html_views_answer_503_when_the_database_is_gone(client, path):
    response = client.get(path)
    assert response.status_code == 503
    assert response.headers.get("Retry-After")


@pytest.fixture
def write_lock(app: Flask, monkeypatch: pytest.MonkeyPatch):
    """Another process holds the SQLite write lock; the service waits only briefly."""
    monkeypatch.setattr(database, "BUSY_TIMEOUT_MS", 50)
    path = app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///")
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    yield
    other.rollback()
    other.close()


@pytest.mark.sqlite_only("SQLite's write lock held by another process (test_outage.py: PostgreSQL)")
def test_a_post_while_the_database_is_locked_gets_503_and_stores_nothing(app, client, write_lock):
    response = send(client, comment_body())
    assert_error(response, 503, "storage_unavailable")
    assert int(response.headers["Retry-After"]) > 0
    assert stored(app)[0] == 0


@pytest.mark.sqlite_only("SQLite's write lock held by another process")
def test_reads_still_work_while_another_process_writes(app, client, write_lock):
    assert client.get(COMMENTS, query_string={"page": PAGE}).status_code == 200
    assert client.get("/healthz").status_code == 200
