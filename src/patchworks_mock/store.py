"""The in-memory state of one Patchworks account and every domain rule that changes it.

Handlers call these methods and render what they return; nothing else mutates the state. Each
method runs to completion without awaiting, so on the event loop every request sees and leaves
a consistent state. Indexes keep list and get requests proportional to the page they return.
"""

from __future__ import annotations

import re
from bisect import bisect_left, insort
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from operator import attrgetter
from typing import Literal, get_args

import msgspec

from patchworks_mock import errors
from patchworks_mock.laravel import now

COLLECTIONS = (
    "users",
    "flows",
    "flow_versions",
    "virtual_environments",
    "packages",
    "deployments",
    "flow_version_deployments",
)
DEFAULT_PRIORITY = 50
# A flow version deployment's status; msgspec decodes each as one of these two objects.
Status = Literal["deployed", "inactive"]
DEPLOYED, INACTIVE = get_args(Status)
DRAFT = "draft"
# kept in id order, the order the API creates them in (the others in the fixtures' order)
_ID_ORDER = frozenset({"packages", "deployments", "flow_version_deployments"})
_ID = attrgetter("id")

# JSON Schema's integers include 1.0: a number stays as the fixture document wrote it.
Integer = int | float
_KEY = re.compile(r"[0-9]{1,18}")


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


@dataclass(slots=True)
class CompareRow:
    flow: Flow
    package_version: FlowVersion
    environment_version: FlowVersion | None

    @property
    def in_sync(self) -> bool:
        return self.environment_version is not None and (
            self.environment_version.id == self.package_version.id
        )


def as_record(record) -> dict:
    """A record in the fixture document's form (a package lists its flow versions)."""
    fields = msgspec.structs.asdict(record)
    if isinstance(record, Package):
        members = fields.pop("members")
        fields["flow_versions"] = [
            {"flow_version_id": fv, "priority": priority} for fv, priority in members.items()
        ]
    return fields


class SortedIndex:
    """Package ids kept in one order, so that a page is a slice, not a sort.

    It holds every package (or those with ids `among`), or only those `where` accepts. It
    sorts on first use, not when the store is loaded: most resets and sandboxes are never
    listed in most of the orders, and sorting 100,000 names takes a noticeable time.
    """

    def __init__(
        self,
        key: Callable[[Package], tuple],
        packages: dict[int, Package],
        among: Iterable[int] | None = None,
        where: Callable[[Package], bool] | None = None,
    ) -> None:
        self._key = key
        # What it holds, read when it is first used.
        self._packages = packages
        self._among = among
        self._where = where
        self._sorted: list[tuple] | None = None

    def entries(self) -> list[tuple]:
        if self._sorted is None:
            held = (
                self._packages.values()
                if self._among is None
                else map(self._packages.__getitem__, self._among)
            )
            if self._where is not None:
                held = filter(self._where, held)
            self._sorted = sorted(map(self._key, held))
        return self._sorted

    def add(self, package: Package) -> None:
        if self._sorted is not None and (self._where is None or self._where(package)):
            insort(self._sorted, self._key(package))

    def discard(self, package: Package) -> None:
        if self._sorted is None:
            return
        entry = self._key(package)
        at = bisect_left(self._sorted, entry)
        if at < len(self._sorted) and self._sorted[at] == entry:
            del self._sorted[at]

    def __len__(self) -> int:
        return len(self.entries())

    def page(self, offset: int, limit: int, descending: bool = False) -> list[int]:
        entries = self.entries()
        if descending:
            end = len(entries) - offset
            chosen = entries[max(end - limit, 0) : max(end, 0)][::-1]
        else:
            chosen = entries[offset : offset + limit]
        return [entry[-1] for entry in chosen]


def _by_id(package: Package) -> tuple:
    return (package.id,)


def _by_name(package: Package) -> tuple:
    # MySQL's default collation compares case-insensitively; ties keep id order.
    return (package.name.casefold(), package.id)


_ORDERS = {"id": _by_id, "name": _by_name}
_KEPT_FILTERS = 8  # name filters whose matches are kept up to date; each holds up to every id


def _name_contains(needles: tuple[str, ...]) -> Callable[[Package], bool]:
    """spatie's partial filter: the name contains any of the (casefolded) needles, ignoring
    case as MySQL's default collation does."""
    if len(needles) == 1:  # the usual case, and several times as fast without `any`
        (needle,) = needles
        return lambda package: needle in package.name.casefold()
    return lambda package: any(n in package.name.casefold() for n in needles)


