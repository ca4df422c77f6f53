"""A mock upstream, a proxy in front of it, and a client session through every operation."""

from __future__ import annotations

import socket
import socketserver
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from patchworks_mock.app import create_app
from patchworks_mock.contract.api import Api
from patchworks_mock.instance import DEVELOPMENT_KEY
from patchworks_mock.proxy.app import ProxyApp, create_proxy
from patchworks_mock.server import BackgroundServer

KEY = {"Authorization": DEVELOPMENT_KEY}
VIOLATIONS = "x-contract-violations"


@contextmanager
def served(app: Any, **options: Any) -> Iterator[BackgroundServer]:
    server = BackgroundServer(app, **options).start()
    try:
        yield server
    finally:
        server.stop()


@contextmanager
def proxy_in_front(upstream_url: str, **options: Any) -> Iterator[tuple[str, ProxyApp]]:
    """A proxy to `upstream_url`, served as `proxy` serves it; yields (its URL, the app)."""
    app = create_proxy(upstream_url, **options)
    with served(app, own_headers=False) as server:
        yield server.url, app


@contextmanager
def mock_and_proxy(mock: Any = None, **options: Any) -> Iterator[tuple[str, str, ProxyApp]]:
    """A mock (the bundled fixtures, or the app given), and a proxy in front of it; yields
    (the mock's URL, the proxy's URL, the proxy app)."""
    with (
        served(mock or create_app()) as upstream,
        proxy_in_front(upstream.url, **options) as (url, app),
    ):
        yield upstream.url, url, app


def journal(proxy_url: str) -> list[dict[str, Any]]:
    answer = httpx.get(f"{proxy_url}/__mock__/requests", headers=KEY)
    assert answer.status_code == 200, answer.text
    return list(answer.json()["data"])


def valid_session(client: httpx.Client) -> list[httpx.Response]:
    """Valid requests through every operation, the domain's refusals (404, 422) included, on
    the bundled fixtures; every answer, in order."""
    api = Api(client)
    seen = [
        api.list({"per_page": 2}),
        api.list({"per_page": 2, "page": 2, "include": "flowVersions"}),
        api.list({"filter[name]": "sync", "sort": "-name"}),
        api.list({"include": "flowVersions,createdBy"}, deployed=True),
        created := api.create({"name": "Proxy session", "notes": "through the proxy"}),
    ]
    package = created.json()["data"]["id"]
    seen += [
        api.get(package, include="flowVersions"),
        api.update(package, {"name": "Proxy session, renamed"}),
        api.add_version(package, 1, {"priority": 10}),
        api.add_version(package, 4),
        api.add_version(package, 2),  # a second version of flow 1: 422
        api.compare(package, 1),
        api.deploy(package, 1, {"notes": "through the proxy"}),
        api.compare(package, 1),
        api.remove_version(package, 4),  # removed after a deploy: 422
        api.remove_environment(package, 2),  # not deployed there: refused
        api.remove_environment(package, 1),
        api.get(999_999),  # 404
        api.deploy(5, 1),  # an empty package: 422
        api.remove_version(5, 1),  # not in the package: refused
        api.get(package, include="flowVersions,deployments.virtualEnvironment,deployments.user"),
        api.delete(package),
        api.get(package),  # deleted: 404
        api.list({"per_page": 100, "include": "flowVersions"}),
    ]
    login = client.post(
        "/fabric/api/login",
        json={"username": "amira.patel@example.com", "password": "correct-horse"},
    )
    seen.append(login)
    seen.append(
        client.post("/fabric/api/login", json={"username": "nobody@example.com", "password": "x"})
    )
    token = login.json()["token"]
    seen.append(client.get("/api/v1/packages", headers={"Authorization": f"Bearer {token}"}))
    return seen


def free_port() -> int:
    """A loopback port nothing listens on (free when asked; the tests take it at once)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


Answerer = Callable[[bytes, bytes, socket.socket], bool]


@contextmanager
def raw_upstream(answer: Answerer, port: int = 0) -> Iterator[str]:
    """A TCP server on 127.0.0.1 that calls `answer(head, body, connection)` for each request
    it reads, and reads the next one on the same connection while `answer` returns True: for
    upstreams that misbehave below HTTP (half an answer, a connection closed when idle), which
    an ASGI app served by uvicorn cannot do. Yields its URL."""

    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            connection: socket.socket = self.request
            connection.settimeout(10)  # a forgotten connection ends its thread by itself
            buffer = b""
            try:
                while True:
                    while b"\r\n\r\n" not in buffer:
                        data = connection.recv(65536)
                        if not data:
                            return
                        buffer += data
                    head, _, buffer = buffer.partition(b"\r\n\r\n")
                    length = next(
                        (
                            int(line.split(b":", 1)[1])
                            for line in head.split(b"\r\n")[1:]
                            if line.lower().startswith(b"content-length:")
                        ),
                        0,
                    )
                    while len(buffer) < length:
                        data = connection.recv(65536)
                        if not data:
                            return
                        buffer += data
                    body, buffer = buffer[:length], buffer[length:]
                    if not answer(head, body, connection):
                        return
            except OSError:
                return

    server = socketserver.ThreadingTCPServer(("127.0.0.1", port), Handler, bind_and_activate=False)
    server.allow_reuse_address = True
    server.daemon_threads = True
    server.server_bind()
    server.server_activate()
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
