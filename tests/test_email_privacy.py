"""No public answer ever reveals a commenter's email or client address.

A small thread is built by one poster (comments with a distinctive email, one of them
with upper-case letters, a reply, an edit, deletions, a post through the plain form),
then every public answer is fetched and searched -- body, every header and every
cookie (the session cookie decoded) -- for the email in any case, its plain
md5/sha1/sha2 digests, its base64 at any alignment, its URL and HTML encodings, and
for the poster's address. The stored rows are checked too: the email only encrypted,
the address only as its network.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from flask.testing import FlaskClient
from support import json_of, open_form

from service.data import Comment
from service.data.bounds import SORTS
from service.extensions import db
from service.rules import privacy

MIXED_EMAIL = "Quill.Marrow-7731@Example.ORG"  # upper-case letters on both sides of @
PLAIN_EMAIL = "zyx.privacy-probe.4096@example.net"
POSTER_ADDRESS = "198.51.100.77"
POSTER_NETWORK = "198.51.100.0"
READER_ADDRESS = "203.0.113.9"
PAGE = "/article"
DEMO_PAGE = "/demo/glass-orchard"
COMMENTS = "/api/v1/comments"
DIGESTS = ("md5", "sha1", "sha224", "sha256", "sha384", "sha512")


# What must never be shown


def _base64_cores(data: bytes) -> set[str]:
    """Base64 text that encodes ``data`` wherever it sits inside a larger encoded blob.

    For each of the three byte alignments, keep only the characters whose six bits all
    come from ``data``, so the needle matches regardless of what surrounds it.
    """
    cores = set()
    for offset in range(3):
        padded = b"\0" * offset + data
        first = math.ceil(8 * offset / 6)
        last = (8 * (offset + len(data))) // 6
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            cores.add(encode(padded).decode()[first:last])
    return cores


def email_forms(email: str) -> set[str]:
    """The spellings of an address a careless service might show or hash."""
    local, _, domain = email.partition("@")
    return {
        email,
        email.strip(),
        email.lower(),
        email.upper(),
        email.casefold(),
        f"{local}@{domain.lower()}",  # what an email validator normalises it to
        privacy.normalize_email(email),
    }


def email_needles(email: str) -> set[str]:
    """Lower-cased strings whose presence anywhere would reveal the address."""
    local = email.partition("@")[0]
    needles = {local}
    for form in email_forms(email):
        data = form.encode()
        needles |= {
            form,
            quote(form, safe=""),
            form.replace("@", "&#64;"),
            form.replace("@", "&#x40;"),
            form.replace("@", "\\u0040"),
        }
        needles |= {hashlib.new(name, data).hexdigest() for name in DIGESTS}
        needles |= _base64_cores(data)
    return {needle.lower() for needle in needles}


SECRETS = {
    **{needle: f"email {MIXED_EMAIL}" for needle in email_needles(MIXED_EMAIL)},
    **{needle: f"email {PLAIN_EMAIL}" for needle in email_needles(PLAIN_EMAIL)},
    POSTER_ADDRESS: "client address",
    "198.51.100.": "client network",
    quote(POSTER_ADDRESS): "client address",
}


# Searching answers


def _session_contents(app: Flask, value: str) -> str:
    """The decoded Flask session cookie (it may be compressed, hiding plain text)."""
    interface = app.session_interface
    assert isinstance(interface, SecureCookieSessionInterface), "not Flask's cookie session"
    serializer = interface.get_signing_serializer(app)
    assert serializer is not None
    return json.dumps(serializer.loads(value), default=str)


def exposed_text(app: Flask, response: Any) -> str:
    """Everything a response shows its receiver, lower-cased: body, headers, cookies."""
    parts = [response.get_data().decode("utf-8", "replace")]
    parts += [f"{name}: {value}" for name, value in response.headers.items()]
    for cookie in response.headers.getlist("Set-Cookie"):
        name, _, rest = cookie.partition("=")
        value = rest.split(";", 1)[0].strip('"')
        parts.append(unquote(value))
        if name == app.config["SESSION_COOKIE_NAME"] and value:
            parts.append(_session_contents(app, value))
    return "\n".join(parts).lower()


def leaks(text: str) -> list[str]:
    """The kinds of personal data found in an already lower-cased text."""
    return sorted({f"{kind} ({needle!r})" for needle, kind in SECRETS.items() if needle in text})


def assert_private(app: Flask, response: Any, label: str) -> None:
    assert response.status_code < 500, (label, response.status_code)
    found = leaks(exposed_text(app, response))
    assert not found, f"{label} (HTTP {response.status_code}) reveals: {found}"


def assert_all_private(app: Flask, answers: Iterable[tuple[str, Any]]) -> None:
    problems = []
    for label, response in answers:
        try:
            assert_private(app, response, label)
        except AssertionError as error:
            problems.append(str(error))
    assert not problems, "\n".join(problems)


# The thread


@dataclass
class Scene:
    """A thread built by one poster, and the poster's own answers along the way."""

    app: Flask
    poster: FlaskClient
    reader: FlaskClient
    ids: dict[str, int] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    answers: list[tuple[str, Any]] = field(default_factory=list)
    avatars: set[str] = field(default_factory=set)

    def post(self, label: str, email: str, page: str = PAGE, **fields: Any) -> int:
        body = {"name": "Quill", "email": email, "text": f"Comment {label}.", **fields}
        response = self.poster.post(COMMENTS, query_string={"page": page}, json=body)
        assert response.status_code == 201, response.json
        self.answers.append((f"POST comment {label}", response))
        body = json_of(response)
        self.ids[label] = body["comment"]["id"]
        self.tokens[label] = body["edit_token"]
        return self.ids[label]

    def edit(self, label: str, text: str) -> None:
        response = self.poster.patch(
            f"{COMMENTS}/{self.ids[label]}",
            json={"text": text},
            headers={"X-Parley-Edit-Token": self.tokens[label]},
        )
        assert response.status_code == 200, response.json
        self.answers.append((f"PATCH comment {label}", response))

    def delete(self, label: str) -> None:
        response = self.poster.delete(
            f"{COMMENTS}/{self.ids[label]}", headers={"X-Parley-Edit-Token": self.tokens[label]}
        )
        assert response.status_code == 204
        self.answers.append((f"DELETE comment {label}", response))


