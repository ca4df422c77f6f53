"""Serving an app on a real loopback port: for `serve`, and in the background for tests."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from starlette.types import ASGIApp

from patchworks_mock import uvicorn_internals
from patchworks_mock.instance import Limits


def bind(host: str, port: int) -> socket.socket:
    """A listening socket, so that a taken port is one clear error before the server starts."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise OSError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.listen(2048)
    return sock


def protocol(app: ASGIApp, header_timeout: float) -> type[asyncio.Protocol]:
    """The protocol uvicorn serves `app` with: the header timeout, and the limits on the
    request-target and the header lines of the mock's app (`app.state.limits`), enforced as a
    request's head arrives (`uvicorn_internals`)."""
    limits = getattr(getattr(app, "state", None), "limits", None)
    if not isinstance(limits, Limits):
        return uvicorn_internals.guarded_protocol(header_timeout)
    return uvicorn_internals.guarded_protocol(
        header_timeout, limits.max_target_bytes, limits.max_header_bytes
    )


def base_url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


class BackgroundServer:
    """An app served by uvicorn in a thread on 127.0.0.1 and a free port, until `stop()`; a
    connection whose request head is incomplete for `header_timeout` seconds is closed, and
    a head past the app's size limits is refused as it arrives (`protocol`). uvicorn logs at
    `log_level` and above. With `tls` (certificate file, key file) it serves HTTPS; without
    `own_headers` uvicorn adds no `Server` and `Date` headers (the proxy's are the upstream's)."""

    def __init__(
        self,
        app: ASGIApp,
        host: str = "127.0.0.1",
        header_timeout: float = uvicorn_internals.DEFAULT_HEADER_TIMEOUT,
        log_level: str = "warning",
        tls: tuple[str, str] | None = None,
        own_headers: bool = True,
    ) -> None:
        self._sock = bind(host, 0)
        self.url = base_url(self._sock)
        if tls is not None:
            self.url = self.url.replace("http://", "https://", 1)
        config = uvicorn.Config(
            app,
            log_level=log_level,
            access_log=False,
            lifespan="on",
            http=protocol(app, header_timeout),
            ssl_certfile=tls[0] if tls else None,
            ssl_keyfile=tls[1] if tls else None,
            server_header=own_headers,
            date_header=own_headers,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )

    def start(self, timeout: float = 30.0) -> BackgroundServer:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not uvicorn_internals.has_started(self._server):
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the mock server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        uvicorn_internals.ask_to_stop(self._server)
        self._thread.join(timeout=10)
        self._sock.close()


@contextmanager
def serving(app: ASGIApp) -> Iterator[str]:
    """Serve `app` in the background for the `with` block; yields its base URL."""
    server = BackgroundServer(app).start()
    try:
        yield server.url
    finally:
        server.stop()
