"""One running mock: its store, the start state it resets to, the credentials it accepts, its
request journal and planned faults.

Every request is served by one instance: the shared one, or with `--isolate-keys` the sandbox
of its credential (see `middleware.ChooseSandbox`), which is an instance too.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import Any, cast

from starlette.types import Scope

from patchworks_mock import fixtures
from patchworks_mock.faults import PlannedFault
from patchworks_mock.request_journal import RequestJournal
from patchworks_mock.store import Store

DEVELOPMENT_KEY = "patchworks-mock-key"
TOKEN_LIFETIME = 86400  # seconds, as the real login answers in `expires_in`
_SCOPE_KEY = "patchworks_mock.instance"


@dataclass
class MockInstance:
    initial: fixtures.Document | fixtures.FixtureFile  # the start state
    store: Store
    api_keys: frozenset[str]
    tokens: dict[str, tuple[int, float]] = field(default_factory=dict)
    journal: RequestJournal = field(default_factory=RequestJournal)
    planned_faults: list[PlannedFault] = field(default_factory=list)

    def sandbox(self) -> MockInstance:
        """A fresh copy of the start state with the same keys, tokens and journal size."""
        return MockInstance(
            initial=self.initial,
            store=self.initial.store(),
            api_keys=self.api_keys,
            tokens=self.tokens,
            journal=RequestJournal(self.journal.size),
        )

    def reset(self) -> None:
        """Back to the start state."""
        self.store = self.store.replaced_by(self.initial.store())

    def replace(self, document: dict[str, Any], source: str = "request body") -> None:
        """Load a new state; a bad document raises `FixtureError` and changes nothing."""
        self.store = self.store.replaced_by(fixtures.load(document, source))

    def issue_token(self, user_id: int) -> str:
        token = secrets.token_urlsafe(32)
        self.tokens[token] = (user_id, time.monotonic() + TOKEN_LIFETIME)
        return token

    def token_user(self, token: str) -> int | None:
        user_id, expires = self.tokens.get(token, (None, 0.0))
        if user_id is None or time.monotonic() > expires or user_id not in self.store.users:
            return None
        return user_id


def attach(scope: Scope, instance: MockInstance) -> None:
    """Make `instance` the one that serves this request."""
    scope[_SCOPE_KEY] = instance


def serving(scope: Scope) -> MockInstance:
    """The instance that serves this request."""
    return cast(MockInstance, scope[_SCOPE_KEY])
