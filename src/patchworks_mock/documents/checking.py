"""Check a fixture document: its schema, then the references and domain rules between records.

Every problem is reported at once, as a (JSON path, reason) pair in document order, so that a
user fixes a file in one pass. A valid document, what most documents are, is cleared by the
fast checks; only a document with problems pays for the slower ones that place and word them.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from functools import cache

import jsonschema
import jsonschema_rs

from patchworks_mock import paths
from patchworks_mock.store import COLLECTIONS, DEPLOYED


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


def problems(document: object) -> list[tuple[str, str]]:
    """Every schema and reference problem of a document, in document order."""
    if _fast_validator().is_valid(document):
        # Only a document with problems pays for the slower check that places each one.
        return [] if _references_hold(document) else _reference_problems(document)
    # Only an invalid document pays for the slower validator that words its messages.
    found = [
        (_json_path(e.absolute_path), _shortened(e.message))
        for e in sorted(_validator().iter_errors(document), key=lambda e: list(e.absolute_path))
    ]
    return found or _reference_problems(document)


def _shortened(message: str, limit: int = 200) -> str:
    """jsonschema quotes the whole offending value; a line should stay readable."""
    return message if len(message) <= limit else f"{message[: limit - 1]}…"


def _references_hold(doc: dict) -> bool:
    """Whether `_reference_problems` finds nothing, by whole-column set operations.

    About three times faster on a valid document, which is what most documents are.
    """
    ids: dict[str, set] = {}
    for name in COLLECTIONS:
        column = [r["id"] for r in doc.get(name, [])]
        ids[name] = set(column)
        if len(ids[name]) != len(column):
            return False
    users = ids["users"] | {None}
    versions = doc["flow_versions"]
    flow_of = {v["id"]: v["flow_id"] for v in versions}
    packages = doc["packages"]
    memberships = [p["flow_versions"] for p in packages if "flow_versions" in p]
    deployments = doc.get("deployments", [])
    fvds = doc.get("flow_version_deployments", [])
    environment_of = {d["id"]: d["virtual_environment_id"] for d in deployments}
    placed = [f for f in fvds if f.get("deployment_id") is not None]
    return (
        set(flow_of.values()) <= ids["flows"]
        and _all_different((v["flow_id"], v["iteration"]) for v in versions)
        and {p.get("created_by_id") for p in packages} <= users
        and {m["flow_version_id"] for ms in memberships for m in ms} <= ids["flow_versions"]
        and all(len({flow_of[m["flow_version_id"]] for m in ms}) == len(ms) for ms in memberships)
        and {d["package_id"] for d in deployments} <= ids["packages"]
        and {d["virtual_environment_id"] for d in deployments} <= ids["virtual_environments"]
        and {d.get("user_id") for d in deployments} <= users
        and {f["flow_version_id"] for f in fvds} <= ids["flow_versions"]
        and {f["virtual_environment_id"] for f in fvds} <= ids["virtual_environments"]
        and {f["deployment_id"] for f in placed} <= ids["deployments"]
        and {f.get("deployed_by") for f in fvds} <= users
        and [environment_of[f["deployment_id"]] for f in placed]
        == [f["virtual_environment_id"] for f in placed]
        and _all_different(
            (f["virtual_environment_id"], flow_of[f["flow_version_id"]])
            for f in fvds
            if f["status"] == DEPLOYED
        )
    )


def _all_different(values: Iterable) -> bool:
    listed = list(values)
    return len(set(listed)) == len(listed)


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


def check(document: object, source: str = "<document>") -> None:
    """Raise `FixtureError` with every problem of the document, if it has any."""
    found = problems(document)
    if found:
        raise FixtureError(source, found)
