"""The two ways the API takes credentials; the spec's security schemes point here."""

from __future__ import annotations

import typing as t

from connexion.exceptions import OAuthResponseProblem
from connexion.security import ApiKeySecurityHandler, BearerSecurityHandler

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


class _KnownKeywords:
    """Connexion's check around an info function, minus its per-request signature inspection.

    Connexion looks at the function's signature on every request to see whether it takes
    `required_scopes` and `request`; both functions above take both.
    """

    def _generic_check(self, func: t.Callable, exception_msg: str) -> t.Callable:
        async def check(request, *args, required_scopes=None):
            info = func(*args, required_scopes=required_scopes, request=request)
            if info is None:
                raise OAuthResponseProblem(detail=exception_msg)
            return info

        return check


class ApiKeyHandler(_KnownKeywords, ApiKeySecurityHandler):
    pass


class BearerHandler(_KnownKeywords, BearerSecurityHandler):
    pass


# Connexion's `security_map`: the scheme types the specs use, handled as above.
SECURITY_MAP = {"apiKey": ApiKeyHandler, "bearer": BearerHandler}
