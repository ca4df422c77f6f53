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
from contextlib import suppress
from urllib.parse import parse_qsl, urlsplit

from patchworks_mock.contract import traffic_rules
from patchworks_mock.contract.exchange import Exchange
from patchworks_mock.contract.reading import (
    ADD_VERSION,
    COMPARE,
    CREATE,
    DELETE,
    DEPLOY,
    GET,
    KEPT_PARAMETERS,
    OPERATIONS_BUT_CREATE,
    REMOVE_VERSION,
    UPDATE,
    Check,
    Finding,
    PackageState,
    Seen,
    data_of,
    id_in_path,
    is_int,
    kept_parameters,
    members_after,
    members_shown,
    packages_in,
    page_asked,
    page_envelope,
    quoted,
    sent_priority,
    succeeded,
    walk_json,
    within_limits,
    written,
)
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
    rows = data_of(exchange)
    if not succeeded(exchange, COMPARE) or not isinstance(rows, list):
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
            Finding("compare_rows", f"flows listed twice: {quoted(twice)}", "one row per flow")
        )
    return found


def compare_covers_package(exchange: Exchange, seen: Seen) -> list[Finding] | None:
    """Compare lists every flow version of the package, as the run last saw the package. A
    version listed besides is not judged: another writer may have added it since."""
    rows = data_of(exchange)
    members = members_after(exchange, seen)
    if not succeeded(exchange, COMPARE) or not isinstance(rows, list) or members is None:
        return None
    listed = {(r.get("package_version") or {}).get("id") for r in rows if isinstance(r, dict)}
    if listed >= set(members):
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


def page_arithmetic(exchange: Exchange, seen: Seen) -> list[Finding] | None:
    """A page's `meta` adds up: the page and per_page asked, last_page, from/to and the number
    of rows follow from total, as LengthAwarePaginator computes them."""
    envelope = page_envelope(exchange)
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
    asked_page = page_asked(exchange)
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
    wanted = kept_parameters(exchange)
    if {k: v for k, v in kept.items() if v} != wanted:
        return f"is {url!r}; it must keep the request's parameters {wanted}"
    return None


def page_links(exchange: Exchange, seen: Seen) -> list[Finding] | None:
    """`links.*` and `meta.links[*]` lead to the right pages, keep the request's other query
    parameters, and `meta.links` marks the current page (Laravel's UrlWindow)."""
    envelope = page_envelope(exchange)
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
        for key, value in walk_json(exchange.json)
        if key.endswith("_at") and isinstance(value, str) and not TIMESTAMP.fullmatch(value)
    ]
    if not bad:
        return []
    return [
        Finding(
            "timestamps",
            f"timestamps not in Laravel's form: {quoted(bad)}",
            "YYYY-MM-DDTHH:MM:SS.ffffffZ, e.g. 2026-11-28T06:57:00.000000Z",
        )
    ]


def positive_ids(exchange: Exchange, seen: Seen) -> list[Finding] | None:
    """Every `id` and `*_id` is at least 1: Laravel's auto-increment ids start at 1."""
    if not 200 <= exchange.status < 300 or exchange.route is None:
        return None
    bad = [
        f"{key}={value}"
        for key, value in walk_json(exchange.json)
        if (key == "id" or key.endswith("_id")) and is_int(value) and value < 1
    ]
    if not bad:
        return []
    return [Finding("positive_ids", f"ids below 1: {quoted(bad)}", "ids of 1 or more")]


