"""One running mock: its store, the fixtures it resets to, the keys and tokens it accepts."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field

from starlette.types import ASGIApp, Receive, Scope, Send

from patchworks_mock import fixtures
from patchworks_mock.store import Store

DEVELOPMENT_KEY = "patchworks-mock-key"
TOKEN_LIFETIME = 86400  # seconds, as the real login answers in `expires_in`
_SCOPE_KEY = "patchworks_mock"


@dataclass
class Mock:
    initial: dict
    api_keys: frozenset[str]
    source: str = "<document>"  # where `initial` came from, for error messages
    store: Store = None  # type: ignore[assignment]  # loaded from `initial` unless given
    tokens: dict[str, tuple[int, float]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.store is None:
            self.store = fixtures.load(self.initial, self.source)

    def reset(self) -> None:
        self.store = fixtures.load(self.initial, self.source)

    def replace(self, document: dict) -> None:
        """Load a new state; a bad document raises `FixtureError` and changes nothing."""
        self.store = fixtures.load(document, "request body")

    def issue_token(self, user_id: int) -> str:
        token = secrets.token_urlsafe(32)
        self.tokens[token] = (user_id, time.monotonic() + TOKEN_LIFETIME)
        return token

    def token_user(self, token: str) -> int | None:
        user_id, expires = self.tokens.get(token, (None, 0.0))
        if user_id is None or time.monotonic() > expires or user_id not in self.store.users:
            return None
        return user_id


def of(scope: Scope) -> Mock:
    return scope[_SCOPE_KEY]


class Attach:
    """ASGI middleware that hands every request the mock it is served by."""

    def __init__(self, app: ASGIApp, mock: Mock) -> None:
        self.app = app
        self.mock = mock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope[_SCOPE_KEY] = self.mock
        await self.app(scope, receive, send)
