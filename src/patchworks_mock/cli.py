"""`patchworks-mock`: serve the mock (and, as they arrive, check servers and make fixtures)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from dataclasses import fields, replace
from importlib import metadata
from pathlib import Path
from typing import NoReturn, cast

from patchworks_mock import (
    bundled,
    config,
    faults,
    fixtures,
    logs,
    request_journal,
    server,
    uvicorn_internals,
)
from patchworks_mock.cli_common import (
    LIMIT_HELP,
    MOCK_KEY_VARIABLE,
    USAGE_ERROR,
    add_limit_flags,
    add_listen_flags,
    fail,
    positive,
    whole_number,
)
from patchworks_mock.contract import command as check_command
from patchworks_mock.documents import commands as fixture_commands
from patchworks_mock.instance import DEVELOPMENT_KEY, Limits
from patchworks_mock.proxy import command as proxy_command


def _latency(text: str) -> tuple[int, int]:
    low, _, high = text.partition("-")
    try:
        bounds = (int(low), int(high or low))
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not MIN-MAX in milliseconds") from None
    if not 0 <= bounds[0] <= bounds[1] <= faults.MAX_DELAY_MS:
        raise argparse.ArgumentTypeError(
            f"'{text}' must be 0 <= MIN <= MAX <= {faults.MAX_DELAY_MS} milliseconds"
        )
    return bounds


def _share(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"'{text}' is not a share between 0 and 1")
    return value


_UNITS = {"s": 1, "sec": 1, "second": 1, "min": 60, "minute": 60, "h": 3600, "hour": 3600}


def _rate_limit(text: str) -> faults.RateLimit:
    count, _, unit = text.partition("/")
    requests = whole_number(count)
    if requests is None or requests < 1 or unit not in _UNITS:
        shown = text if len(text) <= 40 else f"{text[:40]}…"
        raise argparse.ArgumentTypeError(f"'{shown}' is not N/sec, N/min or N/hour (N >= 1)")
    return faults.RateLimit(requests, _UNITS[unit])


def serve(args: argparse.Namespace) -> int:
    import uvicorn

    from patchworks_mock.app import create_app

    keys = args.api_key or (
        [os.environ[MOCK_KEY_VARIABLE]] if os.environ.get(MOCK_KEY_VARIABLE) else []
    )
    try:
        # What is loaded now lives until the process ends: the collector need not walk it again
        # (three passes, about half a second, over 100,000 packages).
        with fixtures.collector_paused(keep=True):
            app = create_app(
                fixtures.FixtureFile(args.fixtures),
                api_keys=keys,
                validate_responses=args.validate_responses,
                state_file=args.state_file,
                faults=faults.FaultSettings(
                    args.latency,
                    args.error_rate,
                    args.rate_limit and replace(args.rate_limit, windows=args.max_throttle_windows),
                    args.seed,
                    args.max_delay,
                ),
                isolate_keys=args.isolate_keys,
                cors_origins=args.cors_origin or (),
                journal_size=args.journal_size,
                # Each limit's flag is named for its field (`--max-body-bytes`).
                limits=Limits(**{f.name: getattr(args, f.name) for f in fields(Limits)}),
            )
    except ValueError as exc:  # options that cannot go together
        return fail(str(exc))
    except fixtures.FixtureError as exc:
        return fail(str(exc))
    except OSError as exc:
        return fail(f"cannot write the state file {args.state_file}: {exc.strerror or exc}")
    try:
        sock = server.bind(args.host, args.port)
    except OSError as exc:
        return fail(str(exc))
    base = server.base_url(sock)
    store = app.state.store
    banner = [f"patchworks-mock serving {args.fixtures}"]
    if args.state_file:
        banner.append(f"  state kept in {args.state_file} (loaded from there if it existed)")
    banner += [
        f"  {len(store.packages)} packages, {len(store.flow_versions)} flow versions, "
        f"{len(store.virtual_environments)} virtual environments",
        f"  API:        {base}/api/v1/packages",
        f"  Swagger UI: {base}/ui/",
        f"  Admin:      {base}/__mock__/ui/",
    ]
    if keys:
        banner.append(f"  API keys:   {len(keys)} given (send one as 'Authorization: <key>')")
    else:
        banner.append(
            f"  API key:    {DEVELOPMENT_KEY}  (send it as 'Authorization: {DEVELOPMENT_KEY}')"
        )
    banner.append("Press Ctrl-C to stop.")
    logs.configure(args.log_format, args.log_level)
    for line in banner:
        logs.BANNER.info(line)
    # Request lines are logged at "info"; below that, the layer that writes them is left out.
    logged = args.log_level in ("info", "debug")
    config = uvicorn.Config(
        logs.RequestLines(app) if logged else app,
        log_config=None,  # logs.configure's
        log_level=args.log_level,
        access_log=False,  # logs.RequestLines writes the request lines
        lifespan="on",
        http=server.protocol(app, args.header_timeout),
    )
    try:
        uvicorn_internals.run_until_stopped(uvicorn.Server(config), [sock])
    finally:
        sock.close()
        if args.state_file:  # the last connection folds the WAL in and removes it
            app.state.store.durability.close()
    logs.BANNER.info("patchworks-mock stopped.")
    return 0


class _Version(argparse.Action):
    """`--version`: the installed package's version (pyproject's, the one place it is written),
    looked up only when asked, as the lookup takes tens of milliseconds."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: object) -> None:
        super().__init__(option_strings, dest, nargs=0, help="print the version and exit")

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: object,
        option_string: str | None = None,
    ) -> None:
        try:
            installed = metadata.version("patchworks-mock")
        except metadata.PackageNotFoundError:
            installed = "(not installed: no version)"
        print(f"patchworks-mock {installed}")  # data, on stdout
        parser.exit()


