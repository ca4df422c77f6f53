"""Rules a proxy can judge from the traffic it sees, as well as the suite from its own calls.

`checks.py`'s checks judge an answer against itself, its request and the packages the run
saw. These judge what a client asked of a list (a filter, a sort, the next page), what a
write left behind (the name and notes kept, the versions deployed) and the decisions of
api-notes a server may not follow (reported as assumptions). Each is a check of the same form,
`check(exchange, seen) -> list[Finding] | None`, registered in `checks.CHECKS`; the history a
rule needs it keeps itself, after judging, in `seen.traffic` under its own name.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from patchworks_mock.contract.boundaries import Limit
from patchworks_mock.contract.exchange import Exchange
from patchworks_mock.contract.reading import (
    ADD_VERSION,
    COMPARE,
    CREATE,
    DELETE,
    DEPLOY,
    REMOVE_VERSION,
    UPDATE,
    Check,
    Finding,
    Seen,
    beyond,
    data_of,
    id_in_path,
    kept_parameters,
    limits_by_operation,
    members_shown,
    packages_in,
    page_asked,
    page_envelope,
    quoted,
    succeeded,
    within_limits,
    written,
)
from patchworks_mock.contract.rules import DEFAULT_PRIORITY, TRIMMED, php_int, stored

# -- reading an exchange, keeping history ------------------------------------------------------


def _rows(exchange: Exchange) -> list[dict[str, Any]] | None:
    """The rows of a page of a list whose envelope the run can read, or None."""
    envelope = page_envelope(exchange)
    if envelope is None:
        return None
    return [row for row in envelope[0] if isinstance(row, dict)]


def _remember(seen: Seen, key: tuple[str, str], value: Any) -> None:
    """Keep `value` under `key`, the newest; past `seen.limit` keys the oldest are forgotten."""
    seen.traffic.pop(key, None)
    seen.traffic[key] = value
    while len(seen.traffic) > seen.limit:
        del seen.traffic[next(iter(seen.traffic))]


def _members(seen: Seen, package: str) -> dict[int, int | None] | None:
    state = seen.packages.get(package)
    return None if state is None else state.members


def forget(seen: Seen, package: str, environment: str = "") -> None:
    """Forget what the rules remember of `package` (its name and notes as stored) and of what
    was deployed to `environment`: another writer changed them, or a write overlapped this
    one. What a refused write sent is kept: it is told from another writer's edit by value."""
    seen.traffic.pop(("fields_as_stored", package), None)
    if environment:
        seen.traffic.pop(("in_sync_after_deploy", environment), None)


# -- lists ---------------------------------------------------------------------------------------


def _needles(exchange: Exchange) -> list[str]:
    """The values of `filter[name]` as spatie reads them: split on commas, blanks ignored."""
    value = kept_parameters(exchange).get("filter[name]", "")
    return [part for part in value.split(",") if part.strip(TRIMMED)]


def _plain(text: str) -> str:
    """`text` as an accent- and case-insensitive collation (MySQL's utf8mb4_*_ci) sees its
    ASCII letters: without accents (é as e), in lower case."""
    bare = unicodedata.normalize("NFKD", text)
    return "".join(c for c in bare if not unicodedata.combining(c)).lower()


def _alnum(character: str) -> bool:
    return character.isascii() and character.isalnum()


def _contains(name: str, needle: str) -> bool | None:
    """Whether `name` holds `needle` as spatie's `LIKE %needle%` finds it under such a collation;
    None when collations differ on it (a character with no ASCII base, which one collation
    expands, ß as ss, and another does not) or the needle holds LIKE's wildcards."""
    if any(_plain(value) in _plain(name) for value in (needle, needle.strip(TRIMMED))):
        return True
    clear = (_plain(name) + _plain(needle)).isascii() and not set("%_\\") & set(needle)
    return False if clear else None


def name_filter_applied(exchange: Exchange, seen: Seen) -> list[Finding] | None:
    """A list filtered by `filter[name]` holds only packages whose name contains one of its
    comma-separated values, ignoring case and accents (spatie's partial filter, a LIKE under
    the database's collation). A name the collations could match differently is not judged."""
    rows, needles = _rows(exchange), _needles(exchange)
    if rows is None or not needles:
        return None
    names = [row.get("name") for row in rows]
    bad = [
        repr(name)
        for name in names
        if isinstance(name, str) and all(_contains(name, n) is False for n in needles)
    ]
    if not bad:
        return []
    return [
        Finding(
            "name_filter_applied",
            f"filter[name]={kept_parameters(exchange)['filter[name]']!r} shows {quoted(bad)}",
            "only packages whose name contains one of the filter's values, ignoring case",
        )
    ]


