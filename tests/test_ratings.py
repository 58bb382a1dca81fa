"""Visitor keys, votes, aggregates, reviews, likes, editorial scores and JSON-LD."""

from __future__ import annotations

import functools
import json
import re

import pytest
import sqlalchemy as sa
from support import csrf_token, set_site, visitor_key

from service.data import Page, Rating
from service.extensions import db

PAGE = "/anime/lantern-city"


@pytest.fixture
def visitor(client):
    """A function issuing a fresh visitor key (each call: another visitor)."""
    return functools.partial(visitor_key, client)


def rate(client, key, value, page=PAGE):
    return client.put(
        "/api/v1/ratings",
        query_string={"page": page},
        json={"value": value},
        headers={"X-Parley-Visitor": key},
    )


def summary(client, key=None, page=PAGE):
    headers = {"X-Parley-Visitor": key} if key else {}
    response = client.get("/api/v1/ratings", query_string={"page": page}, headers=headers)
    assert response.status_code == 200
    return response.json


def rows(app):
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(Rating))


def test_an_unrated_page_has_an_empty_summary(client):
    got = summary(client)
    assert got == {
        "scale": 5,
        "count": 0,
        "average": None,
        "histogram": {"1": 0, "2": 0, "3": 0, "4": 0, "5": 0},
        "yours": None,
        "yours_pending": None,
        "editorial": {"items": [], "scale": None, "average": None},
        "closed": False,
    }


def test_votes_make_count_average_and_histogram(client, visitor):
    for value in (5, 4, 4, 2):
        assert rate(client, visitor(), value).status_code == 200
    got = summary(client)
    assert got["count"] == 4
    assert got["average"] == 3.8
    assert got["histogram"] == {"1": 0, "2": 1, "3": 0, "4": 2, "5": 1}


def test_rating_again_changes_the_vote_and_delete_retracts_it(client, visitor, app):
    key = visitor()
    assert rate(client, key, 2).json["yours"] == 2
    changed = rate(client, key, 5).json
    assert changed["count"] == 1 and changed["yours"] == 5 and changed["histogram"]["2"] == 0
    assert summary(client, key)["yours"] == 5
    assert summary(client)["yours"] is None
    retracted = client.delete(
        "/api/v1/ratings", query_string={"page": PAGE}, headers={"X-Parley-Visitor": key}
    )
    assert retracted.status_code == 200
    assert retracted.json["count"] == 0 and retracted.json["yours"] is None
    assert rows(app) == 0


def test_the_database_holds_one_row_per_page_and_visitor(app, client, visitor):
    key = visitor()
    rate(client, key, 3)
    with app.app_context():
        page = db.session.scalars(sa.select(Page).where(Page.key == PAGE)).one()
        stored = db.session.scalars(sa.select(Rating)).one()
        db.session.add(Rating(page_id=page.id, visitor=stored.visitor, value=4))
        with pytest.raises(sa.exc.IntegrityError):
            db.session.commit()


def test_the_service_stores_only_a_keyed_hash_of_the_visitor_key(app, client, visitor):
    key = visitor()
    rate(client, key, 3)
    with app.app_context():
        stored = db.session.scalars(sa.select(Rating.visitor)).one()
    assert key not in stored and stored not in key and len(stored) == 64


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 400),
        ({"X-Parley-Visitor": "made-up"}, 403),
        ({"X-Parley-Visitor": "abc.def"}, 403),
        ({"X-Parley-Visitor": "é" * 10}, 403),
    ],
)
def test_voting_without_a_valid_visitor_key_is_refused(app, client, headers, status):
    response = client.put("/api/v1/ratings?page=/x", json={"value": 3}, headers=headers)
    assert response.status_code == status
    assert response.json["error"]["code"] in {"visitor_required", "bad_visitor"}
    assert rows(app) == 0


def test_a_key_signed_with_another_secret_is_forged(app, client, tmp_path, migrated_template):
    from itsdangerous import Signer

    forged = Signer("another-secret", salt="parley.visitor").sign("abc").decode()
    response = rate(client, forged, 3)
    assert response.status_code == 403


@pytest.mark.parametrize("value", [0, 6, -1, 3.0, 3.5, "3", True, None, [3], {"v": 3}, 10**20])
def test_bad_vote_values_are_refused_and_nothing_is_stored(app, client, visitor, value):
    response = rate(client, visitor(), value)
    assert response.status_code == 422
    assert "value" in response.json["error"]["fields"]
    assert rows(app) == 0


