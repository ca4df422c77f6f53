"""Domain properties no schema can express, each a named Hypothesis test with a plain message.

Each property works only on packages it creates under the run's prefix and filters lists by
that prefix, so it holds on a shared deployment as well as on the mock.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
from hypothesis import strategies as st

from patchworks_mock.contract import boundaries, checks, reading
from patchworks_mock.contract.api import OPERATIONS, Api, QueryValue, label
from patchworks_mock.contract.exchange import from_httpx
from patchworks_mock.contract.expectations import (
    Assumptions,
    Violation,
    data,
    expect,
    expect_status,
)
from patchworks_mock.contract.hypothesis_runs import check_all
from patchworks_mock.contract.rules import (
    ABSENT,
    DEFAULT_PRIORITY,
    QUERY_NOT_ALLOWED,
    UNAUTHENTICATED,
    nonblank,
    stored,
)
from patchworks_mock.contract.safety import Ledger
from patchworks_mock.contract.target import Target

MAX_PAGES = 12
WORDS = ["Alpha", "alpha beta", "BETA gamma", "Gamma", "delta", "Epsilon alpha"]
T = TypeVar("T")
TEXT = st.text(
    alphabet=st.characters(min_codepoint=32, max_codepoint=126) | st.sampled_from("\t é"),
    max_size=30,
)


@dataclass
class Context:
    target: Target
    ledger: Ledger
    client: httpx.Client
    seed: int
    examples: int
    flows: dict[str, int] = field(default_factory=dict)  # flow version id -> flow id
    # where api-notes records a decision, not a fact, a difference is kept here, not raised
    assumptions: Assumptions = field(default_factory=Assumptions)

    @property
    def api(self) -> Api:
        return Api(self.client)

    def create(self, suffix: str, **body: object) -> dict[str, Any]:
        """A package of this run's, named `<prefix><suffix>`; its `data`."""
        response = self.api.create({"name": self.ledger.name(suffix), **body})
        self.ledger.record_created(response)
        expect(
            response.status_code in (200, 201),
            "creating a package with a valid name failed",
            response,
            "HTTP 201 (or 200)",
        )
        return data(response)

    def run(
        self,
        strategy: st.SearchStrategy[T],
        body: Callable[[T], None],
        examples: int | None = None,
    ) -> None:
        """`body` on values of `strategy`, seeded; `examples` of them, or the run's number."""
        check_all(strategy, body, run_seed=self.seed, examples=examples or self.examples)


@dataclass
class Property:
    name: str
    operation: str
    needs: tuple[str, ...]  # "write", "flows", "two_of_a_flow", "deploy"
    check: Callable[[Context], None]


def _walk(
    ctx: Context, params: dict[str, Any], deployed: bool = False
) -> list[tuple[int, dict[str, Any]]]:
    """Every page of a list (bounded), each page's envelope checked by the shared checks."""
    pages = []
    page, last_page = 1, 1
    while page <= min(last_page, MAX_PAGES):
        response = ctx.api.list({**params, "page": page}, deployed=deployed)
        expect_status(response, 200, "listing packages failed")
        exchange = from_httpx(response, ctx.target.base_path)
        for check in (checks.page_arithmetic, checks.page_links):
            for finding in check(exchange, reading.Seen()) or []:
                raise Violation(finding.message, response, finding.expected)
        body = response.json()
        last_page = body["meta"]["last_page"]
        pages.append((page, body))
        page += 1
    return pages


def pagination(ctx: Context) -> None:
    """Every page with any per_page: each matching package exactly once, envelope consistent."""
    ours = {str(ctx.create(f"page-{n:02d}")["id"]) for n in range(7)}
    needle = ctx.ledger.prefix + "page-"

    def walk(args: tuple[int, str | None]) -> None:
        per_page, sort = args
        params: dict[str, QueryValue] = {"filter[name]": needle, "per_page": per_page}
        if sort:
            params["sort"] = sort
        pages = _walk(ctx, params)
        seen = [str(row["id"]) for _, body in pages for row in body["data"]]
        duplicates = sorted({i for i in seen if seen.count(i) > 1})
        last = pages[-1][1]
        if duplicates or set(seen) != ours or last["meta"]["total"] != len(ours):
            raise Violation(
                f"walking every page with per_page={per_page} (sort={sort}) returned "
                f"{len(seen)} packages, duplicates {duplicates}, missing "
                f"{sorted(ours - set(seen))}, extra {sorted(set(seen) - ours)}; meta.total "
                f"{last['meta']['total']}",
                ctx.api.list({**params, "page": pages[-1][0]}),
                expected=f"each of the {len(ours)} matching packages exactly once",
            )
        beyond = ctx.api.list({**params, "page": len(pages) + 1})
        expect(
            beyond.status_code == 200 and beyond.json()["data"] == [],
            "a page past the last one is not empty",
            beyond,
            'HTTP 200 with "data": []',
        )

    ctx.run(st.tuples(st.integers(1, 9), st.sampled_from([None, "name", "-name"])), walk)


