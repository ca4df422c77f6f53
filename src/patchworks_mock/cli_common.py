"""What every `patchworks-mock` command shares: the usage exit code and its one-line errors."""

from __future__ import annotations

import argparse
import sys

USAGE_ERROR = 2


def fail(message: str) -> int:
    """Say what is wrong in one line on stderr; the caller returns this exit code."""
    print(f"patchworks-mock: error: {message}", file=sys.stderr)
    return USAGE_ERROR


def positive(text: str) -> int:
    """An argparse type: a whole number of at least 1."""
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1 (a whole number), not '{text}'")
    return int(text)
