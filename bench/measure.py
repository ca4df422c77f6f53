"""Measure one scenario against one server: wrk's load and the server's CPU per request.

For each scenario, in this order: reset the mock's state if a write changed it, probe each
operation once (its status goes in the tables), time a read alone on an idle connection,
warm up, then run the measured load, reading the server's CPU time before and after it.
"""

from __future__ import annotations

import http.client
import json
import os
import statistics
import subprocess
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import API_KEY, BENCH, BenchError, profiling
from bench.fixtures import Fixture
from bench.results import Result
from bench.scenarios import FRESH_PACKAGES, LIST_QUERY, MIX, READS, operations, probes, read_path
from bench.servers import Server, call

LUA = BENCH / "lua" / "packages.lua"
ALONE_REQUESTS = 15
VIOLATIONS_HEADER = "X-Contract-Violations"  # the proxy's, on an answer that broke the contract


@dataclass(frozen=True)
class Settings:
    """How every scenario of a run is measured (from the command line)."""

    wrk: str | None  # None when only the proxy scenario runs: it needs no wrk
    threads: int
    connections: int
    duration: int  # seconds of measured load
    warmup: int  # seconds of unmeasured load before it; 0 for none
    py_spy: str | None = None  # with --profile: record the mock during the load
    profiles: Path | None = None  # where the recordings go


def wrk_env(scenario: str, fixture: Fixture, fresh: list[int], threads: int) -> dict[str, str]:
    """The environment bench/lua/packages.lua reads: the scenario and the ids to request."""

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


def parse_wrk(stdout: str) -> dict[str, Any] | None:
    """The figures packages.lua prints on its `BENCH_JSON {...}` line; None without one."""
    for line in stdout.splitlines():
        if line.startswith("BENCH_JSON "):
            return json.loads(line.removeprefix("BENCH_JSON "))
    return None


def run_wrk(settings: Settings, url: str, env: dict[str, str], seconds: int) -> dict[str, Any]:
    """Drive `url` with wrk for `seconds`; the script's figures (counts, microseconds)."""
    if settings.wrk is None:
        raise BenchError("a wrk load needs wrk")
    command = [settings.wrk, "-t", str(settings.threads), "-c", str(settings.connections)]
    command += ["-d", f"{seconds}s", "--timeout", "10s", "-s", str(LUA), url]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=seconds + 60)
    measured = parse_wrk(done.stdout)
    if measured is None:
        raise BenchError(
            f"wrk gave no result (exit {done.returncode}): {done.stderr.strip()[:200]}"
        )
    return measured


def figures(measured: dict[str, Any], cpu_s: float) -> dict[str, Any]:
    """wrk's figures as a Result's: milliseconds, requests per second, CPU per request.

    `cpu_s` is the server's CPU time during the load; per request it is the figure that
    moves least when other work shares the machine.
    """
    requests = measured["requests"]
    seconds = measured["duration_us"] / 1e6
    return {
        "requests": requests,
        "seconds": round(seconds, 3),
        "rps": round(requests / seconds, 1),
        "mean_ms": round(measured["mean_us"] / 1000, 3),
        "p50_ms": round(measured["p50_us"] / 1000, 3),
        "p90_ms": round(measured["p90_us"] / 1000, 3),
        "p99_ms": round(measured["p99_us"] / 1000, 3),
        "max_ms": round(measured["max_us"] / 1000, 3),
        "non_2xx": measured["non_2xx"],
        "socket_errors": sum(
            measured[k] for k in ("connect_errors", "read_errors", "write_errors", "timeouts")
        ),
        "cpu_ms_per_request": round(cpu_s * 1000 / requests, 3) if requests else None,
    }


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process so far, from /proc/PID/stat."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def probe_statuses(server: Server, scenario: str, fixture: Fixture, fresh: list[int]) -> dict:
    """The status one request of each operation in the scenario gets (before the load)."""
    requests = probes(fixture, fresh)
    statuses: dict[str, int] = {}
    for op in operations(scenario):
        method, path, body = requests[op]
        statuses[op] = call(method, server.base + path, body)[0]
    return statuses


def connect(server: Server) -> http.client.HTTPConnection:
    """A keep-alive connection to `server`, for requests sent one after another."""
    host, port = server.base.removeprefix("http://").split(":")
    return http.client.HTTPConnection(host, int(port), timeout=300)


def timed_get(connection: http.client.HTTPConnection, path: str) -> tuple[float, int, bool]:
    """One GET with the key: (milliseconds to the last byte, status, whether the answer
    carried X-Contract-Violations, which only the proxy adds)."""
    started = time.perf_counter()
    connection.request("GET", path, headers={"Authorization": API_KEY})
    answer = connection.getresponse()
    answer.read()
    elapsed = (time.perf_counter() - started) * 1000
    return elapsed, answer.status, answer.getheader(VIOLATIONS_HEADER) is not None


def single_latency_ms(server: Server, path: str, count: int = ALONE_REQUESTS) -> float:
    """Median time of `count` requests one after another on one keep-alive connection."""
    connection = connect(server)
    times: list[float] = []
    try:
        for _ in range(count):
            times.append(timed_get(connection, path)[0])
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


def run_scenario(settings: Settings, server: Server, fixture: Fixture, scenario: str) -> Result:
    """Prepare, probe, time alone, warm up and load one scenario; its figures."""
    fresh = prepare_mock(server, scenario) if server.name == "mock" else []
    statuses = probe_statuses(server, scenario, fixture, fresh)
    alone = single_latency_ms(server, read_path(scenario, fixture)) if scenario in READS else None
    fresh = fresh[:-1]  # the probe added a version to the last one
    env = wrk_env(scenario, fixture, fresh, settings.threads)
    if settings.warmup > 0:
        run_wrk(settings, server.base, env, settings.warmup)
        call("GET", server.base + "/api/v1/packages?per_page=1", timeout=300)  # drain the queue
    load = os.getloadavg()[0]
    spy = raw = None
    if settings.profiles is not None and settings.py_spy and server.name == "mock":
        raw = settings.profiles / f"{server.name}-{fixture.packages}-{scenario}.txt"
        spy = profiling.start(settings.py_spy, server.pid, raw, settings.duration)
    cpu_before = cpu_seconds(server.pid)
    measured = run_wrk(settings, server.base, env, settings.duration)
    cpu = cpu_seconds(server.pid) - cpu_before
    profile = profiling.finish(spy, raw, settings.duration) if spy and raw else []
    return Result(
        server=server.name,
        packages=fixture.packages,
        scenario=scenario,
        **figures(measured, cpu),
        statuses=statuses,
        load_1m=round(load, 2),
        single_ms=alone,
        profile=profile,
    )
