"""What the checks read of an exchange, and what they keep of a run (`Seen`).

The checks (`checks.py`) and the rules a proxy can judge from traffic (`traffic_rules.py`) read
exchanges the same way: the operations by their labels, the ids of a path as route-model
binding reads them, the package objects an answer carries, the flow versions a write leaves, the
parameters a page's links keep, the limits a request's values are within.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from patchworks_mock.contract.api import DEPLOYED, OPERATIONS, PACKAGES, label
from patchworks_mock.contract.boundaries import LIMITS, Limit
from patchworks_mock.contract.exchange import Exchange
from patchworks_mock.contract.rules import TRIMMED, php_int

LIST = f"GET {PACKAGES}"
LIST_DEPLOYED = f"GET {DEPLOYED}"
CREATE = f"POST {PACKAGES}"
GET = f"GET {PACKAGES}/{{package}}"
UPDATE = f"PUT {PACKAGES}/{{package}}"
DELETE = f"DELETE {PACKAGES}/{{package}}"
COMPARE = f"GET {PACKAGES}/{{package}}/compare/{{virtual_environment}}"
DEPLOY = f"POST {PACKAGES}/{{package}}/deploy/{{virtual_environment}}"
ADD_VERSION = f"POST {PACKAGES}/{{package}}/flow-versions/{{flow_version}}"
REMOVE_VERSION = f"DELETE {PACKAGES}/{{package}}/flow-versions/{{flow_version}}"
ANSWERS_A_PACKAGE = {CREATE, GET, UPDATE, ADD_VERSION}
OPERATIONS_BUT_CREATE = [f"{m} {p}" for _, m, p in OPERATIONS if f"{m} {p}" != CREATE]
KEPT_PARAMETERS = ("filter[name]", "per_page", "sort", "include")  # links keep these
MAX_SHOWN = 3  # offending values quoted in one message


@dataclass(frozen=True)
class Finding:
    """What one check found wrong with one exchange, in plain words."""

    check: str
    message: str
    expected: str = ""
    assumption: bool = False  # against a decision of api-notes, not a fact


@dataclass
class PackageState:
    """What the run last saw of one package."""

    members: dict[int, int | None] | None = None  # flow version -> priority; None: not known
    ever_deployed: bool = False


MAX_REMEMBERED = 100_000  # packages, and deleted ids, remembered at once (a proxy runs for days)


@dataclass
class Seen:
    """What this run saw before: each package's last known state, and the ids deleted.

    At most `limit` of each are kept; past it the oldest are forgotten, and a check that finds
    nothing known of a package says nothing about it."""

    packages: dict[str, PackageState] = field(default_factory=dict)
    deleted: dict[str, None] = field(default_factory=dict)  # a set that keeps its order
    # each package's `updated_at` as last shown: a change this run did not make is another
    # writer's (a colleague on the dashboard), and what was known of the package is forgotten
    updated: dict[str, str] = field(default_factory=dict)
    writes: int = 0  # requests other than GET seen, whatever their answer
    # what the rules of `traffic_rules` remember, by (rule, key); each keeps it within `limit`
    traffic: dict[tuple[str, str], Any] = field(default_factory=dict)
    limit: int = MAX_REMEMBERED

    def state(self, key: str) -> PackageState:
        return self.packages.setdefault(key, PackageState())

    def trim(self) -> None:
        """Forget the oldest packages and deleted ids past `limit`."""
        remembered: dict[str, Any]
        for remembered in (self.packages, self.deleted, self.updated):
            while len(remembered) > self.limit:
                del remembered[next(iter(remembered))]


Check = Callable[[Exchange, Seen], "list[Finding] | None"]


# -- reading an exchange -----------------------------------------------------------------------


def id_in_path(text: object) -> str | None:
    """An id as route-model binding reads a path segment (digits, no leading zero), or None."""
    value = str(text)
    return value if value.isascii() and value.isdigit() and value[0] != "0" else None


def is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def data_of(exchange: Exchange) -> Any:
    body = exchange.json
    return body.get("data") if isinstance(body, dict) else None


def succeeded(exchange: Exchange, *operations: str) -> bool:
    return 200 <= exchange.status < 300 and exchange.operation in operations


def written(exchange: Exchange) -> str | None:
    """The package a successful write (not a GET) changed, by its id, or None."""
    if exchange.method == "GET" or not 200 <= exchange.status < 300:
        return None
    data = data_of(exchange)
    if exchange.operation == CREATE and isinstance(data, dict):
        return id_in_path(data.get("id", ""))
    return id_in_path(exchange.params.get("package", ""))


def packages_in(exchange: Exchange) -> list[dict[str, Any]]:
    """The package objects a successful answer carries (one, or a page of them)."""
    data = data_of(exchange)
    if succeeded(exchange, *ANSWERS_A_PACKAGE) and isinstance(data, dict):
        return [data]
    if succeeded(exchange, LIST, LIST_DEPLOYED) and isinstance(data, list):
        return [row for row in data if isinstance(row, dict)]
    return []


def members_shown(package: dict[str, Any]) -> dict[int, int | None] | None:
    rows = package.get("flow_versions")
    if not isinstance(rows, list):
        return None
    return {
        row["id"]: (row.get("pivot") or {}).get("priority")
        for row in rows
        if isinstance(row, dict) and is_int(row.get("id"))
    }


def sent_priority(exchange: Exchange) -> int | None:
    body = exchange.request_json
    value = body.get("priority") if isinstance(body, dict) else None
    if isinstance(value, str):
        return php_int(value)
    return value if is_int(value) else None


def members_after(exchange: Exchange, seen: Seen) -> dict[int, int | None] | None:
    """The package's flow versions once this exchange took effect, if the run knows them."""
    key = id_in_path(exchange.params.get("package", ""))
    state = seen.packages.get(key or "")
    if state is None or state.members is None:
        return None
    if not within_limits(exchange):  # accepted past a limit: what was kept is not known
        return None
    members = dict(state.members)
    version = id_in_path(exchange.params.get("flow_version", ""))
    if succeeded(exchange, ADD_VERSION) and version:
        # A new member without a priority gets the default, a decision: not judged here.
        members[int(version)] = sent_priority(exchange)
    elif succeeded(exchange, REMOVE_VERSION) and version:
        members.pop(int(version), None)
    return members


