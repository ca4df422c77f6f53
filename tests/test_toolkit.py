"""The client developer's toolkit: journal, faults and latency, sandboxes, CORS, pytest plugin."""

import time

import pytest
from starlette.testclient import TestClient

from patchworks_mock import create_app, request_journal
from patchworks_mock.faults import FaultSettings, RateLimit

KEY = {"Authorization": "patchworks-mock-key"}


def client_for(app, headers=KEY):
    return TestClient(app, headers=headers)


# -- the request journal ------------------------------------------------------------------


def test_the_journal_records_what_was_sent_without_credentials(client):
    client.post("/api/v1/packages?x=1", json={"name": "Journal"}, headers={"X-Trace": "t1"})
    client.get("/api/v1/packages/999")
    client.get("/api/v1/packages", headers={"Authorization": "wrong", "Cookie": "c=1"})
    entries = client.get("/__mock__/requests").json()["data"]
    assert [(e["method"], e["path"], e["status"]) for e in entries] == [
        ("POST", "/api/v1/packages", 201),
        ("GET", "/api/v1/packages/999", 404),
        ("GET", "/api/v1/packages", 401),
    ]
    first = entries[0]
    assert first["body"] == {"name": "Journal"} and first["query"] == {"x": "1"}
    assert first["headers"]["x-trace"] == "t1" and first["time"].endswith("Z")
    assert all(
        "authorization" not in e["headers"] and "cookie" not in e["headers"] for e in entries
    )


def test_the_journal_records_the_body_of_a_refused_request(anonymous):
    anonymous.post("/api/v1/packages", json={"name": "no key"})
    [entry] = create_journal_of(anonymous)
    assert entry["status"] == 401 and entry["body"] == {"name": "no key"}


def create_journal_of(client):
    return client.get("/__mock__/requests", headers=KEY).json()["data"]


def test_the_journal_filters_and_clears(client):
    client.get("/api/v1/packages")
    client.post("/api/v1/packages", json={"name": "a"})
    client.delete("/api/v1/packages/1")
    only_posts = client.get("/__mock__/requests", params={"method": "post"}).json()["data"]
    assert [e["method"] for e in only_posts] == ["POST"]
    by_glob = client.get("/__mock__/requests", params={"path": "/api/v1/packages/*"}).json()
    assert [e["method"] for e in by_glob["data"]] == ["DELETE"]
    assert client.delete("/__mock__/requests").status_code == 200
    assert client.get("/__mock__/requests").json()["data"] == []


def test_the_journal_is_bounded():
    client = client_for(create_app(journal_size=3))
    for n in range(5):
        client.get("/api/v1/packages", params={"page": n + 1})
    pages = [e["query"]["page"] for e in client.get("/__mock__/requests").json()["data"]]
    assert pages == ["3", "4", "5"]
    assert request_journal.DEFAULT_SIZE == 1000


# -- faults on purpose --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "message"),
    [
        (503, "Service Unavailable"),
        (429, "Too Many Attempts."),
        (500, "Server Error"),
        (401, "Unauthenticated."),
    ],
)
def test_prefer_code_answers_that_status_and_changes_nothing(app, store, code, message):
    client = client_for(app)
    response = client.post(
        "/api/v1/packages", json={"name": "x"}, headers={"Prefer": f"code={code}"}
    )
    assert response.status_code == code
    assert response.json() == {"message": message}
    assert len(store().packages) == 5


def test_prefer_code_only_takes_statuses_the_operation_can_answer(client):
    response = client.delete("/api/v1/packages/1", headers={"Prefer": "code=422"})
    assert response.status_code == 400
    assert "documents (401, 404)" in response.json()["message"]
    assert client.get("/api/v1/packages/1").status_code == 200
    assert client.get("/api/v1/packages", headers={"Prefer": "code=200"}).status_code == 400
    assert client.get("/api/v1/packages", headers={"Prefer": "code=x"}).status_code == 400


def test_prefer_delay_waits(client):
    started = time.monotonic()
    assert client.get("/api/v1/packages", headers={"Prefer": "delay=300"}).status_code == 200
    assert time.monotonic() - started >= 0.3
    too_long = client.get("/api/v1/packages", headers={"Prefer": "delay=600000"})
    assert too_long.status_code == 400


def test_planned_faults_fail_the_next_matching_requests_only(app, store):
    client = client_for(app)
    planned = client.post(
        "/__mock__/faults", json={"status": 503, "times": 2, "method": "POST", "retry_after": 3}
    )
    assert planned.status_code == 201
    assert client.get("/api/v1/packages").status_code == 200  # not a POST
    for _ in range(2):
        failed = client.post("/api/v1/packages", json={"name": "x"})
        assert (failed.status_code, failed.headers["retry-after"]) == (503, "3")
    assert client.post("/api/v1/packages", json={"name": "x"}).status_code == 201
    assert len(store().packages) == 6
    client.post("/__mock__/faults", json={"status": 500})
    client.delete("/__mock__/faults")
    assert client.get("/api/v1/packages").status_code == 200
    assert client.post("/__mock__/faults", json={"status": 200}).status_code == 422


def test_a_field_a_fault_does_not_have_is_refused_by_name(app):
    client = client_for(app)
    refused = client.post("/__mock__/faults", json={"status": 503, "extra": 1, "times": 0})
    assert refused.status_code == 422
    assert refused.json()["errors"] == {
        "extra": ["The extra field is prohibited."],
        "times": ["The times field must be at least 1."],
    }
    assert client.get("/api/v1/packages").status_code == 200  # nothing was planned


