"""`--fixtures-out`: the last seen state of what the proxied answers showed, as a fixture document.

Every answer is read with the export's conversion (`documents.export.Rebuild`), so that the
document is the one `fixtures export` would have written had it listed the same packages. An
answer is first read into a scratch state whose records must pass the fixture schema; only
then into the state kept. So an odd body (not JSON, a wrong shape, a value out of range) changes
nothing, and neither does a 4xx or 5xx, which shows no state.

What each 2xx answer shows or changes:

- a page of packages, or one package (get, create, update, add a flow version): the package's
  name and notes; its flow versions with their `pivot` priorities when it includes them (an
  answer without them, such as create's or update's, keeps those seen before); its creator and
  its deployments when included (a deployment no longer listed was forgotten upstream);
- a deploy: the deployment, its VE, user and flow version deployments;
- a compare: the flow versions (and their flows) it shows;
- a deleted package is dropped with its deployments; a removed flow version leaves its package;
  a removed VE drops the package's deployments to it.

References never seen in full: a user or VE only referenced by id gets the export's placeholder,
and a `deployment_id` naming no deployment kept becomes null (as the server does when it forgets
a deployment). What cannot be made up is left out: a deployment of a package not kept (say, a
deploy of a package never listed) needs the package's name, and a flow version deployment of a
version in no kept package needs the version's flow. Flow versions and flows in no package are
left out too, as the export leaves them out: a mock loaded with the document lists the same
packages, with the same flow versions and priorities, as the answers last showed. Packages'
`first_deployed_at` is left out (the loader takes the earliest deployment kept). When answers
seen at different times leave two deployed versions of one flow in one VE, the newest stays
deployed and the others become inactive, as the deploy rule makes them.

Memory is bounded: at most `max_packages` packages are kept; past it, the least recently seen
is forgotten (counted by `forgotten`, for the caller to log), and with it whatever only it
reached, dropped the next time the other records outgrow `RECORDS_PER_PACKAGE` per package.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from patchworks_mock.contract.exchange import Exchange
from patchworks_mock.documents.checking import schema_valid
from patchworks_mock.documents.export import Rebuild
from patchworks_mock.documents.json_output import write_json
from patchworks_mock.records import DEPLOYED, INACTIVE

DEFAULT_MAX_PACKAGES = 100_000
RECORDS_PER_PACKAGE = 20  # other records kept per package before those no package reaches go

PACKAGES = "/api/v1/packages"
PAGES = {"GET /api/v1/flow-version-deployments/packages", f"GET {PACKAGES}"}
ONE_PACKAGE = {
    f"POST {PACKAGES}",
    f"GET {PACKAGES}/{{package}}",
    f"PUT {PACKAGES}/{{package}}",
    f"POST {PACKAGES}/{{package}}/flow-versions/{{flow_version}}",
}
DEPLOY = f"POST {PACKAGES}/{{package}}/deploy/{{virtual_environment}}"
COMPARE = f"GET {PACKAGES}/{{package}}/compare/{{virtual_environment}}"
DELETE_PACKAGE = f"DELETE {PACKAGES}/{{package}}"
REMOVE_VERSION = f"DELETE {PACKAGES}/{{package}}/flow-versions/{{flow_version}}"
REMOVE_ENVIRONMENT = f"DELETE {PACKAGES}/{{package}}/virtual-environments/{{virtual_environment}}"
# What reading a body of the wrong shape raises (`int()` of a path parameter: ValueError).
ODD_BODY = (KeyError, TypeError, AttributeError, ValueError)


class ObservedState:
    """The last seen state of the packages the answers showed, and what they reach."""

    def __init__(self, *, max_packages: int = DEFAULT_MAX_PACKAGES) -> None:
        if max_packages < 1:
            raise ValueError("max_packages must be at least 1")
        self.max_packages = max_packages
        self._seen = Rebuild()
        self._deployments_of: dict[int, set[int]] = {}  # package id: its deployments' ids
        self._forgotten = 0
        self._prune_at = RECORDS_PER_PACKAGE * max_packages

    @property
    def forgotten(self) -> int:
        """How many packages were forgotten to keep at most `max_packages`."""
        return self._forgotten

    def observe(self, exchange: Exchange) -> None:
        """Take what one answered exchange shows or changed; never raises on odd bodies."""
        if not 200 <= exchange.status < 300:
            return
        trial = ObservedState()
        try:
            trial._take(exchange)
            if not schema_valid(trial._seen.records()):
                return
        except ODD_BODY:
            return
        self._take(exchange)
        self._bound()

    def document(self) -> dict[str, Any]:
        """The fixture document of the last seen state (deleted ones left out), valid for the
        mock's loader."""
        kept = self._reachable()
        kept.fvds = _one_deployed_per_flow(kept.fvds, kept.versions)
        return kept.document()

    def _take(self, exchange: Exchange) -> None:
        operation, body, params = exchange.operation, exchange.json, exchange.params
        if operation in PAGES:
            for shown in body["data"]:
                self._package(shown)
        elif operation in ONE_PACKAGE:
            self._package(body["data"])
        elif operation == DEPLOY:
            self._deployment(body["data"])
        elif operation == COMPARE:
            for row in body["data"]:
                for version in (row["package_version"], row["environment_version"]):
                    if version is not None:
                        self._seen.version(version)
        elif operation == DELETE_PACKAGE:
            package_id = int(params["package"])
            self._seen.packages.pop(package_id, None)
            self._deployments_of.pop(package_id, None)
        elif operation == REMOVE_VERSION:
            self._remove_version(int(params["package"]), int(params["flow_version"]))
        elif operation == REMOVE_ENVIRONMENT:
            self._remove_environment(int(params["package"]), int(params["virtual_environment"]))

    def _package(self, shown: dict[str, Any]) -> None:
        # Taken out and put back: the packages are kept in the order they were last seen.
        before = self._seen.packages.pop(shown["id"], None)
        self._seen.package(shown)
        if before is not None and "flow_versions" not in shown:
            self._seen.packages[shown["id"]]["flow_versions"] = before["flow_versions"]
        if "deployments" in shown:
            listed = {deployment["id"] for deployment in shown["deployments"]}
            for gone in self._deployments_of.get(shown["id"], set()) - listed:
                self._seen.deployments.pop(gone, None)
            self._deployments_of[shown["id"]] = listed

    def _deployment(self, shown: dict[str, Any]) -> None:
        self._seen.deployment(shown)
        if shown["package_id"] in self._seen.packages:
            self._deployments_of.setdefault(shown["package_id"], set()).add(shown["id"])

    def _remove_version(self, package_id: int, version_id: int) -> None:
        package = self._seen.packages.get(package_id)
        if package is not None:
            members = [m for m in package["flow_versions"] if m["flow_version_id"] != version_id]
            self._seen.packages[package_id] = {**package, "flow_versions": members}

    def _remove_environment(self, package_id: int, environment_id: int) -> None:
        deployments = self._deployments_of.get(package_id, set())
        for deployment_id in list(deployments):
            if self._seen.deployments[deployment_id]["virtual_environment_id"] == environment_id:
                del self._seen.deployments[deployment_id]
                deployments.discard(deployment_id)

    def _bound(self) -> None:
        packages = self._seen.packages
        while len(packages) > self.max_packages:
            forgotten = next(iter(packages))  # the least recently seen
            del packages[forgotten]
            self._deployments_of.pop(forgotten, None)
            self._forgotten += 1
        if self._size() > self._prune_at:
            self._seen = self._reachable()
            self._prune_at = max(RECORDS_PER_PACKAGE * self.max_packages, 2 * self._size())

    def _size(self) -> int:
        seen = self._seen
        records = (seen.users, seen.flows, seen.versions, seen.environments, seen.deployments)
        return sum(map(len, records)) + len(seen.fvds)

    def _reachable(self) -> Rebuild:
        """The records the kept packages reach: their flow versions and flows, deployments,
        the flow version deployments of their versions, and the users and VEs these name."""
        seen, kept = self._seen, Rebuild()
        kept.packages = seen.packages
        kept.versions = {
            member["flow_version_id"]: seen.versions[member["flow_version_id"]]
            for package in seen.packages.values()
            for member in package["flow_versions"]
        }
        kept.flows = {v["flow_id"]: seen.flows[v["flow_id"]] for v in kept.versions.values()}
        kept.deployments = {
            i: d for i, d in seen.deployments.items() if d["package_id"] in kept.packages
        }
        kept.fvds = {i: f for i, f in seen.fvds.items() if f["flow_version_id"] in kept.versions}
        named_users = {p["created_by_id"] for p in kept.packages.values()}
        named_users |= {d["user_id"] for d in kept.deployments.values()}
        named_users |= {f["deployed_by"] for f in kept.fvds.values()}
        kept.users = {i: seen.users[i] for i in named_users if i in seen.users}
        named_environments = {
            record["virtual_environment_id"]
            for records in (kept.deployments, kept.fvds)
            for record in records.values()
        }
        kept.environments = {
            i: seen.environments[i] for i in named_environments if i in seen.environments
        }
        return kept