@pytest.mark.parametrize("body", [b'{"value": NaN}', b'{"value": Infinity}', b'{"value"'])
def test_malformed_vote_bodies_are_refused(app, client, visitor, body):
    response = client.put(
        "/api/v1/ratings?page=/x",
        data=body,
        content_type="application/json",
        headers={"X-Parley-Visitor": visitor()},
    )
    assert response.status_code == 400
    assert rows(app) == 0


def test_vote_with_extra_fields_or_without_value_is_refused(app, client, visitor):
    key = visitor()
    for body in ({"value": 3, "weight": 10}, {}):
        response = client.put(
            "/api/v1/ratings?page=/x", json=body, headers={"X-Parley-Visitor": key}
        )
        assert response.status_code == 422
    assert rows(app) == 0


def test_ratings_for_an_unknown_site_or_bad_page_id_are_refused(client, visitor):
    key = visitor()
    assert (
        client.put(
            "/api/v1/ratings?site=nope&page=/x",
            json={"value": 3},
            headers={"X-Parley-Visitor": key},
        ).status_code
        == 404
    )
    assert (
        client.put(
            "/api/v1/ratings", json={"value": 3}, headers={"X-Parley-Visitor": key}
        ).status_code
        == 400
    )
    assert (
        client.put(
            "/api/v1/ratings",
            query_string={"page": "x" * 513},
            json={"value": 3},
            headers={"X-Parley-Visitor": key},
        ).status_code
        == 400
    )


def test_a_ten_point_site_accepts_ten(app, client, visitor):
    set_site(app, rating_scale=10)
    assert rate(client, visitor(), 10).json["histogram"]["10"] == 1
    assert rate(client, visitor(), 11).status_code == 422


def test_visitor_keys_are_rate_limited_per_address(tmp_path, migrated_template):
    import shutil

    from support import base_config

    from service import create_app

    shutil.copy(migrated_template, tmp_path / "parley.sqlite")
    app = create_app(
        base_config(tmp_path, RATELIMIT_ENABLED=True, PARLEY_VISITOR_LIMIT="3 per minute")
    )
    client = app.test_client()
    codes = [client.post("/api/v1/visitors").status_code for _ in range(4)]
    assert codes == [201, 201, 201, 429]
    other = client.post("/api/v1/visitors", environ_base={"REMOTE_ADDR": "192.0.2.50"})
    assert other.status_code == 201


def post_review(client, key, rating, text="Great show", page=PAGE, **extra):
    headers = {"X-Parley-Visitor": key} if key else {}
    return client.post(
        "/api/v1/comments",
        query_string={"page": page},
        headers=headers,
        json={"name": "Rev", "email": "rev@example.org", "text": text, "rating": rating, **extra},
    )


def test_a_review_is_a_comment_with_the_visitors_one_rating(client, visitor):
    key = visitor()
    rate(client, key, 2)
    response = post_review(client, key, 4)
    assert response.status_code == 201
    assert response.json["comment"]["rating"] == 4
    got = summary(client, key)
    assert got["count"] == 1 and got["yours"] == 4
    assert client.get(f"/api/v1/comments?page={PAGE}").json["comments"][0]["rating"] == 4


def test_a_review_needs_a_visitor_key(app, client):
    response = post_review(client, None, 4)
    assert response.status_code == 400
    assert rows(app) == 0
    assert client.get(f"/api/v1/comments?page={PAGE}").json["comments"] == []


def test_a_review_rating_outside_the_scale_stores_nothing(app, client, visitor):
    response = post_review(client, visitor(), 9)
    assert response.status_code == 422
    assert rows(app) == 0
    assert client.get(f"/api/v1/comments?page={PAGE}").json["comments"] == []


def test_patch_changes_a_reviews_rating_and_the_aggregate(client, visitor):
    key = visitor()
    posted = post_review(client, key, 2).json
    response = client.patch(
        f"/api/v1/comments/{posted['comment']['id']}",
        json={"rating": 5},
        headers={"X-Parley-Edit-Token": posted["edit_token"]},
    )
    assert response.status_code == 200
    assert response.json["comment"]["rating"] == 5
    assert summary(client)["histogram"] == {"1": 0, "2": 0, "3": 0, "4": 0, "5": 1}


