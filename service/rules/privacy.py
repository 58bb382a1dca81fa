"""Personal data at rest: encrypted emails, keyed hashes, avatars and client addresses.

Emails are stored encrypted and looked up only through a keyed blind index; nothing
public carries an email or an unkeyed hash of one (md5/sha1/sha256 of an address can be
reversed with a dictionary), so avatars are drawn here from a keyed hash. Client
addresses are stored anonymised, and X-Forwarded-For is believed only as far as the
configured number of trusted proxies.

All keys derive from ``PARLEY_DATA_KEY`` ("<kid>:<base64url of 32 bytes>"); keys in
``PARLEY_DATA_KEY_FALLBACKS`` still decrypt, so a key can be rotated without a migration.
"""

from __future__ import annotations

import base64
import colorsys
import hashlib
import hmac
import ipaddress
import re
import secrets
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

_KID = re.compile(r"[A-Za-z0-9_.-]{1,32}")
_KEY_B64 = re.compile(r"[A-Za-z0-9_-]{43}=?")
_HEX_ID = re.compile(r"[0-9a-f]{8,64}")
_ENCRYPTION = "email-encryption"
_NONCE_BYTES = 12
_KEY_FORMAT = (
    "a data key must look like '<kid>:<key>': a key id of up to 32 letters, digits, "
    "'.', '_' or '-', a colon, and 32 random bytes in URL-safe base64 without padding "
    "(43 characters); generate one with `flask --app service keys`"
)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class DataKeyError(ValueError):
    """A data key is missing or malformed, or a ciphertext names an unknown key or is damaged."""


@dataclass
class _Keyring:
    current: str
    keys: dict[str, bytes]
    derived: dict[tuple[str, str], bytes] = field(default_factory=dict)


def parse_data_key(value: str) -> tuple[str, bytes]:
    """Split a configured data key into its key id and 32 key bytes."""
    if not isinstance(value, str):
        raise DataKeyError(_KEY_FORMAT)
    kid, sep, encoded = value.strip().partition(":")
    if not sep or not _KID.fullmatch(kid) or not _KEY_B64.fullmatch(encoded):
        raise DataKeyError(_KEY_FORMAT)
    encoded = encoded.rstrip("=")
    key = base64.urlsafe_b64decode(encoded + "=")
    # 43 characters carry 258 bits; reject spellings whose two spare bits are set.
    if len(key) != 32 or base64.urlsafe_b64encode(key).decode().rstrip("=") != encoded:
        raise DataKeyError(_KEY_FORMAT)
    return kid, key


def data_keys(raw: object, fallbacks: object) -> _Keyring:
    """Check the configured data key and its fallbacks (start-up refuses bad ones); an error
    names the setting at fault, never its value."""
    if isinstance(fallbacks, str):
        fallbacks = [item.strip() for item in fallbacks.split(",") if item.strip()]
    fallbacks = fallbacks or []
    if not raw:
        raise DataKeyError("PARLEY_DATA_KEY is not set; " + _KEY_FORMAT)
    if not isinstance(raw, str) or not isinstance(fallbacks, list | tuple):
        raise DataKeyError("PARLEY_DATA_KEY: " + _KEY_FORMAT)
    keys: dict[str, bytes] = {}
    current = ""
    for index, value in enumerate([raw, *fallbacks]):
        name = "PARLEY_DATA_KEY" if index == 0 else f"PARLEY_DATA_KEY_FALLBACKS[{index - 1}]"
        try:
            kid, key = parse_data_key(value)
        except DataKeyError as error:
            # The value is a secret: name the setting, never echo it.
            raise DataKeyError(f"{name}: {error}") from None
        if keys.get(kid, key) != key:
            raise DataKeyError(f"{name}: key id {kid!r} is already used by a different key")
        keys[kid] = key
        current = current or kid
    return _Keyring(current=current, keys=keys)


def _keyring() -> _Keyring:
    config = current_app.config
    raw = config.get("PARLEY_DATA_KEY")
    fallbacks = config.get("PARLEY_DATA_KEY_FALLBACKS") or []
    source = (raw, tuple(fallbacks) if isinstance(fallbacks, list) else fallbacks)
    cache = current_app.extensions.get("parley_keys")
    if cache and source in cache:
        return cache[source]
    ring = data_keys(raw, fallbacks)
    # One entry only: a changed config replaces the cache rather than growing it.
    current_app.extensions["parley_keys"] = {source: ring}
    return ring


def derive_key(purpose: str, kid: str | None = None) -> bytes:
    """A 32-byte key for one purpose, derived (HKDF-SHA256) from the current or named data key."""
    if not purpose:
        raise ValueError("a key purpose is required")
    ring = _keyring()
    kid = ring.current if kid is None else kid
    if kid not in ring.keys:
        raise DataKeyError(f"unknown data key id {kid!r}; is an old key missing from fallbacks?")
    derived = ring.derived.get((kid, purpose))
    if derived is None:
        hkdf = HKDF(hashes.SHA256(), length=32, salt=None, info=b"parley:" + purpose.encode())
        derived = ring.derived[(kid, purpose)] = hkdf.derive(ring.keys[kid])
    return derived


def normalize_email(email: str) -> str:
    """The comparable form of an address: trimmed and casefolded, local part included.

    Deliberately simple: no dot or "+tag" rules, which differ between providers.
    """
    return email.strip().casefold()


