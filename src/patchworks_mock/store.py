"""The in-memory state of one Patchworks account and every domain rule that changes it.

Handlers call these methods and render what they return; nothing else changes the state. Each
method runs to completion without awaiting, so on the event loop every request sees and leaves
a consistent state. Indexes keep list and get requests proportional to the page they return.

Every write goes one way (`_write`): a domain method stages the rows it puts and deletes as a
`Change`, without touching anything; the durability backend commits the change (a no-op in
memory); only then are the rows applied to the tables and their indexes. A commit that fails
raises before anything is applied, so the state stays as it was.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import partial
from operator import attrgetter
from typing import Any, TypeVar

from msgspec.structs import replace

from patchworks_mock import errors
from patchworks_mock.changes import Change, Durability, InMemory
from patchworks_mock.laravel import PHP_INT_MAX, now
from patchworks_mock.records import (
    COLLECTIONS,
    DEPLOYED,
    DRAFT,
    INACTIVE,
    Deployment,
    Flow,
    FlowVersion,
    FlowVersionDeployment,
    Package,
    Record,
    User,
    VirtualEnvironment,
)
from patchworks_mock.sorted_index import KEPT_FILTERS, ORDERS, SortedIndex, name_contains

DEFAULT_PRIORITY = 50
# kept in id order, the order the API creates them in (the others in the fixtures' order)
_ID_ORDER = frozenset({"packages", "deployments", "flow_version_deployments"})
_ID = attrgetter("id")
# A path segment that can name a row: digits, up to PHP's largest integer (the fixture format's
# largest id), so every id a fixture may hold is reachable.
_KEY = re.compile(r"[0-9]{1,19}")
_Record = TypeVar("_Record")


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


def deployment_rows(
    deployment: Deployment,
    versions: Iterable[tuple[int, int]],
    live: Callable[[int], FlowVersionDeployment | None],
    new_id: Callable[[], int],
) -> list[FlowVersionDeployment]:
    """The deploy rule: the flow version deployments one deployment puts, in order.

    For each (flow version id, flow id) in `versions`, the flow version deployment `live` for
    that flow in the deployment's VE (if any) becomes inactive at the deployment's time, and a
    new one, deployed, is made with `new_id()`. The store deploys by it, and so does the fixture
    generator (`documents.generate.DeployRule`), so that generated histories follow the rule.
    """
    rows = []
    at = deployment.created_at
    for version_id, flow_id in versions:
        replaced = live(flow_id)
        if replaced is not None:
            rows.append(replace(replaced, status=INACTIVE, updated_at=at))
        rows.append(
            FlowVersionDeployment(
                id=new_id(),
                flow_version_id=version_id,
                virtual_environment_id=deployment.virtual_environment_id,
                deployment_id=deployment.id,
                status=DEPLOYED,
                deployed_by=deployment.user_id,
                created_at=at,
                updated_at=at,
            )
        )
    return rows


def _moves_in_indexes(old: Record, new: Record) -> bool:
    """Whether a changed row must be taken out of the indexes and put back. A package is
    indexed by its name and id only (whether it is deployed follows from its deployments)."""
    if isinstance(old, Package) and isinstance(new, Package):
        return old.name != new.name
    return True


def _insert_sorted(ids: list[int], value: int) -> None:
    """Keep `ids` in ascending order; new ids are the largest, so usually an append."""
    if not ids or ids[-1] < value:
        ids.append(value)
    else:
        ids.insert(bisect_left(ids, value), value)


def _remove_sorted(ids: list[int], value: int) -> None:
    at = bisect_left(ids, value)
    if at < len(ids) and ids[at] == value:
        del ids[at]


class _Staged:
    """The rows one write puts or deletes, and the ids it takes, before anything is applied."""

    def __init__(self, next_ids: Mapping[str, int]) -> None:
        self._next_ids = next_ids
        self.change = Change()

    def new_id(self, collection: str) -> int:
        """Like an auto-increment column: never an id used before, even a deleted one's."""
        value = self.change.next_ids.get(collection) or self._next_ids.get(collection, 1)
        if value > PHP_INT_MAX:  # a BIGINT column past its largest value: MySQL refuses too
            raise errors.IdsExhausted(errors.ids_exhausted(collection, PHP_INT_MAX))
        self.change.next_ids[collection] = value + 1
        return value

    def put(self, collection: str, row: Record) -> None:
        self.change.rows.append((collection, row.id, row))

    def delete(self, collection: str, row_id: int) -> None:
        self.change.rows.append((collection, row_id, None))


