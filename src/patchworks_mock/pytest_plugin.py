"""The `patchworks_mock` pytest fixture: a real mock server for a client's own tests.

Installed with the package (a `pytest11` entry point). One server per test session on a free
loopback port; before each test its state goes back to the fixtures, and its journal and planned
faults are emptied, so tests do not see each other's writes.

    def test_my_client(patchworks_mock):
        client = MyClient(patchworks_mock.url, patchworks_mock.api_key)
        client.create_package("Launch")
        assert patchworks_mock.requests[-1]["body"] == {"name": "Launch"}

Options: `--patchworks-fixtures PATH` for the whole session, and
`@pytest.mark.patchworks_fixtures(PATH_OR_DOCUMENT)` for one test. The plugin adds no warning
filter and the mock gives no notice: a run with `-W error` passes (connexion_internals A9).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from patchworks_mock import bundled, fixtures
from patchworks_mock.faults import PlannedFault
from patchworks_mock.instance import MockInstance

API_KEY = "patchworks-mock-test-key"
MARKER = "patchworks_fixtures"


class PatchworksMock:
    """What a test gets: where the mock is, its key, and its state, journal and faults."""

    def __init__(self, url: str, state: MockInstance) -> None:
        self.url = url
        self.api_key = API_KEY
        self.headers = {"Authorization": API_KEY, "Accept": "application/json"}
        self._mock = state

    @property
    def state(self) -> dict[str, Any]:
        """The whole state as a fixture document."""
        return fixtures.dump(self._mock.store)

    @state.setter
    def state(self, document: dict[str, Any]) -> None:
        self._mock.replace(document)

    def load(self, path_or_document: str | Path | dict[str, Any]) -> None:
        """Replace the state with a fixture file or document (a bad one raises FixtureError)."""
        if isinstance(path_or_document, dict):
            self._mock.replace(path_or_document, "document")
        else:
            self._mock.replace(fixtures.read(path_or_document), str(path_or_document))

    @property
    def requests(self) -> list[dict[str, Any]]:
        """The requests the mock answered in this test, oldest first, without credentials."""
        return self._mock.journal.find()

    def requests_to(
        self, method: str | None = None, path: str | None = None
    ) -> list[dict[str, Any]]:
        """The journal filtered by method and path (a glob with `*`)."""
        return self._mock.journal.find(method, path)

    def fail_next(
        self,
        status: int,
        times: int = 1,
        *,
        method: str | None = None,
        path: str | None = None,
        retry_after: int | None = None,
    ) -> None:
        """Make the next `times` matching requests answer `status` without changing state."""
        self._mock.planned_faults.append(PlannedFault(status, times, method, path, retry_after))

    def reset(self, document: dict[str, Any] | None = None) -> None:
        if document is None:
            self._mock.reset()
        else:
            self._mock.replace(document)
        self._mock.journal.clear()
        self._mock.planned_faults.clear()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("patchworks-mock")
    group.addoption(
        "--patchworks-fixtures",
        metavar="PATH",
        help="fixture document the patchworks_mock fixture starts every test from "
        "(default: the bundled one)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(path_or_document): start this test's patchworks_mock from these fixtures",
    )


@pytest.fixture(scope="session")
def _patchworks_mock_server(pytestconfig: pytest.Config) -> Iterator[tuple[str, MockInstance]]:
    from patchworks_mock.app import create_app  # connexion loads only when a test asks for it
    from patchworks_mock.server import BackgroundServer

    path = pytestconfig.getoption("--patchworks-fixtures") or bundled.DEFAULT_FIXTURES
    app = create_app(fixtures.FixtureFile(path), api_keys=[API_KEY])
    server = BackgroundServer(app).start()
    try:
        yield server.url, app.state
    finally:
        server.stop()


@pytest.fixture
def patchworks_mock(
    _patchworks_mock_server: tuple[str, MockInstance], request: pytest.FixtureRequest
) -> PatchworksMock:
    url, state = _patchworks_mock_server
    handle = PatchworksMock(url, state)
    handle.reset()
    marker = request.node.get_closest_marker(MARKER)
    if marker is not None:
        handle.load(*marker.args)
    return handle
