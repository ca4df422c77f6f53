"""Bad requests of every kind get Laravel-shaped 4xx answers and change nothing."""

import asyncio

import httpx
import pytest

from patchworks_mock import create_app, errors, fixtures, validation
from patchworks_mock.instance import DEVELOPMENT_KEY

AUTH = {"Authorization": DEVELOPMENT_KEY}

OPERATIONS = [
    ("GET", "/api/v1/flow-version-deployments/packages"),
    ("GET", "/api/v1/packages"),
    ("POST", "/api/v1/packages"),
    ("GET", "/api/v1/packages/1"),
    ("PUT", "/api/v1/packages/1"),
    ("DELETE", "/api/v1/packages/1"),
    ("GET", "/api/v1/packages/1/compare/1"),
    ("POST", "/api/v1/packages/4/deploy/1"),
    ("POST", "/api/v1/packages/5/flow-versions/1"),
    ("DELETE", "/api/v1/packages/4/flow-versions/3"),
    ("DELETE", "/api/v1/packages/1/virtual-environments/1"),
]


@pytest.mark.parametrize(("method", "path"), OPERATIONS)
@pytest.mark.parametrize(
    "credentials",
    [None, "wrong-key", "Bearer not-a-token", "Bearer ", "patchworks-mock-key "],
)
def test_every_operation_refuses_missing_or_wrong_credentials(
    anonymous, store, method, path, credentials
):
    before = store()
    headers = {} if credentials is None else {"Authorization": credentials}
    response = anonymous.request(method, path, headers=headers, json={"name": "x"})
    assert response.status_code == 401
    assert response.json() == {"message": "Unauthenticated."}
    assert store() is before and len(before.packages) == 5


def test_unknown_route_is_a_json_404(client):
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.json() == {"message": "The route api/v1/nothing-here could not be found."}


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("PATCH", "/api/v1/packages/1", {"GET", "HEAD", "PUT", "DELETE"}),
        ("DELETE", "/api/v1/packages", {"GET", "HEAD", "POST"}),
        ("GET", "/api/v1/packages/1/deploy/1", {"POST"}),
        ("PUT", "/api/v1/flow-version-deployments/packages", {"GET", "HEAD"}),
    ],
)
def test_wrong_method_is_405_with_allow(client, method, path, allowed):
    response = client.request(method, path)
    assert response.status_code == 405
    assert set(response.headers["allow"].replace(" ", "").split(",")) == allowed
    message = response.json()["message"]
    assert message.startswith(f"The {method} method is not supported for route {path[1:]}.")


def test_a_non_json_body_is_415(client, store):
    response = client.post(
        "/api/v1/packages", content=b"name=x", headers={"Content-Type": "text/plain"}
    )
    assert response.status_code == 415
    assert response.json() == {"message": errors.UNSUPPORTED_MEDIA_TYPE}
    assert len(store().packages) == 5


def test_an_unknown_charset_is_415(client):
    response = client.post(
        "/api/v1/packages",
        content=b'{"name": "x"}',
        headers={"Content-Type": "application/json;charset=klingon"},
    )
    assert response.status_code == 415


