"""The one reading of a request's credential: the auth checks, the sandbox choice and the
throttle key all ask `identify`, so that they never disagree about who is calling.

As Laravel reads `Authorization` (see the README's assumptions):
- an API key is the whole header, sent raw;
- a bearer token is `Request::bearerToken()` of Laravel 11.34+: the text after the last
  `Bearer ` (the scheme word in any case), cut at the first `,`;
- two `Authorization` headers reach PHP joined as `"a, b"`, which no key or token matches:
  such a request has no credential (401), whatever either header holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from starlette.types import Scope

    from patchworks_mock.instance import MockInstance

_BEARER = b"bearer "


def authorization(scope: Scope) -> str | None:
    """The request's one `Authorization` header; None when it is missing or sent twice."""
    found = [value for name, value in scope["headers"] if name == b"authorization"]
    if len(found) != 1:  # ASGI header names are lower case
        return None
    return bytes(found[0]).decode("latin-1")


def bearer_token(header: str) -> str | None:
    """Laravel's `Request::bearerToken()` (11.34+) of an `Authorization` header."""
    raw = header.encode("latin-1")
    at = raw.lower().rfind(_BEARER)  # bytes.lower() folds ASCII letters only, as strripos
    if at < 0:
        return None
    return raw[at + len(_BEARER) :].split(b",", 1)[0].decode("latin-1")


@dataclass(frozen=True, slots=True)
class Identity:
    """An accepted credential: the user it acts as, and a name for it that is the same however
    the credential was spelt (`Bearer T`, `bearer T`)."""

    user_id: int | None  # None: an API key on an account with no users
    name: str
    token: str | None = None  # the bearer token, when the credential is one

    @property
    def credential(self) -> str:
        """The API key or the bearer token itself, as `name` holds it."""
        return self.name.partition(" ")[2]


def identify(scope: Scope, serving: MockInstance) -> Identity | None:
    """Who the request's credential names on `serving`; None if it names no one."""
    header = authorization(scope)
    if header is None:
        return None
    if serving.any_credential:
        token = bearer_token(header)
        credential = header if token is None else token
        return Identity(None, f"key {credential}") if credential.strip() else None
    if header in serving.api_keys:
        return Identity(serving.store.acting_user_id(), f"key {header}")
    token = bearer_token(header)
    if token is not None:
        user_id = serving.token_user(token)
        if user_id is not None:
            return Identity(user_id, f"token {token}", token)
    return None
