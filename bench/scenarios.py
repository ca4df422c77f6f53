"""The scenarios: their names, which run where, and the single requests sent before a load.

The load itself is bench/lua/packages.lua's (it reads LIST_QUERY and MIX from its
environment). The requests here are sent one at a time before it: a probe of each operation,
whose status the tables report, and a read's "alone" timing. They use the ids the load uses.
"""

from __future__ import annotations

from typing import Any

from bench.fixtures import Fixture

READS = ["list_default", "list_query", "get", "compare"]
WRITES = ["create", "update", "add_version"]
SCENARIOS = [*READS, *WRITES, "mix"]
SCALED = ["list_default", "list_query", "get"]  # repeated on the large store
# Not a wrk load: one get at a time, the mock alone and through `patchworks-mock proxy`.
PROXY = "proxy"
CHOICES = [*SCENARIOS, PROXY]  # what --scenarios takes
LIST_QUERY = "filter%5Bname%5D=shopify&sort=-name&include=flowVersions"
MIX = "list_default:5,list_query:2,get:6,compare:2,create:2,update:2,add_version:1"
FRESH_PACKAGES = 300  # empty packages made before add_version and mix, to add versions to

DESCRIPTIONS = {
    "list_default": "GET /api/v1/packages",
    "list_query": f"GET /api/v1/packages?{LIST_QUERY.replace('%5B', '[').replace('%5D', ']')}",
    "get": "GET /api/v1/packages/{id}",
    "create": "POST /api/v1/packages",
    "update": "PUT /api/v1/packages/{id}",
    "add_version": "POST /api/v1/packages/{id}/flow-versions/{version}",
    "compare": "GET /api/v1/packages/{id}/compare/{ve}",
    "mix": f"weighted: {MIX}",
    PROXY: "GET /api/v1/packages/{first id}, one at a time, the mock alone and through "
    "`patchworks-mock proxy` in front of it, in interleaved rounds",
}

Request = tuple[str, str, dict[str, Any] | None]  # method, path, JSON body


def operations(scenario: str) -> list[str]:
    """The operations a scenario sends: the mix's, in its order, or the scenario alone."""
    return [s.split(":")[0] for s in MIX.split(",")] if scenario == "mix" else [scenario]


def probes(fixture: Fixture, fresh: list[int]) -> dict[str, Request]:
    """One request of each operation; `fresh` are the empty packages made for add_version."""
    package = fixture.ids[len(fixture.ids) // 2]
    member = fixture.members[0] if fixture.members else package
    target = fresh[-1] if fresh else package
    return {
        "list_default": ("GET", "/api/v1/packages", None),
        "list_query": ("GET", f"/api/v1/packages?{LIST_QUERY}", None),
        "get": ("GET", f"/api/v1/packages/{package}", None),
        "create": ("POST", "/api/v1/packages", {"name": "Bench probe", "notes": None}),
        "update": ("PUT", f"/api/v1/packages/{package}", {"name": "Bench probe 2"}),
        "add_version": (
            "POST",
            f"/api/v1/packages/{target}/flow-versions/{fixture.versions[-1]}",
            {"priority": 50},
        ),
        "compare": ("GET", f"/api/v1/packages/{member}/compare/{fixture.environments[0]}", None),
    }


def proxy_path(fixture: Fixture) -> str:
    """The get the proxy scenario times: the store's first package (id 1 in a generated one)."""
    return f"/api/v1/packages/{fixture.ids[0]}"


def read_path(scenario: str, fixture: Fixture) -> str:
    """The path a read scenario's "alone" timing requests: the same as its probe's."""
    return probes(fixture, [])[scenario][1]
