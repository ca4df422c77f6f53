"""The mock's own endpoints under `/__mock__/`: look at, replace and reset the state."""

from __future__ import annotations

from connexion import request

from patchworks_mock import errors, fixtures, mock


async def health() -> dict:
    return {"status": "ok"}


async def get_state() -> dict:
    return fixtures.dump(mock.of(request.scope).store)


async def put_state(body: object) -> dict:
    current = mock.of(request.scope)
    try:
        current.replace(body)
    except fixtures.FixtureError as exc:
        problems: dict[str, list[str]] = {}
        for place, reason in exc.problems:
            problems.setdefault(place, []).append(reason)
        raise errors.Invalid(problems) from None
    return fixtures.dump(current.store)


async def reset_state() -> dict:
    mock.of(request.scope).reset()
    return {"message": "The state was reset to the fixtures loaded at start."}
