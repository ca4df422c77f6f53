"""The checks every answer gets, whoever sent the request: one plain function per rule.

A check is `check(exchange, seen) -> list[Finding] | None`: `None` when its rule says nothing
about this exchange, else what is wrong with it (an empty list when nothing is). `seen` is what
this run saw before the exchange; `remember` adds the exchange to it once every check has run.
`CHECKS` lists them all. They judge answers that are schema-valid and still wrong: rows that
contradict themselves, links that lead elsewhere, fields the contract pins beyond their JSON
type, and answers that contradict earlier ones. A malformed body is the schema checks' part.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import suppress
from dataclasses import dataclass, field
from functools import cache
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from patchworks_mock.contract.api import DEPLOYED, OPERATIONS, PACKAGES, label
from patchworks_mock.contract.boundaries import LIMITS, Limit
from patchworks_mock.contract.exchange import Exchange
from patchworks_mock.contract.rules import (
    ABSENT,
    MODELS,
    NOT_FOUND,
    QUERY_NOT_ALLOWED,
    TIMESTAMP,
    TRIMMED,
    UNAUTHENTICATED,
    not_found,
    php_int,
    validation_message,
)

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
    # what the rules of `traffic_rules` remember, by (rule, key); each keeps it within `limit`
    traffic: dict[tuple[str, str], Any] = field(default_factory=dict)
    limit: int = MAX_REMEMBERED

    def state(self, key: str) -> PackageState:
        return self.packages.setdefault(key, PackageState())

    def trim(self) -> None:
        """Forget the oldest packages and deleted ids past `limit`."""
        for remembered in (self.packages, self.deleted):
            while len(remembered) > self.limit:
                del remembered[next(iter(remembered))]


Check = Callable[[Exchange, Seen], "list[Finding] | None"]


# -- reading an exchange -----------------------------------------------------------------------


def _key(text: object) -> str | None:
    """An id as route-model binding reads a path segment (digits, no leading zero), or None."""
    value = str(text)
    return value if value.isascii() and value.isdigit() and value[0] != "0" else None


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _data(exchange: Exchange) -> Any:
    body = exchange.json
    return body.get("data") if isinstance(body, dict) else None


def _ok(exchange: Exchange, *operations: str) -> bool:
    return 200 <= exchange.status < 300 and exchange.operation in operations


def _packages_in(exchange: Exchange) -> list[dict[str, Any]]:
    """The package objects a successful answer carries (one, or a page of them)."""
    data = _data(exchange)
    if _ok(exchange, *ANSWERS_A_PACKAGE) and isinstance(data, dict):
        return [data]
    if _ok(exchange, LIST, LIST_DEPLOYED) and isinstance(data, list):
        return [row for row in data if isinstance(row, dict)]
    return []


def _members_shown(package: dict[str, Any]) -> dict[int, int | None] | None:
    rows = package.get("flow_versions")
    if not isinstance(rows, list):
        return None
    return {
        row["id"]: (row.get("pivot") or {}).get("priority")
        for row in rows
        if isinstance(row, dict) and _is_int(row.get("id"))
    }


def _sent_priority(exchange: Exchange) -> int | None:
    body = exchange.request_json
    value = body.get("priority") if isinstance(body, dict) else None
    if isinstance(value, str):
        return php_int(value)
    return value if _is_int(value) else None


def _members_after(exchange: Exchange, seen: Seen) -> dict[int, int | None] | None:
    """The package's flow versions once this exchange took effect, if the run knows them."""
    key = _key(exchange.params.get("package", ""))
    state = seen.packages.get(key or "")
    if state is None or state.members is None:
        return None
    if not within_limits(exchange):  # accepted past a limit: what was kept is not known
        return None
    members = dict(state.members)
    version = _key(exchange.params.get("flow_version", ""))
    if _ok(exchange, ADD_VERSION) and version:
        # A new member without a priority gets the default, a decision: not judged here.
        members[int(version)] = _sent_priority(exchange)
    elif _ok(exchange, REMOVE_VERSION) and version:
        members.pop(int(version), None)
    return members


