"""The Final Summary's own scale: the editorial average stays on its scores' scale (the
seed's IMDB 5.9 and MyAnimeList 6.2 on /10 give "6.1 Average Score"), where the scales
differ the owner picks the box's (the largest until then), and the average is rounded half
up in decimal arithmetic."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from support import admin_post, json_of, set_site, visitor_key

from service.data import AuditEntry, Page
from service.database import writing
from service.extensions import db
from service.ratings.summary import editorial_average
from service.transfer.archive import prepare_export, restore_file

PAGE = "/anime/metallic-rouge"
SCORES = f"/admin/sites/default/pages/scores?page={PAGE}"
ADMIN_PAGE = f"/admin/sites/default/pages?page={PAGE}"


def score(runner: FlaskCliRunner, label: str, value: str, scale: str = "10") -> None:
    args = ["page", "score", "default", PAGE, label, value, "--scale", scale]
    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output


def page_set(runner: FlaskCliRunner, *options: str) -> Any:
    return runner.invoke(args=["page", "set", "default", PAGE, *options])


def box(client: FlaskClient) -> dict[str, Any]:
    response = client.get("/api/v1/ratings", query_string={"page": PAGE})
    assert response.status_code == 200
    return dict(json_of(response)["editorial"])


def fragment(client: FlaskClient) -> str:
    response = client.get("/widget/rating", query_string={"page": PAGE})
    assert response.status_code == 200
    return response.get_data(as_text=True)


def shown_average(html: str) -> tuple[str, str]:
    """The Final Summary's average and its scale, as the fragment shows them."""
    match = re.search(
        r'<span class="parley-average">([\d.]+)<span class="parley-editorial-scale">'
        r"/(\d+)</span></span> Average Score",
        html,
    )
    assert match, html
    return match.group(1), match.group(2)


def shown_items(html: str) -> dict[str, str]:
    """Each editorial score as shown: "8" on the box's scale, "4/5" on another."""
    items = re.findall(
        r'<span class="parley-editorial-label">([^<]+)</span>\s*'
        r'<span class="parley-editorial-score">([\d.]+)'
        r'(?:<span class="parley-editorial-scale">/(\d+)</span>)?</span>',
        html,
    )
    return {label: value + (f"/{scale}" if scale else "") for label, value, scale in items}


# --- the seed's example ---------------------------------------------------------------------


def test_the_seeds_final_summary_stays_on_its_scores_scale(
    runner: FlaskCliRunner, client: FlaskClient
) -> None:
    """IMDB 5.9 and MyAnimeList 6.2 on /10, on a 5-point site: 6.1/10, not 3.0/5, and not
    6.0 as binary floats would round 6.05."""
    score(runner, "IMDB", "5.9")
    score(runner, "MyAnimeList", "6.2")
    expected = {
        "items": [
            {"label": "IMDB", "score": 5.9, "scale": 10, "url": None},
            {"label": "MyAnimeList", "score": 6.2, "scale": 10, "url": None},
        ],
        "scale": 10,
        "average": 6.1,
    }
    assert box(client) == expected
    voted = client.put(
        "/api/v1/ratings",
        query_string={"page": PAGE},
        json={"value": 4},
        headers={"X-Parley-Visitor": visitor_key(client)},
    )
    assert voted.status_code == 200 and json_of(voted)["editorial"] == expected
    assert json_of(voted)["scale"] == 5  # the readers' scale is the site's, as before
    html = fragment(client)
    assert shown_average(html) == ("6.1", "10")
    assert shown_items(html) == {"IMDB": "5.9", "MyAnimeList": "6.2"}  # on the box's scale
    shown = runner.invoke(args=["page", "show", "default", PAGE])
    assert "editorial average: 6.1/10" in shown.output


def test_the_seeds_example_through_the_admin_view(
    app: Flask, owner: FlaskClient, client: FlaskClient
) -> None:
    assert admin_post(owner, "/admin/sites/default/pages/new", page=PAGE).status_code == 303
    for label, value in (("IMDB", "5.9"), ("MyAnimeList", "6.2")):
        saved = admin_post(owner, SCORES, label=label, score=value, scale="10")
        assert saved.status_code == 303
    assert (box(client)["scale"], box(client)["average"]) == (10, 6.1)
    assert shown_average(fragment(client)) == ("6.1", "10")
    # One scale for every score: nothing to choose on the page's view.
    assert 'name="editorial_scale"' not in owner.get(ADMIN_PAGE).get_data(as_text=True)


