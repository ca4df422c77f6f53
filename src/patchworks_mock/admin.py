"""The mock's own endpoints under `/__mock__/`: look at, replace and reset the state."""

from __future__ import annotations

from dataclasses import asdict

from patchworks_mock import errors, fixtures
from patchworks_mock.dispatch import Call
from patchworks_mock.faults import PlannedFault


async def health(call: Call) -> dict:
    return {"status": "ok"}


async def get_state(call: Call) -> dict:
    return fixtures.dump(call.mock.store)


async def put_state(call: Call) -> dict:
    current = call.mock
    try:
        current.replace(call.body)
    except fixtures.FixtureError as exc:
        problems: dict[str, list[str]] = {}
        for place, reason in exc.problems:
            problems.setdefault(place, []).append(reason)
        raise errors.Invalid(problems) from None
    return fixtures.dump(current.store)


async def reset_state(call: Call) -> dict:
    call.mock.reset()
    return {"message": "The state was reset to the fixtures loaded at start."}


async def list_requests(call: Call) -> dict:
    return {"data": call.mock.journal.find(call.params["method"], call.params["path"])}


async def clear_requests(call: Call) -> dict:
    call.mock.journal.clear()
    return {"message": "The request journal is empty."}


async def plan_fault(call: Call) -> tuple:
    planned = PlannedFault(**call.body)
    call.mock.planned_faults.append(planned)
    return asdict(planned), 201


async def clear_faults(call: Call) -> dict:
    call.mock.planned_faults.clear()
    return {"message": "No faults are planned."}
