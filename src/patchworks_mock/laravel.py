"""Laravel's and PHP's formats, in one place: timestamps, trimming, blank input.

Everything here is a fact about the framework under the real API, not a decision of the mock;
the mock's store, validators, fixture code and request journal all read it from here.
"""

from __future__ import annotations

import re
import typing as t
from datetime import UTC, datetime

# Laravel's JSON timestamps: ISO 8601 with microseconds, in UTC, e.g. 2026-11-28T06:57:00.000000Z
TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
# PHP's largest and smallest integers (64-bit builds): json_decode reads a JSON integer outside
# them as a float, and the `integer` rule (filter_var FILTER_VALIDATE_INT) refuses it.
PHP_INT_MAX = 9_223_372_036_854_775_807
PHP_INT_MIN = -PHP_INT_MAX - 1
# What PHP's trim() removes, and so what Laravel's TrimStrings middleware strips.
PHP_TRIMMED = " \t\n\r\0\x0b"


def timestamp(moment: datetime) -> str:
    """`moment` in Laravel's JSON timestamp format (a naive `moment` is taken as UTC)."""
    return moment.strftime(TIMESTAMP_FORMAT)


def now() -> str:
    """The current time in Laravel's JSON timestamp format."""
    return timestamp(datetime.now(UTC))


def input_as_laravel_reads_it(value: t.Any) -> t.Any:
    """A decoded JSON body after TrimStrings and ConvertEmptyStringsToNull, which Laravel's
    default middleware apply before any validation rule runs."""
    if isinstance(value, str):
        return value.strip(PHP_TRIMMED) or None
    if isinstance(value, dict):
        return {key: input_as_laravel_reads_it(item) for key, item in value.items()}
    if isinstance(value, list):
        return [input_as_laravel_reads_it(item) for item in value]
    return value


def json_integer(text: str) -> int | float:
    """A JSON integer literal as PHP's json_decode reads it: an int within PHP's integers, else
    a float (inf when it is past the largest float), never Python's int of 4,300+ digits."""
    digits = len(text) - text.startswith("-")
    if digits <= 19:
        value = int(text)
        if PHP_INT_MIN <= value <= PHP_INT_MAX:
            return value
    return float(text)


# The `integer` rule on a string (query parameters): PHP's filter_var FILTER_VALIDATE_INT, which
# trims these, takes an optional sign and ASCII digits without leading zeros, within PHP's range.
_FILTER_TRIMMED = " \t\n\r\x0b"
_DECIMAL_INTEGER = re.compile(r"[+-]?(0|[1-9][0-9]{0,18})")


def filter_int(text: str) -> int | None:
    """`text` as PHP's filter_var($text, FILTER_VALIDATE_INT) reads it; None when it fails
    ("01", "1_0", "1.0", "1e3", "٣", values past PHP_INT_MAX)."""
    trimmed = text.strip(_FILTER_TRIMMED)
    if _DECIMAL_INTEGER.fullmatch(trimmed) is None:
        return None
    value = int(trimmed)
    return value if PHP_INT_MIN <= value <= PHP_INT_MAX else None
