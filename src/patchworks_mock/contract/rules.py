"""The contract's rules that the suite keeps its own copy of.

The suite judges other servers, so it never takes a rule from the mock's code (see the package
docstring): these are its copies, each written once, here.
"""

from __future__ import annotations

import re

# -- what the contract says (Laravel's behaviour, as `openapi/packages.yaml` documents it) ------

# PHP's trim() characters: Laravel's TrimStrings middleware strips them from both ends of every
# input string, and ConvertEmptyStringsToNull turns what is left, if empty, into null.
TRIMMED = " \t\n\r\0\x0b"
MAX_NAME = 255  # a package name's maxLength
DEFAULT_PRIORITY = 50  # the priority of a flow version added without one
ABSENT = "0"  # Laravel ids start at 1: an id that names nothing, in any path
UNAUTHENTICATED = {"message": "Unauthenticated."}  # the body of every 401


def nonblank(text: str) -> bool:
    """Whether anything of `text` is left once trimmed (a blank name counts as missing)."""
    return bool(text.strip(TRIMMED))


def stored(value: str | None) -> str | None:
    """What Laravel keeps of an input string: trimmed, and null if nothing is left."""
    return None if value is None else (value.strip(TRIMMED) or None)


# -- what the checks of every answer rely on (see `checks.py`) ------------------------------------

# Laravel serializes dates as `2026-11-28T06:57:00.000000Z` (Carbon's toJSON: UTC, microseconds).
TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z")
# Route-model binding's models, by path parameter, in the order Laravel binds them.
MODELS = {
    "package": "App\\Models\\Package",
    "virtual_environment": "App\\Models\\VirtualEnvironment",
    "flow_version": "App\\Models\\FlowVersion",
}
NOT_FOUND = re.compile(r"No query results for model \[(?P<model>[^\]]*)\] (?P<key>.*)", re.S)
# spatie/laravel-query-builder's 400 messages (InvalidFilterQuery, InvalidSortQuery,
# InvalidIncludeQuery).
QUERY_NOT_ALLOWED = (
    re.compile(
        r"Requested filter\(s\) `.*` are not allowed\. Allowed filter\(s\) are `.*`\.", re.S
    ),
    re.compile(r"Requested sort\(s\) `.*` is not allowed\. Allowed sort\(s\) are `.*`\.", re.S),
    re.compile(
        r"Requested include\(s\) `.*` are not allowed\. Allowed include\(s\) are `.*`\.", re.S
    ),
)
# at most 19 digits: PHP_INT_MAX has 19, and int() of a longer text is work for nothing
PHP_INT = re.compile(r"[+-]?(0|[1-9][0-9]{0,18})")
PHP_INT_MAX = 9223372036854775807
PHP_INT_SPACE = " \t\n\r\x0b"  # what filter_var trims around an integer


def not_found(parameter: str, key: str) -> str:
    """The 404 message when route-model binding finds no row for `key`."""
    return f"No query results for model [{MODELS[parameter]}] {key}"


def validation_message(errors: dict[str, list[str]]) -> str:
    """Laravel's 422 `message`: the first error, and " (and N more error[s])"."""
    messages = [m for field_messages in errors.values() for m in field_messages]
    more = len(messages) - 1
    if more < 1:
        return messages[0]
    return f"{messages[0]} (and {more} more error{'s' if more > 1 else ''})"


def php_int(text: str) -> int | None:
    """What PHP's `filter_var(FILTER_VALIDATE_INT)` makes of `text` (Laravel's `integer`)."""
    stripped = text.strip(PHP_INT_SPACE)
    if not PHP_INT.fullmatch(stripped):
        return None
    value = int(stripped)
    return value if -PHP_INT_MAX - 1 <= value <= PHP_INT_MAX else None
