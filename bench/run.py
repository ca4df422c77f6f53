"""Benchmark the mock against Prism over loopback with wrk: the command line and the run's order.

    python bench/run.py --help      # or, from the repository root: python -m bench.run

One run (a few minutes with the defaults; bench/README.md says how long and why):

1. makes two seeded fixtures with `patchworks_mock.fixtures.generate` (100 and 100,000
   packages by default);
2. starts the mock on the small one and Prism (`prism mock openapi/packages.yaml`) on the same
   spec, and drives both with the same wrk requests (bench/lua/packages.lua) for a fixed time
   per scenario: list (default page; with filter, sort and an include), get, create, update,
   add a flow version, compare, and a weighted mix; with the `proxy` scenario, once the mock's
   loads are done, starts `patchworks-mock proxy` in front of it and times the same get one
   at a time through it and without it (bench/proxy_cost.py);
3. starts the mock on the large fixture, records its startup time (process start to the first
   successful request) and resident memory (VmRSS), and repeats the list and get scenarios;
4. prints the tables and writes them with every figure to bench/results/ (JSON and Markdown).

The mock is reset (`POST /__mock__/reset`) before a scenario when a write scenario ran before
it, so each starts on the same state. wrk is installed with apt-get and Prism with npm (into
bench/.node) when missing.

The work is done by the modules beside this file, each named for its job: tools, fixtures,
scenarios, servers, measure (with profiling), proxy_cost, results, score and report.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a file: make the `bench` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import BENCH, BenchError, fixtures, measure, proxy_cost, report, score, servers, tools
from bench.fixtures import Fixture
from bench.results import Result, fmt
from bench.scenarios import CHOICES, DESCRIPTIONS, PROXY, SCALED, proxy_path
from bench.servers import Server

USAGE_ERROR = 2


def parser() -> argparse.ArgumentParser:
    """The flags; bench/README.md says when each is useful."""
    p = argparse.ArgumentParser(
        prog="bench/run.py",
        description="Benchmark the mock against Prism with wrk over loopback "
        "(see bench/README.md).",
    )
    p.add_argument("--duration", type=int, default=8, help="seconds per scenario (default 8)")
    p.add_argument("--warmup", type=int, default=1, help="warm-up seconds before each (default 1)")
    p.add_argument("--connections", type=int, default=16, help="wrk connections (default 16)")
    p.add_argument("--threads", type=int, default=1, help="wrk threads (default 1)")
    p.add_argument(
        "--scenarios",
        default=",".join(CHOICES),
        help=f"comma-separated subset of {','.join(CHOICES)} (default all)",
    )
    p.add_argument(
        "--proxy-requests",
        type=int,
        default=5000,
        help="gets timed each way, the mock alone and through the proxy (default 5000)",
    )
    p.add_argument("--small", type=int, default=100, help="packages in the small store (100)")
    p.add_argument(
        "--large", type=int, default=100_000, help="packages in the large store (100000)"
    )
    p.add_argument("--seed", type=int, default=1, help="fixture seed (default 1)")
    p.add_argument("--no-prism", action="store_true", help="skip Prism")
    p.add_argument("--no-large", action="store_true", help="skip the large store")
    p.add_argument(
        "--mock-log-level",
        default="warning",
        choices=["critical", "error", "warning", "info", "debug"],
        help="the mock's --log-level; 'info' logs every request (default warning)",
    )
    p.add_argument(
        "--prism-log-level",
        default="warn",
        help="Prism's -v level; 'info' logs every request (default warn)",
    )
    p.add_argument(
        "--python",
        default=sys.executable,
        help="the Python that runs the mock (default: this one)",
    )
    p.add_argument("--wrk", help="wrk binary (default: on PATH, else apt-get install wrk)")
    p.add_argument("--prism", help="prism command (default: bench/.node, installed with npm)")
    p.add_argument(
        "--profile", action="store_true", help="record each mock scenario with py-spy too"
    )
    p.add_argument("--py-spy", help="py-spy binary for --profile (default: on PATH)")
    p.add_argument(
        "--output", type=Path, default=BENCH / "results", help="results directory (bench/results)"
    )
    return p


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; 0, or 2 with one line on stderr when it cannot run."""
    args = parser().parse_args(argv)
    try:
        return _main(args)
    except BenchError as exc:
        print(f"bench: error: {exc}", file=sys.stderr)
        return USAGE_ERROR


def _chosen_scenarios(args: argparse.Namespace) -> list[str]:
    """The scenarios --scenarios names, after checking the flags (before anything is started)."""
    scenarios = [s for s in args.scenarios.split(",") if s]
    unknown = sorted(set(scenarios) - set(CHOICES))
    if unknown:
        raise BenchError(f"unknown scenario(s) {', '.join(unknown)}; choose from {CHOICES}")
    if args.duration < 1 or args.connections < 1 or args.threads < 1:
        raise BenchError("--duration, --connections and --threads must be at least 1")
    if args.proxy_requests < 1:
        raise BenchError("--proxy-requests must be at least 1")
    return scenarios


