"""The mock's own endpoints under `/__mock__/`: look at, replace and reset the state."""

from __future__ import annotations

from dataclasses import asdict

from patchworks_mock import errors, fixtures
from patchworks_mock.dispatch import Call
from patchworks_mock.faults import PlannedFault


async def health(call: Call) -> dict:
    return {"status": "ok"}


async def get_state(call: Call) -> dict:
    return fixtures.dump(call.instance.store)


async def put_state(call: Call) -> dict:
    current = call.instance
    try:
        current.replace(call.body)
    except fixtures.FixtureError as exc:
        problems: dict[str, list[str]] = {}
        for place, reason in exc.problems:
            problems.setdefault(place, []).append(reason)
        raise errors.Invalid(problems) from None
    return fixtures.dump(current.store)


async def reset_state(call: Call) -> dict:
    call.instance.reset()
    return {"message": errors.STATE_RESET}


async def list_requests(call: Call) -> dict:
    return {"data": call.instance.journal.find(call.params["method"], call.params["path"])}


async def clear_requests(call: Call) -> dict:
    call.instance.journal.clear()
    return {"message": errors.JOURNAL_CLEARED}


async def plan_fault(call: Call) -> tuple:
    planned = PlannedFault(**call.body)
    call.instance.planned_faults.append(planned)
    return asdict(planned), 201


async def clear_faults(call: Call) -> dict:
    call.instance.planned_faults.clear()
    return {"message": errors.FAULTS_CLEARED}
