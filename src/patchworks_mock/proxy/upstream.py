"""Sending a client's request on to the upstream as it was sent, and reading its answer.

Only `Host` and the hop-by-hop headers change (RFC 9110 7.6.1); the path and query go as
their raw bytes. The answer comes back as received: its status, its headers (less the
hop-by-hop ones) and its body's bytes, never decoded or re-encoded. A body up to the limit is
read whole, so that it can be checked before the client gets it; a longer one is handed on
as it arrives and not checked. An upstream that cannot be reached, answers too slowly, sends a
broken answer or offers a certificate that is not trusted is a 502 or 504 in the API's shape.
"""

from __future__ import annotations

import asyncio
import ssl
import time
import zlib
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import h11

from patchworks_mock import errors

# Connection-specific headers, never forwarded (RFC 9110 7.6.1), and `Host`, which names the
# upstream; `Content-Length` is set anew for the bytes actually sent.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
NOT_FORWARDED = HOP_BY_HOP | {"host", "content-length"}
# Methods a request may be sent again with (RFC 9110 9.2.2): a kept connection the upstream
# closed as the request went out on it.
IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE"})
DEFAULT_TIMEOUT = 30.0  # seconds
READ_SIZE = 64 * 1024  # bytes read from the upstream at once


class UpstreamError(errors.ApiError):
    """The upstream gave no answer: 502 (unreachable, refused, bad certificate, broken
    answer) or 504 (too slow)."""


class _Stale(Exception):
    """A kept connection failed before a byte of the answer arrived: the upstream had closed
    it, or closed it as the request went out (`cause` says how)."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(str(cause))
        self.cause = cause


def forwarded(
    headers: list[tuple[bytes, bytes]], dropped: frozenset[str] = NOT_FORWARDED
) -> list[tuple[bytes, bytes]]:
    """`headers` in their order, less `dropped` and the ones `Connection` names."""
    named = {
        part.strip().lower()
        for name, value in headers
        if name.lower() == b"connection"
        for part in value.split(b",")
    }
    names = {name.encode() for name in dropped} | named
    return [(name, value) for name, value in headers if name.lower() not in names]


@dataclass
class Answer:
    """The upstream's answer: its status and headers (less the hop-by-hop ones, which were
    about the upstream's connection to the proxy, not the client's), and its body whole
    (`body`) or, when it is longer than the limit, its first bytes (`body`) and the rest still
    arriving (`rest`)."""

    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes
    rest: AsyncGenerator[bytes, None] | None
    wait_ms: float  # from sending to the answer's head
    drop: Callable[[], None] | None = None  # close the connection of an unfinished `rest`

    @property
    def complete(self) -> bool:
        return self.rest is None

    async def close(self) -> None:
        """Stop reading the rest: its connection is closed, not reused, even when the rest
        was never started (closing a generator that has not started runs none of its code)."""
        if self.rest is not None:
            await self.rest.aclose()
        if self.drop is not None:
            self.drop()


def tls_context(ca_file: str | None, insecure: bool) -> ssl.SSLContext:
    """What the upstream's certificate is verified with: the system's CAs, or `ca_file`'s, or
    nothing (`--insecure`). A bad `ca_file` raises OSError or ssl.SSLError."""
    context = ssl.create_default_context()
    if insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    elif ca_file is not None:
        context.load_verify_locations(cafile=ca_file)
    return context


@dataclass
class _Connection:
    """One HTTP/1.1 connection to the upstream, with h11 keeping its state."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    state: h11.Connection
    reused: bool = False  # it carried an exchange before this one
    heard: bool = False  # a byte of the current answer has arrived
    in_use: bool = True  # it holds one of the slots (until released or dropped, once)

    def usable(self) -> bool:
        """Whether an idle connection can take another request (the upstream has not closed
        it meanwhile)."""
        return not (self.reader.at_eof() or self.writer.is_closing())

    def close(self) -> None:
        self.writer.close()


