"""The proxy's own endpoints under `/__mock__/`, behind its own keys (as `serve` takes them):
`GET /__mock__/health`, and the journal of exchanges with their verdicts,
`GET /__mock__/requests` (oldest first) and `DELETE /__mock__/requests`. They are never
forwarded to the upstream."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.types import Receive, Scope, Send

from patchworks_mock import credentials, errors
from patchworks_mock.proxy.journal import Journal
from patchworks_mock.responses import send_error, send_json

PREFIX = "/__mock__"
ROUTES = {"/health": ("GET",), "/requests": ("GET", "DELETE")}


class ProxyAdmin:
    """Answers requests under `PREFIX`; `status()` is the health answer's counts."""

    def __init__(
        self, keys: frozenset[str], journal: Journal, status: Callable[[], dict[str, Any]]
    ) -> None:
        self.keys = keys
        self.journal = journal
        self.status = status

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope["path"][len(PREFIX) :]
        if credentials.authorization(scope) not in self.keys:
            await send_error(send, errors.Unauthenticated(errors.UNAUTHENTICATED))
            return
        methods = ROUTES.get(path)
        method = scope["method"]
        if methods is None:
            await send_error(send, errors.NotFound(errors.route_not_found(scope["path"])))
        elif method not in methods:
            allowed = list(methods)
            await send_error(
                send,
                errors.MethodNotAllowed(
                    errors.method_not_allowed(method, scope["path"], allowed),
                    {"Allow": ", ".join(allowed)},
                ),
            )
        elif path == "/health":
            await send_json(send, 200, {"status": "ok", **self.status()})
        elif method == "GET":
            await send_json(send, 200, {"data": self.journal.as_json()})
        else:
            self.journal.clear()
            await send_json(send, 200, {"message": errors.JOURNAL_CLEARED})