def _population(ctx: Context, tag: str) -> dict[str, str]:
    """One package per word, named `<prefix><tag>-<word>`; returns id -> name."""
    names = {word: ctx.ledger.name(f"{tag}-{word}") for word in WORDS}
    return {str(ctx.create(f"{tag}-{word}")["id"]): names[word] for word in WORDS}


def name_filter(ctx: Context) -> None:
    """filter[name] returns exactly the packages whose names contain one of its values."""
    ours = _population(ctx, "flt")
    fragments = st.sampled_from(sorted(ours.values())).flatmap(
        lambda name: st.tuples(st.integers(len(ctx.ledger.prefix), len(name) - 2), st.just(name))
    )
    needle = fragments.flatmap(
        lambda args: st.integers(args[0] + 2, len(args[1])).map(lambda end: args[1][args[0] : end])
    ).flatmap(lambda text: st.sampled_from([text, text.upper(), text.lower(), text.swapcase()]))

    def check(needles: list[str]) -> None:
        value = ",".join(needles)
        pages = _walk(ctx, {"filter[name]": value, "per_page": 100})
        rows = [row for _, body in pages for row in body["data"]]
        request = ctx.api.list({"filter[name]": value, "per_page": 100})
        for row in rows:
            expect(
                any(n.casefold() in row["name"].casefold() for n in needles),
                f"filter[name]={value!r} returned {row['name']!r}, which contains none of "
                f"{needles}",
                request,
            )
        returned = {str(row["id"]) for row in rows} & set(ours)
        wanted = {
            i for i, name in ours.items() if any(n.casefold() in name.casefold() for n in needles)
        }
        if len(pages) < MAX_PAGES or pages[-1][1]["meta"]["last_page"] <= MAX_PAGES:
            expect(
                returned == wanted,
                f"filter[name]={value!r} returned {sorted(ours[i] for i in returned)} of this "
                f"run's packages; the matching ones are {sorted(ours[i] for i in wanted)}",
                request,
            )

    ctx.run(st.lists(needle, min_size=1, max_size=2), check)


def sort_order(ctx: Context) -> None:
    """sort=name and sort=-name order the packages by name, across every page."""
    ours = _population(ctx, "srt")
    needle = ctx.ledger.prefix + "srt-"

    def check(args: tuple[str, int]) -> None:
        sort, per_page = args
        pages = _walk(ctx, {"filter[name]": needle, "sort": sort, "per_page": per_page})
        names = [row["name"] for _, body in pages for row in body["data"]]
        keys = [name.casefold() for name in names]
        wanted = sorted(keys, reverse=sort.startswith("-"))
        expect(
            keys == wanted and len(names) == len(ours),
            f"sort={sort} with per_page={per_page} gave {names}",
            ctx.api.list({"filter[name]": needle, "sort": sort, "per_page": per_page}),
            expected=f"the {len(ours)} names in {'descending' if sort[0] == '-' else 'ascending'}"
            " order",
        )

    ctx.run(st.tuples(st.sampled_from(["name", "-name"]), st.integers(1, 7)), check)


