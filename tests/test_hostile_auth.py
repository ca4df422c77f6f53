"""Who is calling, and in what order the mock checks it (issue 12): authentication first, one
reading of the credential (`credentials.py`) for auth, sandboxes and the throttle, and
Laravel's throttle answers."""

import time

import pytest
from starlette.testclient import TestClient

from patchworks_mock import create_app
from patchworks_mock.credentials import bearer_token
from patchworks_mock.faults import FaultSettings, RateLimit, Throttle

KEY = "patchworks-mock-key"
LOGIN = {"username": "amira.patel@example.com", "password": "correct-horse"}
UNAUTHENTICATED = {"message": "Unauthenticated."}


def login(app) -> str:
    return TestClient(app).post("/fabric/api/login", json=LOGIN).json()["token"]


def journal(app):
    return TestClient(app, headers={"Authorization": KEY}).get("/__mock__/requests").json()["data"]


# -- Laravel's bearerToken() -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "token"),
    [
        ("Bearer abc", "abc"),
        ("bearer abc", "abc"),
        ("BEARER abc", "abc"),
        ("Bearer aaa, Bearer bbb", "bbb"),
        ("Bearer  abc", " abc"),
        ("Bearer ", ""),
        ("Bearer", None),
        ("XBearer abc", "abc"),
        ("Bearer\tabc", None),
        ("Bearer abc def", "abc def"),
        ("abc", None),
    ],
)
def test_the_bearer_token_is_read_as_laravel_11_reads_it(header, token):
    assert bearer_token(header) == token


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER", "bEaReR"])
def test_the_scheme_word_is_case_insensitive(scheme):
    app = create_app()
    token = login(app)
    client = TestClient(app, headers={"Authorization": f"{scheme} {token}"})
    assert client.get("/api/v1/packages/1").status_code == 200
    assert client.get("/__mock__/health").status_code == 200


def test_a_token_with_a_space_before_it_is_not_the_token():
    app = create_app()
    token = login(app)
    response = TestClient(app).get(
        "/api/v1/packages", headers={"Authorization": f"Bearer  {token}"}
    )
    assert (response.status_code, response.json()) == (401, UNAUTHENTICATED)


def test_however_the_scheme_is_spelt_a_token_has_one_sandbox():
    app = create_app(isolate_keys=True)
    token = login(app)
    upper = TestClient(app, headers={"Authorization": f"BEARER {token}"})
    created = upper.post("/api/v1/packages", json={"name": "mine"}).json()["data"]
    for scheme in ("Bearer", "bearer"):
        same = TestClient(app, headers={"Authorization": f"{scheme} {token}"})
        assert same.get(f"/api/v1/packages/{created['id']}").status_code == 200
    key = TestClient(app, headers={"Authorization": KEY})
    assert key.get(f"/api/v1/packages/{created['id']}").status_code == 404


# -- two Authorization headers -----------------------------------------------------------------


@pytest.mark.parametrize("second", [KEY, "nope", "Bearer nope"])
@pytest.mark.parametrize("faults", [None, FaultSettings(rate_limit=RateLimit(5, 60))])
def test_two_authorization_headers_are_unauthenticated(second, faults):
    app = create_app(faults=faults)
    token = login(app)
    for first in (KEY, f"Bearer {token}"):
        for headers in (
            [("Authorization", first), ("Authorization", second)],
            [("Authorization", second), ("Authorization", first)],
        ):
            response = TestClient(app).get("/api/v1/packages", headers=headers)
            assert (response.status_code, response.json()) == (401, UNAUTHENTICATED)
            assert "x-ratelimit-limit" not in response.headers
            admin = TestClient(app).get("/__mock__/health", headers=headers)
            assert admin.status_code == 401


def test_two_authorization_headers_reach_no_sandbox():
    app = create_app(isolate_keys=True)
    headers = [("Authorization", KEY), ("Authorization", KEY)]
    response = TestClient(app).post("/api/v1/packages", json={"name": "x"}, headers=headers)
    assert response.status_code == 401
    assert len(app.state.store.packages) == 5


# -- authentication comes first ----------------------------------------------------------------


@pytest.mark.parametrize("credential", [None, "nope", "Bearer nope"])
def test_bad_credentials_are_401_before_prefer(credential):
    app = create_app()
    headers = {"Prefer": "code=500, delay=5000"}
    if credential is not None:
        headers["Authorization"] = credential
    started = time.monotonic()
    response = TestClient(app).post("/api/v1/packages", json={"name": "x"}, headers=headers)
    assert (response.status_code, response.json()) == (401, UNAUTHENTICATED)
    assert time.monotonic() - started < 2  # no delay was spent on it either
    bad_prefer = TestClient(app).get("/api/v1/packages", headers={"Prefer": "code=x"})
    assert bad_prefer.status_code == 401
    assert [entry["status"] for entry in journal(app)] == [401, 401]


def test_bad_credentials_consume_no_planned_fault():
    app = create_app()
    key = TestClient(app, headers={"Authorization": KEY})
    key.post("/__mock__/faults", json={"status": 503, "times": 1})
    assert TestClient(app).get("/api/v1/packages").status_code == 401
    stranger = TestClient(app, headers={"Authorization": "nope"})
    assert stranger.get("/api/v1/packages").status_code == 401
    assert key.get("/api/v1/packages").status_code == 503  # still planned
    assert key.get("/api/v1/packages").status_code == 200
    assert [entry["status"] for entry in journal(app)] == [401, 401, 503, 200]