def test_a_pending_review_counts_only_once_approved_and_stops_when_spam(
    app, client, visitor, runner
):
    set_site(app, moderation="all")
    posted = post_review(client, visitor(), 5).json
    assert posted["status"] == "pending"
    assert summary(client)["count"] == 0
    comment_id = str(posted["comment"]["id"])

    assert runner.invoke(args=["comment", "moderate", comment_id, "approve"]).exit_code == 0
    assert summary(client)["count"] == 1
    assert runner.invoke(args=["comment", "moderate", comment_id, "spam"]).exit_code == 0
    assert summary(client)["count"] == 0
    assert runner.invoke(args=["comment", "moderate", comment_id, "approve"]).exit_code == 0
    assert summary(client)["average"] == 5.0


def test_deleting_a_review_takes_its_rating_out_of_the_aggregate(app, client, visitor):
    key = visitor()
    posted = post_review(client, key, 3).json
    rate(client, visitor(), 5)
    client.delete(
        f"/api/v1/comments/{posted['comment']['id']}",
        headers={"X-Parley-Edit-Token": posted["edit_token"]},
    )
    got = summary(client, key)
    assert got["count"] == 1 and got["average"] == 5.0 and got["yours"] is None
    assert rows(app) == 1


def test_aggregate_always_matches_the_rows(app, client, visitor):
    keys = [visitor() for _ in range(6)]
    for i, key in enumerate(keys):
        rate(client, key, i % 5 + 1)
    rate(client, keys[0], 3)
    client.delete(
        "/api/v1/ratings", query_string={"page": PAGE}, headers={"X-Parley-Visitor": keys[1]}
    )
    with app.app_context():
        page = db.session.scalars(sa.select(Page).where(Page.key == PAGE)).one()
        values = db.session.scalars(sa.select(Rating.value)).all()
        assert page.rating_count == len(values)
        assert page.rating_sum == sum(values)
        assert page.histogram(5) == {str(v): values.count(v) for v in range(1, 6)}


def test_likes_are_one_per_visitor_and_idempotent(client, post, visitor):
    comment = post(PAGE).json["comment"]
    first, second = visitor(), visitor()
    url = f"/api/v1/comments/{comment['id']}/like"
    assert client.put(url, headers={"X-Parley-Visitor": first}).json == {"likes": 1, "liked": True}
    assert client.put(url, headers={"X-Parley-Visitor": first}).json["likes"] == 1
    assert client.put(url, headers={"X-Parley-Visitor": second}).json["likes"] == 2
    assert client.delete(url, headers={"X-Parley-Visitor": first}).json == {
        "likes": 1,
        "liked": False,
    }
    assert client.delete(url, headers={"X-Parley-Visitor": first}).json["likes"] == 1
    mine = client.get(f"/api/v1/likes?page={PAGE}", headers={"X-Parley-Visitor": second})
    assert mine.json == {"liked": [comment["id"]]}


def test_liking_needs_a_visitor_and_a_published_comment(app, client, post, visitor):
    comment = post(PAGE).json["comment"]
    assert client.put(f"/api/v1/comments/{comment['id']}/like").status_code == 400
    assert (
        client.put("/api/v1/comments/999/like", headers={"X-Parley-Visitor": visitor()}).status_code
        == 404
    )
    set_site(app, moderation="all")
    pending = post(PAGE, text="Held for review").json["comment"]
    assert (
        client.put(
            f"/api/v1/comments/{pending['id']}/like", headers={"X-Parley-Visitor": visitor()}
        ).status_code
        == 404
    )


def test_sort_top_orders_by_likes_and_pages_by_cursor(client, post, visitor):
    ids = [post(PAGE, text=f"c{i}").json["comment"]["id"] for i in range(4)]
    for likes, comment_id in zip((1, 3, 0, 2), ids, strict=True):
        for _ in range(likes):
            client.put(
                f"/api/v1/comments/{comment_id}/like", headers={"X-Parley-Visitor": visitor()}
            )
    seen = []
    got = client.get(f"/api/v1/comments?page={PAGE}&sort=top&limit=3").json
    seen += [c["id"] for c in got["comments"]]
    got = client.get(f"/api/v1/comments?page={PAGE}&sort=top&limit=3&cursor={got['next']}").json
    seen += [c["id"] for c in got["comments"]]
    assert seen == [ids[1], ids[3], ids[0], ids[2]]
    assert got["next"] is None


