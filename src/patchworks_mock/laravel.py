"""Laravel's and PHP's formats, in one place: timestamps, trimming, blank input.

Everything here is a fact about the framework under the real API, not a decision of the mock;
the mock's store, validators, fixture code and request journal all read it from here.
"""

from __future__ import annotations

import typing as t
from datetime import UTC, datetime

# Laravel's JSON timestamps: ISO 8601 with microseconds, in UTC, e.g. 2026-11-28T06:57:00.000000Z
TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
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