def crud_round_trip(ctx: Context) -> None:
    """create -> get returns every field; update persists; delete -> 404 and gone from lists."""
    fields = st.tuples(
        TEXT.filter(nonblank), st.none() | TEXT, TEXT.filter(nonblank), st.none() | TEXT
    )

    def check(args: tuple[str, str | None, str, str | None]) -> None:
        name, notes, new_name, new_notes = args
        full = ctx.ledger.name(f"crud-{name}")
        response = ctx.api.create({"name": full, "notes": notes})
        created_id = ctx.ledger.record_created(response)
        expect(created_id is not None, "creating a valid package failed", response, "HTTP 201")
        created = data(response)
        wanted = {"name": stored(full), "notes": stored(notes)}
        got = {k: created.get(k) for k in wanted}
        expect(got == wanted, f"create answered {got}", response, str(wanted))
        fetched = ctx.api.get(created_id)
        expect_status(fetched, 200, "a package just created cannot be fetched")
        for key in ("id", "name", "notes", "created_by_id", "created_at"):
            expect(
                data(fetched).get(key) == created.get(key),
                f"GET returns {key}={data(fetched).get(key)!r}; create answered "
                f"{created.get(key)!r}",
                fetched,
            )
        new_full = ctx.ledger.name(f"crud-{new_name}")
        updated = ctx.api.update(created_id, {"name": new_full, "notes": new_notes})
        expect_status(updated, 200, "updating a package with valid fields failed")
        wanted = {"name": stored(new_full), "notes": stored(new_notes)}
        fetched = ctx.api.get(created_id)
        got = {k: data(fetched).get(k) for k in wanted}
        expect(got == wanted, f"after the update GET returns {got}", fetched, str(wanted))
        deleted = ctx.api.delete(created_id)
        expect_status(deleted, 200, "deleting a package failed")
        gone = ctx.api.get(created_id)
        expect_status(gone, 404, "a deleted package can still be fetched")
        listed = ctx.api.list({"filter[name]": stored(new_full), "per_page": 100})
        expect(
            created_id not in {str(r["id"]) for r in listed.json().get("data", [])},
            "a deleted package is still listed",
            listed,
        )

    ctx.run(fields, check)


def _members(ctx: Context, package_id: str) -> dict[str, int]:
    response = ctx.api.get(package_id, include="flowVersions")
    expect_status(response, 200, "a package cannot be fetched with include=flowVersions")
    rows = data(response).get("flow_versions")
    expect(isinstance(rows, list), "include=flowVersions gives no flow_versions list", response)
    return {str(row["id"]): row.get("pivot", {}).get("priority") for row in rows}


def flow_versions(ctx: Context) -> None:
    """Adding and removing flow versions shows in include=flowVersions with the priority."""
    versions = sorted(ctx.flows)
    siblings = {
        v: [w for w in versions if w != v and ctx.flows[w] == ctx.flows[v]] for v in versions
    }

    def check(args: tuple[str, int | None, int]) -> None:
        version, priority, new_priority = args
        package = str(ctx.create("fv")["id"])
        body = {} if priority is None else {"priority": priority}
        added = ctx.api.add_version(package, version, body)
        expect_status(added, 200, f"adding flow version {version} to a new package failed")
        held = _members(ctx, package)
        shown = ctx.api.get(package, include="flowVersions")
        if priority is None:  # the default priority is a decision (api-notes: 50)
            expect(
                set(held) == {version}, f"after adding {version} the package holds {held}", shown
            )
            ctx.assumptions.expect(
                held[version] == DEFAULT_PRIORITY,
                f"a flow version added without a priority got priority {held[version]}; "
                f"api-notes decides {DEFAULT_PRIORITY}",
                shown,
                f"priority {DEFAULT_PRIORITY}",
            )
        else:
            expect(
                held == {version: priority},
                f"after adding flow version {version} with priority {priority} the package "
                f"holds {held}",
                shown,
                str({version: priority}),
            )
        again = ctx.api.add_version(package, version, {"priority": new_priority})
        expect_status(again, 200, "adding the same flow version again failed")
        ctx.assumptions.expect(  # api-notes decides: adding it again only updates the priority
            _members(ctx, package) == {version: new_priority},
            f"adding a flow version again with priority {new_priority} left "
            f"{_members(ctx, package)}; api-notes decides it updates the priority",
            ctx.api.get(package, include="flowVersions"),
        )
        for sibling in siblings[version][:1]:
            refused = ctx.api.add_version(package, sibling)
            ctx.assumptions.expect(  # api-notes: "decision, 422"
                refused.status_code == 422 and "flow_version" in refused.json().get("errors", {}),
                "a second version of a flow the package holds was not refused; api-notes "
                "decides 422",
                refused,
                'HTTP 422 with errors["flow_version"]',
            )
            if refused.is_success:  # accepted: take it out again, the rest of the test goes on
                expect_status(ctx.api.remove_version(package, sibling), 200, "removal failed")
        removed = ctx.api.remove_version(package, version)
        expect_status(removed, 200, "removing a flow version from an undeployed package failed")
        expect(
            _members(ctx, package) == {},
            "a removed flow version is still in the package",
            ctx.api.get(package, include="flowVersions"),
        )
        gone = ctx.api.remove_version(package, version)
        ctx.assumptions.expect(  # api-notes: "Decision: ... 404 if not in the package"
            gone.status_code == 404,
            "removing a flow version that is not in the package did not answer 404; api-notes "
            "decides 404",
            gone,
            "HTTP 404",
        )
        ctx.api.delete(package)

    priorities = st.none() | st.integers(1, 100)
    ctx.run(st.tuples(st.sampled_from(versions), priorities, st.integers(1, 100)), check)


