"""`patchworks-mock proxy`: the sub-command's options, and a run from start to report."""

from __future__ import annotations

import argparse
import os
import ssl
import sys
import time
from collections.abc import Callable
from urllib.parse import urlsplit

from patchworks_mock import logs, server, uvicorn_internals
from patchworks_mock.cli_common import (
    LIMIT_HELP,
    MOCK_KEY_VARIABLE,
    add_limit_flags,
    add_listen_flags,
    byte_size,
    fail,
    positive,
    seconds,
    size_text,
    unwritable,
)
from patchworks_mock.instance import DEVELOPMENT_KEY, Limits
from patchworks_mock.proxy.har import DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_BYTES
from patchworks_mock.proxy.journal import DEFAULT_SIZE
from patchworks_mock.proxy.upstream import DEFAULT_TIMEOUT

DEFAULT_PORT = 4010  # Prism's: a team moving from `prism proxy` keeps its client settings
# The limits that bound what a client sends through the proxy (README "Limits").
PROXY_LIMITS = ("max_header_bytes", "max_body_bytes", "max_target_bytes", "max_query_keys")
PROXY_LIMIT_HELP = {
    "max_body_bytes": "a request body (413 from the proxy past it), and the longest answer "
    "body that is checked (a longer one streams back unchecked)",
    "max_query_keys": "query keys judged, as PHP's max_input_vars keeps them; the rest are "
    "forwarded, not judged",
}


def _upstream(text: str) -> str:
    """An argparse type: an http(s) URL with a host, perhaps a path prefix; no query."""
    parts = urlsplit(text)
    if parts.username is not None:
        raise argparse.ArgumentTypeError(
            "give the URL without a user and password: the client's own Authorization is "
            "forwarded, and a URL is shown in answers and logs"
        )
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query:
        shown = text if len(text) <= 60 else f"{text[:60]}…"
        raise argparse.ArgumentTypeError(
            f"'{shown}' is not an http:// or https:// URL of a server (e.g. "
            "https://core.wearepatchworks.com)"
        )
    return text


def _problem(args: argparse.Namespace) -> str | None:
    """What is wrong with options argparse cannot judge, said before anything starts."""
    for flag, path in (
        ("--report", args.report),
        ("--junit-xml", args.junit_xml),
        ("--record", args.record),
        ("--fixtures-out", args.fixtures_out),
    ):
        problem = path and unwritable(path)
        if problem:
            return f"{flag} {path}: {problem}"
    if args.upstream_ca is not None:
        try:
            ssl.create_default_context().load_verify_locations(cafile=args.upstream_ca)
        except (OSError, ssl.SSLError) as exc:
            reason = getattr(exc, "strerror", None) or getattr(exc, "reason", None) or exc
            return f"--upstream-ca {args.upstream_ca}: not a readable PEM certificate ({reason})"
    return None


def _keep(path: str, flag: str, write: Callable[[], None]) -> None:
    """Write one of the run's files at the end; a failure is said in a line, not raised, so
    that the report still comes."""
    try:
        write()
    except OSError as exc:
        logs.BANNER.error(f"patchworks-mock: error: {flag} {path}: {exc.strerror or exc}")
    else:
        logs.BANNER.info(f"  {flag}: written to {path}")