class Store:
    """All records of one account, their indexes, and the operations of the Packages API."""

    def __init__(self, durability: Durability | None = None) -> None:
        self.durability: Durability = durability or InMemory()
        self.users: dict[int, User] = {}
        self.flows: dict[int, Flow] = {}
        self.flow_versions: dict[int, FlowVersion] = {}
        self.virtual_environments: dict[int, VirtualEnvironment] = {}
        self.packages: dict[int, Package] = {}
        self.deployments: dict[int, Deployment] = {}
        self.flow_version_deployments: dict[int, FlowVersionDeployment] = {}
        self._next_id: dict[str, int] = {}
        # Each list of ids below is kept in ascending order, the order records were made in.
        self._deployments_of_package: dict[int, list[int]] = {}
        # The indexes read these two dicts when they first sort: change them in place only.
        # Each order has an index of all packages and one of the deployed ones; name filters
        # in use have theirs too, under (order, needles), kept up to date with the others.
        self._all: dict[str | tuple[str, tuple[str, ...]], SortedIndex] = {
            key: SortedIndex(by, self.packages) for key, by in ORDERS.items()
        }
        self._deployed: dict[str | tuple[str, tuple[str, ...]], SortedIndex] = {
            key: SortedIndex(by, self.packages, among=self._deployments_of_package)
            for key, by in ORDERS.items()
        }
        self._fvds_of_version: dict[int, list[int]] = {}
        self._live_count: dict[int, int] = {}  # flow version id -> its `deployed` fvds
        self._fvds_of_deployment: dict[int, list[int]] = {}
        self._live_fvd: dict[tuple[int, int], int] = {}  # (ve id, flow id) -> deployed fvd id
        self._last_fvd_in_environment: dict[int, int] = {}

    @classmethod
    def loaded(cls, records: Mapping[str, Iterable[Any]]) -> Store:
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

    def next_ids(self) -> dict[str, int]:
        """The id each collection gives its next new record."""
        return dict(self._next_id)

    def skip_ids(self, next_ids: Mapping[str, int]) -> None:
        """Give no id below `next_ids` (per collection) to a new record: the ids of records
        deleted before a restart are not handed out again (an auto-increment column's rule)."""
        for name, next_id in next_ids.items():
            self._next_id[name] = max(self._next_id.get(name, 1), next_id)

    # -- the one write path -----------------------------------------------------------------

    def _staged(self) -> _Staged:
        return _Staged(self._next_id)

    def _write(self, change: Change) -> None:
        """Commit `change`, then apply it; if the commit raises, nothing is applied.

        Rows are applied in their order, each against the state the rows before it left: a
        package's deployments are deleted before the package, a deployment is put before the
        flow version deployments that name it.
        """
        self.durability.commit(change)
        for collection, row_id, row in change.rows:
            table = getattr(self, collection)
            old = table.get(row_id)
            if old is not None and row is not None and not _moves_in_indexes(old, row):
                table[row_id] = row
                continue
            if old is not None:
                self._unindex(old)
            if row is None:
                del table[row_id]
            else:
                table[row_id] = row
                self._index(row)
        self._next_id.update(change.next_ids)

    def replaced_by(self, replacement: Store) -> Store:
        """`replacement` as the successor of this store (a reset, or a state put through the
        admin API): committed by this store's durability backend, which then keeps it. The
        caller swaps it in with one assignment, so a request being served keeps a whole store;
        if the commit raises, this store stays the one in use."""
        self.durability.commit(Change(replacement=replacement))
        replacement.durability = self.durability
        return replacement

    def _index(self, row: Record) -> None:
        if isinstance(row, Package):
            deployed = row.id in self._deployments_of_package
            for index in (*self._all.values(), *(self._deployed.values() if deployed else ())):
                index.add(row)
        elif isinstance(row, Deployment):
            of_package = self._deployments_of_package.setdefault(row.package_id, [])
            _insert_sorted(of_package, row.id)
            if len(of_package) == 1:  # the package is deployed now
                for index in self._deployed.values():
                    index.add(self.packages[row.package_id])
        elif isinstance(row, FlowVersionDeployment):
            self._index_flow_version_deployment(row)

    def _unindex(self, row: Record) -> None:
        if isinstance(row, Package):
            deployed = row.id in self._deployments_of_package
            for index in (*self._all.values(), *(self._deployed.values() if deployed else ())):
                index.discard(row)
        elif isinstance(row, Deployment):
            of_package = self._deployments_of_package[row.package_id]
            _remove_sorted(of_package, row.id)
            if not of_package:  # the package is deployed no more
                del self._deployments_of_package[row.package_id]
                for index in self._deployed.values():
                    index.discard(self.packages[row.package_id])
        elif isinstance(row, FlowVersionDeployment):
            self._unindex_flow_version_deployment(row)

    def _index_flow_version_deployment(self, fvd: FlowVersionDeployment) -> None:
        fvd_id, version_id, environment_id = fvd.id, fvd.flow_version_id, fvd.virtual_environment_id
        _insert_sorted(self._fvds_of_version.setdefault(version_id, []), fvd_id)
        if fvd.deployment_id is not None:
            _insert_sorted(self._fvds_of_deployment.setdefault(fvd.deployment_id, []), fvd_id)
        if fvd.status == DEPLOYED:
            self._live_count[version_id] = self._live_count.get(version_id, 0) + 1
            self._live_fvd[(environment_id, self.flow_versions[version_id].flow_id)] = fvd_id
        if fvd_id > self._last_fvd_in_environment.get(environment_id, 0):
            self._last_fvd_in_environment[environment_id] = fvd_id

    def _unindex_flow_version_deployment(self, fvd: FlowVersionDeployment) -> None:
        """Undo `_index_flow_version_deployment`; the last one made in its VE stays the last,
        as flow version deployments are changed but never deleted."""
        version_id = fvd.flow_version_id
        _remove_sorted(self._fvds_of_version[version_id], fvd.id)
        if not self._fvds_of_version[version_id]:
            del self._fvds_of_version[version_id]
        if fvd.deployment_id is not None:
            _remove_sorted(self._fvds_of_deployment[fvd.deployment_id], fvd.id)
            if not self._fvds_of_deployment[fvd.deployment_id]:
                del self._fvds_of_deployment[fvd.deployment_id]
        if fvd.status == DEPLOYED:
            self._live_count[version_id] -= 1
            live_key = (fvd.virtual_environment_id, self.flow_versions[version_id].flow_id)
            if self._live_fvd.get(live_key) == fvd.id:
                del self._live_fvd[live_key]

    # -- lookups --------------------------------------------------------------------------

    @staticmethod
    def _find(records: Mapping[int, _Record], kind: str, key: str | int) -> _Record:
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
            if len(indexes) >= len(ORDERS) + KEPT_FILTERS:  # forget the filters kept
                for kept in [k for k in indexes if k not in ORDERS]:
                    del indexes[kept]
            indexes[key] = SortedIndex(
                ORDERS[sort],
                self.packages,
                among=self._deployments_of_package if deployed_only else None,
                where=name_contains(key[1]),
            )
        return indexes[key]

    def create_package(self, name: str, notes: str | None, user_id: int | None) -> Package:
        staged = self._staged()
        stamp = now()
        package = Package(
            id=staged.new_id("packages"),
            name=name,
            notes=notes,
            created_by_id=user_id,
            created_at=stamp,
            updated_at=stamp,
        )
        staged.put("packages", package)
        self._write(staged.change)
        return package

    def update_package(self, key: str, changes: dict[str, Any]) -> Package:
        """Change name and notes; a package sent back unchanged keeps its `updated_at`."""
        package = self.package(key)
        changed = {k: v for k, v in changes.items() if getattr(package, k) != v}
        if not changed:
            return package
        updated = replace(package, **changed, updated_at=now())
        self._write(Change(rows=[("packages", package.id, updated)]))
        return updated

    def delete_package(self, key: str) -> None:
        """Delete a package, its memberships and deployment records; flows stay deployed."""
        package = self.package(key)
        staged = self._staged()
        for deployment in self.deployments_of(package):
            self._stage_forgetting(staged, deployment)
        staged.delete("packages", package.id)
        self._write(staged.change)

    def add_version(self, package_key: str, version_key: str, priority: int | None) -> Package:
        """Put a flow version in a package; the same version again only changes its priority."""
        package = self.package(package_key)
        version = self.flow_version(version_key)
        members = dict(package.members)
        if version.id not in members:
            if any(self.flow_versions[m].flow_id == version.flow_id for m in members):
                raise errors.Invalid.field("flow_version", errors.FLOW_ALREADY_IN_PACKAGE)
            members[version.id] = DEFAULT_PRIORITY if priority is None else priority
        elif priority is not None:
            members[version.id] = priority
        updated = replace(package, members=members, updated_at=now())
        self._write(Change(rows=[("packages", package.id, updated)]))
        return updated

    def remove_version(self, package_key: str, version_key: str) -> None:
        """Take a flow version out of a package that has never been deployed."""
        package = self.package(package_key)
        version = self.flow_version(version_key)
        if version.id not in package.members:
            raise errors.NotFound(errors.NOT_IN_PACKAGE)
        if package.first_deployed_at is not None:
            raise errors.Invalid.field("flow_version", errors.REMOVE_AFTER_DEPLOY)
        members = {m: p for m, p in package.members.items() if m != version.id}
        updated = replace(package, members=members, updated_at=now())
        self._write(Change(rows=[("packages", package.id, updated)]))

    def deploy(
        self,
        package_key: str | int,
        environment_key: str | int,
        notes: str | None,
        user_id: int | None,
    ) -> Deployment:
        """Make every version in the package the deployed version of its flow in the VE; the
        versions they replace there become inactive (`deployment_rows`)."""
        package = self.package(package_key)
        environment = self.virtual_environment(environment_key)
        if not package.members:
            raise errors.Invalid.field("package", errors.EMPTY_PACKAGE)
        stamp = now()
        staged = self._staged()
        deployment = Deployment(
            id=staged.new_id("deployments"),
            package_id=package.id,
            virtual_environment_id=environment.id,
            user_id=user_id,
            notes=notes,
            created_at=stamp,
            updated_at=stamp,
        )
        staged.put("deployments", deployment)

        def live(flow_id: int) -> FlowVersionDeployment | None:
            fvd_id = self._live_fvd.get((environment.id, flow_id))
            return None if fvd_id is None else self.flow_version_deployments[fvd_id]

        versions = [(v, self.flow_versions[v].flow_id) for v in package.members]
        new_id = partial(staged.new_id, "flow_version_deployments")
        for row in deployment_rows(deployment, versions, live, new_id):
            staged.put("flow_version_deployments", row)
        if package.first_deployed_at is None:
            staged.put("packages", replace(package, first_deployed_at=stamp))
        self._write(staged.change)
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
        staged = self._staged()
        for deployment in records:
            self._stage_forgetting(staged, deployment)
        self._write(staged.change)

    def _stage_forgetting(self, staged: _Staged, deployment: Deployment) -> None:
        """Stage the deletion of a deployment record; its flow versions stay deployed."""
        for fvd_id in self._fvds_of_deployment.get(deployment.id, ()):
            fvd = self.flow_version_deployments[fvd_id]
            staged.put("flow_version_deployments", replace(fvd, deployment_id=None))
        staged.delete("deployments", deployment.id)