def test_editorial_scores_are_shown_beside_the_users_rating(runner, client, visitor):
    assert runner.invoke(args=["page", "score", "default", PAGE, "IMDB", "5.9"]).exit_code == 0
    assert (
        runner.invoke(
            args=[
                "page",
                "score",
                "default",
                PAGE,
                "MyAnimeList",
                "6.2",
                "--url",
                "https://example.org/mal",
            ]
        ).exit_code
        == 0
    )
    rate(client, visitor(), 1)
    got = summary(client)
    assert got["editorial"]["items"] == [
        {"label": "IMDB", "score": 5.9, "scale": 10, "url": None},
        {"label": "MyAnimeList", "score": 6.2, "scale": 10, "url": "https://example.org/mal"},
    ]
    # (5.9 + 6.2) / 2 on the scores' own scale, not the 5-point site's (halves up: 6.05)
    assert (got["editorial"]["scale"], got["editorial"]["average"]) == (10, 6.1)
    assert got["average"] == 1.0 and got["count"] == 1  # never mixed in


def test_editorial_average_on_a_ten_point_site(app, runner, client):
    set_site(app, rating_scale=10)
    runner.invoke(args=["page", "score", "default", PAGE, "IMDB", "5.9"])
    runner.invoke(args=["page", "score", "default", PAGE, "MyAnimeList", "6.2"])
    assert summary(client)["editorial"]["average"] == 6.1


def test_changing_the_scale_is_refused_once_votes_exist_unless_rescaled(
    app, client, visitor, runner
):
    rate(client, visitor(), 4)
    refused = runner.invoke(args=["site", "set", "default", "--scale", "10"])
    assert refused.exit_code != 0 and "--rescale" in refused.output
    assert summary(client)["scale"] == 5
    done = runner.invoke(args=["site", "set", "default", "--scale", "10", "--rescale"])
    assert done.exit_code == 0, done.output
    got = summary(client)
    assert got["scale"] == 10 and got["histogram"]["8"] == 1 and got["average"] == 8.0


def test_counts_include_rating_count_and_average(client, visitor):
    rate(client, visitor(), 4)
    rate(client, visitor(), 5)
    got = client.post("/api/v1/counts", json={"pages": [PAGE, "/none"]}).json["counts"]
    assert got[PAGE] == {"comments": 0, "rating_count": 2, "rating_average": 4.5}
    assert got["/none"] == {"comments": 0, "rating_count": 0, "rating_average": None}


def test_closed_ratings_refuse_votes(runner, client, visitor):
    runner.invoke(args=["page", "set", "default", PAGE, "--no-ratings"])
    response = rate(client, visitor(), 3)
    assert response.status_code == 403
    assert summary(client)["closed"] is True


# The widget fragment


def fragment(client, page=PAGE):
    response = client.get("/widget/rating", query_string={"page": page})
    assert response.status_code == 200
    return response.get_data(as_text=True)


def jsonld_of(html):
    match = re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)
    return json.loads(match.group(1)) if match else None


def test_fragment_says_be_the_first_one_and_offers_labelled_radio_stars(client):
    html = fragment(client)
    assert "Be the first one!" in html
    radios = re.findall(
        r'<input class="parley-star-input" type="radio" name="value" '
        r'value="(\d+)" id="(parley-star-[0-9a-f]{8}-\d+)" required',
        html,
    )
    assert [value for value, _ in radios] == ["1", "2", "3", "4", "5"]
    for _, ident in radios:
        assert f'<label class="parley-star" for="{ident}"' in html
    assert "<legend>" in html
    assert jsonld_of(html) is None


def test_fragment_shows_average_count_and_histogram_and_is_the_same_for_everyone(client, visitor):
    key = visitor()
    for value in (5, 4):
        rate(client, visitor(), value)
    rate(client, key, 4)
    html = fragment(client)
    assert "4.3" in html and "3 ratings" in html
    assert html.count("<progress") == 5
    assert "checked" not in html
    personal = client.get(
        "/widget/rating", query_string={"page": PAGE}, headers={"X-Parley-Visitor": key}
    )
    assert personal.get_data(as_text=True) == html
    assert "public" in personal.headers["Cache-Control"]


def test_fragment_shows_the_final_summary_with_its_average(app, runner, client):
    set_site(app, rating_scale=10)
    runner.invoke(args=["page", "score", "default", PAGE, "IMDB", "5.9"])
    runner.invoke(args=["page", "score", "default", PAGE, "MyAnimeList", "6.2"])
    html = fragment(client)
    assert "Final Summary" in html and "IMDB" in html and "5.9" in html
    assert re.search(
        r'<span class="parley-average">6\.1<span class="parley-editorial-scale">'
        r"/10</span></span> Average Score",
        html,
    )
    assert "Be the first one!" in html


