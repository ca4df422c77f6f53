"""A model of the Packages rules, and a Hypothesis state machine that holds a target to it.

The machine runs random sequences of all 11 operations through any `httpx.Client` (a client
with a `base_url`, or the `TestClient` of `create_app()` in-process) and compares each answer
with the model. It only knows the packages it created, so lists are filtered by its own name
prefix; that is what makes it usable against a shared deployment.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from types import EllipsisType
from typing import Any

import httpx
from hypothesis import seed
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    precondition,
    rule,
    run_state_machine_as_test,
)

from patchworks_mock.contract.api import Api, Query
from patchworks_mock.contract.expectations import (
    Assumptions,
    Violation,
    data,
    expect,
    expect_status,
)
from patchworks_mock.contract.hypothesis_runs import NotReproduced, not_reproduced, suite_settings
from patchworks_mock.contract.rules import ABSENT, DEFAULT_PRIORITY, MAX_NAME, nonblank, stored
from patchworks_mock.contract.safety import Ledger
from patchworks_mock.contract.transport import retryable_status

NAMES = st.text(alphabet="abcXYZ 019-_é", min_size=1, max_size=12).filter(nonblank)
NOTES = st.none() | st.text(alphabet="abc XYZ", max_size=12)
_instances = itertools.count(1)
MAX_SHOWN = 40


@dataclass
class PackageModel:
    """What the rules say a package is after the operations the machine sent."""

    name: str | None
    notes: str | None
    members: dict[str, int] = field(default_factory=dict)  # flow version id -> priority
    environments: set[str] = field(default_factory=set)
    ever_deployed: bool = False


@dataclass
class Capabilities:
    """What the machine may use: flow versions (with their flows) and, if allowed, VEs."""

    flows: dict[str, int]  # flow version id -> flow id
    environments: list[str]
    can_deploy: bool


def build_machine(
    client: httpx.Client,
    ledger: Ledger,
    capabilities: Capabilities,
    on_new_sequence: Callable[[], None] = lambda: None,
    assumptions: Assumptions | None = None,
) -> type[RuleBasedStateMachine]:
    """A `RuleBasedStateMachine` class bound to one client, ledger and set of capabilities.

    `on_new_sequence` is called as each random sequence starts. Where the server differs from
    a decision of api-notes (not a fact), the difference goes to `assumptions` and the model
    takes the server's answer as the rule from then on.
    """
    versions = sorted(capabilities.flows) or [ABSENT]
    environments = capabilities.environments or [ABSENT]
    has_versions = bool(capabilities.flows)
    has_environments = bool(capabilities.environments)
    decided = assumptions if assumptions is not None else Assumptions()

    class PackagesMachine(RuleBasedStateMachine):
        packages = Bundle("packages")

        def __init__(self) -> None:
            on_new_sequence()
            super().__init__()
            self.api = Api(client)
            self.prefix = ledger.name(f"sm{next(_instances)}-")
            self.model: dict[str, PackageModel] = {}
            self.deleted: list[str] = []
            self.in_sync: set[tuple[str, str]] = set()

        # -- packages ------------------------------------------------------------------

        @initialize(target=packages, name=NAMES, version=st.sampled_from(versions))
        def start(self, name: str, version: str) -> str:
            """Every sequence starts from a package holding one version: the rules live there."""
            package = self._create(name, None)
            if has_versions:
                response = self.api.add_version(package, version)
                expect_status(response, 200, f"adding flow version {version} failed")
                self.model[package].members[version] = self._default_priority(response, version)
            return package

        @rule(target=packages, name=NAMES, notes=NOTES)
        def create(self, name: str, notes: str | None) -> str:
            return self._create(name, notes)

        @rule(name=st.sampled_from(["", "   ", "x" * (MAX_NAME + 1)]))
        def create_invalid(self, name: str) -> None:
            response = self.api.create({"name": self.prefix + name if name.strip() else name})
            ledger.record_created(response)
            expect_status(response, 422, f"a package named {name[:20]!r}… must be refused")

        @rule(package=packages, name=st.none() | NAMES, notes=st.just(...) | NOTES)
        def update(self, package: str, name: str | None, notes: str | None | EllipsisType) -> None:
            body: dict[str, str | None] = {}  # `...` for notes: leave them out
            if name is not None:
                body["name"] = self.prefix + name
            if notes is not ...:
                body["notes"] = notes
            response = self.api.update(package, body)
            expect_status(response, 200, "updating a package with valid fields failed")
            current = self.model[package]
            if "name" in body:
                current.name = stored(body["name"])
            if "notes" in body:
                current.notes = stored(body["notes"])
            self._same(package, data(response), response)

        @rule(package=packages)
        def get(self, package: str) -> None:
            response = self.api.get(package, include="flowVersions")
            expect_status(response, 200, "a package the model holds cannot be fetched")
            self._same(package, data(response), response, members=True)

        @rule(package=consumes(packages))
        def delete(self, package: str) -> None:
            expect_status(self.api.delete(package), 200, "deleting a package failed")
            del self.model[package]
            self.in_sync = {(p, ve) for p, ve in self.in_sync if p != package}
            self.deleted.append(package)

        @precondition(lambda self: self.deleted)
        @rule(data=st.data())
        def use_deleted(self, data: st.DataObject) -> None:
            package = data.draw(st.sampled_from(self.deleted))
            expect_status(self.api.get(package), 404, "a deleted package can still be fetched")
            expect_status(
                self.api.add_version(package, versions[0]),
                404,
                "a deleted package still takes flow versions",
            )

        @rule(per_page=st.integers(1, 5))
        def list_packages(self, per_page: int) -> None:
            self._listed(False, per_page, set(self.model))

        @rule()
        def list_deployed(self) -> None:
            wanted = {p for p, m in self.model.items() if m.environments}
            self._listed(True, 100, wanted)

        # -- flow versions ---------------------------------------------------------------

        @precondition(lambda self: has_versions)
        @rule(package=packages, choice=st.data(), priority=st.none() | st.integers(1, 100))
        def add_version(self, package: str, choice: st.DataObject, priority: int | None) -> None:
            version = choice.draw(self._versions_near(package), label="version")
            body = {} if priority is None else {"priority": priority}
            response = self.api.add_version(package, version, body)
            current = self.model[package]
            flow = capabilities.flows[version]
            clash = any(capabilities.flows[v] == flow for v in current.members if v != version)
            refused = response.status_code == 422 and "flow_version" in response.json().get(
                "errors", {}
            )
            if clash and decided.expect(  # api-notes: "decision, 422"
                refused,
                "a second version of a flow the package holds was not refused; api-notes "
                "decides 422",
                response,
                'HTTP 422 with errors["flow_version"]',
            ):
                return
            expect_status(response, 200, f"adding flow version {version} failed")
            if version not in current.members:
                current.members[version] = (
                    self._default_priority(response, version) if priority is None else priority
                )
                self.in_sync = {(p, ve) for p, ve in self.in_sync if p != package}
            elif priority is not None:
                current.members[version] = priority
            self._same(package, data(response), response, members=True)

        @precondition(lambda self: has_versions)
        @rule(package=packages, choice=st.data())
        def remove_version(self, package: str, choice: st.DataObject) -> None:
            members = sorted(self.model[package].members)
            anything = st.sampled_from(versions)
            pick = st.sampled_from(members) | anything if members else anything
            version = choice.draw(pick, label="version")
            response = self.api.remove_version(package, version)
            current = self.model[package]
            if version not in current.members:
                decided.expect(  # api-notes: "Decision: ... 404 if not in the package"
                    response.status_code == 404,
                    "removing a flow version that is not in the package did not answer 404; "
                    "api-notes decides 404",
                    response,
                    "HTTP 404",
                )
                expect(response.status_code < 500, "removing it failed", response, "HTTP 404")
            elif not (current.ever_deployed and self._refused_after_deploy(response)):
                expect_status(response, 200, f"removing flow version {version} failed")
                del current.members[version]
                self.in_sync = {(p, ve) for p, ve in self.in_sync if p != package}

        # -- environments ----------------------------------------------------------------

        @precondition(lambda self: capabilities.can_deploy)
        @rule(package=packages, environment=st.sampled_from(environments))
        def deploy(self, package: str, environment: str) -> None:
            response = self.api.deploy(package, environment, {"notes": "model check"})
            current = self.model[package]
            if not current.members and decided.expect(  # api-notes: "decision, 422"
                response.status_code == 422,
                "deploying a package with no flow versions was not refused; api-notes decides 422",
                response,
                "HTTP 422",
            ):
                return
            expect_status(response, 200, f"deploying to VE {environment} failed")
            current.environments.add(environment)
            current.ever_deployed = True
            if current.members:
                member = min(current.members)
                removal = self.api.remove_version(package, member)
                if not self._refused_after_deploy(removal):
                    del current.members[member]
            self.in_sync = {(p, ve) for p, ve in self.in_sync if ve != environment}
            self.in_sync.add((package, environment))

        @precondition(lambda self: has_environments)
        @rule(package=packages, environment=st.sampled_from(environments))
        def compare(self, package: str, environment: str) -> None:
            response = self.api.compare(package, environment)
            expect_status(response, 200, "compare failed")
            rows = data(response)
            listed = {str(row["package_version"]["id"]) for row in rows}
            members = self.model[package].members
            expect(listed == set(members), f"compare lists versions {sorted(listed)}", response)
            if (package, environment) in self.in_sync:
                expect(
                    all(row["in_sync"] for row in rows),
                    "compare right after a deploy reports flows out of sync",
                    response,
                    "every row in_sync",
                )

        @precondition(lambda self: capabilities.can_deploy)
        @rule(package=packages, environment=st.sampled_from(environments))
        def remove_environment(self, package: str, environment: str) -> None:
            response = self.api.remove_environment(package, environment)
            current = self.model[package]
            if environment not in current.environments:
                expect_status(response, 404, f"the package is not deployed to VE {environment}")
                return
            expect_status(response, 200, f"removing VE {environment} failed")
            current.environments.discard(environment)
            self.in_sync.discard((package, environment))

        def _default_priority(self, response: httpx.Response, version: str) -> int:
            """The priority of a version added without one: 50 as api-notes decides, else
            (kept as an assumption) what the server gave it."""
            rows = data(response).get("flow_versions") or []
            given = next(
                ((r.get("pivot") or {}).get("priority") for r in rows if str(r["id"]) == version),
                DEFAULT_PRIORITY,
            )
            decided.expect(
                given == DEFAULT_PRIORITY,
                f"a flow version added without a priority got priority {given}; api-notes "
                f"decides {DEFAULT_PRIORITY}",
                response,
                f"priority {DEFAULT_PRIORITY}",
            )
            return given if isinstance(given, int) else DEFAULT_PRIORITY

        def _refused_after_deploy(self, response: httpx.Response) -> bool:
            """Whether removing a version from a deployed package was refused (api-notes:
            "Decision: 422 once deployed"). Taken out instead, or refused with another 4xx
            (a 409, say), is kept as an assumption; taken out, the caller's model takes it out
            too. A 5xx is a failure."""
            if response.is_success:
                decided.expect(
                    False,
                    "a flow version was removed from a package that has been deployed; "
                    "api-notes decides 422",
                    response,
                    "HTTP 422",
                )
                return False
            if response.is_client_error:
                decided.expect(
                    response.status_code == 422,
                    f"removing a flow version from a deployed package was refused with HTTP "
                    f"{response.status_code}; api-notes decides 422",
                    response,
                    "HTTP 422",
                )
                return True
            expect_status(response, 422, "removing a version from a deployed package failed")
            return True

        def teardown(self) -> None:
            for package in list(self.model):
                self.api.delete(package)

        def _create(self, name: str, notes: str | None) -> str:
            full = self.prefix + name
            response = self.api.create({"name": full, "notes": notes})
            package = ledger.record_created(response)
            if package is None:
                raise Violation("creating a valid package failed", response, expected="HTTP 201")
            self.model[package] = PackageModel(stored(full), stored(notes))
            self._same(package, data(response), response)
            return package

        # -- comparing with the model ------------------------------------------------------

        def _versions_near(self, package: str) -> st.SearchStrategy[str]:
            """Any version, or one sharing a flow with a member: the rules live there."""
            flows = {capabilities.flows[v] for v in self.model[package].members}
            near = [v for v in versions if capabilities.flows[v] in flows]
            anything = st.sampled_from(versions)
            return st.sampled_from(near) | anything if near else anything

        def _same(
            self,
            package: str,
            body: dict[str, Any],
            response: httpx.Response,
            members: bool = False,
        ) -> None:
            current = self.model[package]
            got = {"id": str(body.get("id")), "name": body.get("name"), "notes": body.get("notes")}
            wanted = {"id": package, "name": current.name, "notes": current.notes}
            expect(got == wanted, f"the package is {got}", response, str(wanted))
            if members:
                rows = body.get("flow_versions") or []
                got_members = {str(r["id"]): (r.get("pivot") or {}).get("priority") for r in rows}
                expect(
                    got_members == current.members,
                    f"the package holds flow versions {got_members} (id: priority)",
                    response,
                    str(current.members),
                )

        def _listed(self, deployed: bool, per_page: int, wanted: set[str]) -> None:
            seen: list[str] = []
            page, last = 1, 1
            while page <= min(last, 50):
                query: Query = {"filter[name]": self.prefix, "per_page": per_page, "page": page}
                response = self.api.list(query, deployed=deployed)
                expect_status(response, 200, "listing packages failed")
                body = response.json()
                seen += [str(row["id"]) for row in body["data"]]
                last = body["meta"]["last_page"]
                page += 1
            kind = "deployed packages" if deployed else "packages"
            if sorted(seen) != sorted(wanted):
                raise Violation(
                    f"the {kind} list (per_page={per_page}) holds {sorted(seen)} of this "
                    f"sequence's packages",
                    response,
                    expected=str(sorted(wanted)),
                )

    return PackagesMachine


def run(
    client: httpx.Client,
    ledger: Ledger,
    capabilities: Capabilities,
    *,
    run_seed: int,
    examples: int,
    steps: int,
    assumptions: Assumptions | None = None,
) -> None:
    """Run `examples` random sequences of up to `steps` operations; a `Violation` propagates,
    a failure that did not replay becomes `NotReproduced` (`hypothesis_runs`).

    The violation's message ends with the requests of the failing sequence, in order (the
    last ones may be the sequence's own clean-up, which runs after the failure).
    """
    sequence: list[str] = []
    noise: list[str] = []  # the last answer that may have been the server's noise (5xx, 429)

    def remember(response: httpx.Response) -> None:
        request = response.request
        line = f"{request.method} {request.url.raw_path.decode()} -> {response.status_code}"
        sequence.append(line)
        if retryable_status(response.status_code):
            noise[:] = [line]

    machine = build_machine(
        client, ledger, capabilities, on_new_sequence=sequence.clear, assumptions=assumptions
    )
    hooks = client.event_hooks["response"]
    hooks.append(remember)
    try:
        with not_reproduced():
            run_state_machine_as_test(
                seed(run_seed)(machine),
                settings=suite_settings(examples, stateful_step_count=steps),
            )
    except Violation as exc:
        shown = sequence[-MAX_SHOWN:]
        exc.message += "\nthe sequence of requests that led there:\n  " + "\n  ".join(shown)
        raise
    except NotReproduced as exc:
        if exc.first is None and noise:  # Hypothesis kept no failure: say what the run met
            exc.detail += f" (the last answer that may have been noise: {noise[0]})"
        raise
    finally:
        hooks.remove(remember)
