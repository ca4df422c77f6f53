"""Laravel's LengthAwarePaginator envelope: meta, links and the page window."""

from urllib.parse import parse_qs, urlsplit

import pytest


@pytest.fixture
def many(client):
    for n in range(1, 196):  # 200 packages with the 5 bundled ones
        client.post("/api/v1/packages", json={"name": f"Bulk {n:03d}"})
    return client


def query_of(url):
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def test_a_middle_page(many):
    body = many.get("/api/v1/packages", params={"per_page": 10, "page": 10}).json()
    meta = body["meta"]
    assert (meta["current_page"], meta["from"], meta["to"]) == (10, 91, 100)
    assert (meta["last_page"], meta["total"], meta["per_page"]) == (20, 200, 10)
    assert [p["id"] for p in body["data"]] == list(range(91, 101))
    assert query_of(body["links"]["prev"])["page"] == "9"
    assert query_of(body["links"]["next"])["page"] == "11"
    labels = [link["label"] for link in meta["links"]]
    assert labels == ["&laquo; Previous", "1", "2", "...", "7", "8", "9", "10", "11", "12",
                      "13", "...", "19", "20", "Next &raquo;"]  # fmt: skip
    assert [link["label"] for link in meta["links"] if link["active"]] == ["10"]


def test_the_window_near_the_start_and_the_end(many):
    start = many.get("/api/v1/packages", params={"per_page": 10, "page": 2}).json()["meta"]
    labels = [link["label"] for link in start["links"]][1:-1]
    assert labels == [str(n) for n in range(1, 11)] + ["...", "19", "20"]
    end = many.get("/api/v1/packages", params={"per_page": 10, "page": 19}).json()["meta"]
    labels = [link["label"] for link in end["links"]][1:-1]
    assert labels == ["1", "2", "..."] + [str(n) for n in range(11, 21)]


def test_links_are_absolute_and_keep_the_other_parameters(many):
    params = {"filter[name]": "bulk 1", "sort": "-name", "per_page": 7, "page": 2}
    body = many.get("/api/v1/packages", params=params).json()
    for url in [body["links"]["first"], body["links"]["last"], body["meta"]["links"][1]["url"]]:
        assert url.startswith("http://testserver/api/v1/packages?")
        query = query_of(url)
        assert query["filter[name]"] == "bulk 1" and query["sort"] == "-name"
        assert query["per_page"] == "7"
    assert body["meta"]["path"] == "http://testserver/api/v1/packages"


def test_first_and_last_pages(many):
    first = many.get("/api/v1/packages", params={"per_page": 100}).json()
    assert first["links"]["prev"] is None and first["meta"]["links"][0]["url"] is None
    last = many.get("/api/v1/packages", params={"per_page": 100, "page": 2}).json()
    assert last["links"]["next"] is None and last["meta"]["links"][-1]["url"] is None


def test_a_page_past_the_end_is_empty(client):
    body = client.get("/api/v1/packages", params={"page": 9}).json()
    assert body["data"] == []
    assert (body["meta"]["from"], body["meta"]["to"], body["meta"]["current_page"]) == (
        None,
        None,
        9,
    )
    assert query_of(body["links"]["prev"])["page"] == "8"


def test_an_empty_result(client):
    body = client.get("/api/v1/packages", params={"filter[name]": "zzz"}).json()
    assert body["meta"]["total"] == 0 and body["meta"]["last_page"] == 1
    assert [link["label"] for link in body["meta"]["links"]][1:-1] == ["1"]


def test_descending_name_pages_walk_the_whole_list_once(many):
    seen = []
    for page in range(1, 9):
        body = many.get(
            "/api/v1/packages", params={"sort": "-name", "per_page": 30, "page": page}
        ).json()
        seen += [p["name"] for p in body["data"]]
    assert seen == sorted(seen, key=str.casefold, reverse=True)
    assert len(seen) == len(set(seen)) == 200


def test_page_links_keep_the_query_in_its_order_with_page_in_place(many):
    asked = "sort=-name&page=2&per_page=7&filter%5Bname%5D=bulk+1"
    links = many.get(f"/api/v1/packages?{asked}").json()["links"]
    base = "http://testserver/api/v1/packages?"
    assert links["first"] == base + "sort=-name&page=1&per_page=7&filter%5Bname%5D=bulk+1"
    # Without `page` in the request, Laravel appends it.
    links = many.get("/api/v1/packages?per_page=7").json()["links"]
    assert links["next"] == base + "per_page=7&page=2"


def test_a_page_beyond_phps_integers_is_refused_and_the_largest_answered(client):
    # Laravel's `integer` rule (filter_var) fails past PHP_INT_MAX (see tests/test_hostile_input)
    response = client.get("/api/v1/packages", params={"page": 10**25})
    assert response.status_code == 422
    assert response.json()["errors"] == {"page": ["The page field must be an integer."]}
    page = 2**63 - 1
    body = client.get("/api/v1/packages", params={"page": page}).json()
    assert body["data"] == [] and body["meta"]["current_page"] == page
    assert query_of(body["links"]["prev"])["page"] == str(page - 1)
