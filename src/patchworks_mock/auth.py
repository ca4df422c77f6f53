"""The two ways the API takes credentials; the spec's security schemes point here."""

from __future__ import annotations

import inspect
import typing as t

from connexion.exceptions import OAuthResponseProblem
from connexion.security import ApiKeySecurityHandler, BearerSecurityHandler
from connexion.utils import inspect_function_arguments

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


class _SignatureReadOnce:
    """Connexion's check around an info function, with the function's signature read once.

    Connexion reads it on every request to see whether the function takes `required_scopes`
    and `request`; here that is worked out when the operation is set up.
    """

    def _generic_check(self, func: t.Callable, exception_msg: str) -> t.Callable:
        arguments, has_kwargs = inspect_function_arguments(func)
        wanted = {
            name
            for name in (self.required_scopes_kw, self.request_kw)
            if has_kwargs or name in arguments
        }

        async def check(request, *args, required_scopes=None):
            given = {self.required_scopes_kw: required_scopes, self.request_kw: request}
            info = func(*args, **{name: given[name] for name in wanted})
            while inspect.isawaitable(info):
                info = await info
            if info is None:
                raise OAuthResponseProblem(detail=exception_msg)
            return info

        return check


class ApiKeyHandler(_SignatureReadOnce, ApiKeySecurityHandler):
    pass


class BearerHandler(_SignatureReadOnce, BearerSecurityHandler):
    pass


# Connexion's `security_map`: the scheme types the specs use, handled as above.
SECURITY_MAP = {"apiKey": ApiKeyHandler, "bearer": BearerHandler}
