"""The proxy's ASGI app: each request is judged, forwarded, its answer judged and handed back.

For each request, in order:
1. `/__mock__/...` is the proxy's own (`admin.py`), never forwarded.
2. The body is read, up to the body limit (past it, 413 from the proxy: it is not kept).
3. The gate (`gate.py`) judges the request as the mock would. With `--errors` a refused request
   is answered with the mock's answer and never reaches the upstream.
4. It is forwarded (`upstream.py`); no answer is a 502 or 504 in the API's shape.
5. An answer within the body limit is judged by the contract suite's checks (`Watch`), and
   goes back as received, plus `X-Contract-Violations: N` when the exchange broke the
   contract. A longer one is streamed back unjudged.
"""

from __future__ import annotations

import logging
import ssl
import time
from dataclasses import dataclass, replace

from starlette.types import Message, Receive, Scope, Send

from patchworks_mock import errors
from patchworks_mock.contract.conformance import documented_statuses
from patchworks_mock.contract.exchange import Exchange, joined_headers
from patchworks_mock.instance import DEVELOPMENT_KEY, Limits
from patchworks_mock.proxy.admin import PREFIX, ProxyAdmin
from patchworks_mock.proxy.gate import RequestGate, Verdict, refusal_of
from patchworks_mock.proxy.har import HarRecorder
from patchworks_mock.proxy.journal import (
    DEFAULT_SIZE,
    NO_ANSWER,
    NOT_CHECKED,
    OUTSIDE,
    Journal,
    Outcome,
)
from patchworks_mock.proxy.observed import ObservedState
from patchworks_mock.proxy.upstream import (
    DEFAULT_TIMEOUT,
    Answer,
    Upstream,
    UpstreamError,
    decoded,
    forwarded,
)
from patchworks_mock.proxy.watch import Ticket, Watch

VIOLATIONS_HEADER = b"x-contract-violations"
logger = logging.getLogger("patchworks_mock")


@dataclass(frozen=True)
class ProxyState:
    """What the server needs of the app: the limits on a request's head (`server.protocol`)."""

    limits: Limits


def _joined(headers: list[tuple[bytes, bytes]]) -> dict[str, str]:
    """ASGI's raw headers as the checks read them (`joined_headers`)."""
    return joined_headers(
        (name.decode("latin-1"), value.decode("latin-1")) for name, value in headers
    )


class ClientGone(Exception):
    """The client went away before its request was whole: nothing is forwarded."""


async def _read_body(scope: Scope, receive: Receive, limit: int) -> bytes:
    """The whole request body; `errors.TooLarge` (413) past `limit`, declared or read."""
    for name, value in scope["headers"]:
        declared = value.strip().lstrip(b"0")
        if name != b"content-length" or not declared.isdigit():
            continue
        # by length first: int() refuses more than 4,300 digits
        if len(declared) > len(str(limit)) or int(declared) > limit:
            raise errors.post_too_large()
    body = bytearray()
    while True:
        message = await receive()
        if message["type"] != "http.request":
            raise ClientGone()
        body += message.get("body", b"")
        if len(body) > limit:
            raise errors.post_too_large()
        if not message.get("more_body", False):
            return bytes(body)


