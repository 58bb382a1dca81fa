"""Request bodies: read whole before anything else, and bounded however they are sent."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from support import comment_body, json_of

CHUNKED = {"wsgi.input_terminated": True}  # what a server sets for a chunked body


def _streamed(client: FlaskClient, path: str, body: bytes, **headers: str) -> Any:
    """POST a body without Content-Length, as a server hands over a chunked one."""
    return client.post(
        path,
        input_stream=io.BytesIO(body),
        environ_overrides=CHUNKED,
        headers={"Transfer-Encoding": "chunked", **headers},
    )


@pytest.mark.parametrize("path", ["/api/v1/counts", "/api/v1/comments?page=/big"])
def test_a_chunked_body_over_the_size_limit_is_413_like_a_sized_one(
    app: Flask, client: FlaskClient, path: str
) -> None:
    limit = app.config["MAX_CONTENT_LENGTH"]
    body = json.dumps({"pages": ["/x"], "pad": "a" * limit}).encode()
    sized = client.post(path, data=body, content_type="application/json")
    streamed = _streamed(client, path, body, **{"Content-Type": "application/json"})
    for answer in (sized, streamed):
        assert answer.status_code == 413
        assert json_of(answer)["error"]["code"] == "too_large"


def test_a_chunked_body_under_the_limit_is_read_whole(client: FlaskClient) -> None:
    body = json.dumps(comment_body(text="Sent in chunks. " * 500)).encode()
    answer = _streamed(
        client, "/api/v1/comments?page=/chunks", body, **{"Content-Type": "application/json"}
    )
    assert answer.status_code == 201, answer.get_data(as_text=True)
    assert json_of(answer)["comment"]["html"].startswith("<p>Sent in chunks.")
    counts = _streamed(
        client, "/api/v1/counts", json.dumps({"pages": ["/chunks"]}).encode(),
        **{"Content-Type": "application/json"},
    )  # fmt: skip
    assert json_of(counts)["counts"]["/chunks"]["comments"] == 1
