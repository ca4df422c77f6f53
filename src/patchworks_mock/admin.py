"""The mock's own endpoints under `/__mock__/`: look at, replace and reset the state."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from patchworks_mock import errors, fixtures
from patchworks_mock.dispatch import Call
from patchworks_mock.faults import PlannedFault


async def health(call: Call) -> dict[str, Any]:
    return {"status": "ok"}


async def get_state(call: Call) -> dict[str, Any]:
    return fixtures.dump(call.instance.store)


async def put_state(call: Call) -> dict[str, Any]:
    current = call.instance
    try:
        current.replace(call.body)
    except fixtures.FixtureError as exc:
        problems: dict[str, list[str]] = {}
        for place, reason in exc.problems:
            problems.setdefault(place, []).append(reason)
        raise errors.Invalid(problems) from None
    return fixtures.dump(current.store)


async def reset_state(call: Call) -> dict[str, Any]:
    call.instance.reset()
    return {"message": errors.STATE_RESET}


async def list_requests(call: Call) -> dict[str, Any]:
    return {"data": call.instance.journal.find(call.params["method"], call.params["path"])}


async def clear_requests(call: Call) -> dict[str, Any]:
    call.instance.journal.clear()
    return {"message": errors.JOURNAL_CLEARED}


async def plan_fault(call: Call) -> tuple[dict[str, Any], int]:
    planned_faults = call.instance.planned_faults
    limit = call.instance.limits.max_planned_faults
    if len(planned_faults) >= limit:
        raise errors.too_many_planned_faults(limit)
    planned = PlannedFault(**call.body)
    planned_faults.append(planned)
    return asdict(planned), 201


async def clear_faults(call: Call) -> dict[str, Any]:
    call.instance.planned_faults.clear()
    return {"message": errors.FAULTS_CLEARED}
