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
import http.client
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a file: make the `bench` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import API_KEY, BENCH, BenchError, fixtures, servers, tools
from bench.fixtures import Fixture
from bench.scenarios import (
    DESCRIPTIONS,
    FRESH_PACKAGES,
    LIST_QUERY,
    MIX,
    READS,
    SCALED,
    SCENARIOS,
    operations,
    read_path,
)
from bench.scenarios import requests as scenario_requests
from bench.servers import Server, call, rss_mb

LUA = BENCH / "lua" / "packages.lua"
USAGE_ERROR = 2

TARGET_READ_RATIO = 2.0  # mock rps >= 2x Prism's for reads and the mix
TARGET_P99_MS = 10.0
TARGET_SCALE = 1.5  # time per request with the large store <= 1.5x the small one's
TARGET_STARTUP_S = 5.0
TARGET_RSS_MB = 500.0

# -- load ----


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process so far, from /proc/PID/stat."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Result:
    """One scenario against one server: wrk's counts and latency percentiles."""

    server: str
    packages: int
    scenario: str
    requests: int
    seconds: float
    rps: float
    mean_ms: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    non_2xx: int
    socket_errors: int
    statuses: dict[str, int] = field(default_factory=dict)  # one probe of each operation
    load_1m: float = 0.0  # the machine's load average when the scenario started
    single_ms: float | None = None  # median of sequential requests on an idle server
    cpu_ms_per_request: float | None = None  # the server's CPU time / requests done (wrk's)
    profile: list[dict] = field(default_factory=list)


def wrk_env(scenario: str, fixture: Fixture, fresh: list[int], threads: int) -> dict[str, str]:
    def joined(values: list[int]) -> str:
        return ",".join(map(str, values))

    return {
        **os.environ,
        "BENCH_SCENARIO": scenario,
        "BENCH_KEY": API_KEY,
        "BENCH_RUN": datetime.now(UTC).strftime("%H%M%S%f"),
        "BENCH_THREADS": str(threads),
        "BENCH_LIST_QUERY": LIST_QUERY,
        "BENCH_MIX": MIX,
        "BENCH_IDS": joined(fixture.ids),
        "BENCH_FRESH": joined(fresh or fixture.ids[:FRESH_PACKAGES]),
        "BENCH_VERSIONS": joined(fixture.versions),
        "BENCH_MEMBERS": joined(fixture.members),
        "BENCH_VES": joined(fixture.environments),
    }


def run_wrk(
    wrk: str, args: argparse.Namespace, url: str, env: dict[str, str], seconds: int
) -> dict:
    command = [
        wrk,
        "-t",
        str(args.threads),
        "-c",
        str(args.connections),
        "-d",
        f"{seconds}s",
        "--timeout",
        "10s",
        "-s",
        str(LUA),
        url,
    ]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=seconds + 60)
    for line in done.stdout.splitlines():
        if line.startswith("BENCH_JSON "):
            return json.loads(line.removeprefix("BENCH_JSON "))
    raise BenchError(f"wrk gave no result (exit {done.returncode}): {done.stderr.strip()[:200]}")


def probe_statuses(server: Server, scenario: str, fixture: Fixture, fresh: list[int]) -> dict:
    """The status one request of each operation in the scenario gets (before the load)."""
    ops = operations(scenario)
    requests = scenario_requests(fixture, fresh)
    statuses: dict[str, int] = {}
    for op in ops:
        method, path, body = requests[op]
        statuses[op] = call(method, server.base + path, body)[0]
    return statuses


def single_latency_ms(server: Server, path: str, count: int = 15) -> float:
    """Median time of `count` requests one after another on one keep-alive connection."""
    host, port = server.base.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=300)
    times = []
    try:
        for _ in range(count):
            started = time.perf_counter()
            connection.request("GET", path, headers={"Authorization": API_KEY})
            connection.getresponse().read()
            times.append((time.perf_counter() - started) * 1000)
            if sum(times) > 5000 and len(times) >= 3:
                break
    finally:
        connection.close()
    return round(statistics.median(times), 3)


