"""The fixture document: check it, load it into a `Store`, and write a store back out.

A document is one JSON object of record lists (see `fixtures/schema.json`). Checking reports
every problem at once, each with its JSON path, so that a user fixes a file in one pass.
`generate` (re-exported from `patchworks_mock.generate`) makes seeded documents of any size.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict
from functools import cache
from pathlib import Path
from typing import BinaryIO

import jsonschema
import jsonschema_rs

from patchworks_mock import paths
from patchworks_mock.generate import generate
from patchworks_mock.store import (
    COLLECTIONS,
    DEFAULT_PRIORITY,
    DEPLOYED,
    Deployment,
    Flow,
    FlowVersion,
    FlowVersionDeployment,
    Package,
    Store,
    User,
    VirtualEnvironment,
)

__all__ = [
    "COLLECTIONS",
    "FixtureError",
    "UnreadableFixture",
    "dump",
    "generate",
    "load",
    "load_file",
    "problems",
    "read",
    "to_json",
    "write_json",
]


class FixtureError(Exception):
    """A document that cannot be loaded; `problems` are (JSON path, reason) pairs."""

    def __init__(self, source: str, problems: list[tuple[str, str]]) -> None:
        self.source = source
        self.problems = problems
        first_place, first_reason = problems[0]
        more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
        super().__init__(f"{source}: {first_place}: {first_reason}{more}")

    def lines(self) -> list[str]:
        return [f"{self.source}: {place}: {reason}" for place, reason in self.problems]


class UnreadableFixture(FixtureError):
    """The file itself could not be read (missing, a directory, no permission, not UTF-8)."""


@cache
def _schema() -> dict:
    return json.loads(paths.FIXTURE_SCHEMA.read_text(encoding="utf-8"))


@cache
def _validator() -> jsonschema.protocols.Validator:
    return jsonschema.Draft202012Validator(_schema())


@cache
def _fast_validator() -> jsonschema_rs.Draft202012Validator:
    """A compiled validator: about 100 times faster on a large valid document (100k packages)."""
    return jsonschema_rs.Draft202012Validator(_schema())


def _json_path(parts) -> str:
    return "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts)


def read(path: str | Path) -> dict:
    """Parse a fixture file; unreadable or malformed files raise `FixtureError`."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UnreadableFixture(source, [("$", f"cannot read the file: {exc}")]) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        place = f"line {exc.lineno} column {exc.colno}"
        raise FixtureError(source, [(place, f"not valid JSON: {exc.msg}")]) from None


def problems(document: object) -> list[tuple[str, str]]:
    """Every schema and reference problem of a document, in document order."""
    if _fast_validator().is_valid(document):
        return _reference_problems(document)
    # Only an invalid document pays for the slower validator that words its messages.
    found = [
        (_json_path(e.absolute_path), e.message)
        for e in sorted(_validator().iter_errors(document), key=lambda e: list(e.absolute_path))
    ]
    return found or _reference_problems(document)


def _reference_problems(doc: dict) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    ids: dict[str, dict[int, dict]] = {}
    for name in COLLECTIONS:
        records = doc.get(name, [])
        counts = Counter(r["id"] for r in records)
        for i, record in enumerate(records):
            if counts[record["id"]] > 1:
                found.append((f"$.{name}[{i}].id", f"duplicate id {record['id']} in {name}"))
        ids[name] = {r["id"]: r for r in records}

    def check(place: str, value, collection: str, nullable: bool = True) -> None:
        if value is None and nullable:
            return
        if value not in ids[collection]:
            found.append((place, f"no record with id {value} in {collection}"))

    seen_iterations = set()
    for i, version in enumerate(doc.get("flow_versions", [])):
        check(f"$.flow_versions[{i}].flow_id", version["flow_id"], "flows", nullable=False)
        key = (version["flow_id"], version["iteration"])
        if key in seen_iterations:
            found.append(
                (f"$.flow_versions[{i}].iteration", f"flow {key[0]} has iteration {key[1]} twice")
            )
        seen_iterations.add(key)

    for i, package in enumerate(doc.get("packages", [])):
        check(f"$.packages[{i}].created_by_id", package.get("created_by_id"), "users")
        flows_seen: set[int] = set()
        versions_seen: set[int] = set()
        for j, member in enumerate(package.get("flow_versions", [])):
            place = f"$.packages[{i}].flow_versions[{j}].flow_version_id"
            version = ids["flow_versions"].get(member["flow_version_id"])
            if version is None:
                check(place, member["flow_version_id"], "flow_versions", nullable=False)
            elif member["flow_version_id"] in versions_seen:
                found.append((place, f"flow version {version['id']} is listed twice"))
            elif version["flow_id"] in flows_seen:
                found.append(
                    (place, f"the package already has a version of flow {version['flow_id']}")
                )
            else:
                versions_seen.add(version["id"])
                flows_seen.add(version["flow_id"])

    for i, deployment in enumerate(doc.get("deployments", [])):
        check(f"$.deployments[{i}].package_id", deployment["package_id"], "packages", False)
        ve = deployment["virtual_environment_id"]
        check(f"$.deployments[{i}].virtual_environment_id", ve, "virtual_environments", False)
        check(f"$.deployments[{i}].user_id", deployment.get("user_id"), "users")

    live: set[tuple[int, int]] = set()
    for i, fvd in enumerate(doc.get("flow_version_deployments", [])):
        place = f"$.flow_version_deployments[{i}]"
        version = ids["flow_versions"].get(fvd["flow_version_id"])
        check(f"{place}.flow_version_id", fvd["flow_version_id"], "flow_versions", False)
        ve = fvd["virtual_environment_id"]
        check(f"{place}.virtual_environment_id", ve, "virtual_environments", False)
        check(f"{place}.deployment_id", fvd.get("deployment_id"), "deployments")
        check(f"{place}.deployed_by", fvd.get("deployed_by"), "users")
        deployment = ids["deployments"].get(fvd.get("deployment_id"))
        if deployment is not None and deployment["virtual_environment_id"] != ve:
            found.append(
                (f"{place}.deployment_id", f"deployment {deployment['id']} went to another VE")
            )
        if version is not None and fvd["status"] == DEPLOYED:
            key = (ve, version["flow_id"])
            if key in live:
                found.append(
                    (
                        f"{place}.status",
                        f"flow {key[1]} already has a deployed version in VE {ve}",
                    )
                )
            live.add(key)
    return found