def proxy(args: argparse.Namespace) -> int:
    """Serve the proxy until Ctrl-C or SIGTERM; then the report, and its verdict as the exit
    code (0 conforms, 1 something broke the contract, 2 bad usage)."""
    import uvicorn

    from patchworks_mock.contract import report
    from patchworks_mock.proxy.app import create_proxy
    from patchworks_mock.proxy.har import HarRecorder
    from patchworks_mock.proxy.observed import ObservedState, write_document
    from patchworks_mock.proxy.upstream import tls_context

    if args.upstream is None:
        return fail("the proxy needs --upstream URL, the server to forward to")
    problem = _problem(args)
    if problem:
        return fail(problem)
    keys = args.api_key or (
        [os.environ[MOCK_KEY_VARIABLE]] if os.environ.get(MOCK_KEY_VARIABLE) else []
    )
    app = create_proxy(
        args.upstream,
        keys=frozenset(keys or [DEVELOPMENT_KEY]),
        answer_refusals=args.errors,
        limits=Limits(**{name: getattr(args, name) for name in PROXY_LIMITS}),
        timeout=args.upstream_timeout,
        tls=tls_context(args.upstream_ca, args.insecure),
        journal_size=args.journal_size,
        observed=ObservedState() if args.fixtures_out else None,
        har=HarRecorder(args.record, max_bytes=args.record_max_bytes) if args.record else None,
    )
    watch = app.watch
    try:
        sock = server.bind(args.host, args.port)
    except OSError as exc:
        return fail(str(exc))
    base = server.base_url(sock)
    logs.configure(args.log_format, args.log_level)
    for line in (
        f"patchworks-mock proxy: {base} -> {args.upstream}",
        "  every exchange is checked against the Packages contract; answers that break it "
        "carry X-Contract-Violations",
        "  --errors: a request the contract refuses is answered here, never forwarded"
        if args.errors
        else "  requests the contract refuses are forwarded and reported (--errors refuses them)",
        f"  journal:  {base}/__mock__/requests  (Authorization: "
        + (f"{len(keys)} key(s) given)" if keys else f"{DEVELOPMENT_KEY})"),
        "Press Ctrl-C to stop and get the report.",
    ):
        logs.BANNER.info(line)
    config = uvicorn.Config(
        app,
        log_config=None,
        log_level=args.log_level,
        access_log=False,  # the proxy logs a line per exchange
        lifespan="on",
        server_header=False,  # the upstream's `Server` and `Date` come back as they were
        date_header=False,
        http=server.protocol(app, args.header_timeout),
    )
    started = time.monotonic()
    try:
        uvicorn_internals.run_until_stopped(uvicorn.Server(config), [sock])
    finally:
        sock.close()
    results = watch.results()
    logs.BANNER.info(
        f"patchworks-mock proxy stopped after {watch.exchanges} exchanges, "
        f"{watch.broken} of which broke the contract."
    )
    har = watch.har
    if har is not None:
        _keep(args.record, "--record", har.write)
        if har.left_out:
            logs.BANNER.info(
                f"  --record: {har.left_out} exchanges left out past --record-max-bytes "
                f"{size_text(args.record_max_bytes)}"
            )
    observed = watch.observed
    if observed is not None:
        _keep(
            args.fixtures_out,
            "--fixtures-out",
            lambda: write_document(observed.document(), args.fixtures_out),
        )
        if observed.forgotten:
            logs.BANNER.info(
                f"  --fixtures-out: {observed.forgotten} packages seen first were left out "
                "(the newest are kept)"
            )
    report.print_report(results, sys.stdout, verbose=args.verbose)
    seconds_run = time.monotonic() - started
    if args.report:
        report.write_markdown(
            results,
            args.report,
            target=args.upstream,
            seed=None,
            seconds=seconds_run,
            command="proxy",
        )
    if args.junit_xml:
        report.write_junit(results, args.junit_xml, seed=None, command="proxy")
    return report.exit_code(results)


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `proxy` to the CLI's sub-commands."""
    parser = commands.add_parser(
        "proxy",
        help="forward a client's traffic to a real server, checking every exchange against "
        "the contract",
        description=(
            "Listen for a client's requests and forward them to --upstream as they were sent; "
            "hand its answers back as they came, with X-Contract-Violations: N on an exchange "
            "that broke the contract. Each exchange is checked with the contract suite's "
            "checks and logged. On Ctrl-C or SIGTERM: the report, and exit 0 when everything "
            "conformed, 1 when something broke the contract, 2 for bad usage."
        ),
    )
    parser.add_argument(
        "--upstream",
        type=_upstream,
        metavar="URL",
        help="the server to forward to, e.g. https://core.wearepatchworks.com (required)",
    )
    add_listen_flags(parser, DEFAULT_PORT)
    parser.add_argument(
        "--errors",
        action="store_true",
        help="answer a request the contract refuses as the mock would (401, 400, 413, 415 or "
        "422) instead of forwarding it",
    )
    parser.add_argument(
        "--record",
        metavar="PATH.har",
        help="record every exchange to this HAR 1.2 file (credentials, tokens and passwords "
        "redacted; size bounded by --record-max-bytes)",
    )
    parser.add_argument(
        "--record-max-bytes",
        type=byte_size,
        default=DEFAULT_MAX_BYTES,
        metavar="SIZE",
        help=f"the HAR file's bound: exchanges past it are counted, not kept; each body is "
        f"cut at {size_text(DEFAULT_MAX_BODY_BYTES)} (default: {size_text(DEFAULT_MAX_BYTES)})",
    )
    parser.add_argument(
        "--fixtures-out",
        metavar="PATH.json",
        help="at the end, write the last seen state of every package, flow version, virtual "
        "environment, user and deployment as a fixture document for serve --fixtures",
    )
    parser.add_argument("--report", metavar="PATH.md", help="append a Markdown report at the end")
    parser.add_argument("--junit-xml", metavar="PATH", help="write a JUnit XML report at the end")
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="the report's full table of every check"
    )
    upstream = parser.add_argument_group("the upstream")
    upstream.add_argument(
        "--upstream-timeout",
        type=seconds,
        default=DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help="how long to wait for the upstream's answer; 504 past it (default: %(default)g)",
    )
    trust = upstream.add_mutually_exclusive_group()
    trust.add_argument(
        "--upstream-ca",
        metavar="PATH",
        help="trust the upstream's certificate if this PEM file's CA signed it (default: the "
        "system's CAs)",
    )
    trust.add_argument(
        "--insecure",
        action="store_true",
        help="do not verify the upstream's certificate (never against a server you do not run)",
    )
    parser.add_argument(
        "--api-key",
        action="append",
        metavar="KEY",
        help=f"a key for the proxy's own /__mock__/ endpoints; repeat for more (default: "
        f"${MOCK_KEY_VARIABLE}, else '{DEVELOPMENT_KEY}')",
    )
    parser.add_argument(
        "--journal-size",
        type=positive,
        default=DEFAULT_SIZE,
        metavar="N",
        help="how many exchanges GET /__mock__/requests keeps (default: %(default)s)",
    )
    limits = parser.add_argument_group("limits (what a client may send; README 'Limits')")
    add_limit_flags(limits, PROXY_LIMITS, {**LIMIT_HELP, **PROXY_LIMIT_HELP})
    parser.add_argument(
        "--log-level",
        default="info",
        choices=["critical", "error", "warning", "info", "debug"],
        help="'info' logs a line per exchange, 'warning' only those that broke the contract "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--log-format",
        default="text",
        choices=logs.FORMATS,
        help="log lines (all on stderr) as text, or as JSON objects one a line "
        "(default: %(default)s)",
    )
    parser.set_defaults(handler=proxy)