def _walk_json(value: Any) -> Iterator[tuple[str, Any]]:
    """Every (key, value) pair of objects anywhere in a JSON value."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield key, item
            yield from _walk_json(item)
    elif isinstance(value, list):
        for item in value:
            yield from _walk_json(item)


def _shown(values: list[str]) -> str:
    more = f" and {len(values) - MAX_SHOWN} more" if len(values) > MAX_SHOWN else ""
    return ", ".join(values[:MAX_SHOWN]) + more


# -- content type ------------------------------------------------------------------------------


def json_content_type(exchange: Exchange, seen: Seen) -> list[Finding] | None:
    """A JSON body comes as `application/json`: clients pick the parser by the content type."""
    if not isinstance(exchange.json, dict | list):
        return None
    given = exchange.headers.get("content-type", "")
    media = given.split(";")[0].strip().lower()
    if media == "application/json" or media.endswith("+json"):
        return []
    return [
        Finding(
            "json_content_type",
            f"the answer's body is JSON but its Content-Type is {given or 'missing'!r}",
            "Content-Type: application/json",
        )
    ]


# -- compare ------------------------------------------------------------------------------------


def compare_rows(exchange: Exchange, seen: Seen) -> list[Finding] | None:
    """Each compare row agrees with itself: `in_sync`, `flow_id` and `flow_name` follow from
    its two versions, and no flow is listed twice."""
    rows = _data(exchange)
    if not _ok(exchange, COMPARE) or not isinstance(rows, list):
        return None
    found = []
    flows: list[object] = []
    for row in (r for r in rows if isinstance(r, dict)):
        package_version = row.get("package_version") or {}
        environment_version = row.get("environment_version")
        flow = row.get("flow_id")
        flows.append(flow)
        in_sync = environment_version is not None and environment_version.get(
            "id"
        ) == package_version.get("id")
        if row.get("in_sync") is not in_sync:
            live = environment_version and environment_version.get("id")
            found.append(
                Finding(
                    "compare_rows",
                    f"flow {flow}: in_sync is {row.get('in_sync')} with package version "
                    f"{package_version.get('id')} and environment version {live}",
                    f"in_sync {str(in_sync).lower()}: true exactly when environment_version is "
                    "not null and has the package version's id",
                )
            )
        for name in ("flow_id", "flow_name"):
            if row.get(name) != package_version.get(name):
                found.append(
                    Finding(
                        "compare_rows",
                        f"flow {flow}: {name} is {row.get(name)!r} but package_version."
                        f"{name} is {package_version.get(name)!r}",
                        f"{name} equal to package_version.{name}",
                    )
                )
        if environment_version is not None and environment_version.get("flow_id") != flow:
            found.append(
                Finding(
                    "compare_rows",
                    f"flow {flow}: environment_version belongs to flow "
                    f"{environment_version.get('flow_id')}",
                    "environment_version of the row's flow",
                )
            )
    twice = sorted({str(f) for f in flows if flows.count(f) > 1})
    if twice:
        found.append(
            Finding("compare_rows", f"flows listed twice: {_shown(twice)}", "one row per flow")
        )
    return found


def compare_covers_package(exchange: Exchange, seen: Seen) -> list[Finding] | None:
    """Compare lists every flow version of the package, as the run last saw the package."""
    rows = _data(exchange)
    members = _members_after(exchange, seen)
    if not _ok(exchange, COMPARE) or not isinstance(rows, list) or members is None:
        return None
    listed = {(r.get("package_version") or {}).get("id") for r in rows if isinstance(r, dict)}
    if listed == set(members):
        return []
    return [
        Finding(
            "compare_covers_package",
            f"compare lists package versions {sorted(map(str, listed))}; the package holds "
            f"{sorted(map(str, members))}",
            "one row for each flow version in the package",
        )
    ]


# -- pagination ---------------------------------------------------------------------------------


def _requested(exchange: Exchange) -> dict[str, str]:
    """The request's parameters the links must keep, as PHP reads them: the last of a repeated
    key, trimmed (TrimStrings), left out when blank (ConvertEmptyStringsToNull)."""
    query = dict(exchange.query)
    kept = {k: query[k].strip(TRIMMED) for k in KEPT_PARAMETERS if k in query}
    return {k: v for k, v in kept.items() if v}


def _page_request(exchange: Exchange) -> int | None:
    """The page asked for (1 when none), or None when `page` is not an integer."""
    raw = dict(exchange.query).get("page")
    return 1 if raw is None else php_int(raw)


@cache
def _limits() -> dict[str, list[Limit]]:
    """The contract's limits on each operation's input (query parameters and body fields)."""
    limits: dict[str, list[Limit]] = {}
    for limit in LIMITS:
        limits.setdefault(label(limit.operation), []).append(limit)
    return limits


def _beyond(limit: Limit, raw: object) -> bool:
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
    for limit in _limits().get(exchange.operation, []):
        values = query if limit.location == "query" else body
        if limit.field in values and _beyond(limit, values[limit.field]):
            return False
    return True


def _envelope(exchange: Exchange) -> tuple[list[Any], dict[str, Any], dict[str, Any]] | None:
    body = exchange.json
    if not _ok(exchange, LIST, LIST_DEPLOYED) or not isinstance(body, dict):
        return None
    if not within_limits(exchange):
        return None
    rows, links, meta = body.get("data"), body.get("links"), body.get("meta")
    if not (isinstance(rows, list) and isinstance(links, dict) and isinstance(meta, dict)):
        return None
    if not all(_is_int(meta.get(k)) for k in ("per_page", "total", "current_page", "last_page")):
        return None
    return rows, links, meta


def page_arithmetic(exchange: Exchange, seen: Seen) -> list[Finding] | None:
    """A page's `meta` adds up: the page and per_page asked, last_page, from/to and the number
    of rows follow from total, as LengthAwarePaginator computes them."""
    envelope = _envelope(exchange)
    if envelope is None or envelope[2]["per_page"] < 1:
        return None
    rows, _, meta = envelope
    per_page, total, page = meta["per_page"], meta["total"], meta["current_page"]
    found = []

    def wrong(what: str, wanted: object) -> None:
        found.append(Finding("page_arithmetic", what, str(wanted)))

    query = dict(exchange.query)
    asked_per_page = php_int(query["per_page"]) if "per_page" in query else None
    if asked_per_page is not None and per_page != asked_per_page:
        wrong(f"meta.per_page is {per_page}; the request asked {asked_per_page}", asked_per_page)
    asked_page = _page_request(exchange)
    if asked_page is not None and page != asked_page:
        wrong(f"meta.current_page is {page}; the request asked for page {asked_page}", asked_page)
    last_page = max(math.ceil(total / per_page), 1)
    if meta["last_page"] != last_page:
        wrong(
            f"meta.last_page is {meta['last_page']} for total {total} and per_page {per_page}",
            f"last_page {last_page}",
        )
    count = max(min(per_page, total - (page - 1) * per_page), 0)
    if len(rows) != count:
        wrong(
            f"page {page} holds {len(rows)} rows; with total {total} and per_page {per_page} "
            f"it must hold {count}",
            f"{count} rows",
        )
    first = (page - 1) * per_page + 1
    span = (first, first + len(rows) - 1) if rows else (None, None)
    if (meta.get("from"), meta.get("to")) != span:
        wrong(
            f"meta.from/to are {meta.get('from')}/{meta.get('to')} for {len(rows)} rows on page "
            f"{page} of {per_page}",
            f"from/to {span[0]}/{span[1]}",
        )
    return found


def _link_problem(url: object, page: int | None, exchange: Exchange, path: object) -> str | None:
    """What is wrong with a page link: its page, its path, or the parameters it lost."""
    if page is None:
        return None if url is None else f"is {url!r}; there is no such page"
    if not isinstance(url, str):
        return f"is {url!r}; it must lead to page {page}"
    base, _, query_string = url.partition("?")
    pairs = dict(parse_qsl(query_string, keep_blank_values=True))
    got_page = php_int(pairs.get("page", ""))
    if got_page != page:
        return f"leads to page {pairs.get('page')}; it must lead to page {page}"
    if isinstance(path, str) and base != path:
        return f"is {url!r}, not under meta.path {path!r}"
    kept = {k: v.strip(TRIMMED) for k, v in pairs.items() if k in KEPT_PARAMETERS}
    wanted = _requested(exchange)
    if {k: v for k, v in kept.items() if v} != wanted:
        return f"is {url!r}; it must keep the request's parameters {wanted}"
    return None


def page_links(exchange: Exchange, seen: Seen) -> list[Finding] | None:
    """`links.*` and `meta.links[*]` lead to the right pages, keep the request's other query
    parameters, and `meta.links` marks the current page (Laravel's UrlWindow)."""
    envelope = _envelope(exchange)
    if envelope is None:
        return None
    _, links, meta = envelope
    page, last = meta["current_page"], meta["last_page"]
    path = meta.get("path")
    problems = []
    wanted = {
        "first": 1,
        "last": last,
        "prev": page - 1 if page > 1 else None,
        "next": page + 1 if page < last else None,
    }
    for name, target in wanted.items():
        problem = _link_problem(links.get(name), target, exchange, path)
        if problem:
            problems.append(f"links.{name} {problem}")
    entries = [e for e in meta.get("links") or [] if isinstance(e, dict)]
    if len(entries) >= 2:
        for name, entry in (("first", entries[0]), ("last", entries[-1])):
            if entry.get("url") != links.get("prev" if name == "first" else "next"):
                problems.append(f"meta.links' {name} entry {entry!r} does not match links")
        numbers: list[int | None] = []
        for entry in entries[1:-1]:
            label = str(entry.get("label"))
            number = int(label) if label.isdigit() else None
            numbers.append(number)
            if entry.get("active") is not (number == page):
                problems.append(f"meta.links entry {label!r} has active {entry.get('active')}")
            problem = _link_problem(entry.get("url"), number, exchange, path)
            if problem:
                problems.append(f"meta.links entry {label!r} {problem}")
        problems += _window_problems(numbers, last)
    return [
        Finding("page_links", problem, "links to the right pages, with the request's parameters")
        for problem in problems
    ]


def _window_problems(numbers: list[int | None], last: int) -> list[str]:
    """The numbered entries run from 1 to last_page, "..." exactly where pages are skipped."""
    shown = [n for n in numbers if n is not None]
    if not shown:
        return ["meta.links numbers no page"]
    problems = []
    if shown[0] != 1 or shown[-1] != last:
        problems.append(f"meta.links numbers pages {shown[0]}..{shown[-1]}, not 1..{last}")
    for before, after in zip(numbers, numbers[1:], strict=False):
        if before is None and after is None:
            problems.append('meta.links has two "..." entries in a row')
        elif before is not None and after is not None and after != before + 1:
            problems.append(f'meta.links skips from page {before} to {after} without "..."')
    return problems


# -- fields pinned beyond their type ------------------------------------------------------------


def timestamps(exchange: Exchange, seen: Seen) -> list[Finding] | None:
    """Every `*_at` field is Laravel's UTC timestamp, `2026-11-28T06:57:00.000000Z`."""
    if not 200 <= exchange.status < 300 or exchange.route is None:
        return None
    bad = [
        f"{key}={value!r}"
        for key, value in _walk_json(exchange.json)
        if key.endswith("_at") and isinstance(value, str) and not TIMESTAMP.fullmatch(value)
    ]
    if not bad:
        return []
    return [
        Finding(
            "timestamps",
            f"timestamps not in Laravel's form: {_shown(bad)}",
            "YYYY-MM-DDTHH:MM:SS.ffffffZ, e.g. 2026-11-28T06:57:00.000000Z",
        )
    ]


def positive_ids(exchange: Exchange, seen: Seen) -> list[Finding] | None:
    """Every `id` and `*_id` is at least 1: Laravel's auto-increment ids start at 1."""
    if not 200 <= exchange.status < 300 or exchange.route is None:
        return None
    bad = [
        f"{key}={value}"
        for key, value in _walk_json(exchange.json)
        if (key == "id" or key.endswith("_id")) and _is_int(value) and value < 1
    ]
    if not bad:
        return []
    return [Finding("positive_ids", f"ids below 1: {_shown(bad)}", "ids of 1 or more")]


def answers_its_path(exchange: Exchange, seen: Seen) -> list[Finding] | None:
    """An answer is about what its path names: the package, its added flow version, or (for a
    deploy) the package and VE of the path."""
    data = _data(exchange)
    package = _key(exchange.params.get("package", ""))
    if not isinstance(data, dict) or package is None:
        return None
    found = []
    if _ok(exchange, GET, UPDATE, ADD_VERSION) and str(data.get("id")) != package:
        found.append(f"the answer is about package {data.get('id')}, not {package}")
    version = _key(exchange.params.get("flow_version", ""))
    members = _members_shown(data)
    if _ok(exchange, ADD_VERSION) and version and members is not None:
        missing = int(version) not in members
        if missing:
            found.append(f"flow version {version} is not among the package's flow_versions")
    if _ok(exchange, DEPLOY):
        environment = exchange.params.get("virtual_environment")
        named = (str(data.get("package_id")), str(data.get("virtual_environment_id")))
        if named != (package, environment):
            found.append(
                f"the deployment record names package {named[0]} and VE {named[1]}, not "
                f"{package} and {environment}"
            )
    elif not _ok(exchange, GET, UPDATE, ADD_VERSION):
        return None
    return [Finding("answers_its_path", text, "what the path names") for text in found]


def pivots_agree(exchange: Exchange, seen: Seen) -> list[Finding] | None:
    """Each flow version's `pivot` names its package and itself."""
    packages = [p for p in _packages_in(exchange) if isinstance(p.get("flow_versions"), list)]
    if not packages:
        return None
    bad = []
    for package in packages:
        for row in package["flow_versions"]:
            pivot = row.get("pivot") if isinstance(row, dict) else None
            if not isinstance(pivot, dict):
                continue
            got = (pivot.get("package_id"), pivot.get("flow_version_id"))
            if got != (package.get("id"), row.get("id")):
                bad.append(
                    f"package {package.get('id')}, flow version {row.get('id')}: pivot names "
                    f"package {got[0]} and flow version {got[1]}"
                )
    return [Finding("pivots_agree", text, "pivot.package_id and flow_version_id") for text in bad]


def location_header(exchange: Exchange, seen: Seen) -> list[Finding] | None:
    """A 201 from create has `Location`: the new package's absolute URL."""
    data = _data(exchange)
    if exchange.operation != CREATE or exchange.status != 201 or not isinstance(data, dict):
        return None
    location = exchange.headers.get("location", "")
    parts = urlsplit(location)
    wanted = f"{exchange.path.rstrip('/')}/{data.get('id')}"
    if parts.scheme in ("http", "https") and parts.netloc and parts.path == wanted:
        return []
    return [
        Finding(
            "location_header",
            f"Location is {location or 'missing'!r} for package {data.get('id')}",
            f"the absolute URL of {wanted}",
        )
    ]


def _message(exchange: Exchange) -> str | None:
    body = exchange.json
    message = body.get("message") if isinstance(body, dict) else None
    return message if isinstance(message, str) else None


def not_found_message(exchange: Exchange, seen: Seen) -> list[Finding] | None:
    """Route-model binding's 404 names the model and the id of the path, in Laravel's words."""
    message = _message(exchange)
    params = exchange.params
    if exchange.status != 404 or message is None or not params:
        return None
    package = params.get("package", "")
    # With odd characters in a segment the router may not match at all (a route's 404).
    plain = all(
        value.isascii() and value.isprintable() and " " not in value for value in params.values()
    )
    if plain and (package == ABSENT or package in seen.deleted):
        wanted = not_found("package", package)
        return [] if message == wanted else [Finding("not_found_message", f"{message!r}", wanted)]
    match = NOT_FOUND.fullmatch(message)
    if match is None:
        return []
    named = {MODELS[p]: value for p, value in params.items() if p in MODELS}
    model, key = match["model"], match["key"]
    if named.get(model) == key:
        return []
    wanted = " or ".join(repr(not_found(p, v)) for p, v in params.items() if p in MODELS)
    return [Finding("not_found_message", f"{message!r} names no model and id of the path", wanted)]


def unauthenticated_body(exchange: Exchange, seen: Seen) -> list[Finding] | None:
    """A 401 says `{"message": "Unauthenticated."}` and nothing else."""
    if exchange.status != 401 or exchange.route is None:
        return None
    if exchange.json == UNAUTHENTICATED:
        return []
    return [Finding("unauthenticated_body", "the 401 has another body", str(UNAUTHENTICATED))]


def validation_summary(exchange: Exchange, seen: Seen) -> list[Finding] | None:
    """A 422's `message` is its first error plus " (and N more error[s])"."""
    body, message = exchange.json, _message(exchange)
    errors = body.get("errors") if isinstance(body, dict) else None
    if exchange.status != 422 or message is None or not isinstance(errors, dict) or not errors:
        return None
    if not all(isinstance(v, list) and all(isinstance(m, str) for m in v) for v in errors.values()):
        return None
    if not any(errors.values()):
        return None
    wanted = validation_message(errors)
    if message == wanted:
        return []
    return [Finding("validation_summary", f"the 422's message is {message!r}", repr(wanted))]


def query_not_allowed_message(exchange: Exchange, seen: Seen) -> list[Finding] | None:
    """A 400 on a GET that names a filter, sort or include is spatie's refusal of it, in its
    words. (A 400 that is not JSON comes from something in front, a proxy's "header too
    large", say: not the API's to judge here.)"""
    message = _message(exchange)
    if exchange.status != 400 or exchange.method != "GET" or exchange.route is None:
        return None
    asked = any(k.startswith("filter[") or k in ("sort", "include") for k, _ in exchange.query)
    if not asked or not isinstance(exchange.json, dict):
        return None
    if message is not None and any(p.fullmatch(message) for p in QUERY_NOT_ALLOWED):
        return []
    return [
        Finding(
            "query_not_allowed_message",
            f"the 400's message is {message!r}",
            "Requested filter(s)|sort(s)|include(s) `...` are not allowed. Allowed ... are `...`.",
        )
    ]


def allow_header(exchange: Exchange, seen: Seen) -> list[Finding] | None:
    """A 405 says which methods the path takes, in `Allow`."""
    if exchange.status != 405:
        return None
    if exchange.headers.get("allow", "").strip():
        return []
    return [Finding("allow_header", "the 405 has no Allow header", "Allow: GET, ...")]


# -- against what the run saw before ------------------------------------------------------------


def deleted_stays_deleted(exchange: Exchange, seen: Seen) -> list[Finding] | None:
    """A package deleted with a 200 never answers or appears again."""
    if not seen.deleted or not _ok(exchange, *OPERATIONS_BUT_CREATE):
        return None  # (a server may give a deleted package's id to a new one)
    package = exchange.params.get("package")
    back = {package} & seen.deleted.keys() if package else set()
    back |= {str(p.get("id")) for p in _packages_in(exchange)} & seen.deleted.keys()
    return [
        Finding("deleted_stays_deleted", f"package {p} was deleted and is back", "HTTP 404")
        for p in sorted(back)
    ]


def priorities_as_stored(exchange: Exchange, seen: Seen) -> list[Finding] | None:
    """A package shows the flow versions, with the priorities, that the run last stored."""
    shown = [(str(p.get("id")), _members_shown(p)) for p in _packages_in(exchange)]
    known = []
    for key, members in shown:
        if members is None:
            continue
        state = seen.packages.get(key)
        if exchange.params.get("package") == key:
            wanted = _members_after(exchange, seen)
        else:
            wanted = state.members if state else None
        if wanted is not None:
            known.append((key, members, wanted))
    if not known:
        return None
    found = []
    for key, members, wanted in known:
        differ = set(members) != set(wanted) or any(
            p is not None and members.get(v) != p for v, p in wanted.items()
        )
        if differ:
            found.append(
                Finding(
                    "priorities_as_stored",
                    f"package {key} holds {members} (flow version: priority)",
                    str(wanted),
                )
            )
    return found


def removal_after_deploy(exchange: Exchange, seen: Seen) -> list[Finding] | None:
    """Decision: a flow version cannot be removed from a package once deployed (422)."""
    state = seen.packages.get(exchange.params.get("package", ""))
    if exchange.operation != REMOVE_VERSION or state is None or not state.ever_deployed:
        return None
    if not 200 <= exchange.status < 300:
        return []
    return [
        Finding(
            "removal_after_deploy",
            "a flow version was removed from a package that has been deployed",
            "HTTP 422",
            assumption=True,
        )
    ]


CHECKS: list[Check] = [
    json_content_type,
    compare_rows,
    compare_covers_package,
    page_arithmetic,
    page_links,
    timestamps,
    positive_ids,
    answers_its_path,
    pivots_agree,
    location_header,
    not_found_message,
    unauthenticated_body,
    validation_summary,
    query_not_allowed_message,
    allow_header,
    deleted_stays_deleted,
    priorities_as_stored,
    removal_after_deploy,
]

# The rules a proxy can judge from the traffic it sees (`traffic_rules`), written with this
# module's names: imported once they are all defined.
from patchworks_mock.contract import traffic_rules  # noqa: E402

CHECKS += traffic_rules.RULES


def remember(exchange: Exchange, seen: Seen) -> None:
    """Add what `exchange` shows or changed to `seen` (after the checks judged it)."""
    key = _key(exchange.params.get("package", ""))
    if key and exchange.method != "GET" and exchange.status >= 500:
        seen.state(key).members = None  # it may or may not have taken effect
        return
    members = _members_after(exchange, seen)
    if key and (members is not None or not within_limits(exchange)):
        seen.state(key).members = members  # None: accepted past a limit, the answer tells
    data = _data(exchange)
    if _ok(exchange, CREATE) and isinstance(data, dict) and _key(data.get("id", "")):
        seen.packages[str(data["id"])] = PackageState(members={})
        seen.deleted.pop(str(data["id"]), None)
    if _ok(exchange, DELETE) and key:
        seen.deleted[key] = None
        seen.packages.pop(key, None)
    if _ok(exchange, DEPLOY) and key:
        seen.state(key).ever_deployed = True
    for package in _packages_in(exchange):
        shown = _members_shown(package)
        if shown is not None and _key(package.get("id", "")):
            seen.state(str(package["id"])).members = shown


def run_checks(
    exchange: Exchange, seen: Seen, checks: list[Check] = CHECKS
) -> list[tuple[str, list[Finding]]]:
    """Every one of `checks` that applies to `exchange`, with its findings; then remember it.

    A check that trips over a body of the wrong shape says nothing: the schema checks report
    the shape.
    """
    ran = []
    for check in checks:
        try:
            found = check(exchange, seen)
        except (AttributeError, KeyError, TypeError, ValueError):
            found = None
        if found is not None:
            ran.append((check.__name__, found))
    with suppress(AttributeError, KeyError, TypeError, ValueError):
        remember(exchange, seen)
    seen.trim()
    return ran