def walk_json(value: Any) -> Iterator[tuple[str, Any]]:
    """Every (key, value) pair of objects anywhere in a JSON value."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield key, item
            yield from walk_json(item)
    elif isinstance(value, list):
        for item in value:
            yield from walk_json(item)


def quoted(values: list[str]) -> str:
    more = f" and {len(values) - MAX_SHOWN} more" if len(values) > MAX_SHOWN else ""
    return ", ".join(values[:MAX_SHOWN]) + more


def kept_parameters(exchange: Exchange) -> dict[str, str]:
    """The request's parameters the links must keep, as PHP reads them: the last of a repeated
    key, trimmed (TrimStrings), left out when blank (ConvertEmptyStringsToNull)."""
    query = dict(exchange.query)
    kept = {k: query[k].strip(TRIMMED) for k in KEPT_PARAMETERS if k in query}
    return {k: v for k, v in kept.items() if v}


def page_asked(exchange: Exchange) -> int | None:
    """The page asked for (1 when none), or None when `page` is not an integer."""
    raw = dict(exchange.query).get("page")
    return 1 if raw is None else php_int(raw)


@cache
def limits_by_operation() -> dict[str, list[Limit]]:
    """The contract's limits on each operation's input (query parameters and body fields)."""
    limits: dict[str, list[Limit]] = {}
    for limit in LIMITS:
        limits.setdefault(label(limit.operation), []).append(limit)
    return limits


def beyond(limit: Limit, raw: object) -> bool:
    if limit.keyword == "maxLength":
        return isinstance(raw, str) and len(raw.strip(TRIMMED)) > limit.bound
    value = php_int(raw) if isinstance(raw, str) else raw
    if not isinstance(value, int) or isinstance(value, bool):
        return raw is not None  # not a whole number at all: past every limit
    return value < limit.bound if limit.keyword == "minimum" else value > limit.bound


def within_limits(exchange: Exchange) -> bool:
    """Whether the request's limited values (query and body) are ones the contract accepts.

    The checks judge the answers to those only: what a server does with a value past a limit
    is `limits_enforced`'s to judge (a server that clamps `per_page` differs from a decision,
    one that clamps `priority` from a fact)."""
    query = dict(exchange.query)
    body = exchange.request_json if isinstance(exchange.request_json, dict) else {}
    for limit in limits_by_operation().get(exchange.operation, []):
        values = query if limit.location == "query" else body
        if limit.field in values and beyond(limit, values[limit.field]):
            return False
    return True


def page_envelope(exchange: Exchange) -> tuple[list[Any], dict[str, Any], dict[str, Any]] | None:
    body = exchange.json
    if not succeeded(exchange, LIST, LIST_DEPLOYED) or not isinstance(body, dict):
        return None
    if not within_limits(exchange):
        return None
    rows, links, meta = body.get("data"), body.get("links"), body.get("meta")
    if not (isinstance(rows, list) and isinstance(links, dict) and isinstance(meta, dict)):
        return None
    if not all(is_int(meta.get(k)) for k in ("per_page", "total", "current_page", "last_page")):
        return None
    return rows, links, meta
