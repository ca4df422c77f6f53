"""What every `patchworks-mock` command shares: the usage exit code and its one-line errors."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterable, Mapping

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


def port(text: str) -> int:
    """An argparse type: a TCP port, 0 (any free one) to 65535."""
    port = whole_number(text)
    if port is None or port > 65535:
        raise argparse.ArgumentTypeError(f"'{text[:40]}' is not a port (0 to 65535)")
    return port


BYTE_UNITS = {"": 1, "K": 1024, "KIB": 1024, "M": 1024**2, "MIB": 1024**2, "G": 1024**3}
MAX_BYTES = 1024**4  # a sanity bound: past it a "limit" is none


def byte_size(text: str) -> int:
    """An argparse type: bytes, as N, NK (KiB), NM (MiB) or NG (GiB), at least 1."""
    digits = text.rstrip("kKmMgGiIbB")
    unit = BYTE_UNITS.get(text[len(digits) :].upper())
    count = whole_number(digits)
    if count is None or unit is None or not 1 <= count * unit <= MAX_BYTES:
        shown = text if len(text) <= 40 else f"{text[:40]}…"
        raise argparse.ArgumentTypeError(f"'{shown}' is not a size like 16384, 16K or 8M")
    return count * unit


def size_text(size: int) -> str:
    """16384 as `16K`, 8388608 as `8M`: a size as the flags take it."""
    for unit, factor in (("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)):
        if size % factor == 0:
            return f"{size // factor}{unit}"
    return str(size)


# What each of `Limits` bounds, and what a client gets past it (README "Limits").
LIMIT_HELP = {
    "max_header_bytes": "header lines of one request in all; 431 past it",
    "max_body_bytes": "a request body, PHP's post_max_size; 413 past it",
    "max_target_bytes": "a request's path and query; 414 past it",
    "max_query_keys": "query keys kept, PHP's max_input_vars; the rest are dropped",
    "journal_bytes": "bytes of bodies, headers, paths and queries each request journal keeps; "
    "the oldest entries are forgotten past it",
    "max_sandboxes": "sandboxes with --isolate-keys; a new one past it gets 503 with Retry-After",
    "max_tokens": "live login tokens; a login past it gets 503 with Retry-After",
    "max_planned_faults": "planned faults at once; POST /__mock__/faults past it gets 422",
}


def seconds(text: str) -> float:
    """An argparse type: a number of seconds above 0 (at most a day)."""
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value <= 86400:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number of seconds above 0")
    return value


def unwritable(path: str) -> str | None:
    """Why a report or file cannot be written at `path`, or None."""
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        return "is a folder"
    if not os.path.isdir(folder):
        return f"no such folder {folder}"
    if not os.access(folder, os.W_OK) or (os.path.exists(path) and not os.access(path, os.W_OK)):
        return "not writable"
    return None


def add_listen_flags(parser: argparse.ArgumentParser, default_port: int) -> None:
    """`--host` and `--port`, as every command that serves takes them."""
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: %(default)s)"
    )
    parser.add_argument(
        "--port",
        type=port,
        default=default_port,
        help="port to listen on; 0 picks a free one (default: %(default)s)",
    )


def add_limit_flags(
    group: argparse._ArgumentGroup, names: Iterable[str], helps: Mapping[str, str]
) -> None:
    """A flag per limit of `instance.Limits` in `names`, named for its field
    (`--max-body-bytes`) and worded by `helps`, then `--header-timeout`."""
    from patchworks_mock.instance import Limits
    from patchworks_mock.uvicorn_internals import DEFAULT_HEADER_TIMEOUT

    defaults = Limits()
    for name in names:
        default = getattr(defaults, name)
        size = name.endswith("_bytes")
        group.add_argument(
            f"--{name.replace('_', '-')}",
            type=byte_size if size else positive,
            default=default,
            metavar="SIZE" if size else "N",
            help=f"{helps[name]} (default: {size_text(default) if size else default})",
        )
    group.add_argument(
        "--header-timeout",
        type=seconds,
        default=DEFAULT_HEADER_TIMEOUT,
        metavar="SECONDS",
        help="close a connection whose request line and headers are not complete this long "
        "after it opened or after its last answer (default: %(default)g)",
    )