def _one_per_flow(ctx: Context) -> st.SearchStrategy[tuple[str, ...]]:
    by_flow: dict[int, list[str]] = {}
    for version, flow in sorted(ctx.flows.items()):
        by_flow.setdefault(flow, []).append(version)
    return st.lists(st.sampled_from(sorted(by_flow)), min_size=1, max_size=3, unique=True).flatmap(
        lambda flows: st.tuples(*(st.sampled_from(by_flow[f]) for f in flows))
    )


def deploy_lifecycle(ctx: Context) -> None:
    """deploy -> listed as deployed and in sync on compare; removing the VE takes it out."""
    environments = ctx.target.virtual_environments

    def deployed_ids(name: str) -> set[str]:
        response = ctx.api.list({"filter[name]": name, "per_page": 100}, deployed=True)
        expect_status(response, 200, "listing deployed packages failed")
        return {str(row["id"]) for row in response.json()["data"]}

    def check(args: tuple[str, tuple[str, ...]]) -> None:
        environment, versions = args
        created = ctx.create("deploy")
        package, name = str(created["id"]), created["name"]
        refused = ctx.api.deploy(package, environment)
        ctx.assumptions.expect(  # api-notes: "Deploying an empty package: decision, 422"
            refused.status_code == 422,
            "deploying a package with no flow versions was not refused; api-notes decides 422",
            refused,
            "HTTP 422",
        )
        for version in versions:
            expect_status(ctx.api.add_version(package, version), 200, "adding a version failed")
        deployed = ctx.api.deploy(package, environment, {"notes": "contract check"})
        expect_status(deployed, 200, f"deploying the package to VE {environment} failed")
        record = data(deployed)
        expect(
            str(record.get("package_id")) == package
            and str(record.get("virtual_environment_id")) == environment,
            "the deployment names another package or VE",
            deployed,
        )
        expect(
            package in deployed_ids(name),
            "a deployed package is missing from the deployed-packages list",
            ctx.api.list({"filter[name]": name, "per_page": 100}, deployed=True),
        )
        compared = ctx.api.compare(package, environment)
        expect_status(compared, 200, "compare failed")
        rows = data(compared)
        got = {str(r["package_version"]["id"]): r for r in rows}
        expect(set(got) == set(versions), f"compare lists versions {sorted(got)}", compared)
        for version, row in got.items():
            live = (row.get("environment_version") or {}).get("id")
            expect(
                row["in_sync"] is True and str(live) == version,
                f"right after the deploy compare reports flow {row['flow_id']} as in_sync="
                f"{row['in_sync']} with environment version {live}",
                compared,
                f"in_sync true, environment_version.id {version}",
            )
        late = ctx.api.remove_version(package, versions[0])
        ctx.assumptions.expect(  # api-notes: "Decision: 422 once deployed"
            late.status_code == 422,
            "removing a flow version from a deployed package was not refused; api-notes "
            "decides 422",
            late,
            "HTTP 422",
        )
        removed = ctx.api.remove_environment(package, environment)
        expect_status(removed, 200, "removing the VE from the package failed")
        expect(
            package not in deployed_ids(name),
            "after removing its only VE the package is still listed as deployed",
            ctx.api.list({"filter[name]": name, "per_page": 100}, deployed=True),
        )
        expect_status(
            ctx.api.remove_environment(package, environment),
            404,
            "removing a VE the package is not deployed to must answer 404",
        )
        ctx.api.delete(package)

    strategy = st.tuples(st.sampled_from(environments), _one_per_flow(ctx))
    ctx.run(strategy, check, examples=max(min(ctx.examples, 5), 1))