def client_at(app: Flask, address: str) -> FlaskClient:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


@pytest.fixture
def scene(app: Flask) -> Scene:
    scene = Scene(app, client_at(app, POSTER_ADDRESS), client_at(app, READER_ADDRESS))
    first = scene.post("first", MIXED_EMAIL, website="quill.example")
    scene.post("reply", PLAIN_EMAIL, parent=first)
    scene.post("edited", PLAIN_EMAIL)
    scene.edit("edited", "Edited text.")
    shouting = scene.post("shouting", MIXED_EMAIL.upper())
    scene.post("reply to deleted", PLAIN_EMAIL, parent=shouting)
    scene.delete("shouting")  # stays as a placeholder above its reply
    scene.post("gone", MIXED_EMAIL)
    scene.delete("gone")  # removed outright
    demo = scene.post("demo", MIXED_EMAIL, page=DEMO_PAGE)
    scene.post("demo reply", f"  {PLAIN_EMAIL}  ", page=DEMO_PAGE, parent=demo)

    tokens = open_form(scene.poster, PAGE)
    sent = scene.poster.post(
        "/thread",
        query_string={"page": PAGE},
        data={**tokens, "name": "Quill", "email": MIXED_EMAIL, "text": "Through the form."},
    )
    assert sent.status_code == 303
    scene.answers.append(("POST /thread (stored)", sent))
    scene.answers.append(("GET /thread after posting", scene.poster.get(sent.headers["Location"])))

    for _, response in scene.answers:
        comment = (response.json or {}).get("comment") if response.is_json else None
        if comment and comment["avatar"]:
            scene.avatars.add(urlsplit(comment["avatar"]).path)
    return scene


def stored_rows(app: Flask) -> list[Comment]:
    with app.app_context():
        rows = list(db.session.scalars(sa.select(Comment).order_by(Comment.id)))
        db.session.expunge_all()
    return rows


# The poster's own answers


