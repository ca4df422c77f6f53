"""Every limit the contract sets on input: at the boundary accepted, just past it refused.

A server can accept input it should refuse by quietly "repairing" it: a name cut to 255
characters, a priority clamped into 1..100, page 0 read as page 1. No schema check sees that,
since the answer is well formed. So for each limit in the contract file (a string's
`maxLength`, an integer's `minimum`/`maximum`, in a request body or the query), found by
walking the file rather than listed here, so that a new limit is tested without new code:
the value at the boundary is accepted (2xx, and kept as sent, trimmed as Laravel trims), and
the value just past it is refused with 422 naming the field in `errors`, and the refused
request changed nothing (read back). Integers are sent as plain numbers and strings padded
with plain letters: Laravel's own leniencies (trimming, `"+1"`) are not probed here.

Where api-notes records a decision rather than a fact (`DECISIONS`), a server that answers
the value past the limit some other way is reported as an `Assumption`, not a failure.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

import httpx

from patchworks_mock.contract import contract_file
from patchworks_mock.contract.api import OPERATIONS, label
from patchworks_mock.contract.contract_file import resolve
from patchworks_mock.contract.expectations import Assumption, Violation, data, expect
from patchworks_mock.contract.rules import stored

if TYPE_CHECKING:
    from patchworks_mock.contract.properties import Context

KEYWORDS = ("maxLength", "minimum", "maximum")  # the limits a request's fields are tested at
METHODS = ("get", "put", "post", "delete", "patch")

# Limits whose refusal is a decision of api-notes, not a documented fact: (field, keyword) ->
# the decision. A server that answers otherwise differs from an assumption, not the contract.
DECISIONS = {
    # api-notes, "Unknowns worth a switch, not a guess": "whether `per_page` above 100 is
    # clamped or refused (decision: 422)"
    ("per_page", "maximum"): "api-notes decides that per_page above 100 is refused with 422 "
    '("Unknowns worth a switch"); a real server may clamp it instead',
}


@dataclass(frozen=True)
class Limit:
    """One limit on one field of one operation's input."""

    operation: str  # operation id
    location: str  # "query" or "body"
    field: str
    keyword: str  # one of KEYWORDS
    bound: int

    @property
    def decision(self) -> str | None:
        return DECISIONS.get((self.field, self.keyword))

    def describe(self) -> str:
        return f"{self.location} {self.field} {self.keyword} {self.bound}"


def _field_limits(operation: str, location: str, field: str, schema: dict) -> list[Limit]:
    return [
        Limit(operation, location, field, keyword, int(schema[keyword]))
        for keyword in KEYWORDS
        if keyword in schema
    ]


def read_limits(spec: dict[str, Any]) -> list[Limit]:
    """Every limit on a query parameter or a JSON body field, in the order the spec has them."""
    limits: list[Limit] = []
    for item in spec.get("paths", {}).values():
        shared = item.get("parameters", [])
        for method in METHODS:
            if method not in item:
                continue
            operation = item[method]
            op_id = operation["operationId"]
            for parameter in (resolve(spec, p) for p in shared + operation.get("parameters", [])):
                if parameter.get("in") == "query":
                    schema = resolve(spec, parameter.get("schema", {}))
                    limits += _field_limits(op_id, "query", parameter["name"], schema)
            body = resolve(spec, operation.get("requestBody", {}))
            schema = resolve(spec, body.get("content", {}).get("application/json", {}))
            schema = resolve(spec, schema.get("schema", {}))
            for field, prop in schema.get("properties", {}).items():
                limits += _field_limits(op_id, "body", field, resolve(spec, prop))
    return limits


# -- the values tried at each limit ------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One value tried at a limit, whether the contract accepts it, and how a message names it."""

    value: object
    accepted: bool  # True: at the boundary; False: past it
    shown: str  # the value in a message


def _text(ctx: Context, length: int, fill: str) -> str:
    """A string of `length` characters under the run's prefix (when it fits)."""
    prefix = ctx.ledger.prefix if length > len(ctx.ledger.prefix) else ""
    return prefix + fill * (length - len(prefix))


def cases(ctx: Context, limit: Limit) -> list[Case]:
    """The values at the boundary (accepted) and just past it (refused)."""
    bound = limit.bound
    if limit.keyword == "maxLength":
        # past: other letters, so that even cut to the limit it differs from the value before
        at, past = _text(ctx, bound, "x"), _text(ctx, bound + 1, "y")
        return [
            Case(at, True, f"a string of {bound} characters"),
            Case(f"  {at}  ", True, f"a string of {bound} characters and surrounding spaces"),
            # Laravel's max counts characters (mb_strlen), as JSON Schema does, not bytes
            Case(_text(ctx, bound, "é"), True, f"a string of {bound} characters (é among them)"),
            Case(past, False, f"a string of {bound + 1} characters"),
        ]
    step = -1 if limit.keyword == "minimum" else 1
    return [Case(bound, True, str(bound)), Case(bound + step, False, str(bound + step))]


# -- how each operation is called and read back ------------------------------------------------


