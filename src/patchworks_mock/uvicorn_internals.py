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
U6. `on_url(fragment)` gets the request-target in fragments as they arrive, and
    `on_header(name, value)` each header line once it is complete (when the next begins),
    before the head is complete; `on_header` appends it to `self.headers` as (lower-case
    name, value). `data_received(data)` feeds the parser and `on_message_complete()` ends
    each request.
U7. An exception raised in a parser callback stops parsing that connection: uvicorn answers
    through `send_400_response(message)`, which writes to `self.transport` and closes it.
U8. On SIGINT or SIGTERM, `Server.run` shuts down gracefully, puts back the signal handlers it
    found, and then raises the signal again (`signal.raise_signal`), so that the process ends
    as the signal says; with Python's default SIGTERM handler that ends it at once, before any
    `finally` of the caller runs. `run_until_stopped` installs its own handlers first.

With U6 and U7 the protocol refuses a head past the size limits while it arrives (414, 431,
in the API's shape, the connection closed): a long target as it arrives, too many header
lines as each ends, and a head still incomplete past both limits (one endless header) after
the read that passed them. So a connection holds at most the limits and one read (256 KiB)
of a head (uvicorn logs its "Invalid HTTP request received." warning for the refusals made
in a callback). `middleware.LimitRequests` checks the same limits for apps served otherwise.
"""

from __future__ import annotations

import asyncio
import signal
import socket

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from patchworks_mock import errors
from patchworks_mock.responses import encode

DEFAULT_HEADER_TIMEOUT = 10.0  # seconds


def has_started(server: uvicorn.Server) -> bool:
    """Whether `server` listens yet (U1)."""
    return bool(server.started)


def ask_to_stop(server: uvicorn.Server) -> None:
    """Make `server.run()` return, gracefully, from another thread (U2)."""
    server.should_exit = True


class _HeadTooLarge(Exception):
    pass


class _GuardedProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, closing a connection whose request head is not complete
    `header_timeout` seconds after it was opened or after its last answer (U4), and refusing
    a request-target over `max_target_bytes` (414) or header lines over `max_header_bytes`
    (431) as they arrive (U6, U7)."""

    header_timeout = DEFAULT_HEADER_TIMEOUT
    max_target_bytes: int | None = None
    max_header_bytes: int | None = None
    _head_timer: asyncio.TimerHandle | None = None
    _target_bytes = 0
    _header_bytes = 0
    _refusal: errors.TooLarge | None = None
    _awaiting_head = True  # the bytes coming in are a request's head
    _head_bytes = 0  # bytes read while awaiting this head

    def data_received(self, data: bytes) -> None:
        if self._awaiting_head:
            self._head_bytes += len(data)
        super().data_received(data)
        if (
            self._awaiting_head
            and self.max_target_bytes is not None
            and self.max_header_bytes is not None
            and self._head_bytes > self.max_target_bytes + self.max_header_bytes + 1024
            and not self.transport.is_closing()
        ):
            self._refusal = errors.headers_too_large()  # one endless header line (U6)
            self.send_400_response("")

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._target_bytes = self._header_bytes = 0

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._awaiting_head, self._head_bytes = True, 0

    def on_url(self, url: bytes) -> None:
        super().on_url(url)
        self._target_bytes += len(url)
        if self.max_target_bytes is not None and self._target_bytes > self.max_target_bytes:
            self._refuse(errors.uri_too_long())

    def on_header(self, name: bytes, value: bytes) -> None:
        super().on_header(name, value)
        kept_name, kept_value = self.headers[-1]
        self._header_bytes += len(kept_name) + len(kept_value) + 4  # as LimitRequests counts
        if self.max_header_bytes is not None and self._header_bytes > self.max_header_bytes:
            self._refuse(errors.headers_too_large())

    def _refuse(self, refusal: errors.TooLarge) -> None:
        self._refusal = refusal
        raise _HeadTooLarge  # stops the parser; uvicorn calls send_400_response (U7)

    def send_400_response(self, msg: str) -> None:
        refusal = self._refusal
        if refusal is None:
            super().send_400_response(msg)
            return
        body = encode(refusal.body())
        self.transport.write(
            b"HTTP/1.1 %d %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\n"
            b"connection: close\r\n\r\n%s"
            % (refusal.status, refusal.message.encode(), len(body), body)
        )
        self.transport.close()

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
        self._awaiting_head = False
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)


def guarded_protocol(
    header_timeout: float = DEFAULT_HEADER_TIMEOUT,
    max_target_bytes: int | None = None,
    max_header_bytes: int | None = None,
) -> type[asyncio.Protocol]:
    """The protocol class to pass as `uvicorn.Config(http=...)` (U3): uvicorn's httptools
    protocol with a timeout on incomplete request heads (U4, U5) and, if given, the size
    limits of the request-target and the header lines, enforced as they arrive (U6, U7)."""
    return type(
        "GuardedProtocol",
        (_GuardedProtocol,),
        {
            "header_timeout": float(header_timeout),
            "max_target_bytes": max_target_bytes,
            "max_header_bytes": max_header_bytes,
        },
    )


class _Stopped(Exception):
    """SIGTERM, raised again by uvicorn after its graceful shutdown (U8)."""


def _stopped(signum: int, frame: object) -> None:
    raise _Stopped


def run_until_stopped(server: uvicorn.Server, sockets: list[socket.socket]) -> None:
    """Serve until Ctrl-C or SIGTERM, then return normally after uvicorn's graceful shutdown,
    so that the caller's clean-up runs (U8). Call it from the main thread."""
    previous = signal.signal(signal.SIGTERM, _stopped)
    try:
        server.run(sockets=sockets)
    except (KeyboardInterrupt, _Stopped):
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
