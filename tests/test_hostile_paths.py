"""Paths and ids (issue 12): every id the fixture format allows is reachable, none past PHP's
largest integer is allowed, and an encoded slash never names a package."""

import json

import pytest
from starlette.testclient import TestClient

from patchworks_mock import bundled, create_app, fixtures

PHP_INT_MAX = 9223372036854775807
KEY = {"Authorization": "patchworks-mock-key"}


def document_with_package(package_id: int) -> dict:
    document = json.loads(bundled.DEFAULT_FIXTURES.read_text())
    document["packages"].append(
        {
            "id": package_id,
            "name": "Far away",
            "created_by_id": 1,
            "created_at": "2026-07-01T09:00:00.000000Z",
            "updated_at": "2026-07-01T09:00:00.000000Z",
            "flow_versions": [{"flow_version_id": 1, "priority": 10}],
        }
    )
    return document


@pytest.mark.parametrize("package_id", [10**18, 10**18 + 7, PHP_INT_MAX])
def test_every_id_the_format_allows_is_reachable(package_id):
    client = TestClient(create_app(document_with_package(package_id)), headers=KEY)
    listed = client.get("/api/v1/packages", params={"per_page": 100}).json()["data"]
    assert package_id in [package["id"] for package in listed]
    for method, path in [
        ("GET", f"/api/v1/packages/{package_id}"),
        ("GET", f"/api/v1/packages/{package_id}/compare/1"),
        ("PUT", f"/api/v1/packages/{package_id}"),
        ("POST", f"/api/v1/packages/{package_id}/flow-versions/4"),
        ("DELETE", f"/api/v1/packages/{package_id}/flow-versions/4"),
        ("POST", f"/api/v1/packages/{package_id}/deploy/1"),
        ("DELETE", f"/api/v1/packages/{package_id}/virtual-environments/1"),
        ("DELETE", f"/api/v1/packages/{package_id}"),
    ]:
        response = client.request(method, path)
        assert response.status_code == 200, (method, path, response.text)
    assert client.get(f"/api/v1/packages/{package_id}").status_code == 404


@pytest.mark.parametrize("package_id", [PHP_INT_MAX + 1, 2**64, 10**30])
def test_an_id_past_phps_largest_integer_is_a_problem(package_id):
    with pytest.raises(fixtures.FixtureError) as raised:
        create_app(document_with_package(package_id))
    assert raised.value.problems == [
        ("$.packages[5].id", f"{package_id} is greater than the maximum of {PHP_INT_MAX}")
    ]


def test_a_state_document_with_an_id_past_phps_largest_integer_is_refused(client):
    before = client.get("/__mock__/state").json()
    response = client.put("/__mock__/state", json=document_with_package(PHP_INT_MAX + 1))
    assert response.status_code == 422
    assert client.get("/__mock__/state").json() == before


@pytest.mark.parametrize("segment", [str(PHP_INT_MAX + 1), "1" * 20, "1" * 5000])
def test_a_path_id_past_phps_largest_integer_is_not_found(client, segment):
    response = client.get(f"/api/v1/packages/{segment}")
    assert response.status_code == 404
    assert response.json()["message"].startswith(
        "No query results for model [App\\Models\\Package]"
    )


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/packages/1%2F"),
        ("GET", "/api/v1/packages/1%2f"),
        ("PUT", "/api/v1/packages/1%2F"),
        ("DELETE", "/api/v1/packages/1%2F"),
        ("GET", "/api/v1/packages/1%2Fcompare%2F2"),
        ("GET", "/api/v1/packages/1/compare%2F2"),
        ("POST", "/api/v1/packages/1%2Fdeploy%2F1"),
        ("DELETE", "/api/v1/packages/1%2Fflow-versions%2F2"),
        ("GET", "/api/v1%2Fpackages"),
        ("POST", "/api/v1%2Fpackages"),
        ("GET", "/__mock__%2Fstate"),
    ],
)
def test_an_encoded_slash_names_no_route(client, method, path):
    before = client.get("/__mock__/state").json()
    body = {"name": "x"} if method in ("POST", "PUT") else None
    response = client.request(method, path, json=body, follow_redirects=False)
    assert response.status_code == 404
    assert response.json() == {"message": f"The route {path.lstrip('/')} could not be found."}
    assert client.get("/__mock__/state").json() == before


def test_a_final_slash_still_redirects_and_an_unencoded_path_still_routes(client):
    assert client.get("/api/v1/packages/1/", follow_redirects=False).status_code == 307
    assert client.get("/api/v1/packages/1/compare/2").status_code == 200
