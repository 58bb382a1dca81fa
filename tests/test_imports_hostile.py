"""Hostile and broken files are refused with a clear message and nothing stored, and a large
file is validated as a stream, in memory that does not grow with it."""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from service.data import Comment, ImportedComment, Page
from service.extensions import db
from service.sites.lookup import ensure_default_site
from service.transfer import importer

FIXTURES = Path(__file__).parent / "fixtures" / "imports"


def counts(app: Flask) -> list[int]:
    with app.app_context():
        return [
            int(db.session.scalar(sa.select(sa.func.count()).select_from(model)) or 0)
            for model in (Comment, ImportedComment, Page)
        ]


@pytest.fixture
def before(app: Flask) -> list[int]:
    """The rows of a fresh database (the demo page and its comments)."""
    return counts(app)


def nothing_stored(app: Flask, before: list[int]) -> bool:
    return counts(app) == before


def refused(runner, source: str, path: Path) -> str:
    result = runner.invoke(args=["import", source, str(path), "--site", "default"])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert result.output.startswith("Error: Nothing was imported: ")
    return result.output


@pytest.mark.parametrize(
    ("source", "name"),
    [("wordpress", "billion-laughs.xml"), ("disqus", "external-entity.xml")],
)
def test_entity_expansion_and_external_entities_are_refused(
    app, before, runner, source, name
) -> None:
    output = refused(runner, source, FIXTURES / name)
    assert "declares a DTD, entities or external references" in output
    assert "root:" not in output  # /etc/passwd was never read
    assert nothing_stored(app, before)


@pytest.mark.parametrize(
    ("source", "name", "cut"),
    [
        ("wordpress", "wordpress.xml", 0.8),  # the last comments are cut off
        ("disqus", "disqus.xml", 0.5),
        ("commento", "commento.json", 0.7),
        ("remark42", "remark42.backup", 0.9),
    ],
)
def test_a_truncated_file_is_refused_before_anything_is_stored(
    app, before, runner, tmp_path, source, name, cut
) -> None:
    data = (FIXTURES / name).read_bytes()
    truncated = tmp_path / name
    truncated.write_bytes(data[: int(len(data) * cut)])
    output = refused(runner, source, truncated)
    assert "truncated" in output
    assert nothing_stored(app, before)


@pytest.mark.parametrize(
    ("source", "name", "says"),
    [
        ("wordpress", "disqus.xml", "not a WordPress export (WXR): its root element is <disqus>"),
        ("disqus", "wordpress.xml", "not a Disqus export: its root element is <rss>"),
        ("remark42", "commento.json", "not JSON: truncated, or not a Remark42 backup"),
        ("commento", "remark42.backup", "not a Commento or Comentario export"),
        ("isso", "wordpress.xml", "This is not an Isso database"),
        ("wordpress", "commento.json", "not well-formed XML"),
    ],
)
def test_the_wrong_format_is_refused_with_a_clear_message(
    app, before, runner, source, name, says
) -> None:
    assert says in refused(runner, source, FIXTURES / name)
    assert nothing_stored(app, before)


def test_an_sqlite_file_that_is_not_isso_is_refused(app, before, runner, tmp_path) -> None:
    import sqlite3

    other = tmp_path / "other.db"
    connection = sqlite3.connect(other)
    connection.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
    connection.commit()
    connection.close()
    assert "it needs Isso's comments and threads tables" in refused(runner, "isso", other)
    assert nothing_stored(app, before)


def test_a_bad_comment_at_the_end_stores_nothing_of_the_good_ones(
    app, before, runner, tmp_path
) -> None:
    text = (FIXTURES / "wordpress.xml").read_text()
    broken = text.replace(
        "<wp:comment_date_gmt><![CDATA[2023-12-01 10:00:00]]></wp:comment_date_gmt>",
        "<wp:comment_date_gmt>yesterday</wp:comment_date_gmt>",
    ).replace(
        "<wp:comment_date><![CDATA[2023-12-01 10:00:00]]></wp:comment_date>",
        "<wp:comment_date>yesterday</wp:comment_date>",
    )
    assert broken != text
    path = tmp_path / "late-error.xml"
    path.write_text(broken)
    assert "has no date that can be read" in refused(runner, "wordpress", path)
    assert nothing_stored(app, before)