class Upstream:
    """The server the proxy forwards to, at `base_url` (which may have a path prefix).

    A small HTTP/1.1 client on asyncio streams and h11 (the parser httpx and uvicorn use):
    httpx's own client costs half a millisecond more per request, most of the proxy's cost.
    Idle connections are kept for the next request (at most `MAX_IDLE`), and at most
    `MAX_CONNECTIONS` are open at once; a request past that waits, within the timeout. A kept
    connection that fails before a byte of the answer (the upstream closed it as the request
    went out) is tried again once on another, for a method that may be repeated.
    """

    MAX_IDLE = 20
    MAX_CONNECTIONS = 100

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        tls: ssl.SSLContext | None = None,
        max_body_bytes: int,
    ) -> None:
        parts = urlsplit(base_url)
        self.base_url = base_url.rstrip("/")
        self.base_path = parts.path.rstrip("/")
        self.host = parts.hostname or ""
        self.https = parts.scheme == "https"
        self.port = parts.port or (443 if self.https else 80)
        self.host_header = parts.netloc.rpartition("@")[2].encode("idna")
        self.tls = (tls or ssl.create_default_context()) if self.https else None
        self.timeout = timeout
        self.max_body_bytes = max_body_bytes
        self._idle: list[_Connection] = []
        self._slots = asyncio.Semaphore(self.MAX_CONNECTIONS)

    def url(self, raw_path: bytes, query: bytes) -> str:
        """The upstream's URL for a request's raw path and query."""
        target = raw_path.decode("latin-1") + ("?" + query.decode("latin-1") if query else "")
        return self.base_url + target

    def _target(self, raw_path: bytes, query: bytes) -> bytes:
        return self.base_path.encode() + raw_path + (b"?" + query if query else b"")

    async def send(
        self,
        method: str,
        raw_path: bytes,
        query: bytes,
        headers: list[tuple[bytes, bytes]],
        body: bytes,
    ) -> Answer:
        """Forward one request; its answer is read up to the body limit."""
        sent = [(b"host", self.host_header), *forwarded(headers)]
        if body or any(name.lower() == b"content-length" for name, _ in headers):
            sent.append((b"content-length", b"%d" % len(body)))
        try:
            request = h11.Request(
                method=method.encode("latin-1"), target=self._target(raw_path, query), headers=sent
            )
        except h11.LocalProtocolError as exc:  # what the client's server took and h11 does not
            raise UpstreamError(f"The request could not be forwarded: {exc}.", status=502) from None
        started = time.perf_counter()
        retry = method.upper() in IDEMPOTENT
        while True:
            connection = await self._checked_out()
            try:
                return await self._exchange(connection, request, body, started)
            except _Stale as stale:
                if not retry:
                    raise self._unreachable(stale.cause) from None
                retry = False  # once, on a new connection: an idle one may be stale too

    async def _checked_out(self) -> _Connection:
        """A connection for one exchange (a kept one, else a new one), within the timeout."""
        try:
            async with asyncio.timeout(self.timeout):
                await self._slots.acquire()
                try:
                    return await self._connection()
                except BaseException:
                    self._slots.release()
                    raise
        except TimeoutError:
            raise self._too_slow() from None
        except (OSError, ssl.SSLError) as exc:
            raise self._unreachable(exc) from None

    async def _exchange(
        self, connection: _Connection, request: h11.Request, body: bytes, started: float
    ) -> Answer:
        """Send `request` on `connection` and read its answer up to the body limit; `_Stale`
        when a kept connection fails before a byte of the answer arrives."""
        connection.heard = False
        try:
            async with asyncio.timeout(self.timeout):
                state = connection.state
                out = state.send(request) or b""
                if body:
                    out += state.send(h11.Data(data=body)) or b""
                connection.writer.write(out + (state.send(h11.EndOfMessage()) or b""))
                await connection.writer.drain()
                head = await self._head(connection)
                answered = forwarded(list(head.headers), HOP_BY_HOP)
                wait_ms = (time.perf_counter() - started) * 1000
                read = bytearray()
                while len(read) <= self.max_body_bytes:
                    event = await self._event(connection)
                    if isinstance(event, h11.EndOfMessage):
                        self._release(connection)
                        return Answer(head.status_code, answered, bytes(read), None, wait_ms)
                    read += event.data
        except TimeoutError:
            self._drop(connection)
            raise self._too_slow() from None
        except (OSError, ssl.SSLError, h11.ProtocolError, EOFError) as exc:
            self._drop(connection)
            if connection.heard:  # it was reached, and answered with something broken
                raise self._broken(exc) from None
            if connection.reused:
                raise _Stale(exc) from None
            raise self._unreachable(exc) from None
        except BaseException:  # cancelled: the connection is mid-exchange, never to be reused
            self._drop(connection)
            raise
        rest = self._rest(connection)
        return Answer(
            head.status_code, answered, bytes(read), rest, wait_ms, lambda: self._drop(connection)
        )

    async def _connection(self) -> _Connection:
        while self._idle:
            connection = self._idle.pop()
            if connection.usable():
                connection.reused = connection.in_use = True
                return connection
            connection.close()
        reader, writer = await asyncio.open_connection(
            self.host,
            self.port,
            ssl=self.tls,
            server_hostname=self.host if self.tls else None,
            limit=READ_SIZE,
        )
        return _Connection(reader, writer, h11.Connection(h11.CLIENT))

    async def _event(self, connection: _Connection) -> h11.Data | h11.EndOfMessage:
        """The next part of the answer's body."""
        while True:
            event = connection.state.next_event()
            if event is h11.NEED_DATA:
                data = await connection.reader.read(READ_SIZE)
                if not data and connection.state.their_state is not h11.SEND_BODY:
                    raise EOFError("the connection was closed")
                connection.state.receive_data(data)
            elif isinstance(event, h11.Data | h11.EndOfMessage):
                return event
            elif event is h11.PAUSED or isinstance(event, h11.ConnectionClosed):
                raise EOFError("the connection was closed")

    async def _head(self, connection: _Connection) -> h11.Response:
        """The answer's status line and headers (past any 1xx)."""
        while True:
            event = connection.state.next_event()
            if event is h11.NEED_DATA:
                data = await connection.reader.read(READ_SIZE)
                if not data:
                    if connection.heard:
                        raise EOFError("the connection was closed halfway through the head")
                    raise EOFError("the connection was closed before an answer")
                connection.heard = True
                connection.state.receive_data(data)
            elif isinstance(event, h11.Response):
                return event
            elif isinstance(event, h11.ConnectionClosed):
                raise EOFError("the connection was closed before an answer")

    async def _rest(self, connection: _Connection) -> AsyncGenerator[bytes, None]:
        """The rest of a long answer's body, as it arrives. The timeout bounds the wait for
        each part and never spans a `yield`: the time the client takes to read a part is not
        the upstream's (and a timeout running then would cancel the code handing it on)."""
        done = False
        try:
            while True:
                try:
                    async with asyncio.timeout(self.timeout):
                        event = await self._event(connection)
                except TimeoutError:
                    raise self._too_slow() from None
                except (OSError, ssl.SSLError, h11.ProtocolError, EOFError) as exc:
                    raise self._broken(exc) from None
                if isinstance(event, h11.EndOfMessage):
                    done = True
                    return
                yield bytes(event.data)
        finally:
            if done:
                self._release(connection)
            else:
                self._drop(connection)

    def _release(self, connection: _Connection) -> None:
        """Keep the connection for the next request if it can take one."""
        if not connection.in_use:
            return
        connection.in_use = False
        self._slots.release()
        state = connection.state
        if state.our_state is h11.DONE and state.their_state is h11.DONE:
            state.start_next_cycle()
            if len(self._idle) < self.MAX_IDLE:
                self._idle.append(connection)
                return
        connection.close()

    def _drop(self, connection: _Connection) -> None:
        """Close the connection and give back its slot, if it still holds one: once, whoever
        calls first (a connection released to the pool is the pool's)."""
        if connection.in_use:
            connection.in_use = False
            self._slots.release()
            connection.close()

    def _too_slow(self) -> UpstreamError:
        return UpstreamError(
            f"The upstream server {self.base_url} did not answer within {self.timeout:g} s.",
            status=504,
        )

    def _broken(self, exc: BaseException) -> UpstreamError:
        return UpstreamError(
            f"The upstream server {self.base_url} sent a broken answer: {_reason(exc)}.",
            status=502,
        )

    def _unreachable(self, exc: BaseException) -> UpstreamError:
        return UpstreamError(
            f"The upstream server {self.base_url} could not be reached: {_reason(exc)}.",
            status=502,
        )

    async def close(self) -> None:
        for connection in self._idle:
            connection.close()
        self._idle.clear()


def _reason(exc: BaseException) -> str:
    """The cause in a few words: the innermost error's text (a refused connection, a
    certificate that failed verification)."""
    cause = exc
    while cause.__cause__ is not None:
        cause = cause.__cause__
    if isinstance(cause, ssl.SSLCertVerificationError):
        return f"its certificate is not trusted ({cause.verify_message})"
    text = getattr(cause, "strerror", None) or str(cause) or type(cause).__name__
    return str(text).rstrip(".")


def decoded(body: bytes, encoding: str, limit: int) -> bytes | None:
    """`body` without its `Content-Encoding` (gzip or deflate), at most `limit` bytes; None
    when it is encoded otherwise, is not what it says, or decodes past `limit`."""
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return body
    if encoding not in ("gzip", "x-gzip", "deflate"):
        return None
    for window in (47, -15) if encoding == "deflate" else (31,):  # zlib, raw deflate; gzip
        decoder = zlib.decompressobj(window)
        try:
            plain = decoder.decompress(body, limit + 1)
        except zlib.error:
            continue
        return plain if len(plain) <= limit and not decoder.unconsumed_tail else None
    return None
