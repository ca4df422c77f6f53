"""Hypothesis strategies for fixture records and whole documents, for property tests.

Records are fixture records (`fixtures/schema.json`), not rendered resources; a document loads
into the mock (`fixtures.load`, `create_app(document)`, `PUT /__mock__/state`). Names and notes
are strings Laravel keeps as sent (no surrounding blanks), so they also make valid request
bodies for `POST /api/v1/packages`.

    from hypothesis import given
    from patchworks_mock import strategies

    @given(strategies.documents())
    def test_something(document): ...
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from itertools import accumulate
from typing import Any

from hypothesis import strategies as st

from patchworks_mock.documents.generate import DeployRule, generate
from patchworks_mock.laravel import PHP_TRIMMED, timestamp

MAX_TEXT = 255
_EARLIEST = datetime(2000, 1, 1)
_LATEST = datetime(2099, 1, 1)
_STEP = timedelta(days=30)  # the most one record's time moves on from the one before


def timestamps(
    min_value: datetime = _EARLIEST, max_value: datetime = _LATEST
) -> st.SearchStrategy[str]:
    """Timestamps in the fixture (and Laravel) format, e.g. "2026-11-28T06:57:00.000000Z"."""
    return st.datetimes(min_value, max_value).map(timestamp)


def _stamp_pair(moment: datetime) -> st.SearchStrategy[tuple[str, str]]:
    """(created_at, updated_at) with created at `moment` and updated no earlier."""
    return st.timedeltas(timedelta(0), _STEP).map(
        lambda later: (timestamp(moment), timestamp(moment + later))
    )


def texts(max_size: int = MAX_TEXT) -> st.SearchStrategy[str]:
    """Non-blank text of at most `max_size` characters that Laravel's trimming leaves alone."""
    return (
        st.text(st.characters(codec="utf-8"), min_size=1, max_size=max_size)
        .map(lambda text: text.strip(PHP_TRIMMED))
        .filter(bool)
    )


def package_names() -> st.SearchStrategy[str]:
    """Valid package names: 1..255 characters, no surrounding blanks."""
    return texts()


def package_notes() -> st.SearchStrategy[str | None]:
    """Valid package notes: null, or 1..255 characters with no surrounding blanks."""
    return st.none() | texts()


@st.composite
def flow_versions(
    draw: st.DrawFn,
    flow_ids: Sequence[int] = (),
    ids: st.SearchStrategy[int] | None = None,
) -> dict:
    """A flow version record of one of `flow_ids` (any positive id when empty)."""
    flow_id = draw(st.sampled_from(flow_ids) if flow_ids else st.integers(1, 10**9))
    created, updated = draw(st.datetimes(_EARLIEST, _LATEST).flatmap(_stamp_pair))
    return {
        "id": draw(st.integers(1, 10**9) if ids is None else ids),
        "flow_id": flow_id,
        "iteration": draw(st.integers(1, 1000)),
        "created_at": created,
        "updated_at": updated,
    }


@st.composite
def packages(
    draw: st.DrawFn,
    versions: Sequence[dict] = (),
    user_ids: Sequence[int] = (),
    ids: st.SearchStrategy[int] | None = None,
    max_members: int = 6,
) -> dict:
    """A package record holding some of `versions`, at most one per flow, as the store allows.

    `versions` are flow version records (at least `id` and `flow_id`); `created_by_id` is one
    of `user_ids` or null.
    """
    by_flow: dict[int, list[dict]] = {}
    for version in versions:
        by_flow.setdefault(version["flow_id"], []).append(version)
    flows = draw(
        st.lists(st.sampled_from(sorted(by_flow)), unique=True, max_size=max_members)
        if by_flow
        else st.just([])
    )
    members = [
        {
            "flow_version_id": draw(st.sampled_from(by_flow[flow_id]))["id"],
            "priority": draw(st.integers(1, 100)),
        }
        for flow_id in flows
    ]
    created, updated = draw(st.datetimes(_EARLIEST, _LATEST).flatmap(_stamp_pair))
    return {
        "id": draw(st.integers(1, 10**9) if ids is None else ids),
        "name": draw(package_names()),
        "notes": draw(package_notes()),
        "created_by_id": draw(st.sampled_from([None, *user_ids])),
        "created_at": created,
        "updated_at": updated,
        "flow_versions": members,
    }


class _Clock:
    """Hands out times that never go back, so that every document's history is consistent."""

    def __init__(self, draw: st.DrawFn) -> None:
        self.draw = draw
        self.now = draw(st.datetimes(datetime(2020, 1, 1), datetime(2030, 1, 1)))

    def tick(self) -> datetime:
        self.now += self.draw(st.timedeltas(timedelta(0), _STEP))
        return self.now

    def stamps(self) -> tuple[str, str]:
        created = self.tick()
        later = created + self.draw(st.timedeltas(timedelta(0), _STEP))
        return timestamp(created), timestamp(later)


