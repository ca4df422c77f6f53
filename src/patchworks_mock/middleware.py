"""The mock's own ASGI layers, in the order a request meets them.

0. `LimitRequests` (before CORS): request-target, headers and body within their limits (414,
   431, 413), and no more query keys than PHP keeps.
1. `ChooseSandbox`: which running instance serves the request (with `--isolate-keys`, the
   credential's own sandbox).
2. `RecordRequests`: the request journal, once the answer is sent.

Then Connexion's layers route and authenticate, and after them (before validation):

3. `ApplyFaults`: `Prefer`, planned faults, latency, error rate and the throttle, which may
   answer in the API's place.
4. `LowerCaseMediaType`: `Content-Type`'s media type in lower case, before Connexion reads it.

Then Connexion validates, and `dispatch.Dispatch` calls the handler. The journal and the faults
leave the mock's own endpoints (`/__mock__/...`) alone. At `--log-level info` or
`debug`, `serve` wraps all of it in `logs.RequestLines`, which logs a line per request.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from patchworks_mock import credentials, errors, faults, instance, logs, spec
from patchworks_mock.request_journal import BODY_LIMIT, SECRET_HEADERS, Recorded
from patchworks_mock.responses import send_error
from patchworks_mock.store import Store

logger = logging.getLogger("patchworks_mock")
READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class LimitRequests:
    """Refuse a request past the size limits before anything else keeps it, in the API's
    shape and with the connection closed: a request-target (path and query) over
    `max_target_bytes` (414), header lines over `max_header_bytes` in all (431), a body over
    `max_body_bytes` (413: on `Content-Length` before reading, else counted as it is read,
    which covers chunked bodies). Past `max_query_keys` query pairs, the rest are dropped
    before Connexion parses the query, as PHP's `max_input_vars` does."""

    def __init__(self, app: ASGIApp, limits: instance.Limits) -> None:
        self.app = app
        self.limits = limits
        self._body_digits = len(str(limits.max_body_bytes))

    def _too_large_body(self, declared: bytes) -> bool:
        """Whether a `Content-Length` (without leading zeros) is past the body limit; compared
        by length first, as int() refuses more than 4,300 digits."""
        return declared.isdigit() and (
            len(declared) > self._body_digits or int(declared) > self.limits.max_body_bytes
        )

    def _kept_query(self, query: bytes) -> bytes:
        if query.count(b"&") < self.limits.max_query_keys:
            return query
        pairs = [pair for pair in query.split(b"&") if pair]
        return b"&".join(pairs[: self.limits.max_query_keys])

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limits = self.limits
        query: bytes = scope["query_string"]
        target = len(scope.get("raw_path") or scope["path"].encode()) + len(query) + bool(query)
        if target > limits.max_target_bytes:
            await send_error(send, errors.uri_too_long())
            return
        headers = scope["headers"]
        header_bytes = 0
        length_at = None  # where Content-Length is
        chunked = False
        for at, (name, value) in enumerate(headers):  # one pass: ASGI names are lower case
            header_bytes += len(name) + len(value) + 4
            if name == b"content-length":
                length_at = at
            elif name == b"transfer-encoding":
                chunked = True
        if header_bytes > limits.max_header_bytes:
            await send_error(send, errors.headers_too_large())
            return
        if length_at is not None:
            declared = headers[length_at][1].strip()
            if self._too_large_body(declared.lstrip(b"0")):
                await send_error(send, errors.post_too_large())
                return
            if declared[:1] == b"0" and len(declared) > 1:
                # Without leading zeros: Connexion (A3) and Starlette read it with int(), which
                # refuses more than 4,300 digits.
                canonical = (b"content-length", declared.lstrip(b"0") or b"0")
                headers = [*headers[:length_at], canonical, *headers[length_at + 1 :]]
                scope = {**scope, "headers": headers}
        kept = self._kept_query(query)
        if kept is not query:
            scope = {**scope, "query_string": kept}
        # A body with a Content-Length within the limit cannot grow past it (the server reads
        # that many bytes as the body): only a chunked one is counted while it is read.
        try:
            await self.app(scope, self._counted(receive) if chunked else receive, send)
        except errors.TooLarge as exc:  # read past the limit outside Connexion's error handlers
            await _send_if_unanswered(send, exc)
        except Exception as exc:  # a bug in an outer layer: Laravel's 500, never a traceback
            logger.error("unexpected error on %s %s: %r", scope["method"], scope["path"], exc)
            await _send_if_unanswered(send, errors.framework_error(500, "", "", allowed=[]))

    def _counted(self, receive: Receive) -> Receive:
        """`receive`, raising `TooLarge` once the body read passes the limit."""
        read = 0

        async def receive_counted() -> Message:
            nonlocal read
            message = await receive()
            if message["type"] == "http.request":
                read += len(message.get("body", b""))
                if read > self.limits.max_body_bytes:
                    raise errors.post_too_large()
            return message

        return receive_counted


