"""What every `patchworks-mock` command shares: the usage exit code and its one-line errors."""

from __future__ import annotations

import argparse
import sys

USAGE_ERROR = 2

# Two variables, two roles: the keys a mock accepts (`serve`), and the key sent to a server
# under test or read from (`check --url`, `fixtures export`).
MOCK_KEY_VARIABLE = "PATCHWORKS_MOCK_API_KEY"
TARGET_KEY_VARIABLE = "PATCHWORKS_API_KEY"


def fail(message: str) -> int:
    """Say what is wrong in one line on stderr; the caller returns this exit code."""
    print(f"patchworks-mock: error: {message}", file=sys.stderr)
    return USAGE_ERROR


def whole_number(text: str) -> int | None:
    """`text` as a whole number written in ASCII digits, or None (also for more than 18
    digits: int() refuses over 4,300, and no count or size here comes near 10**18)."""
    if not (text.isascii() and text.isdigit()) or len(text.lstrip("0")) > 18:
        return None
    return int(text)


def positive(text: str) -> int:
    """An argparse type: a whole number of at least 1."""
    value = whole_number(text)
    if value is None or value < 1:
        shown = text if len(text) <= 40 else f"{text[:40]}…"
        raise argparse.ArgumentTypeError(f"must be at least 1 (a whole number), not '{shown}'")
    return value
