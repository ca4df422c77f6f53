"""Every use of uvicorn beyond its documented `Config` and `Server.run(sockets=...)`, in one
place, with what each assumes of the pinned version (uvicorn 0.x, below 1);
`tests/test_uvicorn_internals.py` fails naming the assumption when an upgrade breaks one.

U1. `Server.started` turns True once the server listens on its sockets.
U2. Setting `Server.should_exit = True` makes `Server.run` return after a graceful shutdown,
    from any thread.
U3. `Config(http=<class>)` serves every connection with that `asyncio.Protocol` class, made
    as uvicorn makes its own httptools protocol (`uvicorn.protocols.http.httptools_impl.
    HttpToolsProtocol`), which the class here subclasses.
U4. `HttpToolsProtocol` calls `connection_made(transport)` when a client connects,
    `on_headers_complete()` when a request's head (request line and headers) is complete,
    `on_response_complete()` after each response and `connection_lost(exc)` at the end; it
    keeps `self.transport`, `self.loop`, and the latest request's `self.cycle` (or None)
    whose `response_complete` says whether its answer is sent.
U5. uvicorn has no header timeout of its own (no `Config` option; its keep-alive timer runs
    only between requests and any data cancels it): the one here is the only one. When
    uvicorn gains one, use it instead.
"""

from __future__ import annotations

import asyncio

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

DEFAULT_HEADER_TIMEOUT = 10.0  # seconds


def has_started(server: uvicorn.Server) -> bool:
    """Whether `server` listens yet (U1)."""
    return bool(server.started)


def ask_to_stop(server: uvicorn.Server) -> None:
    """Make `server.run()` return, gracefully, from another thread (U2)."""
    server.should_exit = True


class _HeaderTimeoutProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, closing a connection whose request head is not complete
    `header_timeout` seconds after it was opened or after its last answer (U4)."""

    header_timeout = DEFAULT_HEADER_TIMEOUT
    _head_timer: asyncio.TimerHandle | None = None

    def _arm(self) -> None:
        self._disarm()
        self._head_timer = self.loop.call_later(self.header_timeout, self._head_timed_out)

    def _disarm(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete:
            return  # a request is being answered; its end arms the timer again
        if not self.transport.is_closing():
            self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)


def protocol_with_header_timeout(seconds: float) -> type[asyncio.Protocol]:
    """The protocol class to pass as `uvicorn.Config(http=...)` (U3): uvicorn's httptools
    protocol with a timeout on incomplete request heads (U4, U5)."""
    return type(
        "HeaderTimeoutProtocol", (_HeaderTimeoutProtocol,), {"header_timeout": float(seconds)}
    )