def answers_its_path(exchange: Exchange, seen: Seen) -> list[Finding] | None:
    """An answer is about what its path names: the package, its added flow version, or (for a
    deploy) the package and VE of the path."""
    data = data_of(exchange)
    package = id_in_path(exchange.params.get("package", ""))
    if not isinstance(data, dict) or package is None:
        return None
    found = []
    if succeeded(exchange, GET, UPDATE, ADD_VERSION) and str(data.get("id")) != package:
        found.append(f"the answer is about package {data.get('id')}, not {package}")
    version = id_in_path(exchange.params.get("flow_version", ""))
    members = members_shown(data)
    if succeeded(exchange, ADD_VERSION) and version and members is not None:
        missing = int(version) not in members
        if missing:
            found.append(f"flow version {version} is not among the package's flow_versions")
    if succeeded(exchange, DEPLOY):
        environment = exchange.params.get("virtual_environment")
        named = (str(data.get("package_id")), str(data.get("virtual_environment_id")))
        if named != (package, environment):
            found.append(
                f"the deployment record names package {named[0]} and VE {named[1]}, not "
                f"{package} and {environment}"
            )
    elif not succeeded(exchange, GET, UPDATE, ADD_VERSION):
        return None
    return [Finding("answers_its_path", text, "what the path names") for text in found]


def pivots_agree(exchange: Exchange, seen: Seen) -> list[Finding] | None:
    """Each flow version's `pivot` names its package and itself."""
    packages = [p for p in packages_in(exchange) if isinstance(p.get("flow_versions"), list)]
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
    data = data_of(exchange)
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
    if not seen.deleted or not succeeded(exchange, *OPERATIONS_BUT_CREATE):
        return None  # (a server may give a deleted package's id to a new one)
    package = exchange.params.get("package")
    back = {package} & seen.deleted.keys() if package else set()
    back |= {str(p.get("id")) for p in packages_in(exchange)} & seen.deleted.keys()
    return [
        Finding("deleted_stays_deleted", f"package {p} was deleted and is back", "HTTP 404")
        for p in sorted(back)
    ]


def priorities_as_stored(exchange: Exchange, seen: Seen) -> list[Finding] | None:
    """A package shows the flow versions, with the priorities, that the run last stored; the
    answer to an add shows the version added with the priority sent (what else it shows,
    another writer may have changed since the run last saw it)."""
    own = written(exchange)
    known = []
    for package in packages_in(exchange):
        key, members = str(package.get("id")), members_shown(package)
        if members is None:
            continue
        if key == own:
            wanted = _added(exchange)
        elif exchange.params.get("package") == key:
            wanted = members_after(exchange, seen)
        else:
            wanted = _members(seen, key)
        if wanted is not None:
            known.append((key, members, wanted, key == own))
    if not known:
        return None
    found = []
    for key, members, wanted, partly in known:
        differ = (not partly and set(members) != set(wanted)) or any(
            p is not None and members.get(v) != p for v, p in wanted.items()
        )
        if differ or not set(wanted) <= set(members):
            found.append(
                Finding(
                    "priorities_as_stored",
                    f"package {key} holds {members} (flow version: priority)",
                    str(wanted),
                )
            )
    return found


def _added(exchange: Exchange) -> dict[int, int | None] | None:
    """The flow version an add put in the package, with the priority sent (None: not sent)."""
    version = id_in_path(exchange.params.get("flow_version", ""))
    if not succeeded(exchange, ADD_VERSION) or version is None or not within_limits(exchange):
        return None
    return {int(version): sent_priority(exchange)}


def _members(seen: Seen, key: str) -> dict[int, int | None] | None:
    state = seen.packages.get(key)
    return None if state is None else state.members


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

CHECKS += traffic_rules.RULES  # the rules a proxy can judge from the traffic it sees

# The checks and rules that judge an answer against what the run saw before (`seen`): an
# answer that came in another order than the server did the work is not judged by them.
# (`not_found_message` reads `seen.deleted` only to name the model it expects, which a
# deleted package's 404 names anyway.)
HISTORY: list[Check] = [
    compare_covers_package,
    deleted_stays_deleted,
    priorities_as_stored,
    removal_after_deploy,
    traffic_rules.pages_disjoint,
    traffic_rules.fields_as_stored,
    traffic_rules.in_sync_after_deploy,
    traffic_rules.default_priority,
    traffic_rules.empty_deploy_refused,
    traffic_rules.absent_version_removal,
]