class Store:
    """All records of one account, their indexes, and the operations of the Packages API."""

    def __init__(self) -> None:
        self.users: dict[int, User] = {}
        self.flows: dict[int, Flow] = {}
        self.flow_versions: dict[int, FlowVersion] = {}
        self.virtual_environments: dict[int, VirtualEnvironment] = {}
        self.packages: dict[int, Package] = {}
        self.deployments: dict[int, Deployment] = {}
        self.flow_version_deployments: dict[int, FlowVersionDeployment] = {}
        self._next_id: dict[str, int] = {}
        self._deployments_of_package: dict[int, list[int]] = {}
        # The indexes read these two dicts when they first sort: change them in place only.
        # Each order has an index of all packages and one of the deployed ones; name filters
        # in use have theirs too, under (order, needles), kept up to date with the others.
        self._all: dict[str | tuple, SortedIndex] = {
            key: SortedIndex(by, self.packages) for key, by in _ORDERS.items()
        }
        self._deployed: dict[str | tuple, SortedIndex] = {
            key: SortedIndex(by, self.packages, among=self._deployments_of_package)
            for key, by in _ORDERS.items()
        }
        self._fvds_of_version: dict[int, list[int]] = {}
        self._live_count: dict[int, int] = {}  # flow version id -> its `deployed` fvds
        self._fvds_of_deployment: dict[int, list[int]] = {}
        self._live_fvd: dict[tuple[int, int], int] = {}  # (ve id, flow id) -> deployed fvd id
        self._last_fvd_in_environment: dict[int, int] = {}
        # (collection, id) of every record a request changed, while someone records them
        self.changed: dict[tuple[str, int], None] | None = None

    @classmethod
    def loaded(cls, records: Mapping[str, Iterable]) -> Store:
        """A store holding these records (by collection name), indexed in one pass.

        A package without `first_deployed_at` gets the time of its first deployment.
        """
        store = cls()
        for name in COLLECTIONS:
            rows = sorted(records[name], key=_ID) if name in _ID_ORDER else records[name]
            getattr(store, name).update((record.id, record) for record in rows)
            store._next_id[name] = max(getattr(store, name), default=0) + 1
        for deployment in store.deployments.values():
            store._deployments_of_package.setdefault(deployment.package_id, []).append(
                deployment.id
            )
        for package_id, deployment_ids in store._deployments_of_package.items():
            package = store.packages[package_id]
            if package.first_deployed_at is None:
                package.first_deployed_at = store.deployments[deployment_ids[0]].created_at
        for fvd in store.flow_version_deployments.values():
            store._index_flow_version_deployment(fvd)
        return store

    def _touch(self, collection: str, record_id: int) -> None:
        if self.changed is not None:
            self.changed[(collection, record_id)] = None

    def take_changes(self) -> list[tuple[str, int]]:
        """The records changed since the last call; recording starts with the first call."""
        taken = list(self.changed or ())
        self.changed = {}
        return taken

    # -- building -------------------------------------------------------------------------

    def new_id(self, collection: str) -> int:
        """Like an auto-increment column: never an id used before, even a deleted one's."""
        value = self._next_id.get(collection, 1)
        self._next_id[collection] = value + 1
        return value

    def add_package(self, package: Package) -> None:
        self.packages[package.id] = package
        self._touch("packages", package.id)
        for index in self._all.values():
            index.add(package)

    def add_deployment(self, deployment: Deployment) -> None:
        self.deployments[deployment.id] = deployment
        self._touch("deployments", deployment.id)
        of_package = self._deployments_of_package.setdefault(deployment.package_id, [])
        of_package.append(deployment.id)
        if len(of_package) == 1:
            for index in self._deployed.values():
                index.add(self.packages[deployment.package_id])

    def add_flow_version_deployment(self, fvd: FlowVersionDeployment) -> None:
        self.flow_version_deployments[fvd.id] = fvd
        self._touch("flow_version_deployments", fvd.id)
        self._index_flow_version_deployment(fvd)

    def _index_flow_version_deployment(self, fvd: FlowVersionDeployment) -> None:
        fvd_id, version_id, environment_id = fvd.id, fvd.flow_version_id, fvd.virtual_environment_id
        self._fvds_of_version.setdefault(version_id, []).append(fvd_id)
        if fvd.deployment_id is not None:
            self._fvds_of_deployment.setdefault(fvd.deployment_id, []).append(fvd_id)
        if fvd.status == DEPLOYED:
            self._live_count[version_id] = self._live_count.get(version_id, 0) + 1
            self._live_fvd[(environment_id, self.flow_versions[version_id].flow_id)] = fvd_id
        if fvd_id > self._last_fvd_in_environment.get(environment_id, 0):
            self._last_fvd_in_environment[environment_id] = fvd_id

    # -- lookups --------------------------------------------------------------------------

    @staticmethod
    def _find(records: dict, kind: str, key: str | int):
        """Route-model binding: a path segment names a row by id, or the answer is 404."""
        text = str(key)
        record = records.get(int(text)) if _KEY.fullmatch(text) else None
        if record is None:
            raise errors.NotFound.model(kind, text)
        return record

    def package(self, key: str | int) -> Package:
        return self._find(self.packages, "package", key)

    def virtual_environment(self, key: str | int) -> VirtualEnvironment:
        return self._find(self.virtual_environments, "virtual_environment", key)

    def flow_version(self, key: str | int) -> FlowVersion:
        return self._find(self.flow_versions, "flow_version", key)

    def acting_user_id(self) -> int | None:
        """API keys act as the account's first user (a decision; keys carry no user here)."""
        return min(self.users) if self.users else None

    def user_by_email(self, email: str) -> User | None:
        return next((u for u in self.users.values() if u.email == email), None)

    def flow_version_status(self, version: FlowVersion) -> str:
        if self._live_count.get(version.id):
            return DEPLOYED
        return INACTIVE if version.id in self._fvds_of_version else DRAFT

    def deployments_of(self, package: Package) -> list[Deployment]:
        return [self.deployments[i] for i in self._deployments_of_package.get(package.id, ())]

    def fvds_of_version(self, version: FlowVersion) -> list[FlowVersionDeployment]:
        return [self.flow_version_deployments[i] for i in self._fvds_of_version.get(version.id, ())]

    def fvds_of_deployment(self, deployment: Deployment) -> list[FlowVersionDeployment]:
        ids = self._fvds_of_deployment.get(deployment.id, ())
        return [self.flow_version_deployments[i] for i in ids]

    def last_fvd_in(self, environment: VirtualEnvironment) -> FlowVersionDeployment | None:
        fvd_id = self._last_fvd_in_environment.get(environment.id)
        return self.flow_version_deployments.get(fvd_id) if fvd_id else None

    def environments_of(self, package: Package) -> list[VirtualEnvironment]:
        ids = sorted({d.virtual_environment_id for d in self.deployments_of(package)})
        return [self.virtual_environments[i] for i in ids]

    # -- the Packages API -----------------------------------------------------------------

    def list_packages(
        self,
        *,
        deployed_only: bool,
        names: list[str] | None,
        sort: str,
        descending: bool,
        page: int,
        per_page: int,
    ) -> tuple[list[Package], int]:
        """One page of packages and the total that match."""
        if names:
            index = self._filtered(deployed_only, sort, names)
        else:
            index = (self._deployed if deployed_only else self._all)[sort]
        ids = index.page((page - 1) * per_page, per_page, descending)
        return [self.packages[i] for i in ids], len(index)

    def _filtered(self, deployed_only: bool, sort: str, names: list[str]) -> SortedIndex:
        """The index of the packages whose name matches, made on first use of the filter and
        then kept up to date like the others: a write costs an insertion, not a rescan of every
        name."""
        indexes = self._deployed if deployed_only else self._all
        key = (sort, tuple(n.casefold() for n in names))
        if key not in indexes:
            if len(indexes) >= len(_ORDERS) + _KEPT_FILTERS:  # forget the filters kept
                for kept in [k for k in indexes if k not in _ORDERS]:
                    del indexes[kept]
            indexes[key] = SortedIndex(
                _ORDERS[sort],
                self.packages,
                among=self._deployments_of_package if deployed_only else None,
                where=_name_contains(key[1]),
            )
        return indexes[key]

    def create_package(self, name: str, notes: str | None, user_id: int | None) -> Package:
        stamp = now()
        package = Package(
            id=self.new_id("packages"),
            name=name,
            notes=notes,
            created_by_id=user_id,
            created_at=stamp,
            updated_at=stamp,
        )
        self.add_package(package)
        return package

    def update_package(self, key: str, changes: dict) -> Package:
        package = self.package(key)
        changed = {k: v for k, v in changes.items() if getattr(package, k) != v}
        if changed:
            if "name" in changed:
                self._reindex(package, lambda: setattr(package, "name", changed["name"]))
            if "notes" in changed:
                package.notes = changed["notes"]
            package.updated_at = now()
            self._touch("packages", package.id)
        return package

    def _reindex(self, package: Package, change) -> None:
        deployed = package.id in self._deployments_of_package
        indexes = [*self._all.values(), *(self._deployed.values() if deployed else ())]
        for index in indexes:
            index.discard(package)
        change()
        for index in indexes:
            index.add(package)

    def delete_package(self, key: str) -> None:
        """Delete a package, its memberships and deployment records; flows stay deployed."""
        package = self.package(key)
        for deployment in self.deployments_of(package):
            self._forget_deployment(deployment)
        for index in self._all.values():
            index.discard(package)
        del self.packages[package.id]
        self._touch("packages", package.id)

    def add_version(self, package_key: str, version_key: str, priority: int | None) -> Package:
        """Put a flow version in a package; the same version again only changes its priority."""
        package = self.package(package_key)
        version = self.flow_version(version_key)
        if version.id not in package.members:
            if any(self.flow_versions[m].flow_id == version.flow_id for m in package.members):
                raise errors.Invalid.field("flow_version", errors.FLOW_ALREADY_IN_PACKAGE)
            package.members[version.id] = DEFAULT_PRIORITY if priority is None else priority
        elif priority is not None:
            package.members[version.id] = priority
        package.updated_at = now()
        self._touch("packages", package.id)
        return package

    def remove_version(self, package_key: str, version_key: str) -> None:
        """Take a flow version out of a package that has never been deployed."""
        package = self.package(package_key)
        version = self.flow_version(version_key)
        if version.id not in package.members:
            raise errors.NotFound(errors.NOT_IN_PACKAGE)
        if package.first_deployed_at is not None:
            raise errors.Invalid.field("flow_version", errors.REMOVE_AFTER_DEPLOY)
        del package.members[version.id]
        package.updated_at = now()
        self._touch("packages", package.id)

    def deploy(
        self, package_key: str, environment_key: str, notes: str | None, user_id: int | None
    ) -> Deployment:
        """Make every version in the package the deployed version of its flow in the VE."""
        package = self.package(package_key)
        environment = self.virtual_environment(environment_key)
        if not package.members:
            raise errors.Invalid.field("package", errors.EMPTY_PACKAGE)
        stamp = now()
        deployment = Deployment(
            id=self.new_id("deployments"),
            package_id=package.id,
            virtual_environment_id=environment.id,
            user_id=user_id,
            notes=notes,
            created_at=stamp,
            updated_at=stamp,
        )
        self.add_deployment(deployment)
        for version_id in package.members:
            flow_id = self.flow_versions[version_id].flow_id
            replaced = self._live_fvd.get((environment.id, flow_id))
            if replaced is not None:
                if self.flow_version_deployments[replaced].status == DEPLOYED:
                    self._live_count[self.flow_version_deployments[replaced].flow_version_id] -= 1
                self.flow_version_deployments[replaced].status = INACTIVE
                self.flow_version_deployments[replaced].updated_at = stamp
                self._touch("flow_version_deployments", replaced)
            self.add_flow_version_deployment(
                FlowVersionDeployment(
                    id=self.new_id("flow_version_deployments"),
                    flow_version_id=version_id,
                    virtual_environment_id=environment.id,
                    deployment_id=deployment.id,
                    status=DEPLOYED,
                    deployed_by=user_id,
                    created_at=stamp,
                    updated_at=stamp,
                )
            )
        package.first_deployed_at = package.first_deployed_at or stamp
        self._touch("packages", package.id)
        return deployment

    def compare(self, package_key: str, environment_key: str) -> list[CompareRow]:
        """What deploying the package to the VE would change, flow by flow."""
        package = self.package(package_key)
        environment = self.virtual_environment(environment_key)
        rows = []
        for version_id in package.members:
            version = self.flow_versions[version_id]
            live = self._live_fvd.get((environment.id, version.flow_id))
            current = (
                self.flow_versions[self.flow_version_deployments[live].flow_version_id]
                if live is not None
                else None
            )
            rows.append(CompareRow(self.flows[version.flow_id], version, current))
        return rows

    def remove_environment(self, package_key: str, environment_key: str) -> None:
        """Forget the package's deployments to the VE; the flows stay deployed there."""
        package = self.package(package_key)
        environment = self.virtual_environment(environment_key)
        records = [
            d for d in self.deployments_of(package) if d.virtual_environment_id == environment.id
        ]
        if not records:
            raise errors.NotFound(errors.NOT_DEPLOYED_THERE)
        for deployment in records:
            self._forget_deployment(deployment)

    def _forget_deployment(self, deployment: Deployment) -> None:
        for fvd_id in self._fvds_of_deployment.pop(deployment.id, ()):
            self.flow_version_deployments[fvd_id].deployment_id = None
            self._touch("flow_version_deployments", fvd_id)
        del self.deployments[deployment.id]
        self._touch("deployments", deployment.id)
        of_package = self._deployments_of_package[deployment.package_id]
        of_package.remove(deployment.id)
        if not of_package:
            del self._deployments_of_package[deployment.package_id]
            for index in self._deployed.values():
                index.discard(self.packages[deployment.package_id])
