"""The two ways the API takes credentials; the specs' security schemes name these functions.

Connexion's security middleware calls them with the credential it read and the request (see
`connexion_internals`, A7); an answer of None is Laravel's 401. Both read the credential again
with `credentials.identify`, Laravel's reading (a second `Authorization` header, a `bearer`
scheme word in lower case, the token after the last `Bearer `), which the sandbox choice and
the throttle share; what Connexion read is not used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from patchworks_mock import credentials, instance

if TYPE_CHECKING:  # connexion is imported by connexion_internals first (its A9)
    from connexion.lifecycle import ConnexionRequest


def _info(request: ConnexionRequest) -> dict[str, Any] | None:
    identity = credentials.identify(request.scope, instance.serving(request.scope))
    return None if identity is None else {"sub": identity.user_id}


def api_key_info(apikey: str, request: ConnexionRequest) -> dict[str, Any] | None:
    """`Authorization: <api-key>`: one of the keys the mock was started with (or a token)."""
    return _info(request)


def bearer_info(token: str, request: ConnexionRequest) -> dict[str, Any] | None:
    """`Authorization: Bearer <token>`: a token from `POST /fabric/api/login`."""
    return _info(request)
