"""Encrypted emails, keyed hashes, identicons and client addresses (service.rules.privacy)."""

from __future__ import annotations

import hashlib
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator

import pytest
from flask import Flask

from service.config import new_data_key
from service.rules.privacy import (
    DataKeyError,
    anonymize_address,
    avatar_id,
    client_address,
    decrypt_email,
    derive_key,
    email_index,
    encrypt_email,
    identicon_svg,
    keyed_hash,
    normalize_email,
    parse_data_key,
)
from service.web.limits import client_key as rate_limit_key
from service.web.requests import client_address as request_client_address
from service.web.requests import stored_address

EMAIL = "Ada.Lovelace@Example.org"
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def keys_app() -> Iterator[Flask]:
    app = Flask(__name__)
    app.config.update(PARLEY_DATA_KEY=new_data_key(), PARLEY_TRUSTED_PROXIES=0)
    with app.app_context():
        yield app


def unkeyed_hashes(email: str) -> set[str]:
    """md5/sha1/sha256 hex of the email as given and normalised, as Gravatar-style ids are."""
    return {
        algorithm(form.encode()).hexdigest()
        for algorithm in (hashlib.md5, hashlib.sha1, hashlib.sha256)
        for form in (email, email.strip().lower(), normalize_email(email))
    }


# Data keys


def test_a_generated_data_key_parses_to_its_kid_and_32_bytes() -> None:
    value = new_data_key()
    kid, key = parse_data_key(value)
    assert value.startswith(kid + ":")
    assert len(key) == 32


@pytest.mark.parametrize(
    "value",
    [
        "",
        "no-colon-at-all",
        "k1:",
        ":" + "A" * 43,
        "k1:short",
        "k1:" + "A" * 44,
        "k1:" + "A" * 42 + "+",
        "k1:" + "A" * 42 + "B",  # two spare bits set: not the canonical spelling
        "k$1:" + "A" * 43,
        "k 1:" + "A" * 43,
    ],
)
def test_a_malformed_data_key_is_refused_with_the_expected_format(value: str) -> None:
    with pytest.raises(DataKeyError, match=r"'<kid>:<key>'.*URL-safe base64"):
        parse_data_key(value)


def test_a_malformed_configured_key_names_the_setting_but_not_the_secret(keys_app: Flask) -> None:
    secret = "A" * 42 + "B"
    keys_app.config["PARLEY_DATA_KEY_FALLBACKS"] = [f"old:{secret}"]
    with pytest.raises(DataKeyError, match=r"PARLEY_DATA_KEY_FALLBACKS\[0\]") as raised:
        email_index(EMAIL)
    assert secret not in str(raised.value)


def test_a_missing_data_key_is_a_data_key_error(keys_app: Flask) -> None:
    keys_app.config["PARLEY_DATA_KEY"] = ""
    with pytest.raises(DataKeyError, match="PARLEY_DATA_KEY is not set"):
        encrypt_email(EMAIL)


def test_derived_keys_differ_by_purpose_and_are_32_bytes(keys_app: Flask) -> None:
    assert len(derive_key("avatar")) == 32
    assert derive_key("avatar") == derive_key("avatar")
    assert derive_key("avatar") != derive_key("email-index")


def test_a_changed_data_key_in_the_config_is_read_again(keys_app: Flask) -> None:
    before = email_index(EMAIL)
    keys_app.config["PARLEY_DATA_KEY"] = new_data_key()
    assert email_index(EMAIL) != before
    assert len(keys_app.extensions["parley_keys"]) == 1


# Email encryption


def test_an_encrypted_email_decrypts_to_the_same_email(keys_app: Flask) -> None:
    assert decrypt_email(encrypt_email(EMAIL)) == EMAIL
    assert decrypt_email(encrypt_email("zoë@exämple.org")) == "zoë@exämple.org"


def test_each_encryption_differs_and_never_contains_the_email(keys_app: Flask) -> None:
    first, second = encrypt_email(EMAIL), encrypt_email(EMAIL)
    assert first != second
    kid = parse_data_key(keys_app.config["PARLEY_DATA_KEY"])[0]
    for stored in (first, second):
        assert stored.startswith(kid + "$")
        assert "lovelace" not in stored.lower()
        assert "example" not in stored.lower()


def test_an_email_encrypted_with_a_rotated_key_still_decrypts_from_fallbacks(
    keys_app: Flask,
) -> None:
    old = keys_app.config["PARLEY_DATA_KEY"]
    stored = encrypt_email(EMAIL)
    new = new_data_key()
    keys_app.config.update(PARLEY_DATA_KEY=new, PARLEY_DATA_KEY_FALLBACKS=[old])
    assert decrypt_email(stored) == EMAIL
    assert encrypt_email(EMAIL).startswith(parse_data_key(new)[0] + "$")
    keys_app.config["PARLEY_DATA_KEY_FALLBACKS"] = []
    with pytest.raises(DataKeyError):
        decrypt_email(stored)


