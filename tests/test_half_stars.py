"""The readers' average as a row of stars, to the nearest half star, with the exact value
in words for screen readers: in the rating fragment and on the no-JS standalone page."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from support import set_site, visitor_key

from service.ratings.summary import star_row

PAGE = "/anime/half-stars"


def vote(client: FlaskClient, value: int) -> None:
    response = client.put(
        "/api/v1/ratings",
        query_string={"page": PAGE},
        json={"value": value},
        headers={"X-Parley-Visitor": visitor_key(client)},
    )
    assert response.status_code == 200, response.get_data(as_text=True)


def stars(html: str) -> list[str]:
    """The fills of the average's star row, in order."""
    row = re.search(r'<span class="parley-average-stars" aria-hidden="true">(.*?)</span>\n', html)
    assert row, html
    return re.findall(
        r'<span class="parley-average-star parley-average-star-(\w+)"></span>', row[1]
    )


def spoken(html: str) -> list[str]:
    """The visually hidden sentences that give the average."""
    return re.findall(r'<span class="parley-visually-hidden">(Average rating: [^<]*)</span>', html)


def fragment(client: FlaskClient, **query: str) -> str:
    response = client.get("/widget/rating", query_string={"page": PAGE, **query})
    assert response.status_code == 200
    return response.get_data(as_text=True)


# Votes whose mean is the average named: 3.74 is 187 / 50, 3.75 is 15 / 4, 3.9 is 39 / 10.
VOTES = {
    "3.74": [4] * 37 + [3] * 13,
    "3.75": [4, 4, 4, 3],
    "3.9": [4] * 9 + [3],
    "1.0": [1],
    "5.0": [5, 5],
}


@pytest.mark.parametrize(
    ("mean", "shown", "full", "half", "empty"),
    [
        ("3.74", "3.7", 3, 1, 1),
        ("3.75", "3.8", 4, 0, 1),
        ("3.9", "3.9", 4, 0, 1),
        ("1.0", "1.0", 1, 0, 4),
        ("5.0", "5.0", 5, 0, 0),
    ],
)
def test_the_average_is_drawn_to_the_nearest_half_star_and_said_in_words(
    client: FlaskClient, mean: str, shown: str, full: int, half: int, empty: int
) -> None:
    for value in VOTES[mean]:
        vote(client, value)
    html = fragment(client)
    assert stars(html) == ["full"] * full + ["half"] * half + ["empty"] * empty
    # The number is seen, not heard; the sentence is heard, not seen: read once, complete.
    assert f'<span class="parley-average" aria-hidden="true">{shown}</span>' in html
    assert spoken(html) == [f"Average rating: {shown} out of 5"]
    assert html.count(shown) == 2  # the visible number and the sentence, nowhere else


def test_a_ten_point_site_draws_ten_stars(app: Flask, client: FlaskClient) -> None:
    set_site(app, rating_scale=10)
    for value in (8, 7, 7):  # 7.33: shown as 7.3, seven stars and a half
        vote(client, value)
    html = fragment(client)
    assert stars(html) == ["full"] * 7 + ["half"] + ["empty"] * 2
    assert spoken(html) == ["Average rating: 7.3 out of 10"]


def test_without_votes_there_is_no_star_row(client: FlaskClient) -> None:
    html = fragment(client)
    assert "parley-average-stars" not in html and spoken(html) == []
    assert "Be the first one!" in html


def test_the_no_js_standalone_page_has_the_same_row(client: FlaskClient) -> None:
    for value in VOTES["3.74"]:
        vote(client, value)
    response = client.get("/thread", query_string={"page": PAGE})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert stars(html) == ["full"] * 3 + ["half", "empty"]
    assert spoken(html) == ["Average rating: 3.7 out of 5"]


def test_a_right_to_left_widget_has_the_same_row(client: FlaskClient) -> None:
    """Arabic: the widget writes right to left; the row's order and fills are the same
    (the stylesheet fills a half star from the start side, tests/e2e checks it drawn)."""
    for value in VOTES["3.74"]:
        vote(client, value)
    html = fragment(client, lang="ar")
    assert 'dir="rtl"' in html
    assert stars(html) == ["full"] * 3 + ["half", "empty"]


@pytest.mark.parametrize(
    ("value", "scale", "expected"),
    [
        (3.74, 5, "FFFHE"),
        (3.75, 5, "FFFFE"),
        (3.25, 5, "FFFHE"),  # halves up
        (3.24, 5, "FFFEE"),
        (0.2, 5, "EEEEE"),
        (0.25, 5, "HEEEE"),
        (1.0, 5, "FEEEE"),
        (5.0, 5, "FFFFF"),
        (9.8, 10, "FFFFFFFFFF"),
        (6.6, 10, "FFFFFFHEEE"),
        (None, 5, "EEEEE"),
        (7.0, 5, "FFFFF"),  # never more stars than the scale
    ],
)
def test_star_row_rounds_to_the_nearest_half_star(
    value: float | None, scale: int, expected: str
) -> None:
    assert "".join(fill[0].upper() for fill in star_row(value, scale)) == expected