def test_answers_to_posting_editing_and_deleting_reveal_no_email_or_address(scene):
    assert len(scene.answers) >= 12
    assert_all_private(scene.app, scene.answers)


def test_a_posted_comment_has_no_email_field_of_any_name(scene):
    response = next(answer for label, answer in scene.answers if label == "POST comment first")
    comment = response.json["comment"]
    assert not [key for key in comment if "mail" in key.lower() or "hash" in key.lower()]
    assert comment["author"] == "Quill"
    assert comment["website"] == "https://quill.example"


# What every reader sees


@pytest.mark.parametrize("sort", [*SORTS, None])
@pytest.mark.parametrize("page", [PAGE, DEMO_PAGE])
def test_every_sort_of_the_comment_list_is_private(scene, sort, page):
    query = {"page": page} | ({"sort": sort} if sort else {})
    response = scene.reader.get(COMMENTS, query_string=query)
    assert response.status_code == 200
    assert response.json["comments"], "the thread should show comments"
    assert_private(scene.app, response, f"GET {COMMENTS} sort={sort} page={page}")


def test_every_page_of_a_cursored_list_and_every_reply_list_is_private(scene):
    answers = []
    for sort in ("oldest", "newest"):
        cursor = None
        for _ in range(10):
            query = {"page": PAGE, "sort": sort, "limit": 1} | (
                {"cursor": cursor} if cursor else {}
            )
            response = scene.reader.get(COMMENTS, query_string=query)
            answers.append((f"GET {COMMENTS} {sort} cursor={cursor}", response))
            cursor = response.json["next"]
            if not cursor:
                break
    for label in ("first", "shouting", "demo"):
        page = DEMO_PAGE if label == "demo" else PAGE
        query = {"page": page, "parent": scene.ids[label]}
        answers.append((f"replies of {label}", scene.reader.get(COMMENTS, query_string=query)))
    assert len(answers) >= 6
    assert_all_private(scene.app, answers)


def test_the_counts_are_private(scene):
    response = scene.reader.post("/api/v1/counts", json={"pages": [PAGE, DEMO_PAGE, "/none"]})
    assert response.status_code == 200
    assert response.json["counts"][PAGE]["comments"] >= 3
    assert_private(scene.app, response, "POST /api/v1/counts")


@pytest.mark.parametrize("page", [PAGE, DEMO_PAGE])
def test_the_widget_fragment_is_private(scene, page):
    response = scene.reader.get("/widget/comments", query_string={"page": page})
    assert response.status_code == 200
    assert "Quill" in response.get_data(as_text=True)
    assert_private(scene.app, response, f"GET /widget/comments page={page}")


@pytest.mark.parametrize("who", ["reader", "poster"])
@pytest.mark.parametrize("page", [PAGE, DEMO_PAGE])
def test_the_standalone_page_is_private_for_readers_and_for_the_poster(scene, who, page):
    client = getattr(scene, who)
    response = client.get("/thread", query_string={"page": page})
    assert response.status_code == 200
    assert "Quill" in response.get_data(as_text=True)
    assert_private(scene.app, response, f"GET /thread as {who} page={page}")
    reply = client.get("/thread", query_string={"page": page, "reply": scene.ids["first"]})
    assert_private(scene.app, reply, f"GET /thread?reply as {who} page={page}")


@pytest.mark.parametrize("who", ["reader", "poster"])
def test_the_demo_article_is_private(scene, who):
    response = getattr(scene, who).get(DEMO_PAGE)
    assert response.status_code == 200
    assert "Comment demo." in response.get_data(as_text=True)
    assert_private(scene.app, response, f"GET {DEMO_PAGE} as {who}")


def test_every_avatar_is_private_and_not_a_plain_hash_of_the_email(scene):
    assert len(scene.avatars) == 2  # one per person, whatever the case of the address
    answers = [(f"GET {path}", scene.reader.get(path)) for path in scene.avatars]
    assert all(response.mimetype == "image/svg+xml" for _, response in answers)
    assert_all_private(scene.app, answers)
    plain_digests = {
        hashlib.new(name, form.encode()).hexdigest()
        for email in (MIXED_EMAIL, PLAIN_EMAIL)
        for form in email_forms(email)
        for name in DIGESTS
    }
    for path in scene.avatars:
        ident = path.rsplit("/", 1)[-1].removesuffix(".svg").lower()
        assert not [d for d in plain_digests if ident in d], f"{path} is a plain email hash"