def test_a_comment_id_twice_is_refused(app, before, runner, tmp_path) -> None:
    lines = (FIXTURES / "remark42.backup").read_text().splitlines()
    path = tmp_path / "twice.backup"
    path.write_text("\n".join([*lines, lines[1]]) + "\n")
    assert "appears twice in the file" in refused(runner, "remark42", path)
    assert nothing_stored(app, before)


def big_wxr(path: Path, items: int, body: int) -> None:
    """A WordPress export whose posts carry long bodies, written as a stream."""
    with path.open("w") as out:
        out.write('<?xml version="1.0"?><rss xmlns:wp="http://wordpress.org/export/1.2/"')
        out.write(' xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>')
        for n in range(items):
            out.write(
                f"<item><title>Post {n}</title><link>https://blog.example.org/p/{n}/</link>"
                f"<content:encoded><![CDATA[{'word ' * (body // 5)}]]></content:encoded>"
                f"<wp:comment><wp:comment_id>{n}</wp:comment_id>"
                f"<wp:comment_author>A</wp:comment_author>"
                f"<wp:comment_date_gmt>2024-01-01 00:00:00</wp:comment_date_gmt>"
                f"<wp:comment_content>{'text ' * 200}</wp:comment_content>"
                f"<wp:comment_approved>1</wp:comment_approved>"
                f"<wp:comment_parent>0</wp:comment_parent></wp:comment></item>\n"
            )
        out.write("</channel></rss>")


def big_commento(path: Path, comments: int, body: int) -> None:
    with path.open("w") as out:
        out.write('{"version": 1, "comments": [')
        for n in range(comments):
            item = {
                "commentHex": f"{n:064x}",
                "url": f"/p/{n % 50}",
                "commenterHex": "anonymous",
                "markdown": "word " * (body // 5),
                "parentHex": "root",
                "state": "approved",
                "creationDate": "2021-03-12T11:21:56Z",
            }
            out.write(("," if n else "") + json.dumps(item))
        out.write('], "commenters": []}')


@pytest.mark.parametrize(
    ("source", "write"),
    [
        ("wordpress", lambda p: big_wxr(p, 600, 40_000)),
        ("commento", lambda p: big_commento(p, 600, 40_000)),
    ],
)
def test_validating_a_large_file_streams_it(app, tmp_path, source, write) -> None:
    path = tmp_path / "large"
    write(path)
    size = path.stat().st_size
    assert size > 20_000_000
    with app.app_context():
        site = ensure_default_site()
        tracemalloc.start()
        try:
            plan = importer.validate(site, source, path, [])
            _current, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert plan.report.comments == 600
    assert peak < size / 8, f"peak {peak:,} bytes for a {size:,}-byte file"


def many_comments(path: Path, count: int) -> None:
    """A Disqus export with many short posts, replies to the one before."""
    with path.open("w") as out:
        out.write('<?xml version="1.0"?><disqus xmlns="http://disqus.com" ')
        out.write('xmlns:dsq="http://disqus.com/disqus-internals">')
        out.write('<thread dsq:id="1"><link>https://www.glass.example/a</link></thread>')
        for n in range(count):
            parent = f'<parent dsq:id="{1000000 + n - 1}"/>' if n % 2 else ""
            out.write(
                f'<post dsq:id="{1000000 + n}"><message><![CDATA[<p>Post {n}</p>]]></message>'
                f"<createdAt>2024-01-01T00:00:00Z</createdAt><isDeleted>false</isDeleted>"
                f"<isSpam>false</isSpam><author><name>N</name></author>"
                f'<thread dsq:id="1"/>{parent}</post>\n'
            )
        out.write("</disqus>")


def validation_peak(app: Flask, path: Path) -> int:
    with app.app_context():
        site = ensure_default_site()
        tracemalloc.start()
        try:
            importer.validate(site, "disqus", path, [])
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()


def test_validation_keeps_a_couple_of_hundred_bytes_a_comment(app, tmp_path) -> None:
    """What a 500 MB export needs is its ids, not its text: about 500,000 comments fit in
    far less than 200 MB."""
    sizes = {}
    for count in (100, 2_000, 6_000):  # the first warms the service's own caches
        path = tmp_path / f"{count}.xml"
        many_comments(path, count)
        sizes[count] = validation_peak(app, path)
    per_comment = (sizes[6_000] - sizes[2_000]) / 4_000
    assert per_comment < 250, f"{per_comment:.0f} bytes a comment"
