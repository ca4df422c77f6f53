"""The two ways the API takes credentials; the spec's security schemes point here."""

from __future__ import annotations

import inspect

from patchworks_mock import mock


def api_key_info(apikey: str, required_scopes=None, request=None) -> dict | None:
    """`Authorization: <api-key>`: one of the keys the mock was started with."""
    current = mock.of(request.scope)
    if apikey not in current.api_keys:
        return None
    return {"sub": current.store.acting_user_id()}


def bearer_info(token: str, required_scopes=None, request=None) -> dict | None:
    """`Authorization: Bearer <token>`: a token from `POST /fabric/api/login`."""
    user_id = mock.of(request.scope).token_user(token)
    return None if user_id is None else {"sub": user_id}


# Connexion asks for these functions' signatures on every request; `inspect.signature` returns
# a function's `__signature__` as it is instead of working it out again each time.
for _check in (api_key_info, bearer_info):
    _check.__signature__ = inspect.signature(_check)  # type: ignore[attr-defined]
