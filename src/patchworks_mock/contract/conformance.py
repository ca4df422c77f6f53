"""The contract's own word on an answer: its status is documented, it is not a server error,
its body matches the documented schema.

In `check` Schemathesis judges these; the proxy, which sees answers to requests it did not
make, has them from here, as checks of the same form as `checks.py`'s.
"""

from __future__ import annotations

from functools import cache

from patchworks_mock.contract import contract_file, schema_errors
from patchworks_mock.contract.exchange import Exchange
from patchworks_mock.contract.reading import Check, Finding

# Laravel's throttle answers 429 with Retry-After on any route; the contract documents the
# API, not the throttle in front of it, so such an answer is not judged.
THROTTLED = 429


@cache
def documented_statuses(operation: str) -> frozenset[str]:
    """The statuses the contract documents for `operation` ("GET /path"), `default` too; none
    for an operation it does not name. The login is one, though not a Packages operation."""
    method, _, path = operation.partition(" ")
    item = contract_file.bundled()["paths"].get(path, {})
    return frozenset(item.get(method.lower(), {}).get("responses", {}))


def documented_status(exchange: Exchange, seen: object) -> list[Finding] | None:
    """The answer's status is one the contract documents for the operation."""
    documented = documented_statuses(exchange.operation)
    if not documented or exchange.status == THROTTLED or exchange.status >= 500:
        return None
    if str(exchange.status) in documented or "default" in documented:
        return []
    return [
        Finding(
            "documented_status",
            f"HTTP {exchange.status} is not a status the contract documents here",
            "one of HTTP " + ", ".join(sorted(documented)),
        )
    ]


def not_a_server_error(exchange: Exchange, seen: object) -> list[Finding] | None:
    """No answer is a 5xx: the contract documents none."""
    if not documented_statuses(exchange.operation):
        return None
    if exchange.status < 500:
        return []
    return [
        Finding(
            "not_a_server_error",
            f"the server answered HTTP {exchange.status}",
            "a documented answer, not a server error",
        )
    ]


def response_schema(exchange: Exchange, seen: object) -> list[Finding] | None:
    """The body matches the schema the contract documents for the status."""
    if exchange.status >= 500 or exchange.status == THROTTLED:
        return None
    if schema_errors.response_schema(exchange.operation, exchange.status) is None:
        return None
    return [
        Finding("response_schema", line, "the documented schema")
        for line in schema_errors.mismatches(exchange.operation, exchange.status, exchange.body)
    ]


CONFORMANCE: list[Check] = [documented_status, not_a_server_error, response_schema]