def _before(a: str, b: str) -> bool | None:
    """Whether name `a` sorts before `b`, or None when the collations a server may use disagree
    or the names tie. The names are read, ignoring case, to where they first differ; only ASCII
    letters and digits there are judged (digits before letters). Elsewhere collations differ:
    an accent (é after z by code point, as e in MySQL's *_ai_ci), punctuation or a space."""
    x, y = a.lower(), b.lower()
    for one, other in zip(x, y, strict=False):
        if one != other:
            return one < other if _alnum(one) and _alnum(other) else None
    longer = x if len(x) > len(y) else y
    if len(x) == len(y) or not _alnum(longer[min(len(x), len(y))]):
        return None  # a tie, or trailing spaces a PAD SPACE collation ignores
    return len(x) < len(y)


SORT_WINDOW = 100  # rows each row is compared with, after it: a page holds at most 100


def sort_applied(exchange: Exchange, seen: Seen) -> list[Finding] | None:
    """A list sorted by `name` comes in the names' order, ignoring case; by `-name`, in the
    reverse order. The first sort field decides; ties may come in any order. Only pairs of
    names every collation orders alike are judged (see `_before`)."""
    rows, sort = _rows(exchange), kept_parameters(exchange).get("sort", "")
    first = sort.split(",")[0]
    if rows is None or first.removeprefix("-") != "name":
        return None
    names = [row.get("name") for row in rows]
    if not all(isinstance(name, str) for name in names):
        return None
    wrong = first.startswith("-")  # what `_before` of an earlier and a later row must not be
    out_of_order = any(
        _before(str(names[i]), str(names[j])) is wrong
        for i in range(len(names))
        for j in range(i + 1, min(i + 1 + SORT_WINDOW, len(names)))
    )
    if not out_of_order:
        return []
    order = "descending" if first.startswith("-") else "ascending"
    return [
        Finding(
            "sort_applied",
            f"sort={sort} gave the names {quoted([repr(n) for n in names])}",
            f"names in {order} order, ignoring case",
        )
    ]


MAX_PAGES = 100  # pages kept of one query


def pages_disjoint(exchange: Exchange, seen: Seen) -> list[Finding] | None:
    """Pages of one query (its filter, sort and per_page) hold no package twice while no write
    came between them: each row is on exactly one page. Another writer's edit can move a row
    to the next page too; the row then shows another `updated_at`, and is not judged. (An
    edit that adds and removes a row elsewhere between two pages is not seen.)"""
    rows, page = _rows(exchange), page_asked(exchange)
    if exchange.method != "GET" or rows is None or page is None:
        return None
    meta = exchange.json["meta"]
    asked = {k: v for k, v in kept_parameters(exchange).items() if k != "include"}
    key = ("pages_disjoint", f"{exchange.path}?{sorted(asked.items())}")
    shape = (seen.writes, meta["total"], meta["per_page"])
    shown = {str(row.get("id")): row.get("updated_at") for row in rows}
    remembered = seen.traffic.get(key)
    pages: dict[int, dict[str, Any]] = {}
    if remembered is not None and remembered[0] == shape:
        pages = remembered[1]
    twice = sorted(
        number
        for other, earlier in pages.items()
        if other != page
        for number, stamp in shown.items()
        if number in earlier and earlier[number] == stamp
    )
    if page <= meta["last_page"] and (page in pages or len(pages) < MAX_PAGES):
        pages[page] = shown
    _remember(seen, key, (shape, pages))
    if not twice:
        return []
    return [
        Finding(
            "pages_disjoint",
            f"page {page} shows packages {quoted(twice)}, already on another page of this query",
            "each package on one page only",
        )
    ]


# -- what a write left ---------------------------------------------------------------------------


def accepts_within_limits(exchange: Exchange, seen: Seen) -> list[Finding] | None:
    """A value within the contract's limits is not refused: a 422 names no limited field whose
    value is of its type and within every limit on it (a name's 255 characters are counted
    once trimmed, in characters, not bytes)."""
    body = exchange.json
    errors = body.get("errors") if isinstance(body, dict) else None
    if exchange.status != 422 or not isinstance(errors, dict):
        return None
    query = dict(exchange.query)
    sent = exchange.request_json if isinstance(exchange.request_json, dict) else {}
    by_field: dict[str, list[Limit]] = {}
    for limit in limits_by_operation().get(exchange.operation, []):
        by_field.setdefault(limit.field, []).append(limit)
    found = []
    for name, limits in by_field.items():
        in_query = limits[0].location == "query"
        raw = (query if in_query else sent).get(name)
        if name not in errors or not _allowed(limits, raw, in_query):
            continue
        found.append(
            Finding(
                "accepts_within_limits",
                f"{name} {_described(raw)} was refused: {errors[name]}",
                f"{name} accepted: it is within {', '.join(x.describe() for x in limits)}",
                assumption=any(limit.decision for limit in limits),
            )
        )
    return found