# --- mixed scales ---------------------------------------------------------------------------


def test_mixed_scales_take_the_largest_until_the_owner_picks_one(
    app: Flask, owner: FlaskClient, client: FlaskClient, runner: FlaskCliRunner
) -> None:
    score(runner, "Critics", "8", "10")
    score(runner, "Readers' poll", "4", "5")
    assert (box(client)["scale"], box(client)["average"]) == (10, 8.0)
    html = fragment(client)
    assert shown_average(html) == ("8.0", "10")
    assert shown_items(html) == {"Critics": "8", "Readers&#39; poll": "4/5"}

    view = owner.get(ADMIN_PAGE).get_data(as_text=True)
    select = re.search(r'<select id="summary-scale" name="editorial_scale".*?</select>', view, re.S)
    assert select, "the choice shows where the scales differ"
    assert re.search(r'<option value="" selected>Automatic \(10, the largest\)', select.group(0))

    saved = admin_post(owner, SCORES, action="scale", editorial_scale="5")
    assert saved.status_code == 303
    assert (box(client)["scale"], box(client)["average"]) == (5, 4.0)
    html = fragment(client)  # the cached fragment followed the page's new version
    assert shown_average(html) == ("4.0", "5")
    assert shown_items(html) == {"Critics": "8/10", "Readers&#39; poll": "4"}
    assert '<option value="5" selected>' in owner.get(ADMIN_PAGE).get_data(as_text=True)
    with app.app_context():
        entry = db.session.scalars(sa.select(AuditEntry).order_by(AuditEntry.id.desc())).first()
        assert entry is not None
        assert (entry.action, entry.detail) == ("page settings", "editorial_scale: None -> 5")

    # Saving the same choice again changes nothing; back to automatic: the largest again.
    assert admin_post(owner, SCORES, action="scale", editorial_scale="5").status_code == 303
    assert admin_post(owner, SCORES, action="scale", editorial_scale="").status_code == 303
    assert (box(client)["scale"], box(client)["average"]) == (10, 8.0)


def test_a_scale_outside_the_list_is_refused_and_nothing_is_saved(
    app: Flask, owner: FlaskClient, client: FlaskClient, runner: FlaskCliRunner
) -> None:
    score(runner, "Critics", "8", "10")
    score(runner, "Readers' poll", "4", "5")
    for wrong in ("7", "ten", "-5", "1e1"):
        refused = admin_post(owner, SCORES, action="scale", editorial_scale=wrong)
        assert refused.status_code == 422, wrong
        html = refused.get_data(as_text=True)
        assert "The scale is 5, 10 or 100." in html
        assert 'aria-invalid="true"' in html and 'id="summary-scale-error"' in html
    with app.app_context():
        page = db.session.scalars(sa.select(Page).where(Page.key == PAGE)).one()
        assert page.editorial_scale is None
    assert page_set(runner, "--summary-scale", "7").exit_code != 0
    assert box(client)["scale"] == 10


def test_the_command_line_picks_the_box_scale(
    app: Flask, runner: FlaskCliRunner, client: FlaskClient
) -> None:
    score(runner, "Critics", "8", "10")
    score(runner, "Readers' poll", "4", "5")
    before = fragment(client)
    result = page_set(runner, "--summary-scale", "5")
    assert result.exit_code == 0, result.output
    assert (box(client)["scale"], box(client)["average"]) == (5, 4.0)
    assert fragment(client) != before
    assert (
        "editorial average: 4.0/5" in runner.invoke(args=["page", "show", "default", PAGE]).output
    )
    assert page_set(runner, "--summary-scale", "100").exit_code == 0
    assert (box(client)["scale"], box(client)["average"]) == (100, 80.0)
    assert page_set(runner, "--summary-scale", "auto").exit_code == 0
    assert (box(client)["scale"], box(client)["average"]) == (10, 8.0)


def test_the_choice_waits_while_the_scores_share_a_scale(
    runner: FlaskCliRunner, client: FlaskClient
) -> None:
    score(runner, "Critics", "8", "10")
    score(runner, "Readers' poll", "4", "5")
    assert page_set(runner, "--summary-scale", "5").exit_code == 0
    assert runner.invoke(args=["page", "unscore", "default", PAGE, "Readers' poll"]).exit_code == 0
    assert box(client)["scale"] == 10 and box(client)["average"] == 8.0
    score(runner, "Readers' poll", "3", "5")
    assert (box(client)["scale"], box(client)["average"]) == (5, 3.5)


