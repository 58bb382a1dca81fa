"""The OpenAPI document keeps every operation, parameter, body field and answer it had.

``snapshots/openapi_operations.json`` records, for each operation of the document as it
stood before the API schemas were declared as models: its parameters (where, name,
required), the top-level fields of its body and of each answer, and its statuses. Nothing
recorded there may disappear or change. Anything the document has beyond it is an addition,
allowed only when ``CHANGELOG.md`` and ``docs/api.md`` both name it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from service.web.api.openapi import openapi_document

ROOT = Path(__file__).resolve().parent.parent
SNAPSHOT = Path(__file__).resolve().parent / "snapshots" / "openapi_operations.json"

Json = dict[str, Any]


def _resolve(document: Json, node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        target: Any = document
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def _shape(document: Json, schema: Any) -> Json:
    """The top-level fields of an object schema (a nullable one too), required or not."""
    schema = _resolve(document, schema)
    for variant in schema.get("anyOf", []):
        if _resolve(document, variant).get("type") != "null":
            schema = _resolve(document, variant)
    if schema.get("type") == "object" or "properties" in schema:
        return {
            "properties": sorted(schema.get("properties", {})),
            "required": sorted(schema.get("required", [])),
        }
    return {}


def operations(document: Json) -> Json:
    """Every operation as the snapshot records it."""
    found: Json = {}
    for path, item in document["paths"].items():
        for method, op in item.items():
            parameters = [_resolve(document, p) for p in op.get("parameters", [])]
            entry: Json = {
                "parameters": sorted([p["in"], p["name"], p["required"]] for p in parameters),
                "responses": {},
            }
            if "requestBody" in op:
                body = op["requestBody"]["content"]["application/json"]["schema"]
                entry["body"] = _shape(document, body)
            for status, answer in sorted(op["responses"].items()):
                content = _resolve(document, answer).get("content", {}).get("application/json")
                entry["responses"][status] = (
                    _shape(document, content["schema"]) if content else None
                )
            found[f"{method.upper()} {path}"] = entry
    return found


def _missing_and_added(before: Any, now: Any, where: str) -> tuple[list[str], list[str]]:
    """What ``before`` has that ``now`` lacks (or has otherwise), and what ``now`` adds."""
    missing: list[str] = []
    added: list[str] = []
    if isinstance(before, dict) and isinstance(now, dict):
        for name in before:
            if name not in now:
                missing.append(f"{where} {name}")
            else:
                lost, new = _missing_and_added(before[name], now[name], f"{where} {name}")
                missing += lost
                added += new
        added += [f"{where} {name}" for name in now if name not in before]
    elif isinstance(before, list) and isinstance(now, list) and where.endswith("properties"):
        missing += [f"{where}: {item}" for item in before if item not in now]
        added += [f"{where}: {item}" for item in now if item not in before]
    elif isinstance(before, list) and isinstance(now, list) and where.endswith("parameters"):
        names = {tuple(p[:2]): p for p in now}
        for parameter in before:
            if names.get(tuple(parameter[:2])) != parameter:
                missing.append(f"{where}: {parameter}")
        kept = {tuple(p[:2]) for p in before}
        added += [f"{where}: {p[1]}" for p in now if tuple(p[:2]) not in kept]
    elif before != now:
        missing.append(f"{where}: was {before!r}, is {now!r}")
    return missing, added


def test_nothing_in_the_document_has_disappeared_or_changed():
    before = json.loads(SNAPSHOT.read_text())["operations"]
    missing, _ = _missing_and_added(before, operations(openapi_document()), "")
    assert missing == []


def test_additions_to_the_document_are_recorded_in_the_changelog_and_api_docs():
    before = json.loads(SNAPSHOT.read_text())["operations"]
    _, added = _missing_and_added(before, operations(openapi_document()), "")
    changelog = (ROOT / "CHANGELOG.md").read_text()
    api_docs = (ROOT / "docs" / "api.md").read_text()
    unrecorded = [
        item for item in added if not all(_named(item, text) for text in (changelog, api_docs))
    ]
    assert unrecorded == []
    assert not _named(" GET /api/v1/comments parameters: X-Invented-Header", changelog)


def _named(item: str, text: str) -> bool:
    """True when a paragraph or list item of the text names the added thing and its operation."""
    method, path, *rest = item.split()
    name = item.rsplit(":", 1)[-1].strip() if ":" in item else (rest[-1] if rest else path)
    operation = f"{method} {path.split('{')[0]}"
    parts = (" ".join(part.split()) for part in re.split(r"\n\s*\n|\n(?=\s*[-*|] )", text))
    return any(operation in part and name in part for part in parts)


def test_the_snapshot_comparison_notices_a_lost_answer_and_a_lost_field():
    recorded = operations(openapi_document())
    trimmed = json.loads(json.dumps(recorded))
    del trimmed["POST /api/v1/comments"]["responses"]["201"]
    trimmed["GET /api/v1/ratings"]["responses"]["200"]["properties"].remove("yours")
    changes = [
        " POST /api/v1/comments responses 201",
        " GET /api/v1/ratings responses 200 properties: yours",
    ]
    missing, added = _missing_and_added(recorded, trimmed, "")
    assert (sorted(missing), added) == (sorted(changes), [])
    missing, added = _missing_and_added(trimmed, recorded, "")
    assert (missing, sorted(added)) == ([], sorted(changes))