def encrypt_email(email: str) -> str:
    """Encrypt an email (as given) with AES-256-GCM: "kid$" + base64url(nonce + ciphertext)."""
    ring = _keyring()
    nonce = secrets.token_bytes(_NONCE_BYTES)
    sealed = AESGCM(derive_key(_ENCRYPTION, ring.current)).encrypt(
        nonce, email.encode(), ring.current.encode()
    )
    return ring.current + "$" + base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")


def decrypt_email(stored: str) -> str:
    """Decrypt a value from encrypt_email with whichever configured key its kid names."""
    kid, sep, body = stored.partition("$")
    if not sep or not _KID.fullmatch(kid):
        raise DataKeyError("not an encrypted email")
    key = derive_key(_ENCRYPTION, kid)
    try:
        blob = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        plain = AESGCM(key).decrypt(blob[:_NONCE_BYTES], blob[_NONCE_BYTES:], kid.encode())
        return plain.decode()
    except (ValueError, InvalidTag):
        raise DataKeyError("encrypted email is damaged or was not made with this key") from None


def keyed_hash(purpose: str, value: str) -> str:
    """Hex HMAC-SHA256 of value under the key derived for purpose (tokens, visitors, addresses)."""
    if purpose == _ENCRYPTION:
        raise ValueError("the email encryption key is not for hashing")
    return hmac.new(derive_key(purpose), value.encode(), hashlib.sha256).hexdigest()


def email_index(email: str) -> str:
    """Blind index for finding an email's rows without decrypting: 64 hex chars."""
    return keyed_hash("email-index", normalize_email(email))


def avatar_id(email: str) -> str:
    """20 hex chars naming an email's avatar; unlike a Gravatar hash it needs the data key."""
    return keyed_hash("avatar", normalize_email(email))[:20]


def identicon_svg(avatar: str) -> str:
    """A small standalone SVG: a mirrored 5x5 grid coloured from the hex id, nothing else."""
    if not isinstance(avatar, str) or not _HEX_ID.fullmatch(avatar):
        raise ValueError("an avatar id is 8 to 64 lowercase hex characters")
    # Spread ids of any accepted length over the same number of bits.
    bits = int.from_bytes(hashlib.sha256(avatar.encode()).digest(), "big")
    cells = [(col, row) for row in range(5) for col in range(3) if bits >> (row * 3 + col) & 1]
    cells = cells or [(2, 2)]
    hue = (bits >> 16 & 0xFFFF) / 0x10000
    saturation = 0.45 + (bits >> 32 & 0xFF) / 0xFF * 0.3
    lightness = 0.4 + (bits >> 40 & 0xFF) / 0xFF * 0.15
    red, green, blue = colorsys.hls_to_rgb(hue, lightness, saturation)
    colour = "#{:02x}{:02x}{:02x}".format(*(round(c * 255) for c in (red, green, blue)))
    squares = {(col, row) for col, row in cells} | {(4 - col, row) for col, row in cells}
    path = "".join(f"M{col} {row}h1v1h-1z" for col, row in sorted(squares))
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64" '
        'viewBox="-0.5 -0.5 6 6" shape-rendering="crispEdges">'
        '<rect x="-0.5" y="-0.5" width="6" height="6" fill="#f0f0f0"/>'
        f'<path fill="{colour}" d="{path}"/></svg>'
    )


def _parse_ip(text: str) -> IPAddress | None:
    """An address from a header or socket entry, tolerating a port; IPv4-mapped unwrapped."""
    text = text.strip()
    if text.startswith("[") and "]" in text:  # "[2001:db8::1]" or "[2001:db8::1]:443"
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # "203.0.113.5:4711"
        text = text.partition(":")[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def anonymize_address(address: str) -> str:
    """The network an address belongs to: IPv4 /24, IPv6 /48; "" if it is not an address."""
    parsed = _parse_ip(address)
    if parsed is None:
        return ""
    prefix = 24 if parsed.version == 4 else 48
    mask = ((1 << prefix) - 1) << (parsed.max_prefixlen - prefix)
    # Rebuilt from the masked integer, so an IPv6 zone ("%eth0") is dropped too.
    return str(type(parsed)(int(parsed) & mask))


def client_address(remote_addr: str | None, forwarded_for: str | None, trusted_proxies: int) -> str:
    """The real (not anonymised) client address; "" if none can be determined.

    With N trusted proxies the N-th X-Forwarded-For entry from the right is the address
    the outermost trusted proxy saw; everything left of it is client-supplied. Entries are
    counted by position, never filtered first, so a client cannot shift which one is used.
    """
    fallback = _parse_ip(remote_addr or "")
    if trusted_proxies > 0 and forwarded_for:
        entries = forwarded_for.split(",")
        if len(entries) >= trusted_proxies:
            chosen = _parse_ip(entries[-trusted_proxies])
            if chosen is not None:
                return str(chosen)
    return "" if fallback is None else str(fallback)


def limit_bucket(address: str) -> str:
    """A rate limiter's bucket for a client address: a keyed hash, so no address is kept.

    IPv6 addresses count per /64: one subscriber usually holds a whole /64, so
    rotating within it buys nothing.
    """
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        parsed = None
    if isinstance(parsed, ipaddress.IPv6Address):
        address = str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return keyed_hash("rate-limit", address)[:32]
