"""Text that must not lie to readers: names without hidden controls, websites as clean URLs.

A name is shown beside a comment; characters that reorder or hide text would let one
author pass for another or make a name read backwards (``U+202E`` turns "moc.elgoog"
into "google.com"). A website becomes an ``href``; it is stored normalised, so what
readers see and follow is one unambiguous, percent-encoded URL whoever renders it.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from urllib.parse import quote, urlsplit

import idna

# Bidi embeddings and overrides (U+202A-U+202E) and isolates (U+2066-U+2069), zero-width
# space, word joiner, byte-order mark, and the tag characters (invisible ASCII look-alikes).
_REMOVED = re.compile("[\u202a-\u202e\u2066-\u2069\u200b\u2060\ufeff\U000e0000-\U000e007f]")
_JOINERS = {"\u200c", "\u200d"}  # ZWNJ, ZWJ: Persian, Indic scripts and emoji need them


def _joins(ch: str) -> bool:
    """A character a joiner may stand beside: a letter, a mark (a virama, an emoji's
    variation selector) or a symbol (an emoji, a skin-tone modifier)."""
    category = unicodedata.category(ch)
    return category[0] in "LM" or category in {"So", "Sk"}


def display_name(raw: str) -> str:
    """A name as shown: hidden controls removed, joiners kept only where they join,
    whitespace collapsed to single spaces, NFC."""
    text = _REMOVED.sub("", raw)
    kept = [
        ch
        for index, ch in enumerate(text)
        if ch not in _JOINERS
        or (0 < index < len(text) - 1 and _joins(text[index - 1]) and _joins(text[index + 1]))
    ]
    return unicodedata.normalize("NFC", " ".join("".join(kept).split()))


# What stays raw in each part of a URL: RFC 3986's unreserved characters and the
# delimiters that part may hold, never a quote, an apostrophe or an angle bracket.
_SAFE_PATH = "!$&()*+,;=:@/-._~"
_SAFE_QUERY = _SAFE_PATH + "?"
_ESCAPE = re.compile(r"%[0-9A-Fa-f]{2}")
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_NUMERIC = re.compile(r"(?:0x[0-9a-f]*|[0-9]+)")  # a last label browsers read as IPv4
DEFAULT_PORTS = {"http": 80, "https": 443}


def _encode(part: str, safe: str) -> str:
    """Percent-encode ``part`` (UTF-8), keeping valid escapes (in upper case) as they are."""
    out, start = [], 0
    for escape in _ESCAPE.finditer(part):
        out += [quote(part[start : escape.start()], safe=safe), escape.group().upper()]
        start = escape.end()
    out.append(quote(part[start:], safe=safe))
    return "".join(out)


def _host(text: str) -> str | None:
    """A host in its one spelling: lower-case ASCII (IDNA for international names), a
    dotted-quad IPv4 address or a bracketed IPv6 one; None if it is none of these."""
    if text.startswith("[") and text.endswith("]"):
        if "%" in text:  # a zone ("%eth0") names an interface of the reader's machine
            return None
        try:
            return f"[{ipaddress.IPv6Address(text[1:-1]).compressed}]"
        except ValueError:
            return None
    name = text.removesuffix(".")
    if not name.isascii():
        try:
            name = idna.encode(name, uts46=True).decode("ascii")
        except (idna.IDNAError, UnicodeError):
            return None
    name = name.lower()
    labels = name.split(".")
    if _NUMERIC.fullmatch(labels[-1]):  # 127.1, 0x7f.0.0.1: only a plain dotted quad counts
        try:
            return str(ipaddress.IPv4Address(name))
        except ValueError:
            return None
    if len(labels) < 2 or not all(_LABEL.fullmatch(label) for label in labels):
        return None
    return name


def normalize_url(text: str, limit: int) -> str | None:
    """An http(s) URL in one normalised spelling of at most ``limit`` characters, or None.

    Scheme and host lower-cased, the host in its ASCII (IDNA) form, a default port
    dropped, no user info, and every character outside each part's safe set
    (spaces, quotes, angle brackets, non-ASCII) percent-encoded. ``//host`` and a bare
    ``host/path`` mean https. Control characters are refused, not encoded.
    """
    url = text.strip()
    if not url or len(url) > limit or any(unicodedata.category(ch) == "Cc" for ch in url):
        return None
    if url.startswith("//"):
        url = "https:" + url
    elif "://" not in url and not url.lower().startswith(("http:", "https:")):
        url = "https://" + url  # people type "example.org"
    try:
        parts = urlsplit(url)
    except ValueError:  # "https://[::1"
        return None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.netloc or "@" in parts.netloc:
        return None
    host_text, port_text = parts.netloc, ""
    if not host_text.startswith("["):
        host_text, _, port_text = host_text.partition(":")
    elif "]:" in host_text:
        host_text, _, port_text = host_text.rpartition(":")
    host = _host(host_text)
    if host is None or not (port_text.isascii() and (port_text.isdigit() or not port_text)):
        return None
    port = int(port_text) if port_text else None
    if port is not None and not 0 < port < 65536:
        return None
    netloc = host if port in (None, DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    path = _encode(parts.path, _SAFE_PATH)
    query = _encode(parts.query, _SAFE_QUERY)
    fragment = _encode(parts.fragment, _SAFE_QUERY)
    url = f"{scheme}://{netloc}{path}" + (f"?{query}" if query else "")
    url += f"#{fragment}" if fragment else ""
    return url if len(url) <= limit else None
