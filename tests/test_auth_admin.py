"""Login and bearer tokens, configured API keys, and the mock's own admin endpoints."""

import json

import pytest
from starlette.testclient import TestClient

from patchworks_mock import bundled, create_app, fixtures
from patchworks_mock.instance import TOKEN_LIFETIME

TOM = {"username": "tom.okafor@example.com", "password": "battery-staple"}


def test_login_gives_a_token_that_acts_as_that_user(anonymous):
    response = anonymous.post("/fabric/api/login", json=TOM)
    assert response.status_code == 200
    body = response.json()
    assert body["message"] == "You have successfully logged in."
    assert body["expires_in"] == TOKEN_LIFETIME
    bearer = {"Authorization": f"Bearer {body['token']}"}
    created = anonymous.post("/api/v1/packages", json={"name": "Tom's"}, headers=bearer)
    assert created.status_code == 201
    assert created.json()["data"]["created_by_id"] == 2


@pytest.mark.parametrize(
    "credentials",
    [
        {"username": "tom.okafor@example.com", "password": "wrong"},
        {"username": "nobody@example.com", "password": "battery-staple"},
    ],
)
def test_login_refuses_wrong_credentials(anonymous, credentials):
    response = anonymous.post("/fabric/api/login", json=credentials)
    assert response.status_code == 401
    assert response.json() == {"message": "These credentials do not match our records."}


def test_login_validates_its_body(anonymous):
    response = anonymous.post("/fabric/api/login", json={"username": "x"})
    assert response.status_code == 422
    assert response.json()["errors"] == {"password": ["The password field is required."]}


def test_an_expired_token_is_refused(anonymous, monkeypatch):
    token = anonymous.post("/fabric/api/login", json=TOM).json()["token"]
    import time

    later = time.monotonic() + TOKEN_LIFETIME + 1
    monkeypatch.setattr(time, "monotonic", lambda: later)
    response = anonymous.get("/api/v1/packages", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401


def test_configured_keys_replace_the_development_key():
    client = TestClient(create_app(api_keys=["k1", "k2"]))
    assert client.get("/api/v1/packages", headers={"Authorization": "k2"}).status_code == 200
    refused = client.get("/api/v1/packages", headers={"Authorization": "patchworks-mock-key"})
    assert refused.status_code == 401


def test_admin_endpoints_need_credentials(anonymous):
    for method, path in [
        ("GET", "/__mock__/health"),
        ("GET", "/__mock__/state"),
        ("PUT", "/__mock__/state"),
        ("POST", "/__mock__/reset"),
    ]:
        assert anonymous.request(method, path).status_code == 401, path


def test_health(client):
    assert client.get("/__mock__/health").json() == {"status": "ok"}


def test_state_is_the_fixture_document_and_round_trips(client):
    client.post("/api/v1/packages", json={"name": "  spaced  "})
    client.post("/api/v1/packages/4/deploy/2")
    state = client.get("/__mock__/state").json()
    assert fixtures.problems(state) == []
    replaced = client.put("/__mock__/state", json=state)
    assert replaced.status_code == 200
    assert replaced.json() == state
    assert client.get("/__mock__/state").json() == state


def test_put_state_replaces_everything(client):
    document = json.loads(bundled.DEFAULT_FIXTURES.read_text())
    document["packages"] = document["packages"][:1]
    document["deployments"] = [d for d in document["deployments"] if d["package_id"] == 1]
    document["flow_version_deployments"] = [
        f for f in document["flow_version_deployments"] if f["deployment_id"] in (None, 1, 2)
    ]
    assert client.put("/__mock__/state", json=document).status_code == 200
    assert [p["id"] for p in client.get("/api/v1/packages").json()["data"]] == [1]
    assert client.post("/api/v1/packages", json={"name": "next"}).json()["data"]["id"] == 2


def test_put_state_refuses_a_bad_document_with_every_problem_and_changes_nothing(client):
    before = client.get("/__mock__/state").json()
    document = json.loads(json.dumps(before))
    document["packages"][0]["flow_versions"].append({"flow_version_id": 999})
    document["deployments"][0]["virtual_environment_id"] = 77
    response = client.put("/__mock__/state", json=document)
    assert response.status_code == 422
    assert response.json()["errors"] == {
        "$.packages[0].flow_versions[2].flow_version_id": [
            "no record with id 999 in flow_versions"
        ],
        "$.deployments[0].virtual_environment_id": ["no record with id 77 in virtual_environments"],
        "$.flow_version_deployments[1].deployment_id": ["deployment 1 went to another VE"],
        "$.flow_version_deployments[2].deployment_id": ["deployment 1 went to another VE"],
    }
    assert client.get("/__mock__/state").json() == before


@pytest.mark.parametrize("body", [b"[]", b"{nope", b""])
def test_put_state_refuses_what_is_not_a_document(client, body):
    response = client.put(
        "/__mock__/state", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code in (400, 422)
    assert "message" in response.json()


def test_reset_goes_back_to_the_fixtures_loaded_at_start(client):
    start = client.get("/__mock__/state").json()
    client.delete("/api/v1/packages/1")
    client.post("/api/v1/packages", json={"name": "temporary"})
    assert client.post("/__mock__/reset").status_code == 200
    assert client.get("/__mock__/state").json() == start


def test_swagger_ui_and_the_specs_are_served(anonymous):
    assert "swagger" in anonymous.get("/ui/").text.lower()
    spec = anonymous.get("/openapi.json").json()
    assert spec["info"]["title"] == "Patchworks Core API - Packages"
    assert "/health" in anonymous.get("/__mock__/openapi.json").json()["paths"]
