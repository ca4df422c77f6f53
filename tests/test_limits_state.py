"""Limits on what clients make the mock keep: sandboxes (copy on write, expiring with their
token, capped), live login tokens, planned faults. Every loop is bounded."""

import asyncio

import pytest
from starlette.testclient import TestClient

from patchworks_mock import create_app, errors, instance, middleware
from patchworks_mock.instance import Limits

TOM = {"username": "tom.okafor@example.com", "password": "battery-staple"}
KEY = {"Authorization": "patchworks-mock-key"}


def _request(layer, method, authorization):
    """Run `layer` on one request; the served instance, or the answer's status and headers."""
    seen = {}

    async def app(scope, receive, send):
        seen["instance"] = instance.serving(scope)

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        if message["type"] == "http.response.start":
            seen["status"] = message["status"]
            seen["headers"] = dict(message["headers"])

    scope = {
        "type": "http",
        "method": method,
        "path": "/api/v1/packages",
        "headers": [(b"authorization", authorization.encode())],
    }
    layer.app = app
    asyncio.run(layer(scope, receive, send))
    return seen


def _layer(limits=None, keys=("a", "b", "c")):
    shared = create_app(api_keys=keys, limits=limits).state
    return middleware.ChooseSandbox(None, shared, isolate_keys=True), shared


def test_sandboxes_read_one_start_store_until_their_first_write():
    layer, shared = _layer()
    a = _request(layer, "GET", "a")["instance"]
    b = _request(layer, "GET", "b")["instance"]
    assert a is not b and a is not shared
    assert a.store is b.store and not a.owns_store  # one store for both, built once
    assert _request(layer, "POST", "a")["instance"] is a
    assert a.owns_store and a.store is not b.store  # a's own, on its first write
    assert _request(layer, "GET", "b")["instance"].store is b.store


def test_sandboxes_are_capped_with_503_and_retry_after():
    layer, _ = _layer(Limits(max_sandboxes=2))
    _request(layer, "GET", "a")
    _request(layer, "GET", "b")
    refused = _request(layer, "GET", "c")
    assert refused["status"] == 503
    assert int(refused["headers"][b"retry-after"]) >= 1
    assert len(layer.sandboxes) == 2
    assert "instance" in _request(layer, "GET", "a")  # existing ones still served


def test_token_sandboxes_expire_with_their_token():
    layer, shared = _layer(Limits(max_sandboxes=2), keys=("a",))
    user = next(iter(shared.store.users))
    tokens = [shared.issue_token(user) for _ in range(2)]
    for token in tokens:
        assert _request(layer, "GET", f"Bearer {token}")["instance"] is not shared
    assert _request(layer, "GET", "a")["status"] == 503  # both token sandboxes still live
    for token in tokens:  # expire them without waiting
        shared.tokens[token] = (user, 0.0)
    assert len(layer.expiry) == 2
    for name in layer.expiry:
        layer.expiry[name] = 0.0
    key_sandbox = _request(layer, "GET", "a")["instance"]
    assert key_sandbox is not shared
    assert list(layer.sandboxes.values()) == [key_sandbox] and layer.expiry == {}


def test_live_tokens_are_capped_and_expired_ones_forgotten():
    app = create_app(limits=Limits(max_tokens=3))
    client = TestClient(app)
    for _ in range(3):
        assert client.post("/fabric/api/login", json=TOM).status_code == 200
    refused = client.post("/fabric/api/login", json=TOM)
    assert refused.status_code == 503
    assert refused.json() == {"message": errors.too_many_tokens(1).message}
    assert int(refused.headers["Retry-After"]) >= 1
    tokens = app.state.tokens
    for token, (user, _) in list(tokens.items())[:2]:
        tokens[token] = (user, 0.0)  # expired
    for _ in range(2):
        assert client.post("/fabric/api/login", json=TOM).status_code == 200
    assert len(tokens) == 3


def test_expired_tokens_are_forgotten_without_isolated_keys_too():
    app = create_app()
    client = TestClient(app)
    for _ in range(50):
        token = client.post("/fabric/api/login", json=TOM).json()["token"]
        user, _ = app.state.tokens[token]
        app.state.tokens[token] = (user, 0.0)
    assert len(app.state.tokens) == 1


def test_planned_faults_are_capped_with_422():
    client = TestClient(create_app(limits=Limits(max_planned_faults=3)), headers=KEY)
    for _ in range(3):
        assert client.post("/__mock__/faults", json={"status": 503}).status_code == 201
    refused = client.post("/__mock__/faults", json={"status": 503})
    assert refused.status_code == 422
    message = "No more than 3 faults can be planned at once."
    assert refused.json() == {"message": message, "errors": {"faults": [message]}}
    assert client.delete("/__mock__/faults").status_code == 200
    assert client.post("/__mock__/faults", json={"status": 503}).status_code == 201


@pytest.mark.parametrize("default", [Limits().max_planned_faults, Limits().max_sandboxes])
def test_defaults_are_finite(default):
    assert 1 <= default <= 10_000
