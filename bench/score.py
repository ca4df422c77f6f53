"""The performance targets, and whether a run's figures meet them.

A check is a row of the Markdown's "Targets" table and of the JSON's "targets": what is
wanted, what was measured (as text, with the figures behind it) and whether it is met. A
target whose figures did not run (no Prism, no large store) gets no row.
"""

from __future__ import annotations

from bench.results import (
    Result,
    across_stores,
    against_prism,
    fmt,
    from_report,
    proxy_from_report,
)
from bench.scenarios import READS

TARGET_READ_RATIO = 2.0  # mock rps >= 2x Prism's for reads and the mix
TARGET_P99_MS = 10.0
TARGET_SCALE = 1.5  # time per request with the large store <= 1.5x the small one's
TARGET_STARTUP_S = 5.0
TARGET_RSS_MB = 500.0
TARGET_PROXY_P50_MS = 1.0  # what the proxy adds to a get, one at a time on loopback
TARGET_PROXY_P99_MS = 5.0


def check(target: str, measured: str, met: bool) -> dict:
    """One row of the targets table."""
    return {"target": target, "measured": measured, "met": met}


def _scale_measured(small: Result, large: Result, ratio: float) -> str:
    """The large store's time against the small one's, under load and alone."""
    alone = f"alone {fmt(small.single_ms, 2)} -> {fmt(large.single_ms, 2)} ms"
    if not large.requests:
        return f"no request done in {large.seconds:.0f} s ({alone})"
    return f"{ratio:.2f}x ({small.mean_ms:.2f} -> {large.mean_ms:.2f} ms mean under load; {alone})"


def evaluate(report: dict) -> list[dict]:
    """Each target of the issue with the measured figure and whether it is met."""
    results = from_report(report)
    small, large = report["small_packages"], report["large_packages"]
    checks = []
    for scenario, mock, prism, ratio in against_prism(results, small, [*READS, "mix"]):
        if mock and prism:
            checks.append(
                check(
                    f"{scenario}: rps >= {TARGET_READ_RATIO:g}x Prism",
                    f"{fmt(ratio, 2)}x",
                    ratio is not None and ratio >= TARGET_READ_RATIO,
                )
            )
        if mock:
            checks.append(
                check(
                    f"{scenario}: p99 < {TARGET_P99_MS:g} ms",
                    f"{mock.p99_ms:.2f} ms",
                    mock.p99_ms < TARGET_P99_MS,
                )
            )
    for scenario, a, b, ratio in across_stores(results, small, large):
        checks.append(
            check(
                f"{scenario}: time/request at {large:,} <= {TARGET_SCALE:g}x at {small:,}",
                _scale_measured(a, b, ratio),
                ratio <= TARGET_SCALE,
            )
        )
    startup = report.get("large_startup_s")
    if startup is not None:
        checks.append(
            check(
                f"startup with {large:,} packages < {TARGET_STARTUP_S:g} s",
                f"{startup:.2f} s",
                startup < TARGET_STARTUP_S,
            )
        )
    rss = report.get("large_rss_mb_after_load") or report.get("large_rss_mb_started")
    if rss is not None:
        checks.append(
            check(
                f"resident memory with {large:,} packages < {TARGET_RSS_MB:g} MB",
                f"{rss:.0f} MB",
                rss < TARGET_RSS_MB,
            )
        )
    proxy = proxy_from_report(report)
    if proxy is not None:
        for name, added, alone, proxied, target in (
            ("p50", proxy.added_p50_ms, proxy.mock_p50_ms, proxy.proxy_p50_ms, TARGET_PROXY_P50_MS),
            ("p99", proxy.added_p99_ms, proxy.mock_p99_ms, proxy.proxy_p99_ms, TARGET_PROXY_P99_MS),
        ):
            checks.append(
                check(
                    f"proxy: get {name} added < {target:g} ms",
                    f"{added:.2f} ms ({alone:.2f} -> {proxied:.2f} ms)",
                    added < target,
                )
            )
    return checks
