"""The innermost ASGI app: call the handler of the operation Connexion routed to, answer JSON.

By the time a request gets here Connexion's middleware has matched its route, checked its
credentials and validated (and trimmed) its parameters and body against the spec. What is left
is what Connexion's own app layer would do: hand the handler its inputs and write its answer.
That layer builds its parameter-injecting decorators anew on every request, which cost more
than the rest of a request together; this one works out once per operation what to pass.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass

from starlette.datastructures import URL, QueryParams
from starlette.types import Receive, Scope, Send

from patchworks_mock import connexion_internals, errors, validation
from patchworks_mock.instance import MockInstance, serving
from patchworks_mock.responses import send_error, send_json

# What a handler returns: a body, or (body, status), or (body, status, headers).
Answer = (
    dict[str, t.Any] | tuple[dict[str, t.Any], int] | tuple[dict[str, t.Any], int, dict[str, str]]
)
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
    def instance(self) -> MockInstance:
        """The running instance that serves this request (its sandbox, with isolated keys)."""
        return serving(self.scope)

    @property
    def url(self) -> URL:
        return URL(scope=self.scope)


@dataclass(frozen=True, slots=True)
class _Plan:
    """What one operation's handler needs, read from the spec once."""

    handler: Handler
    defaults: dict[str, t.Any]  # every query parameter of the spec, with its default
    has_body: bool

    def params(self, given: connexion_internals.Params) -> dict[str, t.Any]:
        """Path and query parameters of the spec, typed, defaults filled in."""
        params = {
            name: given.typed_query.get(name, default) for name, default in self.defaults.items()
        }
        params.update(given.path)
        return params


def _plan() -> _Plan:
    """The plan of the operation being served."""
    served = connexion_internals.current_operation()
    return _Plan(served.function, served.query_defaults, served.has_body)


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
        if not connexion_internals.was_checked(scope):
            # URL() reads the path as Laravel's router does: without a final newline.
            path = URL(scope=scope).path
            await send_error(send, errors.NotFound(errors.route_not_found(path)))
            return
        key = connexion_internals.routed_operation(scope)
        plan = self.plans.get(key)
        if plan is None:
            plan = self.plans[key] = _plan()
        given = connexion_internals.params_of(scope)
        call = Call(
            scope=scope,
            params=plan.params(given),
            query=given.query,
            body=validation.body_of(scope) if plan.has_body else None,
            user_id=connexion_internals.authenticated_user(),
        )
        answer = await plan.handler(call)
        status, headers = 200, {}
        if isinstance(answer, tuple):
            answer, status, *rest = answer
            headers = rest[0] if rest else {}
        await send_json(send, status, answer, headers)
