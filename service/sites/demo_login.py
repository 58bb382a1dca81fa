"""The demo login of development (``make run``): an owner account whose password stays the
same across restarts.

The password is kept in the instance folder, in ``demo_login`` (mode 0600, like the
development keys), made the first time and read at every start. The account is
``admin@parley.localhost``, created while no other owner exists; once an operator has an
owner account of their own, a demo account that was never made (or was disabled) stays
away. The account's stored hash is the judge of the kept password: if the password was
changed since (``set-password``, the account page), the kept one no longer logs in and is
not shown; ``reset`` makes a new one. Production has no demo account: the command line
calls none of this there, so no such file is ever written. Callers commit.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from werkzeug.security import check_password_hash

from service import files
from service.data import Moderator
from service.sites.accounts import (
    AccountError,
    ensure_first_owner,
    find,
    hash_password,
    owner_exists,
    password_problem,
    set_password,
)

DEMO_EMAIL = "admin@parley.localhost"
FILE_NAME = "demo_login"


@dataclass(frozen=True)
class DemoLogin:
    """The demo account and its kept password; ``password`` is None when the kept one no
    longer logs in (the account's password was changed since)."""

    email: str
    password: str | None
    path: Path
    new: bool = False  # made just now (first start, the file was missing, or a reset)


def password_file(instance_path: Path) -> Path:
    return instance_path / FILE_NAME


def prepare(instance_path: Path) -> DemoLogin | None:
    """The demo login, made on first use; None when another owner exists and the demo
    account does not (or is disabled). Writes the password file only when it is missing."""
    account = find(DEMO_EMAIL)
    active = account is not None and account.disabled is None
    if not active and owner_exists():
        return None
    path = password_file(instance_path)
    kept = _read(path)
    if account is not None and active:
        if kept is None:  # an account from before the file, or the file was removed
            return _renew(account, path)
        works = check_password_hash(account.password_hash, kept)
        return DemoLogin(DEMO_EMAIL, kept if works else None, path)
    password = kept if kept is not None else _write(path, _new_password())
    ensure_first_owner(DEMO_EMAIL, password)
    return DemoLogin(DEMO_EMAIL, password, path, new=kept is None)


def reset(instance_path: Path) -> DemoLogin:
    """A new demo password, kept and stored; every session of the account ends."""
    account = find(DEMO_EMAIL)
    if (account is None or account.disabled is not None) and owner_exists():
        raise AccountError("There is no demo account: it is made only while no other owner exists.")
    path = password_file(instance_path)
    if account is None or account.disabled is not None:
        password = _write(path, _new_password())
        ensure_first_owner(DEMO_EMAIL, password)
        return DemoLogin(DEMO_EMAIL, password, path, new=True)
    return _renew(account, path)


def _renew(account: Moderator, path: Path) -> DemoLogin:
    password = _new_password()
    password_hash = hash_password(password)  # the slow work before the write
    _write(path, password)
    set_password(account, password_hash, by=None)  # its sessions end; audited
    return DemoLogin(DEMO_EMAIL, password, path, new=True)


def _new_password() -> str:
    return secrets.token_urlsafe(12)


def _read(path: Path) -> str | None:
    """The kept password, or None when the file is missing or holds no usable password."""
    try:
        files.owner_only(path)  # made by hand with a looser mode: tightened
        kept = path.read_text().strip()
    except FileNotFoundError:
        return None
    return kept if kept and password_problem(kept) is None else None


def _write(path: Path, password: str) -> str:
    """Keep ``password`` in ``path``, owner-only, replacing the file whole (a new file
    beside it, renamed over it: a reader sees the old password or the new one)."""
    path.parent.mkdir(mode=files.OWNER_FOLDER, parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, files.OWNER_FILE)
    try:
        with os.fdopen(descriptor, "w") as handle:
            os.fchmod(handle.fileno(), files.OWNER_FILE)  # whatever the umask
            handle.write(password + "\n")
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return password