@dataclass(frozen=True)
class Subject:
    """What the requests of one operation act on: a package of the run's, a flow version."""

    package: str = ""
    version: str = ""
    environment: str = ""


@dataclass(frozen=True)
class BodyOperation:
    """How to send a body to one operation, and read back what it could have changed."""

    needs: tuple[str, ...]
    prepare: Callable[[Context], Subject]
    send: Callable[[Context, Subject, dict[str, Any]], httpx.Response]
    read: Callable[[Context, Subject], Any]  # the state a refused request must leave alone
    kept: Callable[[httpx.Response, Any, str], Any]  # the field's value as the server kept it
    what: str  # what `read` reads, in a message


def _package(ctx: Context, suffix: str) -> str:
    return str(ctx.create(suffix)["id"])


def _with_version(ctx: Context, suffix: str) -> Subject:
    package, version = _package(ctx, suffix), sorted(ctx.flows)[0]
    added = ctx.api.add_version(package, version)
    expect(added.status_code == 200, f"adding flow version {version} failed", added, "HTTP 200")
    return Subject(package, version, next(iter(ctx.target.virtual_environments), ""))


def _got(ctx: Context, subject: Subject, include: str | None = None) -> Any:
    response = (
        ctx.api.get(subject.package, include=include) if include else ctx.api.get(subject.package)
    )
    expect(response.status_code == 200, "a package of the run cannot be read back", response)
    return data(response)


def _ours(ctx: Context, subject: Subject) -> int:
    """How many packages are listed under the run's prefix."""
    response = ctx.api.list({"filter[name]": ctx.ledger.prefix, "per_page": 1})
    expect(response.status_code == 200, "listing the run's packages failed", response)
    return int(response.json()["meta"]["total"])


def _create(ctx: Context, subject: Subject, body: dict[str, Any]) -> httpx.Response:
    response = ctx.api.create({"name": ctx.ledger.name("limit"), **body})
    ctx.ledger.record_created(response)
    return response


def _priority(response: httpx.Response, after: Any, field: str) -> Any:
    rows = after.get("flow_versions") or []
    return next((row.get("pivot", {}).get(field) for row in rows), None)


BODY_OPERATIONS: dict[str, BodyOperation] = {
    "createPackage": BodyOperation(
        ("write",),
        lambda ctx: Subject(),
        _create,
        _ours,
        lambda response, after, field: data(response).get(field),
        "number of packages under the run's prefix",
    ),
    "updatePackage": BodyOperation(
        ("write",),
        lambda ctx: Subject(_package(ctx, "limit-update")),
        lambda ctx, s, body: ctx.api.update(s.package, body),
        _got,
        lambda response, after, field: after.get(field),
        "package",
    ),
    "addFlowVersion": BodyOperation(
        ("write", "flows"),
        lambda ctx: _with_version(ctx, "limit-flow-version"),
        lambda ctx, s, body: ctx.api.add_version(s.package, s.version, body),
        lambda ctx, s: _got(ctx, s, "flowVersions"),
        _priority,
        "package's flow versions and priorities",
    ),
    "deployPackage": BodyOperation(
        ("write", "deploy"),
        lambda ctx: _with_version(ctx, "limit-deploy"),
        lambda ctx, s, body: ctx.api.deploy(s.package, s.environment, body),
        lambda ctx, s: _got(ctx, s, "deployments"),
        lambda response, after, field: data(response).get(field),
        "package's deployments",
    ),
}
QUERY_OPERATIONS = {  # operation id -> whether its path names a package
    "listPackages": False,
    "listDeployedPackages": False,
    "getPackage": True,
}


def _path(operation: str) -> str:
    return next(path for op_id, _, path in OPERATIONS if op_id == operation)


def _expected(value: object) -> object:
    return stored(value) if isinstance(value, str) else value


def _refused(response: httpx.Response, field: str) -> bool:
    try:
        errors = response.json().get("errors", {})
    except (ValueError, AttributeError):
        return False
    return response.status_code == 422 and isinstance(errors, dict) and field in errors


def _not_refused(limit: Limit, case: Case, response: httpx.Response) -> Violation:
    """A Violation (or, for a limit api-notes decided, an Assumption) for an answer not 422."""
    expected = f'HTTP 422 with errors["{limit.field}"]'
    if limit.decision and response.is_success:
        return Assumption(
            f"{limit.field}={case.shown} (past the {limit.keyword} {limit.bound}) was answered "
            f"HTTP {response.status_code}{_echo(response, limit.field)}, not refused: "
            f"{limit.decision}",
            response,
            expected,
        )
    return Violation(
        f"{limit.location} {limit.field}={case.shown} is past the {limit.keyword} {limit.bound} "
        f"and was not refused",
        response,
        expected,
    )


def _echo(response: httpx.Response, field: str) -> str:
    """`, meta.per_page 100` when the answer says what the server made of the field."""
    try:
        meta = response.json().get("meta", {})
    except (ValueError, AttributeError):
        return ""
    return f", meta.{field} {meta[field]}" if isinstance(meta, dict) and field in meta else ""