@pytest.mark.parametrize(
    "raw", [b"{bad", b'{"name": "x"', b"\xff\xfe", b"[" * 100_000, b"\x0b", b" \x0c "]
)
def test_malformed_json_is_400_and_changes_nothing(client, store, raw):
    response = client.post(
        "/api/v1/packages", content=raw, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["message"].startswith("The request body is not valid")
    assert len(store().packages) == 5


@pytest.mark.parametrize("raw", [b"", b" \r\n\t "])
def test_a_body_of_json_whitespace_is_no_body(client, raw):
    response = client.put("/api/v1/packages/1", content=raw)
    assert response.status_code == 200


def test_a_body_without_content_type_is_read_as_json(client):
    response = client.post("/api/v1/packages", content=b'{"name": "no header"}')
    assert response.status_code == 201


@pytest.mark.parametrize("content_type", ["Application/JSON", "APPLICATION/JSON; charset=UTF-8"])
def test_a_media_type_in_any_case_is_read_and_checked(client, store, content_type):
    headers = {"Content-Type": content_type}
    refused = client.post("/api/v1/packages", content=b"{}", headers=headers)
    assert refused.status_code == 422
    assert refused.json()["errors"] == {"name": [errors.required("name")]}
    out_of_range = client.post(
        "/api/v1/packages/5/flow-versions/1", content=b'{"priority": 500}', headers=headers
    )
    assert out_of_range.status_code == 422 and "priority" in out_of_range.json()["errors"]
    assert 1 not in store().packages[5].members
    created = client.post("/api/v1/packages", content=b'{"name": "  Cased  "}', headers=headers)
    assert created.status_code == 201 and created.json()["data"]["name"] == "Cased"
    # The journal keeps the header as the client sent it.
    journaled = client.get("/__mock__/requests", params={"method": "POST"}).json()["data"]
    assert journaled[-1]["headers"]["content-type"] == content_type


def test_a_lone_surrogate_in_a_body_is_kept_and_answered_escaped(client):
    created = client.post(
        "/api/v1/packages",
        content=b'{"name": "half \\ud800 pair"}',
        headers={"Content-Type": "application/json"},
    )
    assert created.status_code == 201
    assert b"half \\ud800 pair" in created.content
    assert created.json()["data"]["name"] == "half \ud800 pair"
    for path in ["/api/v1/packages", "/__mock__/state", "/__mock__/requests"]:
        assert client.get(path).status_code == 200


@pytest.mark.parametrize(
    ("params", "status", "message"),
    [
        ({"include": "owner"}, 400, errors.not_allowed("include", ["owner"], [])),
        ({"include": "createdBy,owner,x"}, 400, "Requested include(s) `owner, x` are not allowed."),
        ({"include": ""}, 400, "Requested include(s) `` are not allowed."),
        ({"sort": "id"}, 400, "Requested sort(s) `id` is not allowed."),
        ({"sort": "name,-created_at"}, 400, "Requested sort(s) `-created_at` is not allowed."),
        ({"filter[colour]": "red"}, 400, "Requested filter(s) `colour` are not allowed."),
        ({"page": "0"}, 422, "The page field must be at least 1."),
        ({"page": "two"}, 422, "The page field must be an integer."),
        ({"per_page": "0"}, 422, "The per page field must be at least 1."),
        ({"per_page": "101"}, 422, "The per page field must not be greater than 100."),
        ({"per_page": "1.5"}, 422, "The per page field must be an integer."),
    ],
)
@pytest.mark.parametrize(
    "path",
    ["/api/v1/packages", "/api/v1/flow-version-deployments/packages", "/api/v1/packages/1"],
)
def test_bad_query_parameters(client, path, params, status, message):
    response = client.get(path, params=params)
    assert response.status_code == status
    assert response.json()["message"].startswith(message.split(" Allowed")[0])
    if status == 422:
        assert list(response.json()["errors"]) == [next(iter(params))]


def test_the_400_lists_what_is_allowed(client):
    response = client.get("/api/v1/packages", params={"sort": "colour"})
    assert response.json() == {
        "message": "Requested sort(s) `colour` is not allowed. Allowed sort(s) are `name`."
    }


def test_bad_page_is_reported_before_a_bad_include(client):
    response = client.get("/api/v1/packages", params={"page": "0", "include": "nope"})
    assert response.status_code == 422


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/packages/%00",
        "/api/v1/packages/%F0%9F%93%A6",
        "/api/v1/packages/1e3",
        "/api/v1/packages/0x10/compare/1",
        "/api/v1/packages/1/compare/%20",
    ],
)
def test_odd_path_segments_are_404_not_500(client, path):
    assert client.get(path).status_code == 404


@pytest.mark.parametrize(
    "method, path",
    [
        ("GET", "/api/v1/packages%0A"),
        ("GET", "/api/v1/packages/1%0A"),
        ("PUT", "/api/v1/packages/1%0A"),
        ("DELETE", "/api/v1/packages/1%0A"),
        ("POST", "/api/v1/packages/1/flow-versions/%0A"),
        ("POST", "/api/v1/packages/1/flow-versions/1%0A"),
        ("GET", "/__mock__/requests%0A"),
    ],
)
def test_a_path_ending_in_a_newline_is_a_404_and_changes_nothing(client, store, method, path):
    # Starlette's router routes these (a regex `$` matches before a final newline) but
    # Connexion's security and validation do not see them; Laravel's router does not route them.
    before = fixtures.dump(store())
    response = client.request(method, path, json={"name": "x", "priority": None})
    assert response.status_code == 404
    assert response.json() == {"message": errors.route_not_found(path.removesuffix("%0A"))}
    assert fixtures.dump(store()) == before


def test_a_newline_path_is_a_404_after_other_requests_in_the_same_task():
    # httpx's ASGITransport runs every request in the caller's task, where context variables
    # set for one request are still set for the next.
    async def both() -> list[int]:
        transport = httpx.ASGITransport(app=create_app())
        async with httpx.AsyncClient(transport=transport, base_url="http://mock") as client:
            first = await client.get("/api/v1/packages/1", headers=AUTH)
            second = await client.delete("/api/v1/packages/1%0A")
            return [first.status_code, second.status_code]

    assert asyncio.run(both()) == [200, 404]


def test_a_very_large_body_is_handled(client):
    response = client.post("/api/v1/packages", json={"name": "n", "notes": "x" * 1_000_000})
    assert response.status_code == 422
    assert response.json()["errors"]["notes"] == [
        "The notes field must not be greater than 255 characters."
    ]


def test_a_body_no_validator_read_is_refused_not_ignored():
    # Every JSON media type is read by the validator; anything else must not reach a handler
    # as an empty body.
    with pytest.raises(errors.UnsupportedMediaType):
        validation.body_of({"type": "http"})
