"""The mock's own endpoints under `/__mock__/`: look at, replace and reset the state."""

from __future__ import annotations

from dataclasses import asdict

from connexion import request

from patchworks_mock import errors, fixtures, mock
from patchworks_mock.faults import PlannedFault


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


async def list_requests(method: str | None = None, path: str | None = None) -> dict:
    return {"data": mock.of(request.scope).journal.find(method, path)}


async def clear_requests() -> dict:
    mock.of(request.scope).journal.clear()
    return {"message": "The request journal is empty."}


async def plan_fault(body: dict) -> tuple:
    planned = PlannedFault(**body)
    mock.of(request.scope).planned_faults.append(planned)
    return asdict(planned), 201


async def clear_faults() -> dict:
    mock.of(request.scope).planned_faults.clear()
    return {"message": "No faults are planned."}