async def _send_answer(
    send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes
) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class ProxyApp:
    """Forwards to `upstream`, judging every exchange with `watch`."""

    def __init__(
        self,
        upstream: Upstream,
        watch: Watch,
        admin: ProxyAdmin,
        *,
        limits: Limits,
        answer_refusals: bool = False,
    ) -> None:
        self.upstream = upstream
        self.watch = watch
        self.admin = admin
        self.gate = RequestGate(limits)
        self.limits = limits
        self.answer_refusals = answer_refusals
        self.state = ProxyState(limits)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            if scope["path"] == PREFIX or scope["path"].startswith(PREFIX + "/"):
                await self.admin(scope, receive, send)
            else:
                await self._guarded(scope, receive, send)
        # websockets are not proxied: a closed scope is all they get

    async def _guarded(self, scope: Scope, receive: Receive, send: Send) -> None:
        """One exchange; a bug of the proxy's own is a line in the log and Laravel's 500 for
        the client (if its answer has not begun), never a traceback."""
        started = False

        async def send_noting(message: Message) -> None:
            nonlocal started
            started = True
            await send(message)

        ticket = self.watch.begin(scope["method"], scope["path"])
        try:
            await self._exchange(scope, receive, send_noting, ticket)
        except ClientGone:
            return
        except Exception as exc:
            logger.error(
                "unexpected error on %s %s: %r (please report it)",
                scope["method"],
                scope["path"],
                exc,
            )
            if not started:
                error = refusal_of(errors.ApiError(errors.SERVER_ERROR, status=500))
                await _send_answer(send, 500, error.headers, error.body)
        finally:
            self.watch.end(ticket)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.upstream.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _exchange(self, scope: Scope, receive: Receive, send: Send, ticket: Ticket) -> None:
        started_at, started = time.time(), time.perf_counter()
        raw_path = scope.get("raw_path") or scope["path"].encode()
        url = self.upstream.url(raw_path, scope["query_string"])
        headers = list(scope["headers"])
        request = Exchange(
            method=scope["method"],
            url=url,
            request_headers=_joined(forwarded(headers)),
            request_body=b"",
            status=0,
            headers={},
            body=b"",
            base_path=self.upstream.base_path,
        )
        try:
            body = await _read_body(scope, receive, self.limits.max_body_bytes)
        except errors.TooLarge as exc:
            await self._answer_alone(send, exc, request, started_at, started)
            return
        request = replace(request, request_body=body)
        verdict = await self.gate.judge(scope, body)
        if self.answer_refusals and verdict.refusal is not None:
            refusal = verdict.refusal
            exchange = _answered(request, refusal.status, refusal.headers, refusal.body)
            outcome = self.watch.judge_refused(exchange, verdict, started_at)
            await self._finish(send, outcome, refusal.status, refusal.headers, refusal.body)
            self.watch.done(outcome, exchange, started, started_at, wait_ms=0.0)
            return
        try:
            answer = await self.upstream.send(
                scope["method"], raw_path, scope["query_string"], headers, body
            )
        except UpstreamError as exc:
            await self._answer_alone(send, exc, request, started_at, started)
            return
        if not answer.complete:
            await self._stream(send, answer, request, verdict, started_at, started)
            return
        exchange = _answered(request, answer.status, answer.headers, answer.body)
        encoding = exchange.headers.get("content-encoding", "")
        plain = decoded(answer.body, encoding, self.limits.max_body_bytes)
        if plain is None:
            outcome = self.watch.unjudged(
                exchange,
                f"{NOT_CHECKED}: the answer is encoded as {encoding!r} or decodes past the body "
                "limit",
                started_at,
            )
        else:
            exchange = _answered(request, answer.status, answer.headers, plain)
            try:
                outcome = self.watch.judge(exchange, verdict, started_at, ticket)
            except Exception as exc:  # a bug in a check: the client still gets its answer
                logger.error(
                    "a check failed on %s %s: %r (please report it)",
                    request.method,
                    exchange.path,
                    exc,
                )
                reason = f"{NOT_CHECKED}: a check failed ({exc!r}; please report it)"
                outcome = self.watch.unjudged(exchange, reason, started_at)
        await self._finish(send, outcome, answer.status, answer.headers, answer.body)
        self.watch.done(outcome, exchange, started, started_at, wait_ms=answer.wait_ms)

    async def _finish(
        self,
        send: Send,
        outcome: Outcome,
        status: int,
        headers: list[tuple[bytes, bytes]],
        body: bytes,
    ) -> None:
        """Hand the answer back, with the count of violations when there are any."""
        if outcome.violations:
            headers = [*headers, (VIOLATIONS_HEADER, b"%d" % len(outcome.violations))]
        await _send_answer(send, status, headers, body)

    async def _answer_alone(
        self,
        send: Send,
        error: errors.ApiError,
        request: Exchange,
        started_at: float,
        started: float,
    ) -> None:
        """Answer `error` in the upstream's place (too large a body, no upstream answer)."""
        answer = refusal_of(error)
        headers, payload = answer.headers, answer.body
        exchange = _answered(request, error.status, headers, payload)
        if isinstance(error, UpstreamError):
            reason = f"{NO_ANSWER}: {error.message}"
            outcome = self.watch.unjudged(exchange, reason, started_at, forwarded=False)
        elif not documented_statuses(exchange.operation):  # a path the contract does not name
            reason = f"{OUTSIDE}; refused: the body is over the proxy's limit"
            outcome = self.watch.unjudged(exchange, reason, started_at, forwarded=False)
        else:
            outcome = self.watch.judge_refused(exchange, Verdict(answer), started_at)
        await self._finish(send, outcome, error.status, headers, payload)
        self.watch.done(outcome, exchange, started, started_at, wait_ms=0.0)

    async def _stream(
        self,
        send: Send,
        answer: Answer,
        request: Exchange,
        verdict: Verdict,
        started_at: float,
        started: float,
    ) -> None:
        """Hand on an answer longer than the body limit as it arrives; only its request is
        judged. If the upstream breaks off, the client's answer is left unended: the server
        closes the connection, and the client sees a broken answer, not a short one."""
        size = len(answer.body)
        problem = ""
        try:
            start = {"type": "http.response.start", "status": answer.status}
            await send({**start, "headers": answer.headers})
            await send({"type": "http.response.body", "body": answer.body, "more_body": True})
            assert answer.rest is not None
            async for chunk in answer.rest:
                size += len(chunk)
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        except UpstreamError as exc:
            problem = f"; the upstream broke off after {size} bytes ({exc.message})"
        finally:
            await answer.close()
        exchange = _answered(request, answer.status, answer.headers, b"")
        reason = (
            f"{NOT_CHECKED}: the answer's body is over {self.limits.max_body_bytes} bytes "
            f"({size} bytes){problem}"
        )
        outcome = self.watch.unjudged(exchange, reason, started_at, verdict=verdict)
        self.watch.done(outcome, exchange, started, started_at, wait_ms=answer.wait_ms)
        if not problem:
            await send({"type": "http.response.body", "body": b""})