def _accepted(limit: Limit, case: Case, response: httpx.Response) -> None:
    expect(
        response.is_success,
        f"{limit.location} {limit.field}={case.shown} is within the {limit.keyword} "
        f"{limit.bound} and was refused",
        response,
        "HTTP 2xx",
    )


def check_body_limit(ctx: Context, limit: Limit) -> None:
    """At the boundary: accepted and kept as sent; past it: 422 and nothing changed."""
    operation = BODY_OPERATIONS[limit.operation]
    subject = operation.prepare(ctx)
    for case in cases(ctx, limit):
        before = operation.read(ctx, subject)
        response = operation.send(ctx, subject, {limit.field: case.value})
        after = operation.read(ctx, subject)
        if case.accepted:
            _accepted(limit, case, response)
            kept = operation.kept(response, after, limit.field)
            expect(
                kept == _expected(case.value),
                f"{limit.field}={case.shown} was accepted but kept as {_brief(kept)}",
                response,
                f"{limit.field} kept as sent (trimmed): {_brief(_expected(case.value))}",
            )
            continue
        if not _refused(response, limit.field):
            raise _not_refused(limit, case, response)
        expect(
            after == before,
            f"{limit.field}={case.shown} was refused, yet it changed the {operation.what}: "
            f"{_changes(before, after)}",
            response,
            "a refused request changes nothing",
        )


def _short(value: object, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "…"


def _brief(value: object) -> str:
    """A long string by its length (what a limit is about), anything else as it is."""
    if isinstance(value, str) and len(value) > 40:
        return f"a string of {len(value)} characters ({value[:20]!r}…)"
    return repr(value)


def _changes(before: Any, after: Any) -> str:
    """`name 'a…' -> 'b…'` for each top-level field that changed, else both values."""
    if isinstance(before, dict) and isinstance(after, dict):
        keys = [k for k in {**before, **after} if before.get(k) != after.get(k)]
        return "; ".join(f"{k} {_short(before.get(k))} -> {_short(after.get(k))}" for k in keys)
    return f"{_short(before)} -> {_short(after)}"


def _query_package(ctx: Context) -> str | None:
    """A package to GET: one of the run's, or in --read-only any listed one."""
    if not ctx.target.read_only:
        return _package(ctx, "limit-query")
    response = ctx.api.list({"per_page": 1})
    rows = response.json().get("data", []) if response.status_code == 200 else []
    return str(rows[0]["id"]) if rows else None


def check_query_limit(ctx: Context, limit: Limit, package: str | None) -> None:
    """At the boundary: 200; past it: 422 naming the parameter (GETs only)."""
    path = _path(limit.operation)
    if QUERY_OPERATIONS[limit.operation]:
        if package is None:
            return
        path = path.replace("{package}", package)
    for case in cases(ctx, limit):
        response = ctx.client.get(path, params={limit.field: str(case.value)})
        if case.accepted:
            _accepted(limit, case, response)
        elif not _refused(response, limit.field):
            raise _not_refused(limit, case, response)


def _all(checks: Iterable[Callable[[], None]]) -> None:
    """Run every check; raise the first failure, else the first assumption, noting the rest."""
    found: list[Violation] = []
    for check in checks:
        try:
            check()
        except Violation as exc:
            found.append(exc)
    failures = [v for v in found if not isinstance(v, Assumption)] or found
    if failures:
        first = failures[0]
        if len(failures) > 1:
            more = len(failures) - 1
            first.message += f" (and {more} more limit{'s' if more > 1 else ''} of this operation)"
        raise first


def operation_check(operation: str, limits: list[Limit]) -> Callable[[Context], None]:
    """The property for one operation: every limit of its input, each tried both ways."""
    query = [limit for limit in limits if limit.location == "query"]
    body = [limit for limit in limits if limit.location == "body"]

    def check(ctx: Context) -> None:
        package = _query_package(ctx) if query and QUERY_OPERATIONS[operation] else None
        _all(
            [partial(check_query_limit, ctx, limit, package) for limit in query]
            + [partial(check_body_limit, ctx, limit) for limit in body]
        )

    check.__doc__ = f"{label(operation)}: " + "; ".join(limit.describe() for limit in limits)
    return check


def checks(
    limits: list[Limit],
) -> list[tuple[str, str, tuple[str, ...], Callable[[Context], None]]]:
    """(name, operation, needs, check) of one property per operation that has limits."""
    by_operation: dict[str, list[Limit]] = {}
    for limit in limits:
        by_operation.setdefault(limit.operation, []).append(limit)
    return [
        (
            "limits_enforced",
            label(operation),
            BODY_OPERATIONS[operation].needs if operation in BODY_OPERATIONS else (),
            operation_check(operation, mine),
        )
        for operation, mine in by_operation.items()
    ]


def supported(limit: Limit) -> bool:
    """Whether the suite knows how to call and read back the limit's operation."""
    table = QUERY_OPERATIONS if limit.location == "query" else BODY_OPERATIONS
    return limit.operation in table


LIMITS = read_limits(contract_file.bundled())
CHECKS = checks([limit for limit in LIMITS if supported(limit)])
