"""What the suite talks to: a server by URL, or the mock started in-process on a free port.

The in-process mock is served by uvicorn on 127.0.0.1 in a background thread, so that every
request (and every curl line in the report) is real HTTP, exactly as against a deployment.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx
from starlette.types import Receive, Scope, Send

from patchworks_mock.contract.transport import MAX_WAIT, Record, RetryingTransport, pace_request
from patchworks_mock.instance import DEVELOPMENT_KEY
from patchworks_mock.server import BackgroundServer

PROBE_PATH = "/api/v1/packages"
TIMEOUT = 30.0


class ServedApp(Protocol):
    """An app `check` can serve in-process: the mock's, or one wrapping it (as tests do)."""

    state: Any  # the mock it serves; `state.store` holds its data

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None: ...


class TargetError(Exception):
    """The target cannot be checked at all (bad URL, unreachable, key refused): a usage error."""


@dataclass
class Target:
    """A server under test and what the suite may do to it."""

    base_url: str
    api_key: str
    is_local_mock: bool = False
    read_only: bool = False
    allow_deploy: bool = False
    virtual_environments: list[str] = field(default_factory=list)
    flow_versions: list[str] = field(default_factory=list)
    app: ServedApp | None = None  # the in-process mock's app, to break it in tests
    network: Record = field(default_factory=Record)  # flakes and rate budget, for every client
    timeout: float = TIMEOUT

    def client(self, max_wait: float = MAX_WAIT) -> httpx.Client:
        """An HTTP client with the key in `Authorization`, asking for JSON, that retries as
        `transport.py` says, waiting at most `max_wait` seconds per request (its clients share
        one `network` record)."""
        headers = {"Accept": "application/json"}
        if self.api_key:
            headers["Authorization"] = self.api_key
        transport = RetryingTransport(
            max_wait=max_wait,
            pace=pace_request(self.base_url, PROBE_PATH, headers),
            record=self.network,
        )
        return httpx.Client(
            base_url=self.base_url, headers=headers, timeout=self.timeout, transport=transport
        )

    @property
    def base_path(self) -> str:
        """The path prefix of `base_url` (`/prefix` of `http://host/prefix`), if any."""
        return urlsplit(self.base_url).path.rstrip("/")

    @property
    def can_deploy(self) -> bool:
        return (
            not self.read_only
            and self.allow_deploy
            and bool(self.virtual_environments)
            and bool(self.flow_versions)
        )


def normalise_url(url: str) -> str:
    """`http://host:port[/prefix]` without a trailing slash; raises `TargetError` otherwise."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise TargetError(
            f"--url must be an http(s) URL such as http://127.0.0.1:8000, not {url!r}"
        )
    return url.rstrip("/")


def probe(target: Target) -> None:
    """One authenticated GET (retried as every request is), so that a dead server or a refused
    key is one clear line.

    The answer must be JSON, whatever its content type says: JSON under another type is a
    finding for the checks to report, while no JSON at all (an HTML page) is the wrong URL.
    """
    try:
        with target.client() as client:
            response = client.get(PROBE_PATH, params={"per_page": 1})
    except httpx.HTTPError as exc:
        raise TargetError(f"cannot reach {target.base_url}: {exc}") from None
    if response.status_code == 401:
        raise TargetError(f"{target.base_url} refused the API key (401); pass --api-key KEY")
    try:
        response.json()
        parses = True
    except ValueError:
        parses = False
    if response.status_code >= 500 or not parses:
        raise TargetError(
            f"{target.base_url}{PROBE_PATH} does not answer like the Packages API "
            f"(HTTP {response.status_code}, {response.headers.get('content-type', 'no type')})"
        )


def mock_capabilities(app: ServedApp) -> tuple[list[str], list[str]]:
    """The VE and flow version ids of a mock's current state, for deploy and membership tests."""
    store = app.state.store
    return [str(i) for i in sorted(store.virtual_environments)], [
        str(i) for i in sorted(store.flow_versions)
    ]


@contextmanager
def local_mock(app: ServedApp | None = None) -> Iterator[Target]:
    """A `Target` for the mock served in-process (a fresh default one unless `app` is given)."""
    from patchworks_mock.app import create_app

    app = app if app is not None else create_app()
    environments, versions = mock_capabilities(app)
    try:
        # uvicorn's warnings would land among the report's lines: Schemathesis's probing phase
        # sends a header with a NUL byte (to learn whether the server takes one), which the mock
        # rightly refuses with 400, and uvicorn warns "Invalid HTTP request received." for it.
        server = BackgroundServer(app, log_level="error").start()
    except RuntimeError as exc:
        raise TargetError(str(exc)) from None
    try:
        yield Target(
            base_url=server.url,
            api_key=DEVELOPMENT_KEY,
            is_local_mock=True,
            allow_deploy=True,
            virtual_environments=environments,
            flow_versions=versions,
            app=app,
        )
    finally:
        server.stop()
