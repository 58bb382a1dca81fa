def test_posted_comment_is_read_back(post, client):
    response = post(text="Hello **world**")
    assert response.status_code == 201, response.json
    got = client.get("/api/v1/comments?page=/article").json
    assert got["comments"][0]["html"] == "<p>Hello <strong>world</strong></p>"
