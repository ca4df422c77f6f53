"""The innermost ASGI app: call the handler of the operation Connexion routed to, answer JSON.

By the time a request gets here Connexion's middleware has matched its route, checked its
credentials and validated (and trimmed) its parameters and body against the spec. What is left
is what Connexion's own app layer would do: hand the handler its inputs and write its answer.
That layer builds its parameter-injecting decorators anew on every request, which cost more
than the rest of a request together; this one works out once per operation what to pass.
"""

from __future__ import annotations

import json
import typing as t
from dataclasses import dataclass

import msgspec
from connexion.context import context, operation
from connexion.middleware.abstract import ROUTING_CONTEXT
from starlette.datastructures import URL, QueryParams
from starlette.exceptions import HTTPException
from starlette.types import Receive, Scope, Send

from patchworks_mock import mock, validation

# What a handler returns: a body, or (body, status), or (body, status, headers).
Answer = dict | tuple[dict, int] | tuple[dict, int, dict[str, str]]
Handler = t.Callable[["Call"], t.Awaitable[Answer]]


@dataclass(frozen=True, slots=True)
class Call:
    """One request as a handler sees it: already routed, authenticated and validated."""

    scope: Scope
    params: dict[str, t.Any]  # path parameters and the spec's query parameters, with defaults
    query: QueryParams  # the whole query string, for `filter[...]` and the like
    body: t.Any  # the decoded JSON body, or None for operations without one
    user_id: int | None  # whose credentials were sent

    @property
    def mock(self) -> mock.Mock:
        return mock.of(self.scope)

    @property
    def url(self) -> URL:
        return URL(scope=self.scope)


@dataclass(frozen=True, slots=True)
class _Plan:
    """What one operation's handler needs, read from the spec once."""

    handler: Handler
    defaults: dict[str, t.Any]  # every query parameter of the spec, with its default
    has_body: bool

    def params(self, given: validation.Params) -> dict[str, t.Any]:
        """Path and query parameters of the spec, typed, defaults filled in."""
        params = {
            name: given.typed_query.get(name, default) for name, default in self.defaults.items()
        }
        params.update(given.path)
        return params


def _plan() -> _Plan:
    """The plan of the operation being served (Connexion's `operation` context)."""
    return _Plan(
        handler=operation.function,
        defaults={
            p["name"]: p.get("schema", {}).get("default")
            for p in operation.parameters
            if p["in"] == "query"
        },
        has_body=bool(operation.request_body),
    )


def encode(body: t.Any) -> bytes:
    """JSON as Laravel writes it, without spaces; msgspec takes a tenth of the time of `json`."""
    try:
        return msgspec.json.encode(body)
    except UnicodeEncodeError:  # a lone surrogate, which a `\ud800` escape in a body can make
        return json.dumps(body, separators=(",", ":")).encode()


async def send_json(send: Send, status: int, body: t.Any, headers: dict[str, str]) -> None:
    """Answer with `body` as JSON, from any ASGI app or middleware."""
    payload = encode(body)
    raw_headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
        *(
            (name.lower().encode("latin-1"), value.encode("latin-1"))
            for name, value in headers.items()
        ),
    ]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": payload})


async def _lifespan(receive: Receive, send: Send) -> None:
    """Nothing to start or stop: the state is built before the server starts."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


class Dispatch:
    """ASGI app behind Connexion's middleware; unrouted requests get the 404 of Laravel."""

    def __init__(self) -> None:
        self.plans: dict[tuple[str, str], _Plan] = {}  # by (API base path, operation id)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] == "websocket":  # none are served; close as Starlette's router does
            await send({"type": "websocket.close", "code": 1000, "reason": ""})
            return
        # Only requests Connexion routed and checked go on. Besides unrouted ones, that leaves
        # out a path ending in a newline: Starlette's router routes it (a regex `$` matches
        # before a final newline) but Connexion's security and validation pass it by. Laravel's
        # router, whose `$` does not match there, answers it 404 too.
        if not validation.was_checked(scope):
            raise HTTPException(status_code=404)
        routed = scope["extensions"][ROUTING_CONTEXT]
        key = (routed["api_base_path"], routed["operation_id"])
        plan = self.plans.get(key)
        if plan is None:
            plan = self.plans[key] = _plan()
        given = validation.params_of(scope)
        call = Call(
            scope=scope,
            params=plan.params(given),
            query=given.query,
            body=validation.body_of(scope) if plan.has_body else None,
            user_id=context.get("user"),
        )
        answer = await plan.handler(call)
        status, headers = 200, {}
        if isinstance(answer, tuple):
            answer, status, *rest = answer
            headers = rest[0] if rest else {}
        await send_json(send, status, answer, headers)