def _answered(
    request: Exchange, status: int, headers: list[tuple[bytes, bytes]], body: bytes
) -> Exchange:
    """`request` with its answer."""
    return replace(request, status=status, headers=_joined(headers), body=body)


def create_proxy(
    upstream_url: str,
    *,
    keys: frozenset[str] = frozenset({DEVELOPMENT_KEY}),
    answer_refusals: bool = False,
    limits: Limits | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    tls: ssl.SSLContext | None = None,
    journal_size: int = DEFAULT_SIZE,
    observed: ObservedState | None = None,
    har: HarRecorder | None = None,
) -> ProxyApp:
    """A proxy to `upstream_url` whose own endpoints take `keys`, keeping the state its
    answers show in `observed` and every exchange in `har` (`proxy`'s flags, as a function:
    the command and the tests build it here)."""
    limits = limits or Limits()
    journal = Journal(journal_size)
    watch = Watch(journal, observed, har)
    upstream = Upstream(
        upstream_url, timeout=timeout, tls=tls, max_body_bytes=limits.max_body_bytes
    )
    admin = ProxyAdmin(
        keys,
        journal,
        lambda: {
            "upstream": upstream.base_url,
            "exchanges": watch.exchanges,
            "broke_the_contract": watch.broken,
        },
    )
    return ProxyApp(upstream, watch, admin, limits=limits, answer_refusals=answer_refusals)