def test_an_unknown_kid_is_a_data_key_error(keys_app: Flask) -> None:
    body = encrypt_email(EMAIL).partition("$")[2]
    with pytest.raises(DataKeyError, match="unknown data key id"):
        decrypt_email("knotakey$" + body)


def test_a_tampered_ciphertext_is_a_data_key_error(keys_app: Flask) -> None:
    stored = encrypt_email(EMAIL)
    flipped = stored[:-3] + ("A" if stored[-3] != "A" else "B") + stored[-2:]
    for damaged in (flipped, stored[:-4], stored.partition("$")[0] + "$", "no separator", "k$!!"):
        with pytest.raises(DataKeyError):
            decrypt_email(damaged)


def test_a_ciphertext_moved_to_another_kid_does_not_decrypt(keys_app: Flask) -> None:
    other = new_data_key()
    keys_app.config["PARLEY_DATA_KEY_FALLBACKS"] = [other]
    body = encrypt_email(EMAIL).partition("$")[2]
    with pytest.raises(DataKeyError):
        decrypt_email(parse_data_key(other)[0] + "$" + body)


# Blind index, keyed hashes and avatar ids


def test_the_blind_index_is_stable_and_ignores_case_and_spaces(keys_app: Flask) -> None:
    index = email_index(EMAIL)
    assert re.fullmatch(r"[0-9a-f]{64}", index)
    assert email_index(EMAIL) == index
    assert email_index("  ada.lovelace@EXAMPLE.ORG ") == index
    assert email_index("ada@example.org") != index


def test_the_blind_index_differs_with_another_data_key(keys_app: Flask) -> None:
    before = email_index(EMAIL)
    keys_app.config["PARLEY_DATA_KEY"] = new_data_key()
    assert email_index(EMAIL) != before


def test_the_blind_index_is_no_unkeyed_hash_of_the_email(keys_app: Flask) -> None:
    assert email_index(EMAIL) not in unkeyed_hashes(EMAIL)


def test_keyed_hashes_depend_on_purpose_and_refuse_the_encryption_key(keys_app: Flask) -> None:
    assert re.fullmatch(r"[0-9a-f]{64}", keyed_hash("edit-token", "t0ken"))
    assert keyed_hash("edit-token", "t0ken") != keyed_hash("visitor", "t0ken")
    assert keyed_hash("edit-token", "t0ken") != hashlib.sha256(b"t0ken").hexdigest()
    with pytest.raises(ValueError):
        keyed_hash("email-encryption", "t0ken")


def test_the_avatar_id_is_no_prefix_of_an_unkeyed_hash_of_the_email(keys_app: Flask) -> None:
    avatar = avatar_id(EMAIL)
    assert re.fullmatch(r"[0-9a-f]{20}", avatar)
    assert avatar_id(EMAIL.upper()) == avatar
    assert not any(digest.startswith(avatar) for digest in unkeyed_hashes(EMAIL))


def test_the_avatar_id_differs_per_install_key(keys_app: Flask) -> None:
    before = avatar_id(EMAIL)
    keys_app.config["PARLEY_DATA_KEY"] = new_data_key()
    assert avatar_id(EMAIL) != before


# Identicons


def test_an_identicon_is_deterministic_small_and_valid_svg() -> None:
    svg = identicon_svg("0123456789abcdef0123")
    assert svg == identicon_svg("0123456789abcdef0123")
    assert len(svg.encode()) < 2048
    root = ET.fromstring(svg)
    assert root.tag == SVG + "svg"
    assert {"viewBox", "width", "height"} <= set(root.attrib)


@pytest.mark.parametrize("avatar", ["00000000", "ffffffff", "0123456789abcdef0123", "a" * 64])
def test_an_identicon_holds_no_script_link_or_handler(avatar: str) -> None:
    svg = identicon_svg(avatar)
    for element in ET.fromstring(svg).iter():
        assert element.tag in {SVG + "svg", SVG + "rect", SVG + "path"}
        for name in element.attrib:
            assert "href" not in name.lower()
            assert not name.lower().startswith("on")
    assert "<script" not in svg.lower()
    assert "url(" not in svg
    assert svg.count("http") == 1  # the SVG namespace only
    assert ET.fromstring(svg).find(SVG + "path") is not None


def test_different_ids_draw_different_identicons() -> None:
    drawings = {identicon_svg(f"{n:020x}") for n in range(50)}
    assert len(drawings) == 50


@pytest.mark.parametrize(
    "avatar", ["", "abc1234", "ABCDEF12", "0123456g", "a" * 65, "abcdef12\n", "<svg>abc"]
)
def test_an_identicon_rejects_anything_but_a_lowercase_hex_id(avatar: str) -> None:
    with pytest.raises(ValueError):
        identicon_svg(avatar)