@pytest.mark.parametrize(
    ("schema_type", "title", "votes", "expected"),
    [
        ("Movie", "Lantern City", 2, True),
        ("TVSeries", "Lantern City", 1, True),
        ("Article", "Lantern City", 2, False),
        ("BlogPosting", "Lantern City", 2, False),
        (None, "Lantern City", 2, False),
        ("Movie", None, 2, False),
        ("Movie", "Lantern City", 0, False),
    ],
)
def test_jsonld_appears_only_where_search_engines_accept_it(
    runner, client, visitor, schema_type, title, votes, expected
):
    runner.invoke(
        args=[
            "page",
            "set",
            "default",
            PAGE,
            *(["--type", schema_type] if schema_type else []),
            *(["--title", title] if title else []),
        ]
    )
    runner.invoke(args=["page", "score", "default", PAGE, "IMDB", "9.9"])
    for value in range(votes):
        rate(client, visitor(), 4 + value % 2)
    data = jsonld_of(fragment(client))
    if not expected:
        assert data is None
        return
    assert data["@type"] == "AggregateRating"
    assert data["itemReviewed"] == {"@type": schema_type, "name": title}
    assert data["bestRating"] == 5 and data["worstRating"] == 1
    assert data["ratingCount"] == votes
    assert data["ratingValue"] == summary(client)["average"]  # users only, never editorial


def test_jsonld_is_json_escaped_not_raw(runner, client, visitor):
    title = '</script><script>alert(1)</script> & "quotes"'
    runner.invoke(args=["page", "set", "default", PAGE, "--type", "Movie", "--title", title])
    rate(client, visitor(), 5)
    html = fragment(client)
    assert "</script><script>alert(1)" not in html
    assert jsonld_of(html)["itemReviewed"]["name"] == title


def test_standalone_page_shows_the_box_above_the_thread_and_rates_with_a_cookie(client):
    page = client.get(f"/thread?page={PAGE}").get_data(as_text=True)
    assert page.index("Be the first one!") < page.index("Leave a Reply")
    token = csrf_token(page)
    response = client.post(
        f"/thread/rate?page={PAGE}", data={"csrf_token": token, "value": "4", "action": "rate"}
    )
    assert response.status_code == 303
    cookie = client.get_cookie("parley_visitor_default")  # one per site: keys name theirs
    assert cookie is not None and cookie.http_only and cookie.same_site == "Lax"
    again = client.get(f"/thread?page={PAGE}").get_data(as_text=True)
    assert re.search(r'value="4" id="parley-star-[0-9a-f]+-4" required\s+checked', again)
    assert "Thank you for rating." in again
    assert summary(client)["count"] == 1
    # The same cookie changes the vote rather than adding one.
    client.post(f"/thread/rate?page={PAGE}", data={"csrf_token": token, "value": "2"})
    assert summary(client)["count"] == 1 and summary(client)["average"] == 2.0
    client.post(f"/thread/rate?page={PAGE}", data={"csrf_token": token, "action": "retract"})
    assert summary(client)["count"] == 0


def test_two_score_boxes_on_one_page_do_not_share_input_ids(client):
    first = re.findall(r'id="(parley-star-[^"]+)"', fragment(client, "/one"))
    second = re.findall(r'id="(parley-star-[^"]+)"', fragment(client, "/two"))
    assert first and second and not set(first) & set(second)


def test_rating_from_the_demo_page_returns_to_the_demo_page(client):
    page = client.get("/demo/glass-orchard").get_data(as_text=True)
    token = csrf_token(page)
    response = client.post(
        "/thread/rate?page=/demo/glass-orchard",
        data={"csrf_token": token, "value": "5", "return_to": "/demo/glass-orchard"},
    )
    assert response.headers["Location"].endswith("/demo/glass-orchard#rating")
    assert "Thank you for rating." in client.get("/demo/glass-orchard").get_data(as_text=True)


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example/x",
        "https://evil.example/",
        "/\\evil",
        "javascript:alert(1)",
        "/ok\r\nSet-Cookie: x=1",
    ],
)
def test_forms_never_return_to_another_host(client, target):
    page = client.get(f"/thread?page={PAGE}").get_data(as_text=True)
    token = csrf_token(page)
    response = client.post(
        f"/thread/rate?page={PAGE}", data={"csrf_token": token, "value": "5", "return_to": target}
    )
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/thread?")
