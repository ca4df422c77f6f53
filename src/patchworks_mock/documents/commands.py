"""`patchworks-mock fixtures validate|generate|export`: check, make and capture fixture files.

Exit codes: 0 done (or valid), 1 a fixture file has problems, 2 bad usage, unreadable or
unwritable files, or a server that cannot be read.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TextIO
from urllib.parse import urlsplit

from patchworks_mock.cli_common import TARGET_KEY_VARIABLE, USAGE_ERROR, fail
from patchworks_mock.documents import export
from patchworks_mock.documents.checking import FixtureError, UnreadableFixture, problems
from patchworks_mock.documents.generate import check_sizes, generate
from patchworks_mock.documents.json_output import write_json
from patchworks_mock.documents.loading import read
from patchworks_mock.records import COLLECTIONS

PROBLEMS = 1


SIZES = ("users", "flows", "versions_per_flow", "environments", "packages", "deployed_ratio")


def sizes_of(args: argparse.Namespace) -> dict:
    """The `generate` size options as keyword arguments of `generate()`."""
    return {name: getattr(args, name) for name in SIZES}


class _Progress:
    """A one-line counter on stderr, shown only when a person is watching (a terminal)."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.shown = stream.isatty()

    def __call__(self, stage: str, done: int, total: int) -> None:
        if self.shown:
            self.stream.write(f"\r{stage}: {done:,}/{total:,}\x1b[K")
            self.stream.flush()

    def close(self) -> None:
        if self.shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()


def _write(document: dict, output: str | None) -> None:
    """UTF-8 bytes whatever the machine's locale, to the file or to standard output."""
    if output is None or output == "-":
        try:
            sys.stdout.flush()
            write_json(document, sys.stdout.buffer)
            sys.stdout.buffer.flush()
        except BrokenPipeError:  # the reader stopped early (`| head`): fine, as for `cat`
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    else:
        with open(output, "wb") as stream:
            write_json(document, stream)


def _deliver(document: dict, output: str | None, done: str) -> int:
    """Write the document and say what it holds (on stderr, out of the document's way)."""
    try:
        _write(document, output)
    except OSError as exc:
        return fail(f"cannot write {output or 'standard output'}: {exc.strerror or exc}")
    counts = ", ".join(f"{len(document[n])} {n}" for n in COLLECTIONS)
    print(f"{done}: {counts}", file=sys.stderr)
    return 0


def validate_command(args: argparse.Namespace) -> int:
    """Report every problem of every file; 1 if any file has problems, 2 if one is unreadable."""
    unreadable = broken = 0
    for path in args.paths:
        try:
            document = read(path)
            found = problems(document)
        except UnreadableFixture as exc:
            unreadable += 1
            fail(f"{path}: {exc.problems[0][1]}")
            continue
        except FixtureError as exc:  # not JSON: the parser's one problem
            found = exc.problems
        if found:
            broken += 1
            for place, reason in found:
                print(f"{path}: {place}: {reason}")
        else:
            counts = ", ".join(f"{len(document.get(n, []))} {n}" for n in COLLECTIONS)
            print(f"{path}: valid ({counts})")
    if broken:
        print(f"{broken} of {len(args.paths)} files have problems", file=sys.stderr)
    return USAGE_ERROR if unreadable else PROBLEMS if broken else 0


def generate_command(args: argparse.Namespace) -> int:
    """Write a seeded document; the same arguments always give the same bytes."""
    sizes = sizes_of(args)
    try:
        check_sizes(**sizes)
    except ValueError as exc:
        return fail(f"--{str(exc).replace('_', '-')}")
    progress = _Progress(sys.stderr)
    try:
        document = generate(args.seed, progress=progress, **sizes)
    finally:
        progress.close()
    return _deliver(document, args.output, f"wrote {args.output or 'standard output'}")


def export_command(args: argparse.Namespace) -> int:
    """Capture what a real server lists as a document the mock can load (GETs only)."""
    parts = urlsplit(args.url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return fail(f"--url must be an http(s) URL such as http://127.0.0.1:8000, not {args.url!r}")
    if args.timeout <= 0:
        return fail(f"--timeout must be a positive number of seconds, not {args.timeout}")
    key = args.api_key or os.environ.get(TARGET_KEY_VARIABLE)
    if not key:
        return fail(f"export needs --api-key KEY (or ${TARGET_KEY_VARIABLE})")
    progress = _Progress(sys.stderr)
    try:
        document = export.export(
            args.url,
            key,
            timeout=args.timeout,
            progress=lambda fetched, listed: progress("packages", fetched, listed),
        )
    except export.ExportError as exc:
        return fail(str(exc))
    finally:
        progress.close()
    return _deliver(document, args.output, f"exported {args.url}")


def register(commands: argparse._SubParsersAction) -> None:
    """Add `fixtures` and its sub-commands to the `patchworks-mock` parser."""
    group = commands.add_parser(
        "fixtures",
        help="check, generate and export fixture documents",
        description="Check, generate and export the fixture documents the mock loads "
        "(format: fixtures/schema.json).",
    )
    actions = group.add_subparsers(dest="fixtures_command", required=True, metavar="ACTION")

    check = actions.add_parser(
        "validate",
        help="check fixture files against the schema and their references",
        description="Check each file against fixtures/schema.json and the references between "
        "records; print every problem as FILE: JSON-PATH: REASON. Exit 0 when all are valid, "
        "1 when any has problems, 2 when a file cannot be read.",
    )
    check.add_argument("paths", nargs="+", metavar="PATH", help="fixture file(s) to check")
    check.set_defaults(handler=validate_command)

    make = actions.add_parser(
        "generate",
        help="make a seeded, realistic fixture document of any size",
        description="Make a valid fixture document with realistic data (Faker). The same "
        "arguments give byte-identical output on any machine.",
    )
    make.add_argument("--seed", type=int, required=True, metavar="N", help="random seed")
    for flag, default, meaning in (
        ("--users", 5, "users"),
        ("--flows", 20, "flows"),
        ("--versions-per-flow", 3, "versions of each flow (at least 1)"),
        ("--environments", 3, "virtual environments"),
        ("--packages", 50, "packages"),
    ):
        make.add_argument(
            flag, type=int, default=default, metavar="N", help=f"{meaning} (default: %(default)s)"
        )
    make.add_argument(
        "--deployed-ratio",
        type=float,
        default=0.5,
        metavar="R",
        help="chance, 0..1, that a package with flow versions was deployed (default: %(default)s)",
    )
    make.add_argument(
        "-o",
        "--output",
        metavar="PATH",
        help="file to write (default: standard output)",
    )
    make.set_defaults(handler=generate_command)

    capture = actions.add_parser(
        "export",
        help="capture a real server's packages as a fixture document (read-only)",
        description="Read every package the server lists (GET /api/v1/packages with includes, "
        "100 per page; GETs only) and write a fixture document the mock can load. Values the "
        "API never shows, such as passwords, get documented placeholders.",
    )
    capture.add_argument(
        "--url", required=True, help="the server's base URL, e.g. https://core.wearepatchworks.com"
    )
    capture.add_argument(
        "--api-key",
        metavar="KEY",
        help=f"sent as 'Authorization: KEY' (default: ${TARGET_KEY_VARIABLE})",
    )
    capture.add_argument(
        "--timeout",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="per request (default: %(default)s)",
    )
    capture.add_argument(
        "-o", "--output", metavar="PATH", help="file to write (default: standard output)"
    )
    capture.set_defaults(handler=export_command)