# Addresses


@pytest.mark.parametrize(
    ("address", "anonymized"),
    [
        ("203.0.113.77", "203.0.113.0"),
        (" 198.51.100.255 ", "198.51.100.0"),
        ("2001:db8:abcd:12:34::1", "2001:db8:abcd::"),
        ("2001:db8:abcd:ffff:ffff:ffff:ffff:ffff", "2001:db8:abcd::"),
        ("fe80::1%eth0", "fe80::"),
        ("::ffff:203.0.113.77", "203.0.113.0"),
        ("not an address", ""),
        ("", ""),
        ("203.0.113.300", ""),
    ],
)
def test_an_address_is_anonymized_to_its_network(address: str, anonymized: str) -> None:
    assert anonymize_address(address) == anonymized


@pytest.mark.parametrize(
    ("remote", "forwarded", "proxies", "expected"),
    [
        # No trusted proxy: the header is anyone's to write.
        ("192.0.2.10", "203.0.113.5", 0, "192.0.2.10"),
        ("192.0.2.10", None, 1, "192.0.2.10"),
        ("192.0.2.10", "", 1, "192.0.2.10"),
        ("192.0.2.10", "203.0.113.5", 1, "203.0.113.5"),
        # Spoofed entries on the left are ignored.
        ("192.0.2.10", "6.6.6.6, 7.7.7.7, 203.0.113.5", 1, "203.0.113.5"),
        ("192.0.2.10", "6.6.6.6, 203.0.113.5, 10.0.0.1", 2, "203.0.113.5"),
        ("192.0.2.10", "<script>, 203.0.113.5", 1, "203.0.113.5"),
        # Fewer entries than proxies: the request skipped a proxy.
        ("192.0.2.10", "203.0.113.5", 2, "192.0.2.10"),
        # Garbage where the trusted entry should be: fall back, never shift left.
        ("192.0.2.10", "6.6.6.6, unknown", 1, "192.0.2.10"),
        ("192.0.2.10", "6.6.6.6, unknown, 10.0.0.1", 2, "192.0.2.10"),
        ("192.0.2.10", "6.6.6.6,", 1, "192.0.2.10"),
        # Normalised forms.
        ("192.0.2.10", "203.0.113.5:4711", 1, "203.0.113.5"),
        ("192.0.2.10", "[2001:db8::1]:443", 1, "2001:db8::1"),
        ("192.0.2.10", "2001:DB8:0::1", 1, "2001:db8::1"),
        ("::ffff:192.0.2.10", None, 0, "192.0.2.10"),
        (None, None, 0, ""),
        ("unix-socket", None, 0, ""),
    ],
)
def test_the_client_address_believes_only_trusted_proxies(
    remote: str | None, forwarded: str | None, proxies: int, expected: str
) -> None:
    assert client_address(remote, forwarded, proxies) == expected


def test_the_request_address_uses_the_configured_proxies(keys_app: Flask) -> None:
    environ = {"REMOTE_ADDR": "10.0.0.1"}
    headers = {"X-Forwarded-For": "6.6.6.6, 203.0.113.5"}
    with keys_app.test_request_context(environ_base=environ, headers=headers):
        assert request_client_address() == "10.0.0.1"
    keys_app.config["PARLEY_TRUSTED_PROXIES"] = 1
    with keys_app.test_request_context(environ_base=environ, headers=headers):
        assert request_client_address() == "203.0.113.5"
        assert stored_address() == "203.0.113.0"


def test_several_forwarded_for_lines_count_as_one_list(keys_app: Flask) -> None:
    keys_app.config["PARLEY_TRUSTED_PROXIES"] = 2
    headers = [("X-Forwarded-For", "6.6.6.6, 203.0.113.5"), ("X-Forwarded-For", "10.0.0.2")]
    with keys_app.test_request_context(environ_base={"REMOTE_ADDR": "10.0.0.1"}, headers=headers):
        assert request_client_address() == "203.0.113.5"


def test_the_rate_limit_key_is_a_keyed_hash_of_the_full_address(keys_app: Flask) -> None:
    def key_for(address: str) -> str:
        with keys_app.test_request_context(environ_base={"REMOTE_ADDR": address}):
            return rate_limit_key()

    key = key_for("203.0.113.5")
    assert re.fullmatch(r"[0-9a-f]{32}", key)
    assert key_for("203.0.113.5") == key
    assert key_for("203.0.113.6") != key  # same /24, still a different client
    assert not any(d.startswith(key) for d in unkeyed_hashes("203.0.113.5"))
    keys_app.config["PARLEY_DATA_KEY"] = new_data_key()
    assert key_for("203.0.113.5") != key
