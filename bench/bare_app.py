"""The yardstick for ``bench/ceiling.py``: a bare Flask app with fixed answers.

``/bytes/<n>`` answers ``n`` fixed bytes (built once per size and kept), the size of
Parley's answer on the wire; ``/tiny`` answers a 12-byte JSON body to any method, after
reading the request's body as a real view would. No database, no templates, no
compression: what Flask and gunicorn cost on their own.

    gunicorn --pythonpath bench bare_app:app
"""

from __future__ import annotations

from flask import Flask, Response, request

app = Flask(__name__)
_BODIES: dict[int, bytes] = {}
TINY = b'{"ok": true}'
FILLER = b'{"comments": [' + b"0123456789abcdef" * 64


@app.get("/bytes/<int:size>")
def sized(size: int) -> Response:
    body = _BODIES.get(size)
    if body is None:
        body = (FILLER * (size // len(FILLER) + 1))[:size]
        _BODIES[size] = body
    return Response(body, mimetype="text/plain")


@app.route("/tiny", methods=["GET", "POST", "PUT"])
def tiny() -> Response:
    request.get_data()
    return Response(TINY, mimetype="application/json")