def test_error_rate_and_latency_are_reproducible_with_a_seed():
    def statuses(seed):
        app = create_app(faults=FaultSettings(latency_ms=(1, 5), error_rate=0.3, seed=seed))
        client = client_for(app)
        return [client.get("/api/v1/packages").status_code for _ in range(40)]

    first = statuses(7)
    assert first == statuses(7)
    assert {500, 503, 200} <= set(first)
    assert 4 <= first.count(200) < 40


def test_rate_limit_is_laravels_throttle_per_credential():
    app = create_app(
        api_keys=["a", "b"], faults=FaultSettings(rate_limit=RateLimit(requests=3, seconds=60))
    )
    a, b = client_for(app, {"Authorization": "a"}), client_for(app, {"Authorization": "b"})
    answers = [a.get("/api/v1/packages") for _ in range(4)]
    assert [r.status_code for r in answers] == [200, 200, 200, 429]
    assert [r.headers["x-ratelimit-remaining"] for r in answers] == ["2", "1", "0", "0"]
    assert answers[0].headers["x-ratelimit-limit"] == "3"
    assert 1 <= int(answers[3].headers["retry-after"]) <= 60
    assert answers[3].json() == {"message": "Too Many Attempts."}
    assert b.get("/api/v1/packages").status_code == 200


# -- sandboxes ----------------------------------------------------------------------------


def test_isolated_keys_do_not_see_each_others_writes():
    app = create_app(api_keys=["ci-1", "ci-2"], isolate_keys=True)
    one, two = (
        client_for(app, {"Authorization": "ci-1"}),
        client_for(app, {"Authorization": "ci-2"}),
    )
    created = one.post("/api/v1/packages", json={"name": "only in one"}).json()["data"]
    assert two.get(f"/api/v1/packages/{created['id']}").status_code == 404
    assert one.get(f"/api/v1/packages/{created['id']}").status_code == 200
    two.delete("/api/v1/packages/1")
    assert one.get("/api/v1/packages/1").status_code == 200
    # admin endpoints act on the caller's sandbox
    assert len(two.get("/__mock__/state").json()["packages"]) == 4
    one.post("/__mock__/reset")
    assert one.get(f"/api/v1/packages/{created['id']}").status_code == 404
    assert len(two.get("/__mock__/state").json()["packages"]) == 4
    assert [e["method"] for e in two.get("/__mock__/requests").json()["data"]] == ["GET", "DELETE"]


def test_a_bearer_token_gets_its_own_sandbox_and_unknown_keys_none():
    app = create_app(isolate_keys=True)
    anonymous = TestClient(app)
    token = anonymous.post(
        "/fabric/api/login",
        json={"username": "amira.patel@example.com", "password": "correct-horse"},
    ).json()["token"]
    bearer = client_for(app, {"Authorization": f"Bearer {token}"})
    bearer.delete("/api/v1/packages/1")
    assert client_for(app).get("/api/v1/packages/1").status_code == 200
    assert client_for(app, {"Authorization": "intruder"}).get("/api/v1/packages").status_code == 401


def test_state_file_and_isolated_keys_do_not_combine(tmp_path):
    with pytest.raises(ValueError, match="cannot be combined"):
        create_app(isolate_keys=True, state_file=tmp_path / "s.json")


# -- browsers ------------------------------------------------------------------------------


def preflight(client, origin):
    return client.options(
        "/api/v1/packages",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type,prefer",
        },
    )


@pytest.mark.parametrize(
    "origin", ["http://localhost:3000", "https://127.0.0.1", "http://[::1]:5173"]
)
def test_local_origins_are_allowed_by_default(anonymous, origin):
    response = preflight(anonymous, origin)
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == origin
    assert "authorization" in response.headers["access-control-allow-headers"].lower()
    created = anonymous.post(
        "/api/v1/packages", json={"name": "from a page"}, headers={**KEY, "Origin": origin}
    )
    exposed = created.headers["access-control-expose-headers"].lower()
    for header in ("location", "retry-after", "x-ratelimit-remaining", "x-ratelimit-reset"):
        assert header in exposed


def test_other_origins_need_configuring(anonymous):
    assert preflight(anonymous, "https://app.example.com").status_code == 400
    configured = TestClient(create_app(cors_origins=["https://app.example.com"]))
    allowed = preflight(configured, "https://app.example.com")
    assert allowed.headers["access-control-allow-origin"] == "https://app.example.com"


# -- the pytest plugin ----------------------------------------------------------------------

pytest_plugins = ["pytester"]


def test_the_plugin_takes_a_fixtures_option_and_a_marker(pytester, tmp_path):
    import json

    from patchworks_mock import bundled

    document = json.loads(bundled.DEFAULT_FIXTURES.read_text())
    document["packages"] = document["packages"][2:3]
    document["deployments"], document["flow_version_deployments"] = [], []
    small = tmp_path / "small.json"
    small.write_text(json.dumps(document))
    pytester.makepyfile(
        f"""
        import httpx, pytest

        def names(mock):
            response = httpx.get(mock.url + "/api/v1/packages", headers=mock.headers)
            return [p["name"] for p in response.json()["data"]]

        def test_session_fixtures(patchworks_mock):
            assert names(patchworks_mock) == ["Finance refunds (draft)"]
            patchworks_mock.state = {{**patchworks_mock.state, "packages": []}}
            assert names(patchworks_mock) == []

        @pytest.mark.patchworks_fixtures({str(bundled.DEFAULT_FIXTURES)!r})
        def test_marker(patchworks_mock):
            assert len(names(patchworks_mock)) == 5

        def test_reset_between_tests(patchworks_mock):
            assert names(patchworks_mock) == ["Finance refunds (draft)"]
        """
    )
    result = pytester.runpytest_subprocess(
        "--patchworks-fixtures", str(small), "-p", "no:cacheprovider"
    )
    result.assert_outcomes(passed=3)