async def _send_if_unanswered(send: Send, error: errors.ApiError) -> None:
    """Answer with `error`, unless an answer has begun: the server then refuses a second one,
    however it says so (uvicorn raises RuntimeError)."""
    with contextlib.suppress(Exception):
        await send_error(send, error)


class ChooseSandbox:
    """Hand every request the instance it is served by.

    With `isolate_keys`, each accepted credential gets its own sandbox; anything else is served
    by the shared instance (and refused there). Sandboxes read one store built once from the
    start state until their first request that may write (anything but GET, HEAD, OPTIONS),
    which gives them their own (copy on write). A token's sandbox is forgotten when the token
    expires; past `limits.max_sandboxes`, a new one is refused with 503 and `Retry-After`.
    """

    def __init__(
        self, app: ASGIApp, shared: instance.MockInstance, isolate_keys: bool = False
    ) -> None:
        self.app = app
        self.shared = shared
        self.sandboxes: dict[str, instance.MockInstance] | None = {} if isolate_keys else None
        self.expiry: dict[str, float] = {}  # a token sandbox's credential: when it expires
        self._start: Store | None = None  # the start state, read by sandboxes until they write

    def _choose(self, scope: Scope) -> instance.MockInstance:
        if self.sandboxes is None:
            return self.shared
        identity = credentials.identify(scope, self.shared)
        if identity is None:
            return self.shared
        sandbox = self.sandboxes.get(identity.name)
        if sandbox is None:
            sandbox = self._new_sandbox(identity)
        note = logs.note_of(scope)
        if note is not None:  # the request line names the sandbox by its credential's hash
            note.sandbox = identity.credential
        if scope["method"] not in READ_ONLY_METHODS:
            sandbox.own_store()
        return sandbox

    def _new_sandbox(self, identity: credentials.Identity) -> instance.MockInstance:
        assert self.sandboxes is not None
        now = time.monotonic()
        for expired in [c for c, expires in self.expiry.items() if expires <= now]:
            del self.sandboxes[expired], self.expiry[expired]
        if len(self.sandboxes) >= self.shared.limits.max_sandboxes:
            first = min(self.expiry.values(), default=now + instance.TOKEN_LIFETIME)
            raise errors.too_many_sandboxes(max(1, math.ceil(first - now)))
        if self._start is None:
            self._start = self.shared.initial.store()
        sandbox = self.sandboxes[identity.name] = self.shared.sandbox(self._start)
        expires = self.shared.token_expiry(identity.token) if identity.token is not None else None
        if expires is not None:
            self.expiry[identity.name] = expires
        return sandbox

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            try:
                chosen = self._choose(scope)
            except errors.ApiError as exc:
                await send_error(send, exc)
                return
            instance.attach(scope, chosen)
        await self.app(scope, receive, send)