def test_bad_credentials_spend_no_throttle_attempt():
    app = create_app(faults=FaultSettings(rate_limit=RateLimit(2, 60)))
    for _ in range(5):
        refused = TestClient(app).get("/api/v1/packages", headers={"Authorization": "nope"})
        assert refused.status_code == 401
    key = TestClient(app, headers={"Authorization": KEY})
    assert [key.get("/api/v1/packages").status_code for _ in range(3)] == [200, 200, 429]


# -- the throttle ------------------------------------------------------------------------------


def test_a_throttled_answer_has_laravels_headers_and_body():
    app = create_app(faults=FaultSettings(rate_limit=RateLimit(2, 30)))
    client = TestClient(app, headers={"Authorization": KEY})
    answers = [client.get("/api/v1/packages") for _ in range(3)]
    assert [r.status_code for r in answers] == [200, 200, 429]
    for response, remaining in zip(answers, ["1", "0", "0"], strict=True):
        assert response.headers["x-ratelimit-limit"] == "2"
        assert response.headers["x-ratelimit-remaining"] == remaining
    assert "retry-after" not in answers[0].headers
    throttled = answers[2]
    assert throttled.json() == {"message": "Too Many Attempts."}
    retry_after = int(throttled.headers["retry-after"])
    assert 1 <= retry_after <= 30
    reset = int(throttled.headers["x-ratelimit-reset"])
    assert abs(reset - (time.time() + retry_after)) <= 2
    # every answer on the route: errors too
    missing = client.get("/api/v1/packages/999")
    assert missing.status_code == 429  # still over
    assert missing.headers["x-ratelimit-remaining"] == "0"


def test_every_answer_under_the_limit_carries_the_headers():
    app = create_app(faults=FaultSettings(rate_limit=RateLimit(10, 60)))
    client = TestClient(app, headers={"Authorization": KEY})
    for response in (
        client.get("/api/v1/packages/999"),  # 404
        client.get("/api/v1/packages", params={"per_page": "500"}),  # 422
        client.post("/api/v1/packages", content="x", headers={"Content-Type": "text/plain"}),
        client.post("/api/v1/packages", content="{", headers={"Content-Type": "application/json"}),
        client.post("/api/v1/packages", json={"name": "x"}),  # 201
    ):
        assert response.headers["x-ratelimit-limit"] == "10", response.status_code
    assert response.headers["x-ratelimit-remaining"] == "5"


def test_prefer_429_sends_retry_after():
    client = TestClient(create_app(), headers={"Authorization": KEY})
    response = client.get("/api/v1/packages", headers={"Prefer": "code=429"})
    assert response.status_code == 429
    assert response.json() == {"message": "Too Many Attempts."}
    assert response.headers["retry-after"] == "60"
    assert abs(int(response.headers["x-ratelimit-reset"]) - (time.time() + 60)) <= 2
    planned = client.post("/__mock__/faults", json={"status": 429, "retry_after": 7})
    assert planned.status_code == 201
    response = client.get("/api/v1/packages")
    assert (response.status_code, response.headers["retry-after"]) == (429, "7")


def test_the_throttle_is_keyed_by_the_credential_however_spelt():
    app = create_app(faults=FaultSettings(rate_limit=RateLimit(2, 60)))
    token = login(app)
    statuses = [
        TestClient(app).get("/api/v1/packages", headers={"Authorization": f"{s} {token}"})
        for s in ("Bearer", "bearer", "BEARER")
    ]
    assert [r.status_code for r in statuses] == [200, 200, 429]


def test_the_throttle_forgets_ended_windows_first_not_everyone():
    throttle = Throttle(RateLimit(requests=1, seconds=60), max_windows=3)
    for key in ("a", "b", "c"):
        assert throttle.hit(key)[0] == 0
    throttle.windows["a"] = (time.monotonic() - 61, 1)  # a's window has ended
    throttle.hit("d")
    assert list(throttle.windows) == ["b", "c", "d"]
    # b and c are still over their limit: a new key did not reset them
    assert throttle.hit("b")[0] < 0 and throttle.hit("c")[0] < 0
    # full of running windows: the one that ends soonest goes, the rest stay
    throttle.hit("e")
    assert list(throttle.windows) == ["c", "d", "e"]
    assert throttle.hit("c")[0] < 0
    assert len(throttle.windows) == 3


def test_the_throttle_is_bounded_under_many_bogus_keys():
    throttle = Throttle(RateLimit(requests=5, seconds=60), max_windows=100)
    throttle.hit("me")
    throttle.hit("me")
    for n in range(1000):
        throttle.hit(f"bogus {n}")
        assert len(throttle.windows) <= 100
    assert "me" not in throttle.windows  # the oldest running window went, not all at once


def test_login_is_throttled_by_the_clients_address():
    app = create_app(faults=FaultSettings(rate_limit=RateLimit(2, 60)))
    wrong = {"username": "nobody@example.com", "password": "x"}
    answers = [
        TestClient(app).post("/fabric/api/login", json=wrong, headers={"Authorization": f"k{n}"})
        for n in range(3)
    ]
    assert [r.status_code for r in answers] == [401, 401, 429]
    assert [r.headers["x-ratelimit-remaining"] for r in answers] == ["1", "0", "0"]
    assert answers[2].json() == {"message": "Too Many Attempts."}
    # an accepted credential has its own window
    key = TestClient(app, headers={"Authorization": KEY})
    assert key.get("/api/v1/packages").status_code == 200
