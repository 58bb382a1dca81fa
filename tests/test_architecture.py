"""The layout's rules that an import graph cannot see, checked on the source itself.

The import contracts (``.importlinter``, run by ``make lint``) keep the arrows pointing one
way: web and cli, then the domains, then rules, then data. These tests keep the rest:
domain code never touches the request, private names stay private, each blueprint's views
live in its own package, domain errors carry no HTTP status and every code has one.
"""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from service.data.bounds import EMAIL_MAX, NAME_MAX, TEXT_MAX, WEBSITE_MAX
from service.rules.errors import DomainError, ValidationError
from service.web.errors import CODES

ROOT = Path(__file__).resolve().parent.parent
SERVICE = ROOT / "service"
DOMAIN = ("data", "rules", "comments", "ratings", "sites", "notify")
# What only a view may use: the request, its session and globals, routing and answers.
WEB_ONLY = {
    "request",
    "session",
    "g",
    "url_for",
    "Blueprint",
    "redirect",
    "abort",
    "flash",
    "jsonify",
    "make_response",
    "has_request_context",
}
# Declarative schema modules may be longer than the ~300 lines a module should keep to.
LONG_ALLOWED = {"service/web/schemas.py"}
MODULE_LINES_MAX = 300


def _modules(*parts: str) -> Iterator[tuple[Path, ast.Module]]:
    for folder in parts or ("",):
        for path in sorted((SERVICE / folder).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path, ast.parse(path.read_text(), str(path))


def _name(path: Path) -> str:
    return str(path.relative_to(ROOT))


def test_domain_code_never_reads_the_request_or_answers_it():
    found = []
    for path, tree in _modules(*DOMAIN):
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module == "flask":
                found += [(_name(path), a.name) for a in node.names if a.name in WEB_ONLY]
            elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
                if node.value.id == "flask" and node.attr in WEB_ONLY:
                    found.append((_name(path), f"flask.{node.attr}"))
    assert found == []


def test_no_private_name_is_imported_or_used_across_modules():
    found = []
    for path, tree in _modules():
        imported_modules = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module != "__future__":
                for alias in node.names:
                    if alias.name.startswith("_"):
                        found.append((_name(path), f"from {node.module} import {alias.name}"))
                    imported_modules.add(alias.asname or alias.name)
            elif isinstance(node, ast.Import):
                imported_modules.update((a.asname or a.name).split(".")[0] for a in node.names)
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in imported_modules
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
            ):
                found.append((_name(path), f"{node.value.id}.{node.attr}"))
    # Third-party objects with documented underscore APIs are not ours to rename.
    allowed = {"current_app._get_current_object"}
    assert [item for item in found if item[1] not in allowed] == []


def test_imported_modules_are_never_deleted():
    found = []
    for path, tree in _modules():
        imported = {
            alias.asname or alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.Import | ast.ImportFrom)
            for alias in node.names
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.Delete):
                names = [t.id for t in node.targets if isinstance(t, ast.Name)]
                found += [(_name(path), n) for n in names if n in imported]
    assert found == []


def test_every_route_lives_in_the_package_of_its_blueprint(app: Flask):
    strangers = []
    for endpoint, view in app.view_functions.items():
        if endpoint == "static":
            continue
        blueprint = app.blueprints[endpoint.split(".")[0]]
        if not view.__module__.startswith(blueprint.import_name + "."):
            strangers.append((endpoint, view.__module__, blueprint.import_name))
    assert strangers == []
    assert set(app.blueprints) == {"api", "widgets", "admin", "notify", "ops", "feeds", "privacy"}


def _raised_codes() -> Iterator[tuple[str, str]]:
    """Every literal code given to a domain error: raised, or set by a subclass."""
    for path, tree in _modules():
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            first = node.args[0]
            if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
                continue
            if name in {"DomainError", "LinkError"} or (
                name == "__init__"
                and isinstance(func, ast.Attribute)
                and isinstance(func.value, ast.Call)
            ):
                yield _name(path), first.value


def test_every_domain_error_code_has_its_status_in_the_one_table():
    raised = set(_raised_codes())
    assert len(raised) > 20  # the scan finds the codes it is meant to find
    assert {code for _, code in raised} >= {"not_found", "visitor_required", "banned"}
    assert sorted((path, code) for path, code in raised if code not in CODES) == []
    assert ValidationError({"x": "y"}).code in CODES


def test_domain_errors_carry_no_http_status():
    error = DomainError("banned", "You cannot comment on this site.", {"email": "banned"})
    assert (error.code, error.message, error.fields) == (
        "banned",
        "You cannot comment on this site.",
        {"email": "banned"},
    )
    assert not any(hasattr(error, name) for name in ("status", "status_code", "code_status"))
    for path, tree in _modules(*DOMAIN):
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "DomainError":
                assert all(
                    not isinstance(a, ast.Constant) or not isinstance(a.value, int)
                    for a in node.args
                ), _name(path)


def test_no_module_outgrows_its_room():
    long = [
        (_name(path), len(path.read_text().splitlines()))
        for path, _ in _modules()
        if _name(path) not in LONG_ALLOWED
    ]
    assert [(name, n) for name, n in long if n > MODULE_LINES_MAX] == []


def test_templates_take_their_limits_from_the_bounds():
    """No template spells a limit as a number: maxlength, min and max come from ``bounds``."""
    literal = re.compile(r"""(maxlength|\bmin|\bmax)(=["']?|['"]?:\s*)[1-9]""")
    found = [
        (str(path.relative_to(ROOT)), match.group(0))
        for path in sorted((ROOT / "templates").rglob("*.html"))
        for match in literal.finditer(path.read_text())
    ]
    assert found == []


def test_the_forms_limits_are_the_validators_limits(client: FlaskClient):
    html = client.get("/thread", query_string={"page": "/limits"}).get_data(as_text=True)
    for name, limit in (("name", NAME_MAX), ("email", EMAIL_MAX), ("website", WEBSITE_MAX)):
        assert re.search(rf'<input[^>]*name="{name}"[^>]*maxlength="{limit}"', html) or re.search(
            rf'<input[^>]*maxlength="{limit}"[^>]*name="{name}"', html
        ), name
    assert re.search(rf'<textarea[^>]*maxlength="{TEXT_MAX}"', html)


@pytest.mark.slow
def test_the_import_contracts_fail_on_a_violation(tmp_path: Path):
    """A data module importing the web layer breaks the layers contract; lint-imports says so."""
    lint = Path(sys.executable).with_name("lint-imports")
    shutil.copytree(SERVICE, tmp_path / "service", ignore=shutil.ignore_patterns("static"))
    shutil.copy(ROOT / ".importlinter", tmp_path / ".importlinter")
    kept = subprocess.run(
        [str(lint), "--no-cache"], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert kept.returncode == 0, kept.stdout[-2000:]
    models = tmp_path / "service" / "data" / "bounds.py"
    models.write_text(models.read_text() + "\nfrom service.web import errors  # noqa\n")
    broken = subprocess.run(
        [str(lint), "--no-cache"], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert broken.returncode != 0
    assert "service.data.bounds -> service.web" in broken.stdout
    assert "BROKEN" in broken.stdout
