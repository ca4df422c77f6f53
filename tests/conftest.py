"""Shared fixtures: an in-process mock with response validation on, and a client for it."""

import pytest
from starlette.testclient import TestClient

from patchworks_mock.instance import DEVELOPMENT_KEY

AUTH = {"Authorization": DEVELOPMENT_KEY}


def _no_server_errors(response) -> None:
    assert response.status_code < 500, f"{response.request.url} answered {response.status_code}"


@pytest.fixture
def app():
    from patchworks_mock import create_app  # after the plugin has quieted connexion's notices

    return create_app(validate_responses=True)


@pytest.fixture
def anonymous(app):
    """A client that sends no credentials; every answer is checked to be below 500."""
    client = TestClient(app)
    client.event_hooks = {"request": [], "response": [_no_server_errors]}
    return client


@pytest.fixture
def client(anonymous):
    """A client that sends the development key."""
    anonymous.headers.update(AUTH)
    return anonymous


@pytest.fixture
def store(app):
    """The live store behind `app`: read it to check what a request changed (or didn't)."""
    return lambda: app.state.store
