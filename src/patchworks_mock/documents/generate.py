"""Seeded, realistic fixture documents of any size, valid by construction.

Everything random comes from one `random.Random` and one Faker instance seeded from the seed,
and every timestamp is an offset from a fixed epoch, so the same arguments give the same
document on any machine (with the same Python and Faker versions). Each record costs O(1):
the only whole-collection step is ordering the deployments by time.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from functools import partial
from itertools import count

from patchworks_mock import laravel
from patchworks_mock.records import Deployment, FlowVersionDeployment, as_record
from patchworks_mock.store import deployment_rows

EPOCH = datetime(2024, 1, 1, tzinfo=UTC)
HOUR = 3600
DAY = 24 * HOUR
PACKAGE_SPAN = 365 * DAY  # packages are created over one year after the flows exist
# The UI's five levels (highest .. lowest) spread over the API's 1..100, "regular" the most
# common; repeated by weight so that a draw is one `choice`.
PRIORITIES = (10,) + (30,) * 2 + (50,) * 8 + (70,) * 2 + (90,)
MAX_MEMBERS = 6
PROGRESS_EVERY = 5000

Progress = Callable[[str, int, int], None]
"""Called as `progress(stage, done, total)` while a large document is made."""

SYSTEMS = (
    "Shopify",
    "NetSuite",
    "Magento",
    "BigCommerce",
    "WooCommerce",
    "Xero",
    "HubSpot",
    "Salesforce",
    "Peoplevox",
    "Brightpearl",
    "Linnworks",
    "Mintsoft",
    "Sage 200",
    "QuickBooks",
    "Dynamics 365",
    "SAP Business One",
    "Klaviyo",
    "Amazon",
    "eBay",
    "Zendesk",
    "Stripe",
    "ShipStation",
)
ENTITIES = (
    "orders",
    "customers",
    "products",
    "stock levels",
    "prices",
    "refunds",
    "invoices",
    "despatches",
    "fulfilments",
    "returns",
    "payments",
    "shipments",
    "purchase orders",
    "tracking numbers",
)
ENVIRONMENTS = (
    ("Development", "test"),
    ("Staging", "test"),
    ("Production", "live"),
    ("UAT", "test"),
    ("Production EU", "live"),
    ("Sandbox", "test"),
    ("Production US", "live"),
)
PACKAGE_KINDS = (
    "release",
    "hotfix",
    "rollout",
    "cutover",
    "go-live",
    "sync update",
    "mapping fix",
    "schedule change",
)
EVENTS = ("Black Friday", "Peak", "January sale", "Summer sale", "Year end", "Spring launch")
PACKAGE_NOTES = (
    "Changes agreed with {person} at the weekly change review.",
    "Fixes the {entity} mapping after the {system} API update.",
    "Raise the batch size for {entity}; {person} to watch the queue.",
    "Retry failed {entity} every 15 minutes instead of hourly.",
    "Adds the {system} connector for {entity}.",
    "Rollback point before the {system} upgrade.",
    "Ticket SUP-{number}: duplicate {entity} in {system}.",
)
DEPLOYMENT_NOTES = (
    "Signed off by {person}.",
    "Deployed after the smoke tests passed.",
    "Out-of-hours deploy; {person} on call.",
    "Redeploy to pick up the {system} credentials change.",
    "Ticket SUP-{number}.",
)


def timestamp(offset: int) -> str:
    """Laravel's timestamp format for `offset` seconds after the fixed epoch."""
    return laravel.timestamp(EPOCH + timedelta(seconds=offset))


