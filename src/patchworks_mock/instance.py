"""One running mock: its store, the start state it resets to, the credentials it accepts, its
request journal and planned faults.

Every request is served by one instance: the shared one, or with `--isolate-keys` the sandbox
of its credential (see `middleware.ChooseSandbox`), which is an instance too.
"""

from __future__ import annotations

import math
import secrets
import time
from dataclasses import dataclass, field
from typing import Any, cast

from starlette.types import Scope

from patchworks_mock import errors, fixtures, request_journal
from patchworks_mock.faults import PlannedFault
from patchworks_mock.request_journal import RequestJournal
from patchworks_mock.store import Store

DEVELOPMENT_KEY = "patchworks-mock-key"
TOKEN_LIFETIME = 86400  # seconds, as the real login answers in `expires_in`
_SCOPE_KEY = "patchworks_mock.instance"


@dataclass(frozen=True)
class Limits:
    """How much a client may send or make the mock keep (README "Limits"; `serve` flags)."""

    max_header_bytes: int = 16 * 1024  # all header lines of a request: 431 past it
    max_body_bytes: int = 8 * 1024 * 1024  # PHP's post_max_size 8M: 413 past it
    max_target_bytes: int = 8 * 1024  # path and query, as nginx's buffers: 414 past it
    max_query_keys: int = 1000  # PHP's max_input_vars: the rest are dropped
    journal_bytes: int = request_journal.DEFAULT_BYTES  # per journal: the oldest forgotten
    max_sandboxes: int = 100  # with --isolate-keys: 503 with Retry-After past it
    max_tokens: int = 10_000  # live login tokens: 503 with Retry-After past it
    max_planned_faults: int = 100  # per instance: 422 past it


@dataclass
class MockInstance:
    initial: fixtures.Document | fixtures.FixtureFile  # the start state
    store: Store
    api_keys: frozenset[str]
    tokens: dict[str, tuple[int, float]] = field(default_factory=dict)
    journal: RequestJournal = field(default_factory=RequestJournal)
    planned_faults: list[PlannedFault] = field(default_factory=list)
    limits: Limits = field(default_factory=Limits)
    owns_store: bool = True  # False: `store` is shared, read-only, until `own_store()`
    # The proxy's request gate: any credential is one, as whether it is valid is the
    # upstream's to say (`credentials.identify`).
    any_credential: bool = False

    def sandbox(self, start: Store | None = None) -> MockInstance:
        """A sandbox with the same keys, tokens and limits, in the start state: reading
        `start` (a store in the start state shared by sandboxes, which must not be written)
        until its first write, or its own new store."""
        return MockInstance(
            initial=self.initial,
            store=start if start is not None else self.initial.store(),
            api_keys=self.api_keys,
            tokens=self.tokens,
            journal=RequestJournal(self.journal.size, self.journal.max_bytes),
            limits=self.limits,
            owns_store=start is None,
        )

    def own_store(self) -> None:
        """Before a request that may write: a store of this instance's own (copy on write)."""
        if not self.owns_store:
            self.store = self.initial.store()
            self.owns_store = True

    def reset(self) -> None:
        """Back to the start state."""
        self.store = self.store.replaced_by(self.initial.store())

    def replace(self, document: dict[str, Any], source: str = "request body") -> None:
        """Load a new state; a bad document raises `FixtureError` and changes nothing."""
        self.store = self.store.replaced_by(fixtures.load(document, source))

    def issue_token(self, user_id: int) -> str:
        """A new token for `user_id`; expired tokens are forgotten first, and past
        `limits.max_tokens` live ones the answer is 503 with `Retry-After`."""
        now = time.monotonic()
        # Tokens are kept in the order they were issued, which (all living as long) is the
        # order they expire in: the expired ones are at the front.
        while self.tokens:
            oldest = next(iter(self.tokens))
            if self.tokens[oldest][1] > now:
                break
            del self.tokens[oldest]
        if len(self.tokens) >= self.limits.max_tokens:
            first_expiry = self.tokens[next(iter(self.tokens))][1]
            raise errors.too_many_tokens(max(1, math.ceil(first_expiry - now)))
        token = secrets.token_urlsafe(32)
        self.tokens[token] = (user_id, now + TOKEN_LIFETIME)
        return token

    def token_expiry(self, token: str) -> float | None:
        """When `token` expires (`time.monotonic()`), if it was issued."""
        known = self.tokens.get(token)
        return None if known is None else known[1]

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