def _one_deployed_per_flow(
    fvds: dict[int, dict[str, Any]], versions: dict[int, dict[str, Any]]
) -> dict[int, dict[str, Any]]:
    """The flow version deployments with, per VE and flow, only the newest one deployed."""
    newest: dict[tuple[int, int], dict[str, Any]] = {}
    for fvd in fvds.values():
        if fvd["status"] == DEPLOYED:
            place = (fvd["virtual_environment_id"], versions[fvd["flow_version_id"]]["flow_id"])
            held = newest.get(place)
            if held is None or (fvd["created_at"], fvd["id"]) > (held["created_at"], held["id"]):
                newest[place] = fvd
    winners = {id(fvd) for fvd in newest.values()}
    return {
        i: fvd if fvd["status"] != DEPLOYED or id(fvd) in winners else {**fvd, "status": INACTIVE}
        for i, fvd in fvds.items()
    }


def write_document(document: dict[str, Any], path: str | Path) -> None:
    """Write the document to `path` whole or not at all: a temporary file beside it, renamed."""
    target = Path(path)
    descriptor, temporary = tempfile.mkstemp(
        dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"
    )
    try:
        with os.fdopen(descriptor, "wb") as stream:
            write_json(document, stream)
        os.replace(temporary, target)
    except BaseException:
        os.unlink(temporary)
        raise