def forget(seen: Seen, key: str, environment: str = "") -> None:
    """Forget what is known of package `key` (and of what was deployed to `environment`), to be
    learnt again from the next answer. That it was once deployed stays true."""
    state = seen.packages.pop(key, None)
    if state is not None and state.ever_deployed:
        seen.packages[key] = PackageState(ever_deployed=True)
    seen.deleted.pop(key, None)
    seen.updated.pop(key, None)
    traffic_rules.forget(seen, key, environment)


def changed_elsewhere(exchange: Exchange, seen: Seen) -> None:
    """Forget each package the answer shows with another `updated_at` than the run last saw,
    unless this exchange is a write to it: another writer (a colleague on the dashboard)
    changed it, and what the run knew of it is no longer true. A write's own answer is judged
    against what it sent."""
    own = written(exchange)
    for package in packages_in(exchange):
        key, stamp = id_in_path(package.get("id", "")), package.get("updated_at")
        if key and key != own and isinstance(stamp, str) and seen.updated.get(key, stamp) != stamp:
            forget(seen, key)


def remember(exchange: Exchange, seen: Seen) -> None:
    """Add what `exchange` shows or changed to `seen` (after the checks judged it)."""
    key = id_in_path(exchange.params.get("package", ""))
    if key and exchange.method != "GET" and exchange.status >= 500:
        seen.state(key).members = None  # it may or may not have taken effect
        return
    members = members_after(exchange, seen)
    if key and (members is not None or not within_limits(exchange)):
        seen.state(key).members = members  # None: accepted past a limit, the answer tells
    data = data_of(exchange)
    if succeeded(exchange, CREATE) and isinstance(data, dict) and id_in_path(data.get("id", "")):
        seen.packages[str(data["id"])] = PackageState(members={})
        seen.deleted.pop(str(data["id"]), None)
    if succeeded(exchange, DELETE) and key:
        seen.deleted[key] = None  # its `updated_at` stays: an answer that shows it is judged
        seen.packages.pop(key, None)
    if succeeded(exchange, DEPLOY) and key:
        seen.state(key).ever_deployed = True
    for package in packages_in(exchange):
        number, shown = id_in_path(package.get("id", "")), members_shown(package)
        if number and shown is not None:
            seen.state(number).members = shown
        if number and isinstance(package.get("updated_at"), str):
            seen.updated[number] = package["updated_at"]


def run_checks(
    exchange: Exchange, seen: Seen, checks: list[Check] = CHECKS, *, history: bool = True
) -> list[tuple[str, list[Finding]]]:
    """Every one of `checks` that applies to `exchange`, with its findings; then remember it.

    With `history` False (the exchange overlapped a write, so the server may have done the
    work in another order than the answers came) the checks of `HISTORY` do not run, and a
    read is not remembered (what it shows may be older than what is); a write forgets what
    was known of its package and is remembered. A check that trips over a body of the wrong
    shape says nothing: the schema checks report the shape.
    """
    read = exchange.method == "GET"
    if not read:
        seen.writes += 1
    with suppress(AttributeError, KeyError, TypeError, ValueError):
        if history:
            changed_elsewhere(exchange, seen)
        elif not read:
            package = id_in_path(exchange.params.get("package", ""))
            if package:
                forget(seen, package, exchange.params.get("virtual_environment", ""))
    ran = []
    for check in checks:
        if not history and check in HISTORY:
            continue
        try:
            found = check(exchange, seen)
        except (AttributeError, KeyError, TypeError, ValueError):
            found = None
        if found is not None:
            ran.append((check.__name__, found))
    if history or not read:
        with suppress(AttributeError, KeyError, TypeError, ValueError):
            remember(exchange, seen)
    seen.trim()
    return ran
