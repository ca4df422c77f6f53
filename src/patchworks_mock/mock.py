"""One running mock: its store, the fixtures it resets to, the keys and tokens it accepts."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field

from starlette.types import ASGIApp, Receive, Scope, Send

from patchworks_mock import fixtures
from patchworks_mock.journal import RequestJournal
from patchworks_mock.store import Store

DEVELOPMENT_KEY = "patchworks-mock-key"
TOKEN_LIFETIME = 86400  # seconds, as the real login answers in `expires_in`
_SCOPE_KEY = "patchworks_mock"


@dataclass
class Mock:
    initial: dict | fixtures.Document | fixtures.FixtureFile  # the start state
    api_keys: frozenset[str]
    source: str = "<document>"  # where a dict `initial` came from, for error messages
    store: Store = None  # type: ignore[assignment]  # loaded from `initial` unless given
    tokens: dict[str, tuple[int, float]] = field(default_factory=dict)
    journal: RequestJournal = field(default_factory=RequestJournal)
    planned_faults: list = field(default_factory=list)  # of faults.PlannedFault

    def __post_init__(self) -> None:
        if isinstance(self.initial, dict):
            self.initial = fixtures.Document(self.initial, self.source)
        if self.store is None:
            self.store = self.initial.store()
        else:
            self.initial.check()  # a reset must be able to go back: refuse a bad start now

    def sandbox(self) -> Mock:
        """A fresh copy of the start state with the same keys, tokens and journal size."""
        return Mock(
            initial=self.initial,
            api_keys=self.api_keys,
            source=self.source,
            tokens=self.tokens,
            journal=RequestJournal(self.journal.entries.maxlen or 0),
        )

    def reset(self) -> None:
        self.store = self.initial.store()

    def replace(self, document: dict, source: str = "request body") -> None:
        """Load a new state; a bad document raises `FixtureError` and changes nothing."""
        self.store = fixtures.load(document, source)

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
    """ASGI middleware that hands every request the mock it is served by.

    With `isolate_keys`, each accepted credential gets its own sandbox, made from the start
    state on first use; anything else is served by the shared mock (and refused there).
    """

    def __init__(self, app: ASGIApp, mock: Mock, isolate_keys: bool = False) -> None:
        self.app = app
        self.mock = mock
        self.sandboxes: dict[str, Mock] | None = {} if isolate_keys else None

    def _choose(self, scope: Scope) -> Mock:
        if self.sandboxes is None:
            return self.mock
        credential = next(
            (v.decode("latin-1").strip() for k, v in scope["headers"] if k == b"authorization"),
            "",
        )
        token = credential[7:].strip() if credential[:7].lower() == "bearer " else None
        if token is not None:
            known = self.mock.token_user(token) is not None
        else:
            known = credential in self.mock.api_keys
        if not known:
            return self.mock
        if credential not in self.sandboxes:
            self.sandboxes[credential] = self.mock.sandbox()
        return self.sandboxes[credential]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope[_SCOPE_KEY] = self._choose(scope)
        await self.app(scope, receive, send)
