"""The loader's budgets: /embed.js and every chunk it names, as served, gzipped; the minified
files built from their current sources; the chunks served like the other versioned assets."""

from __future__ import annotations

import gzip
import hashlib
import re
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from service.web.widgets import assets

LOADER_BUDGET = 6144  # bytes, gzipped as served
CHUNK_BUDGET = 3072
STATIC = Path(__file__).resolve().parent.parent / "service" / "static"
CHUNK_URL = re.compile(r"http://localhost(/embed/([a-z]+)\.([0-9a-f]{16})\.js)")


def served_gzipped(client: FlaskClient, path: str) -> bytes:
    response = client.get(path, headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200, path
    assert response.mimetype == "text/javascript"
    assert response.headers["Content-Encoding"] == "gzip"
    return response.get_data()


def named_chunks(client: FlaskClient) -> dict[str, str]:
    """The chunks the served loader names: {name: path}."""
    loader = gzip.decompress(served_gzipped(client, "/embed.js")).decode()
    return {m.group(2): m.group(1) for m in CHUNK_URL.finditer(loader)}


def test_the_loader_and_every_chunk_it_names_fit_their_budgets(client: FlaskClient):
    loader = served_gzipped(client, "/embed.js")
    assert len(loader) <= LOADER_BUDGET, f"/embed.js is {len(loader)} bytes gzipped"
    source = gzip.decompress(loader).decode()
    assert "__PARLEY_" not in source, "a placeholder was left in the served loader"
    chunks = named_chunks(client)
    assert set(chunks) == set(assets.CHUNKS), chunks
    for name, path in chunks.items():
        body = served_gzipped(client, path)
        assert len(body) <= CHUNK_BUDGET, f"chunk {name} is {len(body)} bytes gzipped"
        assert f'Parley.define("{name}"' in gzip.decompress(body).decode()


@pytest.mark.parametrize(
    "source", sorted(p.name for p in STATIC.glob("embed*.js") if not p.name.endswith(".min.js"))
)
def test_each_minified_file_is_built_from_its_current_source(source: str):
    built = STATIC / source.replace(".js", ".min.js")
    digest = hashlib.sha256((STATIC / source).read_bytes()).hexdigest()
    first_line = built.read_text().splitlines()[0]
    assert f"from {source} sha256:{digest}" in first_line, f"{built.name} is stale: make embed"


def test_every_chunk_source_is_a_chunk_the_service_serves():
    sources = {p.name for p in STATIC.glob("embed-*.js") if not p.name.endswith(".min.js")}
    assert sources == {f"embed-{name}.js" for name in assets.CHUNKS}
    assert all(assets.chunk_file(name) in assets.FILES for name in assets.CHUNKS)


def test_chunks_are_immutable_readable_anywhere_and_revalidated(client: FlaskClient):
    for name, path in named_chunks(client).items():
        response = client.get(path)
        assert response.status_code == 200
        assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert response.headers["Access-Control-Allow-Origin"] == "*"
        assert response.headers["Cross-Origin-Resource-Policy"] == "cross-origin"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert "default-src 'self'" in response.headers["Content-Security-Policy"]
        assert "Accept-Encoding" in response.headers["Vary"]
        assert "Set-Cookie" not in response.headers
        again = client.get(path, headers={"If-None-Match": response.headers["ETag"]})
        assert again.status_code == 304
        # Its hash is its content's: another version, or another name, is not served.
        assert client.get(f"/embed/{name}.{'0' * 16}.js").status_code == 404
        version = path.rsplit(".", 2)[1]
        for other in ("nope", "embed", "../live", "live.min"):
            assert client.get(f"/embed/{other}.{version}.js").status_code == 404