def test_a_page_without_scores_has_no_box_scale(
    runner: FlaskCliRunner, client: FlaskClient
) -> None:
    assert page_set(runner, "--summary-scale", "5").exit_code == 0
    assert box(client) == {"items": [], "scale": None, "average": None}
    assert "Final Summary" not in fragment(client)


# --- rounding -------------------------------------------------------------------------------


def items(*scores: tuple[float, int]) -> list[SimpleNamespace]:
    return [SimpleNamespace(score=value, scale=scale) for value, scale in scores]


@pytest.mark.parametrize(
    ("scores", "scale", "expected"),
    [
        (((5.9, 10), (6.2, 10)), 10, 6.1),  # 6.05: half up
        (((0.1, 10), (0.2, 10)), 10, 0.2),  # 0.15
        (((2.2, 10), (2.3, 10)), 10, 2.3),  # 2.25
        (((1.1, 10), (1.1, 10), (1.2, 10)), 10, 1.1),  # 1.1333...
        (((1.1, 10), (1.2, 10), (1.2, 10)), 10, 1.2),  # 1.1666...
        (((3.3, 5), (6.5, 10)), 10, 6.6),  # 6.6 and 6.5: 6.55
        (((8.0, 10), (4.0, 5)), 5, 4.0),
        (((33.3, 100), (3.3, 10)), 5, 1.7),  # 1.665 and 1.65: 1.6575
        (((100.0, 100), (5.0, 5)), 10, 10.0),
        ((), 10, None),
    ],
)
def test_the_average_is_rounded_half_up_on_the_stored_decimals(
    scores: tuple[tuple[float, int], ...], scale: int, expected: float | None
) -> None:
    assert editorial_average(items(*scores), scale) == expected


def test_binary_floats_would_round_some_halves_down() -> None:
    """Why decimals: 6.05 as a float is a hair under 6.05, and float means of 6.0 and 6.1
    or 2.2 and 2.3 round down; the stored one-decimal values, as decimals, round up."""
    assert round(6.05, 1) == 6.0
    assert round((6.0 + 6.1) / 2, 1) == 6.0 and round((2.2 + 2.3) / 2, 1) == 2.2
    assert editorial_average(items((6.0, 10), (6.1, 10)), 10) == 6.1
    assert editorial_average(items((2.2, 10), (2.3, 10)), 10) == 2.3
    assert editorial_average(items((5.9, 10), (6.2, 10)), 10) == 6.1


def test_rounding_half_up_through_the_api(runner: FlaskCliRunner, client: FlaskClient) -> None:
    score(runner, "A", "2.2")
    score(runner, "B", "2.3")
    assert box(client)["average"] == 2.3
    assert shown_average(fragment(client)) == ("2.3", "10")


def test_a_ten_point_site_keeps_the_scores_own_scale_for_its_box(
    app: Flask, runner: FlaskCliRunner, client: FlaskClient
) -> None:
    set_site(app, rating_scale=10)
    score(runner, "Critics", "4", "5")
    assert (box(client)["scale"], box(client)["average"]) == (5, 4.0)
    assert shown_average(fragment(client)) == ("4.0", "5")


# --- export and restore ---------------------------------------------------------------------


def wipe(app: Flask) -> None:
    """Every row gone and the ids counted from 1: the empty database a restore goes into."""
    with app.app_context(), writing():
        for table in reversed(db.metadata.sorted_tables):
            db.session.execute(table.delete())
            if db.engine.dialect.name == "postgresql":
                sequence = sa.func.pg_get_serial_sequence(table.name, "id")
                db.session.execute(sa.select(sa.func.setval(sequence, 1, False)))
        if db.engine.dialect.name == "sqlite":
            db.session.execute(sa.text("DELETE FROM sqlite_sequence"))
        db.session.commit()


def test_the_chosen_scale_survives_export_and_restore(
    app: Flask, runner: FlaskCliRunner, client: FlaskClient, tmp_path: Path
) -> None:
    score(runner, "Critics", "8", "10")
    score(runner, "Readers' poll", "4", "5")
    assert page_set(runner, "--summary-scale", "5").exit_code == 0
    with app.app_context():
        text = "".join(prepare_export(None, clear_emails=False).chunks())
    path = tmp_path / "export.json"
    path.write_text(text)
    assert '"editorial_scale": 5' in text
    wipe(app)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Page)) == 0
    with app.app_context():
        restore_file(path, dry_run=False)
    assert (box(client)["scale"], box(client)["average"]) == (5, 4.0)
