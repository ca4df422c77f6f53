"""The two ways the API takes credentials; the specs' security schemes name these functions.

Connexion's security middleware calls them with the credential and the request (see
`connexion_internals`, A7); an answer of None is Laravel's 401.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from patchworks_mock import instance

if TYPE_CHECKING:  # connexion is imported by connexion_internals first (its A9)
    from connexion.lifecycle import ConnexionRequest


def api_key_info(apikey: str, request: ConnexionRequest) -> dict[str, Any] | None:
    """`Authorization: <api-key>`: one of the keys the mock was started with."""
    serving = instance.serving(request.scope)
    if apikey not in serving.api_keys:
        return None
    return {"sub": serving.store.acting_user_id()}


def bearer_info(token: str, request: ConnexionRequest) -> dict[str, Any] | None:
    """`Authorization: Bearer <token>`: a token from `POST /fabric/api/login`."""
    user_id = instance.serving(request.scope).token_user(token)
    return None if user_id is None else {"sub": user_id}
