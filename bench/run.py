"""Benchmark the mock against Prism over loopback with wrk: throughput, latency, scale, memory.

One run (about seven minutes with the defaults on two cores):

1. makes two seeded fixtures with `patchworks_mock.fixtures.generate` (100 and 100,000
   packages by default);
2. starts the mock on the small one and Prism (`prism mock openapi/packages.yaml`) on the same
   spec, and drives both with the same wrk requests (bench/lua/packages.lua) for a fixed time
   per scenario: list (default page; with filter, sort and an include), get, create, update,
   add a flow version, compare, and a weighted mix;
3. starts the mock on the large fixture, records its startup time (process start to the first
   successful request) and resident memory (VmRSS), and repeats the list and get scenarios;
4. prints the tables and writes them with every figure to bench/results/ (JSON and Markdown).

The mock is reset (`POST /__mock__/reset`) before every scenario, so each starts on the same
state. wrk is installed with apt-get and Prism with npm (into bench/.node) when missing.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a file: make the `bench` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import BENCH, BenchError, fixtures, measure, servers, tools
from bench.fixtures import Fixture
from bench.results import Result
from bench.scenarios import DESCRIPTIONS, READS, SCALED, SCENARIOS
from bench.servers import rss_mb

USAGE_ERROR = 2

TARGET_READ_RATIO = 2.0  # mock rps >= 2x Prism's for reads and the mix
TARGET_P99_MS = 10.0
TARGET_SCALE = 1.5  # time per request with the large store <= 1.5x the small one's
TARGET_STARTUP_S = 5.0
TARGET_RSS_MB = 500.0

# -- report --------------------------------------------------------------------------------


def _find(results: list[Result], server: str, packages: int, scenario: str) -> Result | None:
    return next(
        (
            r
            for r in results
            if r.server == server and r.packages == packages and r.scenario == scenario
        ),
        None,
    )


def _fmt(value: float | None, digits: int = 1) -> str:
    return "n/a" if value is None else f"{value:,.{digits}f}"


def evaluate(report: dict) -> list[dict]:
    """Each target of the issue with the measured figure and whether it is met."""
    results = [Result(**r) for r in report["results"]]
    small, large = report["small_packages"], report["large_packages"]
    checks = []
    for scenario in [*READS, "mix"]:
        mock = _find(results, "mock", small, scenario)
        prism = _find(results, "prism", small, scenario)
        if mock and prism:
            ratio = mock.rps / prism.rps if prism.rps else None
            checks.append(
                {
                    "target": f"{scenario}: rps >= {TARGET_READ_RATIO:g}x Prism",
                    "measured": f"{_fmt(ratio, 2)}x",
                    "met": ratio is not None and ratio >= TARGET_READ_RATIO,
                }
            )
        if mock:
            checks.append(
                {
                    "target": f"{scenario}: p99 < {TARGET_P99_MS:g} ms",
                    "measured": f"{mock.p99_ms:.2f} ms",
                    "met": mock.p99_ms < TARGET_P99_MS,
                }
            )
    for scenario in SCALED:
        a = _find(results, "mock", small, scenario)
        b = _find(results, "mock", large, scenario)
        if a and b:
            ratio = b.mean_ms / a.mean_ms if b.requests else float("inf")
            checks.append(
                {
                    "target": f"{scenario}: time/request at {large:,} <= {TARGET_SCALE:g}x "
                    f"at {small:,}",
                    "measured": (
                        f"{ratio:.2f}x ({a.mean_ms:.2f} -> {b.mean_ms:.2f} ms mean under load"
                        f"; alone {_fmt(a.single_ms, 2)} -> {_fmt(b.single_ms, 2)} ms)"
                        if b.requests
                        else f"no request done in {b.seconds:.0f} s (alone "
                        f"{_fmt(a.single_ms, 2)} -> {_fmt(b.single_ms, 2)} ms)"
                    ),
                    "met": ratio <= TARGET_SCALE,
                }
            )
    startup = report.get("large_startup_s")
    if startup is not None:
        checks.append(
            {
                "target": f"startup with {large:,} packages < {TARGET_STARTUP_S:g} s",
                "measured": f"{startup:.2f} s",
                "met": startup < TARGET_STARTUP_S,
            }
        )
    rss = report.get("large_rss_mb_after_load") or report.get("large_rss_mb_started")
    if rss is not None:
        checks.append(
            {
                "target": f"resident memory with {large:,} packages < {TARGET_RSS_MB:g} MB",
                "measured": f"{rss:.0f} MB",
                "met": rss < TARGET_RSS_MB,
            }
        )
    return checks


def markdown(report: dict) -> str:
    """The report's tables as Markdown."""
    results = [Result(**r) for r in report["results"]]
    small, large = report["small_packages"], report["large_packages"]
    env = report["environment"]
    lines = [
        f"Run {report['started']} on {env['cpu']} ({env['cores']} cores), "
        f"{report['settings']['connections']} connections, {report['settings']['threads']} wrk "
        f"thread(s), {report['settings']['duration']} s per scenario after "
        f"{report['settings']['warmup']} s warm-up; commit {env['commit']}.",
        "",
        f"### Mock vs Prism ({small:,} packages)",
        "",
        "| scenario | mock req/s | mock p50 ms | mock p99 ms | mock CPU ms/req | mock non-2xx "
        "| prism req/s | prism p50 ms | prism p99 ms | prism CPU ms/req | prism non-2xx "
        "| mock/prism req/s |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for scenario in SCENARIOS:
        mock = _find(results, "mock", small, scenario)
        prism = _find(results, "prism", small, scenario)
        if not mock and not prism:
            continue
        ratio = mock.rps / prism.rps if mock and prism and prism.rps else None
        lines.append(
            f"| {scenario} "
            f"| {_fmt(mock and mock.rps, 0)} | {_fmt(mock and mock.p50_ms, 2)} "
            f"| {_fmt(mock and mock.p99_ms, 2)} | {_fmt(mock and mock.cpu_ms_per_request, 2)} "
            f"| {_fmt(mock and mock.non_2xx, 0)} "
            f"| {_fmt(prism and prism.rps, 0)} | {_fmt(prism and prism.p50_ms, 2)} "
            f"| {_fmt(prism and prism.p99_ms, 2)} | {_fmt(prism and prism.cpu_ms_per_request, 2)} "
            f"| {_fmt(prism and prism.non_2xx, 0)} "
            f"| {_fmt(ratio, 2)} |"
        )
    if any(r.packages == large for r in results):
        lines += [
            "",
            f"### Mock with {small:,} vs {large:,} packages",
            "",
            "Under load: wrk's figures; alone: median of sequential requests on one connection.",
            "",
            f"| scenario | req/s {small:,} | p50 ms | p99 ms | req/s {large:,} | p50 ms | p99 ms "
            f"| load time ratio | alone ms {small:,} | alone ms {large:,} | alone ratio |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for scenario in SCALED:
            a = _find(results, "mock", small, scenario)
            b = _find(results, "mock", large, scenario)
            if not a or not b:
                continue
            loaded = f"{b.mean_ms / a.mean_ms:.2f}" if b.requests else "none done"
            alone = f"{b.single_ms / a.single_ms:.2f}" if a.single_ms and b.single_ms else "n/a"
            lines.append(
                f"| {scenario} | {a.rps:,.0f} | {a.p50_ms:.2f} | {a.p99_ms:.2f} "
                f"| {b.rps:,.0f} | {b.p50_ms:.2f} | {b.p99_ms:.2f} | {loaded} "
                f"| {_fmt(a.single_ms, 2)} | {_fmt(b.single_ms, 2)} | {alone} |"
            )
    lines += ["", "### Startup and memory", "", "| server | packages | startup s | RSS MB |"]
    lines.append("| --- | ---: | ---: | ---: |")
    for row in report["processes"]:
        lines.append(
            f"| {row['server']} | {_fmt(row['packages'], 0)} | {row['startup_s']:.2f} "
            f"| {_fmt(row['rss_mb_started'], 0)} (after load: {_fmt(row['rss_mb_after_load'], 0)})"
            " |"
        )
    lines += ["", "### Targets", "", "| target | measured | met |", "| --- | --- | --- |"]
    for check in report["targets"]:
        lines.append(
            f"| {check['target']} | {check['measured']} | {'yes' if check['met'] else 'NO'} |"
        )
    probes = {(r.server, r.scenario): r.statuses for r in results if r.packages == small}
    lines += ["", "Status of one probe request per operation before each load:", ""]
    for (server, scenario), statuses in probes.items():
        shown = ", ".join(f"{op} {code}" for op, code in statuses.items())
        lines.append(f"- {server} {scenario}: {shown}")
    return "\n".join(lines) + "\n"


# -- main ----------------------------------------------------------------------------------


def parser() -> argparse.ArgumentParser:
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
        default=",".join(SCENARIOS),
        help=f"comma-separated subset of {','.join(SCENARIOS)} (default all)",
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
    args = parser().parse_args(argv)
    try:
        return _main(args)
    except BenchError as exc:
        print(f"bench: error: {exc}", file=sys.stderr)
        return USAGE_ERROR


def _main(args: argparse.Namespace) -> int:
    scenarios = [s for s in args.scenarios.split(",") if s]
    unknown = sorted(set(scenarios) - set(SCENARIOS))
    if unknown:
        raise BenchError(f"unknown scenario(s) {', '.join(unknown)}; choose from {SCENARIOS}")
    if args.duration < 1 or args.connections < 1 or args.threads < 1:
        raise BenchError("--duration, --connections and --threads must be at least 1")
    wrk = tools.ensure_wrk(args.wrk)
    prism = None if args.no_prism else tools.ensure_prism(args.prism)
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
    report: dict[str, Any] = {
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

    def record(result: Result) -> None:
        results.append(result)
        print(
            f"  {result.server:5} {result.packages:>7,} {result.scenario:12} "
            f"{result.rps:9,.0f} req/s  p50 {result.p50_ms:7.2f} ms  p99 {result.p99_ms:7.2f} ms"
            f"  cpu/req {_fmt(result.cpu_ms_per_request, 2)} ms  non-2xx {result.non_2xx}"
            f"  probe {result.statuses}",
            flush=True,
        )

    with tempfile.TemporaryDirectory(prefix="patchworks-bench-") as scratch:
        directory = Path(scratch)
        print(f"generating fixtures (seed {args.seed}) ...", flush=True)
        small = fixtures.make_fixture(args.small, args.seed, directory)
        large = None if args.no_large else fixtures.make_fixture(args.large, args.seed, directory)
        print(
            f"  {args.small:,} packages in {small.seconds:.1f} s"
            + (f", {args.large:,} in {large.seconds:.1f} s" if large else ""),
            flush=True,
        )
        runs: list[tuple[str, Fixture, list[str]]] = [("mock", small, scenarios)]
        if prism:
            runs.append(("prism", small, scenarios))
        if large:
            runs.append(("mock", large, [s for s in scenarios if s in SCALED]))
        for name, fixture, chosen in runs:
            if name == "mock":
                server = servers.start_mock(args.python, args.mock_log_level, fixture, logs)
            else:
                server = servers.start_prism(prism or [], args.prism_log_level, logs)
            try:
                started_rss = rss_mb(server.pid)
                print(
                    f"{name} on {fixture.packages:,} packages: answered after "
                    f"{server.startup_s:.2f} s, RSS {_fmt(started_rss, 0)} MB",
                    flush=True,
                )
                for scenario in chosen:
                    record(measure.run_scenario(settings, server, fixture, scenario))
                row = {
                    "server": name,
                    "packages": fixture.packages if name == "mock" else None,
                    "startup_s": round(server.startup_s, 3),
                    "rss_mb_started": started_rss and round(started_rss, 1),
                    "rss_mb_after_load": (after := rss_mb(server.pid)) and round(after, 1),
                }
                report["processes"].append(row)
                if name == "mock" and large is not None and fixture is large:
                    report["large_startup_s"] = row["startup_s"]
                    report["large_rss_mb_started"] = row["rss_mb_started"]
                    report["large_rss_mb_after_load"] = row["rss_mb_after_load"]
            finally:
                server.stop()
        report["fixture_seconds"] = {
            str(f.packages): round(f.seconds, 2) for f in (small, large) if f is not None
        }

    report["results"] = [asdict(r) for r in results]
    report["targets"] = evaluate(report)
    text = markdown(report)
    (args.output / f"{stamp}.json").write_text(json.dumps(report, indent=2) + "\n")
    (args.output / f"{stamp}.md").write_text(text)
    shutil.copyfile(args.output / f"{stamp}.json", args.output / "latest.json")
    shutil.copyfile(args.output / f"{stamp}.md", args.output / "latest.md")
    print()
    print(text)
    print(f"written: {args.output / (stamp + '.json')} and .md (logs in {logs})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