def _make_fixtures(args: argparse.Namespace, directory: Path) -> tuple[Fixture, Fixture | None]:
    """The small store and, unless --no-large, the large one."""
    print(f"generating fixtures (seed {args.seed}) ...", flush=True)
    small = fixtures.make_fixture(args.small, args.seed, directory)
    large = None if args.no_large else fixtures.make_fixture(args.large, args.seed, directory)
    print(
        f"  {args.small:,} packages in {small.seconds:.1f} s"
        + (f", {args.large:,} in {large.seconds:.1f} s" if large else ""),
        flush=True,
    )
    return small, large


def _measure_server(
    settings: measure.Settings, server: Server, fixture: Fixture, chosen: list[str]
) -> tuple[list[Result], dict[str, Any]]:
    """Run `chosen` against a started server; the results and its startup and memory row."""
    started_rss = servers.rss_mb(server.pid)
    print(
        f"{server.name} on {fixture.packages:,} packages: answered after "
        f"{server.startup_s:.2f} s, RSS {fmt(started_rss, 0)} MB",
        flush=True,
    )
    results = []
    for scenario in chosen:
        result = measure.run_scenario(settings, server, fixture, scenario)
        print(report.progress_line(result), flush=True)
        results.append(result)
    after_rss = servers.rss_mb(server.pid)
    row = {
        "server": server.name,
        "packages": fixture.packages if server.name == "mock" else None,
        "startup_s": round(server.startup_s, 3),
        "rss_mb_started": started_rss and round(started_rss, 1),
        "rss_mb_after_load": after_rss and round(after_rss, 1),
    }
    return results, row


def _measure_proxy(
    args: argparse.Namespace, mock: Server, fixture: Fixture, logs: Path
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Start the proxy in front of `mock`, time the proxy scenario, stop it; its figures and
    its startup and memory row."""
    measure.prepare_mock(mock, "get")  # the state as loaded, if a write scenario changed it
    proxy = servers.start_proxy(args.python, args.mock_log_level, mock, logs)
    try:
        started_rss = servers.rss_mb(proxy.pid)
        result = proxy_cost.measure(mock, proxy, proxy_path(fixture), args.proxy_requests)
        after_rss = servers.rss_mb(proxy.pid)
    finally:
        proxy.stop()
    print(report.proxy_line(result), flush=True)
    row = {
        "server": "proxy",
        "packages": None,
        "startup_s": round(proxy.startup_s, 3),
        "rss_mb_started": started_rss and round(started_rss, 1),
        "rss_mb_after_load": after_rss and round(after_rss, 1),
    }
    return asdict(result), row


def _main(args: argparse.Namespace) -> int:
    scenarios = _chosen_scenarios(args)
    loads = [s for s in scenarios if s != PROXY]  # the wrk scenarios
    wrk = tools.ensure_wrk(args.wrk) if loads else None  # the proxy scenario needs no wrk
    prism = None if args.no_prism or not loads else tools.ensure_prism(args.prism)
    py_spy = tools.ensure_py_spy(args.py_spy) if args.profile else None
    started = datetime.now(UTC)
    stamp = started.strftime("%Y%m%dT%H%M%SZ")
    args.output.mkdir(parents=True, exist_ok=True)
    logs = args.output / f"{stamp}-logs"
    logs.mkdir()
    settings = measure.Settings(
        wrk=wrk,
        threads=args.threads,
        connections=args.connections,
        duration=args.duration,
        warmup=args.warmup,
        py_spy=py_spy,
        profiles=logs if args.profile else None,
    )
    document: dict[str, Any] = {
        "started": started.isoformat(timespec="seconds"),
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "environment": tools.environment(args.python, wrk, prism),
        "small_packages": args.small,
        "large_packages": None if args.no_large else args.large,
        "scenarios": {s: DESCRIPTIONS[s] for s in scenarios},
        "results": [],
        "processes": [],
    }
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="patchworks-bench-") as scratch:
        small, large = _make_fixtures(args, Path(scratch))
        runs: list[tuple[str, Fixture, list[str]]] = [("mock", small, loads)]
        if prism:
            runs.append(("prism", small, scenarios))
        if large:
            runs.append(("mock", large, [s for s in loads if s in SCALED]))
        for name, fixture, chosen in runs:
            if name == "mock":
                server = servers.start_mock(args.python, args.mock_log_level, fixture, logs)
            else:
                server = servers.start_prism(prism or [], args.prism_log_level, logs)
            try:
                done, row = _measure_server(settings, server, fixture, chosen)
                document["processes"].append(row)
                if PROXY in scenarios and name == "mock" and fixture is small:
                    document["proxy"], row = _measure_proxy(args, server, fixture, logs)
                    document["processes"].append(row)
            finally:
                server.stop()
            results += done
            if fixture is large:
                document["large_startup_s"] = row["startup_s"]
                document["large_rss_mb_started"] = row["rss_mb_started"]
                document["large_rss_mb_after_load"] = row["rss_mb_after_load"]
        document["fixture_seconds"] = {
            str(f.packages): round(f.seconds, 2) for f in (small, large) if f is not None
        }

    document["results"] = [asdict(r) for r in results]
    document["targets"] = score.evaluate(document)
    text = report.markdown(document)
    written = report.write(document, text, args.output, stamp)
    print()
    print(text)
    print(f"written: {written} and .md (logs in {logs})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