def _concrete(path: str) -> str:
    for name in ("{package}", "{virtual_environment}", "{flow_version}"):
        path = path.replace(name, ABSENT)
    return path


def auth_check(operation_id: str, method: str, path: str) -> Callable[[Context], None]:
    """Missing or wrong credentials on this operation: 401 and Laravel's body."""

    def check(ctx: Context) -> None:
        concrete = _concrete(path)

        def one(key: str | None) -> None:
            with ctx.target.client() as bare:  # retried and paced as every request of the run
                bare.event_hooks = ctx.client.event_hooks  # the checks of every answer see it
                bare.headers.pop("Authorization", None)
                if key is not None:
                    bare.headers["Authorization"] = key
                body: dict[str, object] | None = {} if method in ("POST", "PUT") else None
                response = bare.request(method, concrete, json=body)
            what = "no Authorization header" if key is None else f"the wrong key {key!r}"
            expect(
                response.status_code == 401,
                f"{method} {concrete} with {what} was not refused",
                response,
                'HTTP 401 {"message": "Unauthenticated."}',
            )
            try:
                got = response.json()
            except ValueError:
                got = None
            expect(
                got == UNAUTHENTICATED,
                f"the 401 for {what} has the wrong body",
                response,
                'HTTP 401 {"message": "Unauthenticated."}',
            )

        keys = st.none() | st.from_regex(r"[A-Za-z0-9._-]{1,40}", fullmatch=True).filter(
            lambda k: k != ctx.target.api_key
        )
        ctx.run(keys, one, examples=max(min(ctx.examples, 5), 2))

    check.__doc__ = f"{method} {path} refuses a missing or wrong key with 401."
    return check


UNKNOWN_QUERIES = [  # one of each kind spatie refuses; none of them names anything allowed
    ({"filter[colour]": "red"}, "filter"),
    ({"sort": "colour"}, "sort"),
    ({"include": "owner"}, "include"),
]


def unknown_query_refused(path: str) -> Callable[[Context], None]:
    """An unknown filter, sort or include is refused with spatie's 400, not ignored."""

    def check(ctx: Context) -> None:
        concrete = _concrete(path).replace(f"/{ABSENT}", f"/{_any_package(ctx)}")
        for query, kind in UNKNOWN_QUERIES:
            response = ctx.client.get(concrete, params=query)
            message = response.json().get("message") if response.status_code == 400 else None
            expect(
                isinstance(message, str)
                and message.startswith(f"Requested {kind}(s)")
                and any(p.fullmatch(message) for p in QUERY_NOT_ALLOWED),
                f"an unknown {kind} ({query}) was not refused with spatie's 400",
                response,
                f"HTTP 400 Requested {kind}(s) `...` ... not allowed. Allowed ... are `...`.",
            )

    check.__doc__ = f"GET {path} refuses an unknown filter, sort or include with 400."
    return check


def _any_package(ctx: Context) -> str:
    """A package to ask about: the run's latest, else the first one listed."""
    latest = ctx.ledger.latest()
    if latest is not None:
        return latest
    listed = ctx.api.list({"per_page": 1})
    rows = listed.json().get("data") if listed.status_code == 200 else None
    return str(rows[0]["id"]) if rows else ABSENT


PROPERTIES = [
    Property("pagination", label("listPackages"), ("write",), pagination),
    Property("name_filter", label("listPackages"), ("write",), name_filter),
    Property("sort_order", label("listPackages"), ("write",), sort_order),
    Property("crud_round_trip", "create/get/update/delete", ("write",), crud_round_trip),
    Property("flow_versions", "add/remove flow version", ("write", "flows"), flow_versions),
    Property(
        "deploy_lifecycle",
        "deploy/compare/remove VE",
        ("write", "flows", "deploy"),
        deploy_lifecycle,
    ),
    *(
        Property("auth_enforced", f"{method} {path}", (), auth_check(op, method, path))
        for op, method, path in OPERATIONS
    ),
    *(Property(*entry) for entry in boundaries.CHECKS),
    *(
        Property("unknown_query_refused", f"GET {path}", (), unknown_query_refused(path))
        for _, method, path in OPERATIONS
        if method == "GET" and "compare" not in path  # compare takes no query parameters
    ),
]