def _ids(draw: st.DrawFn, count: int) -> list[int]:
    """`count` increasing ids, with gaps, as a database that has deleted rows gives them."""
    start = draw(st.integers(1, 50))
    gaps = draw(st.lists(st.integers(1, 3), min_size=count, max_size=count))
    return list(accumulate(gaps[1:], initial=start)) if count else []


@st.composite
def documents(
    draw: st.DrawFn,
    max_users: int = 3,
    max_flows: int = 4,
    max_versions_per_flow: int = 3,
    max_environments: int = 3,
    max_packages: int = 5,
    max_deployments: int = 6,
) -> dict:
    """A whole fixture document that loads, with deployments made by the store's deploy rule.

    Edge cases included: no users (null authors), empty packages, any unicode names, priorities
    1..100, a package's VE removed after deploys (its deployment records are forgotten and
    their flow version deployments keep a null `deployment_id`, as the store leaves them).
    """
    clock = _Clock(draw)
    user_ids = _ids(draw, draw(st.integers(0, max_users)))
    users = []
    for user_id in user_ids:
        created, updated = clock.stamps()
        users.append(
            {
                "id": user_id,
                "name": draw(texts()),
                "email": f"user{user_id}@example.com",
                "password": draw(st.text(max_size=20)),
                "created_at": created,
                "updated_at": updated,
            }
        )
    environments: list[dict[str, Any]] = []
    for environment_id in _ids(draw, draw(st.integers(0, max_environments))):
        created, updated = clock.stamps()
        environments.append(
            {
                "id": environment_id,
                "name": draw(texts()),
                "type": draw(st.sampled_from(["test", "live"])),
                "created_at": created,
                "updated_at": updated,
            }
        )
    flows: list[dict[str, Any]] = []
    versions: list[dict[str, Any]] = []
    version_ids = iter(_ids(draw, max_flows * max_versions_per_flow))
    for flow_id in _ids(draw, draw(st.integers(0, max_flows))):
        flow_created = timestamp(clock.tick())
        for iteration in range(1, draw(st.integers(1, max_versions_per_flow)) + 1):
            created, updated = clock.stamps()
            versions.append(
                {
                    "id": next(version_ids),
                    "flow_id": flow_id,
                    "iteration": iteration,
                    "created_at": created,
                    "updated_at": updated,
                }
            )
        flows.append(
            {
                "id": flow_id,
                "name": draw(texts()),
                "created_at": flow_created,
                "updated_at": versions[-1]["updated_at"],
            }
        )
    records = []
    for package_id in _ids(draw, draw(st.integers(0, max_packages))):
        record = draw(packages(versions, user_ids, ids=st.just(package_id)))
        record["created_at"], record["updated_at"] = clock.stamps()
        records.append(record)
    rule = DeployRule()
    flow_of = {version["id"]: version["flow_id"] for version in versions}
    deployable = [record for record in records if record["flow_versions"]]
    if deployable and environments:
        for _ in range(draw(st.integers(0, max_deployments))):
            package = draw(st.sampled_from(deployable))
            rule.deploy(
                package_id=package["id"],
                environment_id=draw(st.sampled_from(environments))["id"],
                versions=[
                    (m["flow_version_id"], flow_of[m["flow_version_id"]])
                    for m in package["flow_versions"]
                ],
                user_id=draw(st.sampled_from([None, *user_ids])),
                notes=draw(st.none() | st.text(max_size=50)),
                at=timestamp(clock.tick()),
            )
    deployments, flow_version_deployments = rule.records()
    pairs = sorted({(d["package_id"], d["virtual_environment_id"]) for d in deployments})
    removed = set(draw(st.lists(st.sampled_from(pairs), unique=True))) if pairs else set()
    forgotten = {
        d["id"] for d in deployments if (d["package_id"], d["virtual_environment_id"]) in removed
    }
    for fvd in flow_version_deployments:
        if fvd["deployment_id"] in forgotten:
            fvd["deployment_id"] = None
    return {
        "users": users,
        "flows": flows,
        "flow_versions": versions,
        "virtual_environments": environments,
        "packages": records,
        "deployments": [d for d in deployments if d["id"] not in forgotten],
        "flow_version_deployments": flow_version_deployments,
    }


def generated_documents(
    max_users: int = 4,
    max_flows: int = 6,
    max_versions_per_flow: int = 3,
    max_environments: int = 3,
    max_packages: int = 8,
) -> st.SearchStrategy[dict]:
    """Realistic documents from `generate` (Faker names and notes) over seeds and sizes."""
    return st.builds(
        generate,
        seed=st.integers(0, 2**32 - 1),
        users=st.integers(0, max_users),
        flows=st.integers(0, max_flows),
        versions_per_flow=st.integers(1, max_versions_per_flow),
        environments=st.integers(0, max_environments),
        packages=st.integers(0, max_packages),
        deployed_ratio=st.floats(0, 1),
    )
