"""Compressed answers: text over about a kilobyte goes out as br or gzip when the client
takes it.

Cached public reads are compressed once, when they are stored (``service.web.cache``), and
served as stored; every other text answer is compressed after the view, here. Answers that
are already encoded (the loader's own gzip) are left as they are. Answers to a request that
carries cookies are never compressed: they may hold a CSRF token bound to the cookie next to
something the request reflects (the admin views, the standalone page), which is what a
compression side channel (BREACH) needs. Without a cookie, each answer holds a fresh token,
so there is no secret for such a side channel to converge on.
"""

from __future__ import annotations

import gzip

import brotli
from flask import Flask, Response, request

from service.web.headers import add_vary

MIN_SIZE = 1024  # smaller answers gain too little for the work
# What each coding costs and gains: brotli at 5 and gzip at 6 compress a 100-comment thread
# in about a millisecond each; higher brotli levels take many times longer for a few percent.
BROTLI_QUALITY = 5
GZIP_LEVEL = 6
CODINGS = ("br", "gzip")  # preferred first when the client rates them alike
TEXT_TYPES = (
    "application/json",
    "application/javascript",
    "application/xml",
    "application/atom+xml",
    "image/svg+xml",
)


def is_text(mimetype: str | None) -> bool:
    """Whether answers of this type are worth compressing."""
    return bool(mimetype) and (str(mimetype).startswith("text/") or mimetype in TEXT_TYPES)


def encode(body: bytes, coding: str) -> bytes:
    """The body in ``coding`` ("br" or "gzip"); the same bytes for the same body."""
    if coding == "br":
        return bytes(brotli.compress(body, quality=BROTLI_QUALITY))
    return gzip.compress(body, compresslevel=GZIP_LEVEL, mtime=0)


def chosen(available: tuple[str, ...] = CODINGS) -> str | None:
    """The coding the client rates highest among ``available`` (None: send it as it is)."""
    accepted = request.accept_encodings
    best, rated = None, 0.0
    for coding in available:
        quality = accepted.quality(coding)
        if quality > rated:
            best, rated = coding, quality
    return best


def _worth_it(response: Response) -> bool:
    return (
        200 <= response.status_code < 300
        and response.status_code not in (204, 206)
        and not response.direct_passthrough
        and not response.is_streamed
        and "Content-Encoding" not in response.headers
        and is_text(response.mimetype)
        and (response.content_length or 0) >= MIN_SIZE
        and "no-transform" not in response.headers.get("Cache-Control", "")
    )


def compress_answer(response: Response) -> Response:
    """Compress a text answer of a kilobyte or more for a client that takes br or gzip."""
    if not _worth_it(response):
        return response
    add_vary(response, "Accept-Encoding")
    if request.cookies:
        return response  # never next to a secret the request may be reflected beside
    coding = chosen()
    if coding is None:
        return response
    response.set_data(encode(response.get_data(), coding))
    response.headers["Content-Encoding"] = coding
    etag, weak = response.get_etag()
    if etag and not weak:
        response.set_etag(etag, weak=True)  # the same content, other bytes
    return response


def register(app: Flask) -> None:
    """Registered before every other after-request function, so it runs last."""
    app.after_request(compress_answer)