class RecordRequests:
    """Journal every API request (not the admin ones) once it is answered."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.admin_prefix = spec.admin_prefix()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(self.admin_prefix):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        status = 0
        body_read = False

        async def receive_and_keep() -> Message:
            nonlocal size, body_read
            try:
                message = await receive()
            except errors.TooLarge:  # the limit layer reads no further: nor does the journal
                body_read = True
                raise
            if message["type"] != "http.request":
                body_read = True
            else:
                body_read = not message.get("more_body", False)
                if size < BODY_LIMIT:
                    chunks.append(message.get("body", b""))
                    size += len(chunks[-1])
            return message

        started = time.time()
        recorded = False

        async def record() -> None:
            """Journal the request, once: before the last byte of its answer leaves, so that a
            client that got the answer finds it in the journal."""
            nonlocal recorded
            if recorded:
                return
            recorded = True
            try:
                while not body_read and size < BODY_LIMIT:  # answered before reading: read
                    await receive_and_keep()  # what the journal keeps, no further
            except errors.TooLarge:
                pass  # the journal keeps what was read within the limit
            instance.serving(scope).journal.record(
                Recorded(
                    method=scope["method"],
                    path=scope["path"],
                    query_string=scope["query_string"],
                    headers=[(k, v) for k, v in scope["headers"] if k not in SECRET_HEADERS],
                    body=b"".join(chunks)[:BODY_LIMIT],
                    status=status,
                    time=started,
                )
            )

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body" and not message.get("more_body", False):
                await record()
            await send(message)

        try:
            await self.app(scope, receive_and_keep, send_and_note)
        finally:
            await record()


class ApplyFaults:
    """`Prefer` and the server-wide fault settings, for API requests: a faulted request is
    answered here and never reaches the handlers, so it changes no state.

    It runs after Connexion's security (`app.py`): a request with bad credentials is answered
    401 before anything here, and consumes no planned fault and no throttle attempt."""

    def __init__(self, app: ASGIApp, settings: faults.FaultSettings) -> None:
        self.app = app
        self.settings = settings
        limit = settings.rate_limit
        self.throttle = faults.Throttle(limit, limit.windows) if limit else None
        self.admin_prefix = spec.admin_prefix()

    def _throttle_key(self, scope: Scope) -> str:
        """The credential, however it was spelt; the client's address without one (login)."""
        identity = credentials.identify(scope, instance.serving(scope))
        if identity is not None:
            return identity.name
        return f"address {(scope.get('client') or ('?',))[0]}"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(self.admin_prefix):
            await self.app(scope, receive, send)
            return
        prefer = None
        for name, value in scope["headers"]:  # ASGI header names are lower case
            if name == b"prefer":
                prefer = value.decode("latin-1")
        extra: dict[str, str] = {}
        retry_after = faults.DEFAULT_RETRY_AFTER
        if self.throttle is not None:
            remaining, retry_after = self.throttle.hit(self._throttle_key(scope))
            extra = {
                "X-RateLimit-Limit": str(self.throttle.limit.requests),
                "X-RateLimit-Remaining": str(max(remaining, 0)),
            }
            if remaining < 0:
                await send_error(send, errors.simulated(429), _retry(extra, retry_after))
                return
        try:
            wanted = faults.preferences(prefer)
            faults.check_preferences(
                wanted, scope["method"], scope["path"], self.settings.max_delay_ms
            )
        except faults.PreferenceError as exc:
            await send_error(send, errors.ApiError(str(exc), status=400), extra)
            return
        delay_ms = wanted.get("delay", 0)
        if self.settings.latency_ms:
            delay_ms += self.settings.random.randint(*self.settings.latency_ms)
        if delay_ms:
            await asyncio.sleep(delay_ms / 1000)
        status = wanted.get("code")
        planned = faults.take_planned(
            instance.serving(scope).planned_faults, scope["method"], scope["path"]
        )
        if status is None and planned is not None:
            status = planned.status
            if planned.retry_after is not None:
                retry_after = planned.retry_after
                extra["Retry-After"] = str(planned.retry_after)
        if (
            status is None
            and self.settings.error_rate
            and self.settings.random.random() < self.settings.error_rate
        ):
            status = self.settings.random.choice((500, 503))
        if status == 429:  # as Laravel's throttle answers it
            extra = _retry(extra, retry_after)
        if status is not None:
            await send_error(send, errors.simulated(status), extra)
            return
        if not extra:
            await self.app(scope, receive, send)
            return

        async def send_with_limits(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    *message.get("headers", []),
                    *((k.lower().encode(), v.encode()) for k, v in extra.items()),
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_with_limits)
        except Exception as exc:
            # Refused below (validation): the app's error handlers answer it, outside this
            # layer, with the exception's headers (ApiError, Connexion's and Starlette's).
            if hasattr(exc, "headers"):
                exc.headers = {**(exc.headers or {}), **extra}
            raise


def _retry(headers: dict[str, str], seconds: int) -> dict[str, str]:
    """A 429's headers, as Laravel's ThrottleRequests sends them: `Retry-After` in seconds and
    `X-RateLimit-Reset`, the Unix time it is over."""
    return {
        **headers,
        "Retry-After": str(seconds),
        "X-RateLimit-Reset": str(int(time.time()) + seconds),
    }


class LowerCaseMediaType:
    """The media type of `Content-Type` in lower case, before Connexion reads it.

    Media types compare without regard to case (RFC 9110). Connexion's 415 check agrees, but it
    picks the body's schema and validator by exact name, so `Application/JSON` would be read
    against no schema at all.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = scope["headers"]
            for at, (name, value) in enumerate(headers):
                if name == b"content-type":
                    media_type, semicolon, rest = value.partition(b";")
                    if media_type != media_type.lower():
                        changed = (name, media_type.lower() + semicolon + rest)
                        scope = {**scope, "headers": [*headers[:at], changed, *headers[at + 1 :]]}
                    break
        await self.app(scope, receive, send)