def _allowed(limits: list[Limit], raw: object, in_query: bool) -> bool:
    """Whether `raw` is of the field's type and within every one of its limits. A query value
    is a string PHP reads as a whole number; in a JSON body, a number must be a JSON number
    (Laravel's `integer` rule may refuse "5")."""
    if any(limit.keyword == "maxLength" for limit in limits):
        valid = isinstance(raw, str) and bool(raw.strip(TRIMMED))
    else:
        value = php_int(raw) if isinstance(raw, str) and in_query else raw
        valid = isinstance(value, int) and not isinstance(value, bool)
    return valid and not any(beyond(limit, raw) for limit in limits)


def _described(raw: object) -> str:
    """A value as a message quotes it: a long text by its start and its length."""
    if isinstance(raw, str) and len(raw) > 40:
        return f"{raw[:12]!r}... of {len(raw.strip(TRIMMED))} characters once trimmed"
    return repr(raw)


FIELDS = ("name", "notes")


def fields_as_stored(exchange: Exchange, seen: Seen) -> list[Finding] | None:
    """A package's name and notes are those last stored: a create or an update answers what it
    was sent (trimmed, blank as null), and every later answer shows the same until the next
    write succeeds. A write refused changes nothing: not even a later answer that shows
    another writer's edit (another `updated_at`) shows what it sent, cut to the limit."""
    key = id_in_path(exchange.params.get("package", ""))
    if key and exchange.method != "GET" and not 200 <= exchange.status < 500:
        seen.traffic.pop(("fields_as_stored", key), None)  # it may or may not have happened
        return None
    if succeeded(exchange, DELETE) and key:
        seen.traffic.pop(("fields_as_stored", key), None)
    if key and exchange.operation == UPDATE and 400 <= exchange.status < 500:
        _remember_refused(exchange, seen, key)
    packages = packages_in(exchange)
    if not packages:
        return None
    found = []
    own = written(exchange)
    sent = exchange.request_json if isinstance(exchange.request_json, dict) else {}
    for package in packages:
        number = str(package.get("id"))
        shown = {f: package[f] for f in FIELDS if f in package}
        refused = seen.traffic.pop(("fields_refused", number), {})
        if number == own:  # its own answer: judged against what it sent only
            before = {"notes": None} if succeeded(exchange, CREATE) else {}
            wanted = _written(exchange, sent, before)
        else:
            wanted = dict(seen.traffic.get(("fields_as_stored", number), {}))
        for name, value in shown.items():
            if name in wanted and value != wanted[name]:
                found.append(
                    Finding(
                        "fields_as_stored",
                        f"package {number} shows {name} {_described(value)}",
                        f"{name} {_described(wanted[name])}, as last stored",
                    )
                )
            elif number != own and name in refused and value == refused[name]:
                found.append(
                    Finding(
                        "fields_as_stored",
                        f"package {number} shows {name} {_described(value)}, what a refused "
                        "write sent, cut to its limit",
                        f"{name} as before the refused write",
                    )
                )
        _remember(seen, ("fields_as_stored", number), shown)
    return found


def _remember_refused(exchange: Exchange, seen: Seen, key: str) -> None:
    """Keep what a refused update sent past a length limit, cut to it, where that differs from
    what is stored: a server that stored it anyway shows that value, another writer would not."""
    sent = exchange.request_json if isinstance(exchange.request_json, dict) else {}
    before = seen.traffic.get(("fields_as_stored", key), {})
    cut = {
        limit.field: (stored(sent[limit.field]) or "")[: limit.bound]
        for limit in limits_by_operation().get(exchange.operation, [])
        if limit.keyword == "maxLength" and beyond(limit, sent.get(limit.field))
    }
    changed = {f: v for f, v in cut.items() if before.get(f) != v}
    if changed:
        _remember(seen, ("fields_refused", key), changed)


def _written(exchange: Exchange, sent: dict[str, Any], before: dict[str, Any]) -> dict[str, Any]:
    """The name and notes once a write of `sent` succeeded: as sent, trimmed and blank as null;
    a value past a limit, or not a string, was kept in some way not known."""
    after = dict(before)
    for name in (f for f in FIELDS if f in sent):
        value = sent[name]
        if within_limits(exchange) and (value is None or isinstance(value, str)):
            after[name] = stored(value)
        else:
            after.pop(name, None)
    return after


