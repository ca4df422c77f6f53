"""The rows of the mock's state, named as the fixture document names them.

msgspec decodes fixture files straight into these (`documents/loading.py`), and the store
keeps them. Rows are never changed in place: a write stages new rows
(`msgspec.structs.replace`), so that a write that cannot be saved leaves every row as it was.
"""

from __future__ import annotations

from typing import Any, Literal, get_args

import msgspec

COLLECTIONS = (
    "users",
    "flows",
    "flow_versions",
    "virtual_environments",
    "packages",
    "deployments",
    "flow_version_deployments",
)
# A flow version deployment's status; msgspec decodes each as one of these two objects.
Status = Literal["deployed", "inactive"]
DEPLOYED: Status
INACTIVE: Status
DEPLOYED, INACTIVE = get_args(Status)
DRAFT = "draft"  # a flow version's status when it has no flow version deployment

# JSON Schema's integers include 1.0, which loading reads as 1: ids and numbers are ints.
Integer = int


class _Record(msgspec.Struct, gc=False):
    """A row, named as the fixture document names it, so that msgspec decodes files into rows.

    Rows hold only strings, numbers and dicts of numbers, never each other, so the cycle
    collector need not track them: less memory, and nothing for its passes to walk. Each class
    is keyword-only, so that the fields a document may leave out have defaults in place.
    """


class User(_Record, kw_only=True):
    id: Integer
    name: str
    email: str
    password: str
    created_at: str
    updated_at: str


class Flow(_Record, kw_only=True):
    id: Integer
    name: str
    created_at: str
    updated_at: str


class FlowVersion(_Record, kw_only=True):
    id: Integer
    flow_id: Integer
    iteration: Integer
    created_at: str
    updated_at: str


class VirtualEnvironment(_Record, kw_only=True):
    id: Integer
    name: str
    type: str
    created_at: str
    updated_at: str


class Package(_Record, kw_only=True):
    id: Integer
    name: str
    notes: str | None = None
    created_by_id: Integer | None = None
    created_at: str
    updated_at: str
    first_deployed_at: str | None = None
    # flow version id -> priority, in the order the versions were added
    members: dict[Integer, Integer] = msgspec.field(default_factory=dict)


class Deployment(_Record, kw_only=True):
    """A package deployed to a virtual environment: who, when, with which notes."""

    id: Integer
    package_id: Integer
    virtual_environment_id: Integer
    user_id: Integer | None = None
    notes: str | None = None
    created_at: str
    updated_at: str


class FlowVersionDeployment(_Record, kw_only=True):
    """A flow version put into a virtual environment; `deployed` until a newer one replaces it."""

    id: Integer
    flow_version_id: Integer
    virtual_environment_id: Integer
    deployment_id: Integer | None = None
    status: Status
    deployed_by: Integer | None = None
    created_at: str
    updated_at: str


Record = (
    User | Flow | FlowVersion | VirtualEnvironment | Package | Deployment | FlowVersionDeployment
)


def as_record(record: Record) -> dict[str, Any]:
    """A record in the fixture document's form (a package lists its flow versions)."""
    fields = msgspec.structs.asdict(record)
    if isinstance(record, Package):
        members = fields.pop("members")
        fields["flow_versions"] = [
            {"flow_version_id": fv, "priority": priority} for fv, priority in members.items()
        ]
    return fields