@pytest.mark.parametrize("path", ["/api/v1/openapi.json", "/healthz", "/api/v1/form-token"])
def test_service_documents_are_private(scene, path):
    response = scene.reader.get(path)
    assert response.status_code == 200
    assert_private(scene.app, response, f"GET {path}")


# Error answers: refusals never echo the address


def _error_requests(scene: Scene) -> list[tuple[str, dict[str, Any]]]:
    body = {"name": "Quill", "email": MIXED_EMAIL, "text": "Hi"}
    query = {"page": PAGE}
    edit_path = f"{COMMENTS}/{scene.ids['first']}"
    return [
        ("422 text missing", {"json": {**body, "text": ""}, "query_string": query}),
        ("422 text too long", {"json": {**body, "text": "w" * 10_001}, "query_string": query}),
        ("422 bad website", {"json": {**body, "website": "ftp://x"}, "query_string": query}),
        (
            "422 invalid email",
            {"json": {**body, "email": MIXED_EMAIL.replace("@", "@@")}, "query_string": query},
        ),
        (
            "422 email too long",
            {"json": {**body, "email": "Quill.Marrow-7731" * 20 + "@x.org"}, "query_string": query},
        ),
        ("422 bad parent", {"json": {**body, "parent": 10**9}, "query_string": query}),
        ("422 honeypot", {"json": {**body, "hp": "x"}, "query_string": query}),
        ("403 forged form", {"json": {**body, "form_token": "forged"}, "query_string": query}),
        ("404 unknown site", {"json": body, "query_string": {**query, "site": "nope"}}),
        ("400 no page", {"json": body}),
        (
            "400 malformed JSON",
            {
                "data": json.dumps(body)[:-1] + ", oops",
                "content_type": "application/json",
                "query_string": query,
            },
        ),
        (
            "400 duplicate key",
            {
                "data": json.dumps(body)[:-1] + f', "email": "{MIXED_EMAIL}"}}',
                "content_type": "application/json",
                "query_string": query,
            },
        ),
        ("415 form-encoded", {"data": body, "query_string": query}),
        (
            "413 too large",
            {"json": {**body, "text": MIXED_EMAIL * 5000}, "query_string": query},
        ),
        ("405 PUT", {"method": "PUT", "json": body, "query_string": query}),
        ("405 PUT edit path", {"method": "PUT", "path": edit_path, "json": body}),
        (
            "404 PATCH unknown",
            {"method": "PATCH", "path": f"{COMMENTS}/999999", "json": {"text": "x"}},
        ),
        ("403 PATCH no token", {"method": "PATCH", "path": edit_path, "json": {"text": "x"}}),
        ("422 PATCH email", {"method": "PATCH", "path": edit_path, "json": {"email": PLAIN_EMAIL}}),
        ("403 DELETE no token", {"method": "DELETE", "path": edit_path}),
        ("404 unknown API path", {"method": "GET", "path": "/api/v1/emails"}),
    ]


def test_error_answers_reveal_no_email_or_address(scene):
    answers = []
    for label, request in _error_requests(scene):
        method = request.pop("method", "POST")
        path = request.pop("path", COMMENTS)
        response = scene.poster.open(path, method=method, **request)
        assert 400 <= response.status_code < 500, (label, response.status_code)
        assert label.startswith(str(response.status_code)), (label, response.status_code)
        answers.append((label, response))
    assert_all_private(scene.app, answers)


@pytest.mark.parametrize(
    "app_config", [{"RATELIMIT_ENABLED": True, "PARLEY_POST_LIMIT": "1 per minute"}]
)
def test_a_rate_limited_answer_reveals_no_email_or_address(app):
    poster = client_at(app, POSTER_ADDRESS)
    body = {"name": "Quill", "email": MIXED_EMAIL, "text": "Hi"}
    first = poster.post(COMMENTS, query_string={"page": PAGE}, json=body)
    second = poster.post(COMMENTS, query_string={"page": PAGE}, json=body)
    assert (first.status_code, second.status_code) == (201, 429)
    assert_all_private(app, [("first post", first), ("429", second)])