def load(document: object, source: str = "<document>") -> Store:
    """Build a store from a document, or raise `FixtureError` with every problem."""
    found = problems(document)
    if found:
        raise FixtureError(source, found)
    assert isinstance(document, dict)
    store = Store()
    store.start_loading()
    for record in document["users"]:
        store.add_user(User(**record))
    for record in document["flows"]:
        store.add_flow(Flow(**record))
    for record in document["flow_versions"]:
        store.add_flow_version(FlowVersion(**record))
    for record in document["virtual_environments"]:
        store.add_virtual_environment(VirtualEnvironment(**record))
    deployments = sorted(document.get("deployments", []), key=lambda r: r["id"])
    first_deploy: dict[int, str] = {}
    for record in deployments:
        first_deploy.setdefault(record["package_id"], record["created_at"])
    for record in sorted(document["packages"], key=lambda r: r["id"]):
        members = {
            m["flow_version_id"]: m.get("priority", DEFAULT_PRIORITY)
            for m in record.get("flow_versions", [])
        }
        fields = {k: v for k, v in record.items() if k != "flow_versions"}
        fields.setdefault("notes", None)
        fields.setdefault("created_by_id", None)
        if fields.get("first_deployed_at") is None:
            fields["first_deployed_at"] = first_deploy.get(record["id"])
        store.add_package(Package(**fields, members=members))
    for record in deployments:
        store.add_deployment(
            Deployment(**{"user_id": None, "notes": None, **record}),
        )
    for record in sorted(document.get("flow_version_deployments", []), key=lambda r: r["id"]):
        store.add_flow_version_deployment(
            FlowVersionDeployment(**{"deployment_id": None, "deployed_by": None, **record})
        )
    store.finish_loading()
    return store


def load_file(path: str | Path) -> tuple[dict, Store]:
    """Read and load a fixture file; the document is kept so that a reset can reload it."""
    document = read(path)
    return document, load(document, str(path))


def dump(store: Store) -> dict:
    """The store as a fixture document; loading it gives back an equal store."""
    packages = []
    for package in store.packages.values():
        record = asdict(package)
        members = record.pop("members")
        record["flow_versions"] = [
            {"flow_version_id": fv, "priority": priority} for fv, priority in members.items()
        ]
        packages.append(record)
    return {
        "users": [asdict(r) for r in store.users.values()],
        "flows": [asdict(r) for r in store.flows.values()],
        "flow_versions": [asdict(r) for r in store.flow_versions.values()],
        "virtual_environments": [asdict(r) for r in store.virtual_environments.values()],
        "packages": packages,
        "deployments": [asdict(r) for r in store.deployments.values()],
        "flow_version_deployments": [asdict(r) for r in store.flow_version_deployments.values()],
    }


_RECORD_ENCODER = json.JSONEncoder(ensure_ascii=False)  # one instance: ~1.5x faster per record


def _json_chunks(document: dict) -> Iterator[str]:
    yield "{\n"
    for index, (name, value) in enumerate(document.items()):
        separator = ",\n" if index else ""
        key = f"{separator}  {json.dumps(name)}: "
        if isinstance(value, list) and value:
            yield f"{key}[\n    {_RECORD_ENCODER.encode(value[0])}"
            for record in value[1:]:
                yield f",\n    {_RECORD_ENCODER.encode(record)}"
            yield "\n  ]"
        else:
            yield f"{key}{_RECORD_ENCODER.encode(value)}"
    yield "\n}\n"


def to_json(document: dict) -> str:
    """The document as JSON text with one record per line: diffable, and fast to write.

    Keys keep their order, so equal documents built the same way give identical bytes.
    """
    return "".join(_json_chunks(document))


def write_json(document: dict, stream: BinaryIO) -> None:
    """`to_json` as UTF-8 bytes, written record by record: no whole copy of a large document."""
    for chunk in _json_chunks(document):
        stream.write(chunk.encode("utf-8"))