def check_sizes(
    *,
    users: int,
    flows: int,
    versions_per_flow: int,
    environments: int,
    packages: int,
    deployed_ratio: float,
) -> None:
    """Raise `ValueError` with a one-line reason for sizes that make no document."""
    for name, value, least in (
        ("users", users, 0),
        ("flows", flows, 0),
        ("versions_per_flow", versions_per_flow, 1),
        ("environments", environments, 0),
        ("packages", packages, 0),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise ValueError(f"{name} must be an integer of at least {least}, not {value!r}")
    if not 0.0 <= deployed_ratio <= 1.0:
        raise ValueError(f"deployed_ratio must be between 0 and 1, not {deployed_ratio!r}")


class DeployRule:
    """Deployments made one after another by the store's deploy rule (`store.deployment_rows`),
    kept as fixture records: per VE and flow, the newest version is `deployed`.

    Deployments must be fed in id (= time) order; earlier flow version deployments of the same
    flow in the same VE become `inactive` at the time of the newer one.
    """

    def __init__(self) -> None:
        self._deployments: list[Deployment] = []
        self._fvds: list[FlowVersionDeployment] = []  # the one with id N at N - 1
        self._live: dict[tuple[int, int], FlowVersionDeployment] = {}  # (VE, flow) -> deployed

    def deploy(
        self,
        *,
        package_id: int,
        environment_id: int,
        versions: Sequence[tuple[int, int]],
        user_id: int | None,
        notes: str | None,
        at: str,
    ) -> None:
        """Record one deployment of `versions` ((version id, flow id) pairs) made at `at`."""
        deployment = Deployment(
            id=len(self._deployments) + 1,
            package_id=package_id,
            virtual_environment_id=environment_id,
            user_id=user_id,
            notes=notes,
            created_at=at,
            updated_at=at,
        )
        self._deployments.append(deployment)
        flow_of = dict(versions)
        ids = count(len(self._fvds) + 1)
        live = partial(self._live_in, environment_id)
        for row in deployment_rows(deployment, versions, live, ids.__next__):
            if row.id <= len(self._fvds):  # one made before, now inactive
                self._fvds[row.id - 1] = row
            else:
                self._fvds.append(row)
                self._live[(environment_id, flow_of[row.flow_version_id])] = row

    def _live_in(self, environment_id: int, flow_id: int) -> FlowVersionDeployment | None:
        return self._live.get((environment_id, flow_id))

    def records(self) -> tuple[list[dict], list[dict]]:
        """The deployments and flow version deployments, as a fixture document lists them."""
        return [as_record(d) for d in self._deployments], [as_record(f) for f in self._fvds]


def generate(
    seed: int,
    *,
    users: int = 5,
    flows: int = 20,
    versions_per_flow: int = 3,
    environments: int = 3,
    packages: int = 50,
    deployed_ratio: float = 0.5,
    progress: Progress | None = None,
) -> dict:
    """A valid fixture document made from `seed`; the same arguments give the same document.

    `deployed_ratio` is the chance that a package with flow versions has been deployed (to one
    to three environments, test ones first). Raises `ValueError` for impossible sizes.
    """
    check_sizes(
        users=users,
        flows=flows,
        versions_per_flow=versions_per_flow,
        environments=environments,
        packages=packages,
        deployed_ratio=deployed_ratio,
    )
    return _Generator(seed, progress).document(
        users, flows, versions_per_flow, environments, packages, deployed_ratio
    )


class _Generator:
    def __init__(self, seed: int, progress: Progress | None) -> None:
        from faker import Faker  # here, not at the top: the server imports this module too

        self.rng = random.Random(seed)
        self.fake = Faker("en_US")
        self.fake.seed_instance(seed)
        self.progress = progress or (lambda stage, done, total: None)
        self.people: list[str] = []

    def document(
        self,
        users: int,
        flows: int,
        versions_per_flow: int,
        environments: int,
        packages: int,
        deployed_ratio: float,
    ) -> dict:
        user_records = self.users(users)
        environment_records = self.environments(environments)
        flow_records, version_records, flows_done = self.flows(flows, versions_per_flow)
        package_records, plans = self.packages(
            packages, flows_done + DAY, flow_records, versions_per_flow, users
        )
        rule = self.deploy(plans, package_records, environment_records, users, deployed_ratio)
        deployments, flow_version_deployments = rule.records()
        return {
            "users": user_records,
            "flows": flow_records,
            "flow_versions": version_records,
            "virtual_environments": environment_records,
            "packages": package_records,
            "deployments": deployments,
            "flow_version_deployments": flow_version_deployments,
        }

    def person(self) -> str:
        return self.rng.choice(self.people) if self.people else self.fake.first_name()

    def _fill(self, template: str) -> str:
        rng = self.rng
        return template.format(
            person=self.person(),
            system=rng.choice(SYSTEMS),
            entity=rng.choice(ENTITIES),
            number=rng.randrange(100, 10000),
        )

    def users(self, count: int) -> list[dict]:
        records = []
        emails: set[str] = set()
        for user_id in range(1, count + 1):
            first, last = self.fake.first_name(), self.fake.last_name()
            self.people.append(first)
            local = f"{first}.{last}".lower().replace(" ", "").replace("'", "")
            email = f"{local}@example.com"
            if email in emails:
                email = f"{local}{user_id}@example.com"
            emails.add(email)
            created = self.rng.randrange(0, 30 * DAY)
            changed = self.rng.random() < 0.4
            updated = created + (self.rng.randrange(DAY, 60 * DAY) if changed else 0)
            records.append(
                {
                    "id": user_id,
                    "name": f"{first} {last}",
                    "email": email,
                    "password": self.fake.password(length=16, special_chars=False),
                    "created_at": timestamp(created),
                    "updated_at": timestamp(updated),
                }
            )
        return records

    def environments(self, count: int) -> list[dict]:
        records = []
        for environment_id in range(1, count + 1):
            name, kind = ENVIRONMENTS[(environment_id - 1) % len(ENVIRONMENTS)]
            round_ = (environment_id - 1) // len(ENVIRONMENTS)
            created = self.rng.randrange(0, 7 * DAY)
            records.append(
                {
                    "id": environment_id,
                    "name": f"{name} {round_ + 1}" if round_ else name,
                    "type": kind,
                    "created_at": timestamp(created),
                    "updated_at": timestamp(created + self.rng.randrange(0, 30 * DAY)),
                }
            )
        return records

    def flows(self, count: int, versions_per_flow: int) -> tuple[list[dict], list[dict], int]:
        """Flows, their versions, and the time the last version was saved."""
        rng = self.rng
        flows: list[dict] = []
        versions: list[dict] = []
        last_saved = 0
        names_used: dict[str, int] = {}
        for flow_id in range(1, count + 1):
            source = rng.choice(SYSTEMS)
            target = rng.choice([s for s in SYSTEMS[:8] if s != source])
            name = f"{source} {rng.choice(ENTITIES)} to {target}"
            names_used[name] = names_used.get(name, 0) + 1
            if names_used[name] > 1:
                name = f"{name} ({names_used[name]})"
            created = 7 * DAY + rng.randrange(0, 60 * DAY)
            moment = created
            for iteration in range(1, versions_per_flow + 1):
                moment += rng.randrange(HOUR, 10 * DAY)
                edited = moment + rng.randrange(0, 2 * HOUR)
                versions.append(
                    {
                        "id": len(versions) + 1,
                        "flow_id": flow_id,
                        "iteration": iteration,
                        "created_at": timestamp(moment),
                        "updated_at": timestamp(edited),
                    }
                )
                moment = edited
            last_saved = max(last_saved, moment)
            flows.append(
                {
                    "id": flow_id,
                    "name": name,
                    "created_at": timestamp(created),
                    "updated_at": timestamp(moment),
                }
            )
        return flows, versions, last_saved

    def package_name(self, flow_name: str | None) -> str:
        rng = self.rng
        kind = rng.choice(PACKAGE_KINDS)
        roll = rng.random()
        if flow_name and roll < 0.45:
            return f"{flow_name} {kind}"
        if roll < 0.7:
            return f"{rng.choice(EVENTS)} {kind} {rng.randrange(1, 100)}"
        quarter = f"Q{rng.randrange(1, 5)} {rng.choice((2024, 2025))}"
        return f"{quarter} {rng.choice(SYSTEMS)} {kind}"

    def packages(
        self, count: int, start: int, flows: list[dict], versions_per_flow: int, users: int
    ) -> tuple[list[dict], list[tuple[int, list[tuple[int, int]]]]]:
        """Package records and, per package, (last change time, [(version id, flow id)])."""
        rng = self.rng
        step = PACKAGE_SPAN / max(count, 1)
        records, plans = [], []
        for index in range(count):
            package_id = index + 1
            size = 0 if not flows or rng.random() < 0.05 else rng.randint(1, MAX_MEMBERS)
            chosen = rng.sample(range(len(flows)), min(size, len(flows)))
            members, pairs = [], []
            for flow_index in chosen:
                latest = rng.random() < 0.6
                iteration = versions_per_flow if latest else rng.randint(1, versions_per_flow)
                version_id = flow_index * versions_per_flow + iteration
                members.append(
                    {
                        "flow_version_id": version_id,
                        "priority": rng.choice(PRIORITIES),
                    }
                )
                pairs.append((version_id, flow_index + 1))
            created = start + int(index * step) + rng.randrange(0, max(int(step), 1))
            updated = created + (rng.randrange(60, 3 * DAY) if rng.random() < 0.7 else 0)
            first_flow = flows[chosen[0]]["name"] if chosen else None
            notes = self._fill(rng.choice(PACKAGE_NOTES)) if rng.random() < 0.7 else None
            records.append(
                {
                    "id": package_id,
                    "name": self.package_name(first_flow),
                    "notes": notes,
                    "created_by_id": rng.randint(1, users) if users else None,
                    "created_at": timestamp(created),
                    "updated_at": timestamp(updated),
                    "flow_versions": members,
                }
            )
            plans.append((updated, pairs))
            if package_id % PROGRESS_EVERY == 0:
                self.progress("packages", package_id, count)
        self.progress("packages", count, count)
        return records, plans

    def deploy(
        self,
        plans: list[tuple[int, list[tuple[int, int]]]],
        packages: list[dict],
        environments: list[dict],
        users: int,
        deployed_ratio: float,
    ) -> DeployRule:
        rng = self.rng
        tests = [e["id"] for e in environments if e["type"] == "test"]
        lives = [e["id"] for e in environments if e["type"] == "live"]
        events = []
        for package_index, (changed, pairs) in enumerate(plans):
            if not pairs or not environments or rng.random() >= deployed_ratio:
                continue
            moment = changed + rng.randrange(HOUR, 14 * DAY)
            for round_ in range(1 + (rng.random() < 0.4) + (rng.random() < 0.15)):
                pool = tests if (round_ == 0 and tests) or not lives else lives
                notes = self._fill(rng.choice(DEPLOYMENT_NOTES)) if rng.random() < 0.6 else None
                user_id = rng.randint(1, users) if users else None
                events.append((moment, package_index, round_, rng.choice(pool), user_id, notes))
                moment += rng.randrange(HOUR, 7 * DAY)
        events.sort(key=lambda event: event[:3])
        rule = DeployRule()
        for done, (moment, package_index, _, environment_id, user_id, notes) in enumerate(events):
            rule.deploy(
                package_id=packages[package_index]["id"],
                environment_id=environment_id,
                versions=plans[package_index][1],
                user_id=user_id,
                notes=notes,
                at=timestamp(moment),
            )
            if done % PROGRESS_EVERY == 0:
                self.progress("deployments", done, len(events))
        self.progress("deployments", len(events), len(events))
        return rule
