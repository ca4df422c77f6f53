"""The proxy scenario: what `patchworks-mock proxy` adds to a get, on loopback.

The same get is timed one request at a time (no load: the cost of one exchange, not
throughput) against the mock alone and through the proxy in front of it. The two take turns in
rounds, each going first in every other round, so that whatever else the machine does in a
moment hits both alike. The proxy's cost is its percentile minus the mock's.
"""

from __future__ import annotations

import http.client
import math
import os

from bench.measure import connect, cpu_seconds, timed_get
from bench.results import ProxyResult
from bench.servers import Server, call

ROUND = 50  # requests to each of the two per round
WARMUP = 500  # untimed requests to each before the rounds (fewer when fewer are timed)


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile: the smallest value with `share` of them at or below it."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def round_sizes(requests: int) -> list[int]:
    """Requests to each of the two per round: full rounds of ROUND, then what is left."""
    return [ROUND] * (requests // ROUND) + ([requests % ROUND] if requests % ROUND else [])


def _send(
    connection: http.client.HTTPConnection, path: str, count: int, times: list[float]
) -> tuple[int, int]:
    """`count` timed gets, their times appended to `times`; (non-2xx, answers with
    X-Contract-Violations)."""
    odd = violations = 0
    for _ in range(count):
        elapsed, status, violated = timed_get(connection, path)
        times.append(elapsed)
        odd += not 200 <= status < 300
        violations += violated
    return odd, violations


def measure(mock: Server, proxy: Server, path: str, requests: int) -> ProxyResult:
    """Probe, warm up, then time `requests` gets to each of the two in interleaved rounds."""
    statuses = {s.name: call("GET", s.base + path)[0] for s in (mock, proxy)}
    warmup = min(WARMUP, requests)
    direct, proxied = connect(mock), connect(proxy)
    times: dict[str, list[float]] = {"mock": [], "proxy": []}
    try:
        for connection in (direct, proxied):
            _send(connection, path, warmup, [])
        load = os.getloadavg()[0]
        cpu_before = {s.name: cpu_seconds(s.pid) for s in (mock, proxy)}
        odd = violations = 0
        for n, size in enumerate(round_sizes(requests)):
            turns = [("mock", direct), ("proxy", proxied)]
            for name, connection in turns if n % 2 == 0 else turns[::-1]:
                bad, violated = _send(connection, path, size, times[name])
                odd += bad
                violations += violated if name == "proxy" else 0
        cpu = {s.name: cpu_seconds(s.pid) - cpu_before[s.name] for s in (mock, proxy)}
    finally:
        direct.close()
        proxied.close()
    # rounded first, so that the added figures are the difference of the printed ones
    p50 = {name: round(percentile(t, 0.50), 3) for name, t in times.items()}
    p99 = {name: round(percentile(t, 0.99), 3) for name, t in times.items()}
    return ProxyResult(
        path=path,
        requests=requests,
        rounds=len(round_sizes(requests)),
        warmup=warmup,
        mock_p50_ms=p50["mock"],
        mock_p99_ms=p99["mock"],
        proxy_p50_ms=p50["proxy"],
        proxy_p99_ms=p99["proxy"],
        added_p50_ms=round(p50["proxy"] - p50["mock"], 3),
        added_p99_ms=round(p99["proxy"] - p99["mock"], 3),
        mock_mean_ms=round(sum(times["mock"]) / requests, 3),
        proxy_mean_ms=round(sum(times["proxy"]) / requests, 3),
        mock_max_ms=round(max(times["mock"]), 3),
        proxy_max_ms=round(max(times["proxy"]), 3),
        non_2xx=odd,
        violations=violations,
        statuses=statuses,
        load_1m=round(load, 2),
        proxy_cpu_ms_per_request=round(cpu["proxy"] * 1000 / requests, 3),
        # the mock answers the proxy's requests too: both the direct and the proxied ones
        mock_cpu_ms_per_request=round(cpu["mock"] * 1000 / (2 * requests), 3),
    )
