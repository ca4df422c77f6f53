"""`patchworks-mock check`: the sub-command's options and its handler."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable

from patchworks_mock.cli_common import TARGET_KEY_VARIABLE, positive, unwritable
from patchworks_mock.contract.profiles import PHASES, PROFILES, SUITES


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value < 2**32:
        raise argparse.ArgumentTypeError(
            f"must be a whole number between 0 and 4294967295, not {text!r}"
        )
    return value


def _choices(allowed: tuple[str, ...]) -> Callable[[str], tuple[str, ...]]:
    """An argparse type: a comma-separated list of some of `allowed`."""

    def parse(text: str) -> tuple[str, ...]:
        chosen = tuple(part.strip() for part in text.split(",") if part.strip())
        unknown = [c for c in chosen if c not in allowed]
        if unknown or not chosen:
            raise argparse.ArgumentTypeError(f"choose from {', '.join(allowed)}")
        return chosen

    return parse


def check(args: argparse.Namespace) -> int:
    """Run the suite as the options say; the exit code is the verdict."""
    if args.url is not None and not args.api_key:
        args.api_key = os.environ.get(TARGET_KEY_VARIABLE)
    if args.url is not None and not args.api_key:
        print(
            f"patchworks-mock: error: --url needs --api-key KEY (or ${TARGET_KEY_VARIABLE})",
            file=sys.stderr,
        )
        return 2
    for flag, path in (("--junit-xml", args.junit_xml), ("--report", args.report)):
        problem = path and unwritable(path)
        if problem:  # said now, not after a run of minutes
            print(f"patchworks-mock: error: {flag} {path}: {problem}", file=sys.stderr)
            return 2
    from patchworks_mock.contract import runner  # Schemathesis and Hypothesis: only when run

    options = runner.Options(
        url=args.url,
        api_key=args.api_key,
        seed=args.seed,
        profile=args.profile,
        max_examples=args.max_examples,
        read_only=args.read_only,
        allow_deploy=args.allow_deploy,
        virtual_environments=args.virtual_environment or [],
        flow_versions=args.flow_version or [],
        junit_xml=args.junit_xml,
        report_md=args.report,
        verbose=args.verbose,
        fail_on_flaky=args.fail_on_flaky,
        suites=args.suites,
        phases=args.phases,
    )
    code, _ = runner.execute(options)
    return code


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `check` to the CLI's sub-commands."""
    parser = commands.add_parser(
        "check",
        help="check the mock, or a server by URL, against the Packages contract",
        description=(
            "Run the contract suite (Schemathesis checks, domain properties and a model-based "
            "state machine) against the in-process mock, or against --url. Exit 0 when "
            "everything conforms, 1 when something does not, 2 for bad usage or an unusable "
            "server, 130 when interrupted (after the clean-up)."
        ),
    )
    parser.add_argument("--url", help="base URL of the server to check (default: the mock)")
    parser.add_argument(
        "--api-key",
        metavar="KEY",
        help=f"key sent as 'Authorization: KEY' with --url (default: ${TARGET_KEY_VARIABLE})",
    )
    parser.add_argument(
        "--seed", type=_seed, help="seed for every generator; a run prints its seed"
    )
    parser.add_argument(
        "--profile",
        choices=sorted(PROFILES),
        default="default",
        help="how much to generate: 'quick' for a fast smoke run (default: %(default)s)",
    )
    parser.add_argument(
        "--max-examples",
        type=positive,
        metavar="N",
        help="examples per operation and per property (overrides the profile)",
    )
    parser.add_argument(
        "--read-only",
        action="store_true",
        help="send only requests that cannot change data (GETs, and requests that must be refused)",
    )
    parser.add_argument(
        "--allow-deploy",
        action="store_true",
        help="with --url: allow deploys to the --virtual-environment given",
    )
    parser.add_argument(
        "--virtual-environment",
        action="append",
        metavar="ID",
        help="a virtual environment the deploy tests may use (repeatable; with --url)",
    )
    parser.add_argument(
        "--flow-version",
        action="append",
        metavar="ID",
        help="a flow version the tests may add to their packages (repeatable; with --url)",
    )
    parser.add_argument("--junit-xml", metavar="PATH", help="also write a JUnit XML report")
    parser.add_argument(
        "--report",
        metavar="PATH.md",
        help='also append a Markdown summary to this file (e.g. "$GITHUB_STEP_SUMMARY")',
    )
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="print the full table of every check, passed ones included",
    )
    parser.add_argument(
        "--fail-on-flaky",
        action="store_true",
        help="exit 1 when a failure did not reproduce on retry too (default: report it only)",
    )
    parser.add_argument(
        "--suites",
        type=_choices(SUITES),
        default=SUITES,
        metavar="LIST",
        help=f"comma-separated suites to run (default: {','.join(SUITES)})",
    )
    parser.add_argument(
        "--phases",
        type=_choices(PHASES),
        default=PHASES,
        metavar="LIST",
        help=f"Schemathesis phases (default: {','.join(PHASES)})",
    )
    parser.set_defaults(handler=check)