class _Parser(argparse.ArgumentParser):
    """argparse, with a refused option as one line (`patchworks-mock: error: ...`), exit 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(USAGE_ERROR, f"patchworks-mock: error: {message} (see '{self.prog} --help')\n")


def parser() -> argparse.ArgumentParser:
    root: argparse.ArgumentParser = _Parser(
        prog="patchworks-mock",
        description="A stateful mock of the Patchworks Packages API.",
        epilog=f"Defaults for every command's flags come from {config.FILE_NAME}, else from "
        f"[tool.patchworks-mock] in {config.PYPROJECT}, in this directory or a parent up to "
        "the repository root; flags and the environment win over the file. "
        "See the README's 'Configuration'.",
        allow_abbrev=False,  # --config is read before the parse, whole
    )
    files = root.add_mutually_exclusive_group()
    files.add_argument(
        "--config",
        metavar="PATH",
        help=f"read defaults from this file (a {config.FILE_NAME}, or a {config.PYPROJECT} "
        "with a [tool.patchworks-mock] table) instead of looking for one; give it before the "
        "command",
    )
    files.add_argument(
        "--no-config",
        action="store_true",
        help="read no configuration file; give it before the command",
    )
    root.add_argument("--version", action=_Version)
    commands = root.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = commands.add_parser(
        "serve",
        help="serve the mock over HTTP",
        description="Serve the Packages API from in-memory state loaded from a fixture file.",
    )
    add_listen_flags(run, 8000)
    run.add_argument(
        "--fixtures",
        default=str(bundled.DEFAULT_FIXTURES),
        metavar="PATH",
        help="fixture document to load (default: the bundled fixtures/default.json)",
    )
    run.add_argument(
        "--api-key",
        action="append",
        metavar="KEY",
        help=f"an API key to accept; repeat for more (default: ${MOCK_KEY_VARIABLE}, "
        f"else '{DEVELOPMENT_KEY}')",
    )
    run.add_argument(
        "--state-file",
        metavar="PATH",
        help="keep the state in this file: loaded at start if it exists (instead of --fixtures), "
        "and every acknowledged write is saved there before it is answered",
    )
    run.add_argument(
        "--isolate-keys",
        action="store_true",
        help="give every API key (and bearer token) its own copy of the state, made from the "
        "fixtures on first use, so that parallel test runs do not see each other's writes",
    )
    behaviour = run.add_argument_group("faults and latency (for testing clients' retries)")
    behaviour.add_argument(
        "--latency",
        type=_latency,
        metavar="MIN-MAX",
        help="delay every API answer by a random MIN..MAX milliseconds, e.g. 20-200",
    )
    behaviour.add_argument(
        "--error-rate",
        type=_share,
        default=0.0,
        metavar="SHARE",
        help="answer this share of API requests with 500 or 503, e.g. 0.05 (default: 0)",
    )
    behaviour.add_argument(
        "--rate-limit",
        type=_rate_limit,
        metavar="N/UNIT",
        help="Laravel-style throttle per credential, e.g. 60/min: 429 with Retry-After past it",
    )
    behaviour.add_argument(
        "--max-delay",
        type=positive,
        default=faults.MAX_DELAY_MS,
        metavar="MS",
        help="the longest 'Prefer: delay=' a request may ask for; 400 past it "
        "(default: %(default)s)",
    )
    behaviour.add_argument(
        "--max-throttle-windows",
        type=positive,
        default=faults.MAX_WINDOWS,
        metavar="N",
        help="with --rate-limit, the most clients counted at once; past it a new one first "
        "makes the throttle forget ended windows, then the one ending soonest "
        "(default: %(default)s)",
    )
    behaviour.add_argument(
        "--seed",
        type=int,
        help="seed for --latency and --error-rate, so that a run can be repeated",
    )
    run.add_argument(
        "--cors-origin",
        action="append",
        metavar="ORIGIN",
        help="a browser origin allowed to call the mock, besides http(s)://localhost and "
        "127.0.0.1 on any port; repeat for more, or '*' for any",
    )
    run.add_argument(
        "--journal-size",
        type=positive,
        default=request_journal.DEFAULT_SIZE,
        metavar="N",
        help="how many requests GET /__mock__/requests keeps (default: %(default)s)",
    )
    limits = run.add_argument_group(
        "limits (what a client may send or make the mock keep; README 'Limits')"
    )
    add_limit_flags(limits, [limit.name for limit in fields(Limits)], LIMIT_HELP)
    run.add_argument(
        "--validate-responses",
        action="store_true",
        help="check every response against the spec too (slower; for debugging the mock)",
    )
    run.add_argument(
        "--log-level",
        default="info",
        choices=["critical", "error", "warning", "info", "debug"],
        help="server log level; 'info' logs one line per request (default: %(default)s)",
    )
    run.add_argument(
        "--log-format",
        default="text",
        choices=logs.FORMATS,
        help="log lines (all on stderr) as text, or as JSON objects one a line: time, level, "
        "message, and for a request method, path, query, status, ms, and key and sandbox (short "
        "hashes of the credential, never the credential) (default: %(default)s)",
    )
    run.set_defaults(handler=serve)
    fixture_commands.register(commands)
    check_command.register(commands)
    proxy_command.register(commands)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    """Run a command; its defaults come from a configuration file when there is one."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    root = parser()
    try:
        settings = config.load(arguments, Path.cwd())
        if settings is not None:
            config.apply(settings, root, os.environ)
    except config.ConfigError as exc:
        return fail(str(exc))
    args = root.parse_args(arguments)
    if settings is not None:  # after the parse: a refused flag stays one line
        print(f"patchworks-mock: defaults from {settings.describe()}", file=sys.stderr)
    return cast(int, args.handler(args))
