"""The figures one scenario gives against one server, as the JSON keeps them.

The targets (score.py) and the tables (report.py) read the same figures and compare them the
same way; the comparisons they share are here, so the two cannot disagree.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from bench.scenarios import SCALED


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


@dataclass
class ProxyResult:
    """The proxy scenario: the same get timed one at a time against the mock alone and
    through the proxy in front of it, and what the proxy adds (its percentile minus the
    mock's)."""

    path: str
    requests: int  # timed requests to each of the two, after `warmup` to each
    rounds: int  # the two take turns, each going first in every other round
    warmup: int
    mock_p50_ms: float
    mock_p99_ms: float
    proxy_p50_ms: float
    proxy_p99_ms: float
    added_p50_ms: float
    added_p99_ms: float
    mock_mean_ms: float
    proxy_mean_ms: float
    mock_max_ms: float
    proxy_max_ms: float
    non_2xx: int  # of both, timed requests only
    violations: int  # answers through the proxy that carried X-Contract-Violations
    statuses: dict[str, int] = field(default_factory=dict)  # one probe: mock, proxy
    load_1m: float = 0.0
    proxy_cpu_ms_per_request: float | None = None  # the proxy process's CPU / its requests
    mock_cpu_ms_per_request: float | None = None  # the mock's CPU / every request it served


def proxy_from_report(report: dict[str, Any]) -> ProxyResult | None:
    """The proxy scenario's figures in a report, if it ran."""
    figures = report.get("proxy")
    return ProxyResult(**figures) if figures else None


def from_report(report: dict) -> list[Result]:
    """The results of a report (its JSON form), to score or print it again."""
    return [Result(**r) for r in report["results"]]


def find(results: list[Result], server: str, packages: int, scenario: str) -> Result | None:
    """The result of `scenario` against `server` on `packages` packages, if it ran."""
    return next(
        (
            r
            for r in results
            if r.server == server and r.packages == packages and r.scenario == scenario
        ),
        None,
    )


def against_prism(
    results: list[Result], small: int, scenarios: list[str]
) -> Iterator[tuple[str, Result | None, Result | None, float | None]]:
    """(scenario, mock's, Prism's, mock/Prism req/s) on the small store; any may be None."""
    for scenario in scenarios:
        mock = find(results, "mock", small, scenario)
        prism = find(results, "prism", small, scenario)
        yield scenario, mock, prism, rps_ratio(mock, prism)


def across_stores(
    results: list[Result], small: int, large: int
) -> Iterator[tuple[str, Result, Result, float]]:
    """(scenario, small's, large's, load time ratio): the mock's scaled scenarios on both."""
    for scenario in SCALED:
        a = find(results, "mock", small, scenario)
        b = find(results, "mock", large, scenario)
        if a and b:
            yield scenario, a, b, load_ratio(a, b)


def rps_ratio(mock: Result | None, prism: Result | None) -> float | None:
    """The mock's requests per second over Prism's; None unless both ran and Prism did any."""
    return mock.rps / prism.rps if mock and prism and prism.rps else None


def load_ratio(small: Result, large: Result) -> float:
    """Mean time per request under load on the large store over the small one's.

    Infinite when no request finished on the large store: wrk's mean is then meaningless.
    """
    return large.mean_ms / small.mean_ms if large.requests else float("inf")


def fmt(value: float | None, digits: int = 1) -> str:
    """A figure as the tables print it: thousands separated, "n/a" when missing."""
    return "n/a" if value is None else f"{value:,.{digits}f}"