def prepare_mock(server: Server, scenario: str) -> list[int]:
    """Reset the state if a write changed it; make empty packages to add flow versions to."""
    if server.dirty:
        status, _ = call("POST", server.base + "/__mock__/reset", timeout=300)
        if status != 200:
            raise BenchError(f"POST /__mock__/reset answered {status}")
        server.dirty = False
    if scenario in READS:
        return []
    server.dirty = True
    if scenario not in ("add_version", "mix"):
        return []
    fresh = []
    for n in range(FRESH_PACKAGES):
        status, body = call("POST", server.base + "/api/v1/packages", {"name": f"Bench empty {n}"})
        if status != 201:
            raise BenchError(f"creating a package for {scenario} answered {status}")
        fresh.append(body["data"]["id"])
    return fresh


def profile_summary(raw: Path, top: int = 15) -> list[dict]:
    """The functions with the most samples on top of the stack (self) in a py-spy raw file."""
    own: Counter[str] = Counter()
    total = 0
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        total += int(count)
        own[stack.split(";")[-1]] += int(count)
    return [
        {"function": name, "self_share": round(n / total, 4), "samples": n}
        for name, n in own.most_common(top)
    ]


def run_scenario(
    wrk: str,
    args: argparse.Namespace,
    server: Server,
    fixture: Fixture,
    scenario: str,
    profiles: Path | None,
    py_spy: str | None,
) -> Result:
    fresh = prepare_mock(server, scenario) if server.name == "mock" else []
    statuses = probe_statuses(server, scenario, fixture, fresh)
    alone = single_latency_ms(server, read_path(scenario, fixture)) if scenario in READS else None
    if server.name == "mock":
        fresh = fresh[:-1] if fresh else fresh  # the probe added a version to the last one
    env = wrk_env(scenario, fixture, fresh, args.threads)
    if args.warmup > 0:
        run_wrk(wrk, args, server.base, env, args.warmup)
        call("GET", server.base + "/api/v1/packages?per_page=1", timeout=300)  # drain the queue
    load = os.getloadavg()[0]
    spy = None
    raw = None
    if profiles is not None and py_spy and server.name == "mock":
        raw = profiles / f"{server.name}-{fixture.packages}-{scenario}.txt"
        spy = subprocess.Popen(
            [py_spy, "record", "--pid", str(server.pid), "--rate", "250", "--format", "raw"]
            + ["--duration", str(args.duration), "--nonblocking", "-o", str(raw)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    cpu_before = cpu_seconds(server.pid)
    measured = run_wrk(wrk, args, server.base, env, args.duration)
    cpu = cpu_seconds(server.pid) - cpu_before
    profile: list[dict] = []
    if spy is not None and raw is not None:
        spy.wait(timeout=args.duration + 60)
        profile = profile_summary(raw) if raw.exists() else []
    seconds = measured["duration_us"] / 1e6
    return Result(
        server=server.name,
        packages=fixture.packages,
        scenario=scenario,
        requests=measured["requests"],
        seconds=round(seconds, 3),
        rps=round(measured["requests"] / seconds, 1),
        mean_ms=round(measured["mean_us"] / 1000, 3),
        p50_ms=round(measured["p50_us"] / 1000, 3),
        p90_ms=round(measured["p90_us"] / 1000, 3),
        p99_ms=round(measured["p99_us"] / 1000, 3),
        max_ms=round(measured["max_us"] / 1000, 3),
        non_2xx=measured["non_2xx"],
        socket_errors=sum(
            measured[k] for k in ("connect_errors", "read_errors", "write_errors", "timeouts")
        ),
        statuses=statuses,
        load_1m=round(load, 2),
        single_ms=alone,
        cpu_ms_per_request=round(cpu * 1000 / measured["requests"], 3)
        if measured["requests"]
        else None,
        profile=profile,
    )


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
    profiles = logs if args.profile else None
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
                    record(run_scenario(wrk, args, server, fixture, scenario, profiles, py_spy))
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