# The plain form: the poster sees their own typing again, nobody else does


def test_a_refused_form_shows_the_email_only_in_the_posters_own_email_input(scene):
    tokens = open_form(scene.poster, PAGE)
    refused = scene.poster.post(
        "/thread",
        query_string={"page": PAGE},
        data={**tokens, "name": "", "email": MIXED_EMAIL, "text": "Refused: no name."},
    )
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    email_input = re.search(r'<input[^>]*name="email"[^>]*>', html)
    assert email_input and MIXED_EMAIL in email_input.group(0)  # the poster's own typing
    rest = html.replace(email_input.group(0), "")
    headers = "\n".join(f"{k}: {v}" for k, v in refused.headers.items())
    found = leaks((rest + "\n" + headers).lower())
    assert not found, f"the refused form reveals, besides the poster's own input: {found}"

    later = [
        ("GET /thread by the poster afterwards", scene.poster.get(f"/thread?page={PAGE}")),
        ("GET /thread by a reader afterwards", scene.reader.get(f"/thread?page={PAGE}")),
        ("GET fragment afterwards", scene.reader.get(f"/widget/comments?page={PAGE}")),
    ]
    assert_all_private(scene.app, later)


def test_a_refused_form_keeps_no_email_in_the_session_cookie(scene):
    tokens = open_form(scene.poster, PAGE)
    refused = scene.poster.post(
        "/thread",
        query_string={"page": PAGE},
        data={**tokens, "name": "Quill", "email": PLAIN_EMAIL, "text": "x", "hp": "filled"},
    )
    assert refused.status_code == 422
    cookie = scene.poster.get_cookie(scene.app.config["SESSION_COOKIE_NAME"])
    if cookie is not None:
        contents = (cookie.value + _session_contents(scene.app, cookie.value)).lower()
        assert not leaks(contents)


# What is stored


def test_the_stored_email_is_encrypted_and_decrypts_to_the_address(scene):
    rows = [row for row in stored_rows(scene.app) if row.status == "approved"]
    assert len(rows) >= 7
    with scene.app.app_context():
        for row in rows:
            assert row.email_encrypted
            sealed = row.email_encrypted.lower()
            assert not leaks(sealed), f"comment {row.id} stores its email readably"
            assert privacy.decrypt_email(row.email_encrypted).casefold() in {
                MIXED_EMAIL.casefold(),
                PLAIN_EMAIL.casefold(),
            }


def test_no_stored_column_holds_the_email_or_the_full_address(scene):
    for row in stored_rows(scene.app):
        values = {column.key: getattr(row, column.key) for column in Comment.__table__.columns}
        text = json.dumps(values, default=str).lower()
        found = [
            kind for needle, kind in SECRETS.items() if needle in text and "network" not in kind
        ]
        assert not found, f"comment {row.id} stores {found}"


def test_the_stored_address_is_only_the_posters_network(scene):
    rows = stored_rows(scene.app)
    live = [row for row in rows if row.status != "deleted"]
    assert live and {row.remote_addr for row in live} == {POSTER_NETWORK}


def test_a_deleted_comment_keeps_nothing_of_its_author(scene):
    rows = {row.id: row for row in stored_rows(scene.app)}
    assert not [row for row in rows.values() if row.text == "Comment gone."]
    placeholder = rows[scene.ids["shouting"]]
    assert placeholder.status == "deleted"
    assert placeholder.author is None
    assert placeholder.email_encrypted is None and placeholder.email_index is None
    assert placeholder.remote_addr is None
    assert placeholder.text == "" and placeholder.avatar == ""


@pytest.mark.sqlite_only("reads the SQLite file and its WAL as bytes")
def test_the_database_files_hold_no_plain_email(scene):
    database = Path(scene.app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///"))
    files = [p for p in database.parent.glob(database.name + "*") if p.is_file()]
    assert database in files
    text = b"".join(p.read_bytes() for p in files).decode("latin-1").lower()
    found = [kind for needle, kind in SECRETS.items() if needle in text and "network" not in kind]
    assert not found, f"the database files hold {found}"