def in_sync_after_deploy(exchange: Exchange, seen: Seen) -> list[Finding] | None:
    """Once a package is deployed to a VE, compare finds a version live there for each flow it
    deployed, until another package is deployed there through this run. Only a flow with no
    version live is judged: another writer may deploy another version of it since, or add a
    flow to the package, but nobody takes a flow off a VE."""
    package = id_in_path(exchange.params.get("package", ""))
    environment = exchange.params.get("virtual_environment", "")
    members = _members(seen, package or "")
    if exchange.operation == DEPLOY:  # what is live there now is known only after a clean one
        seen.traffic.pop(("in_sync_after_deploy", environment), None)
        if succeeded(exchange, DEPLOY) and package and members is not None:
            _remember(seen, ("in_sync_after_deploy", environment), (package, set(members)))
        return None
    rows = data_of(exchange)
    deployed = seen.traffic.get(("in_sync_after_deploy", environment))
    if not succeeded(exchange, COMPARE) or not isinstance(rows, list) or deployed is None:
        return None
    flows = [row.get("flow_id") for row in rows if isinstance(row, dict)]
    if deployed[0] != package or len(set(flows)) < len(flows):
        return None  # two versions of one flow cannot both be live: `compare_rows` says so
    behind = [
        str(row.get("flow_id"))
        for row in rows
        if isinstance(row, dict)
        and (row.get("package_version") or {}).get("id") in deployed[1]
        and row.get("environment_version") is None
    ]
    return (
        [
            Finding(
                "in_sync_after_deploy",
                f"flows {quoted(behind)} have no version live in VE {environment}, where "
                f"package {package} deployed them",
                "a version live for every flow the package deployed",
            )
        ]
        if behind
        else []
    )


# -- decisions of api-notes (assumptions) --------------------------------------------------------


def default_priority(exchange: Exchange, seen: Seen) -> list[Finding] | None:
    """Decision: a flow version added without a priority gets 50."""
    package, version = (
        id_in_path(exchange.params.get("package", "")),
        exchange.params.get("flow_version"),
    )
    sent = exchange.request_json if isinstance(exchange.request_json, dict) else {}
    before = _members(seen, package or "")
    data = data_of(exchange)
    if not succeeded(exchange, ADD_VERSION) or sent.get("priority") is not None or before is None:
        return None
    members = members_shown(data) if isinstance(data, dict) else None
    number = id_in_path(version or "")
    if members is None or number is None or int(number) in before or int(number) not in members:
        return None
    if members[int(number)] == DEFAULT_PRIORITY:
        return []
    return [
        Finding(
            "default_priority",
            f"flow version {number} was added without a priority and got "
            f"{members[int(number)]}; api-notes decides {DEFAULT_PRIORITY}",
            f"priority {DEFAULT_PRIORITY}",
            assumption=True,
        )
    ]


def one_version_per_flow(exchange: Exchange, seen: Seen) -> list[Finding] | None:
    """Decision: a package holds one version of each flow; adding a second is refused (422)."""
    data = data_of(exchange)
    if not succeeded(exchange, ADD_VERSION) or not isinstance(data, dict):
        return None
    rows = data.get("flow_versions")
    if not isinstance(rows, list):
        return None
    flows = [row.get("flow_id") for row in rows if isinstance(row, dict)]
    twice = sorted({str(f) for f in flows if flows.count(f) > 1})
    if not twice:
        return []
    return [
        Finding(
            "one_version_per_flow",
            f"the package took a second version of flows {quoted(twice)}; api-notes decides 422",
            "HTTP 422",
            assumption=True,
        )
    ]


def empty_deploy_refused(exchange: Exchange, seen: Seen) -> list[Finding] | None:
    """Decision: a package with no flow versions is not deployed (422)."""
    members = _members(seen, id_in_path(exchange.params.get("package", "")) or "")
    if exchange.operation != DEPLOY or members != {}:
        return None
    if not 200 <= exchange.status < 300:
        return []
    return [
        Finding(
            "empty_deploy_refused",
            "a package with no flow versions was deployed; api-notes decides 422",
            "HTTP 422",
            assumption=True,
        )
    ]


def absent_version_removal(exchange: Exchange, seen: Seen) -> list[Finding] | None:
    """Decision: removing a flow version the package does not hold answers 404."""
    members = _members(seen, id_in_path(exchange.params.get("package", "")) or "")
    version = id_in_path(exchange.params.get("flow_version", ""))
    if exchange.operation != REMOVE_VERSION or members is None or version is None:
        return None
    if int(version) in members:
        return None
    if not 200 <= exchange.status < 300:
        return []
    return [
        Finding(
            "absent_version_removal",
            f"removing flow version {version}, which the package does not hold, answered "
            f"{exchange.status}; api-notes decides 404",
            "HTTP 404",
            assumption=True,
        )
    ]


RULES: list[Check] = [
    name_filter_applied,
    sort_applied,
    pages_disjoint,
    accepts_within_limits,
    fields_as_stored,
    in_sync_after_deploy,
    default_priority,
    one_version_per_flow,
    empty_deploy_refused,
    absent_version_removal,
]
