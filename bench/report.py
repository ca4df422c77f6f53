"""What a run prints and writes: a line per scenario as it runs, then Markdown tables and the
JSON with every figure in bench/results/.

The Markdown is made from the JSON's content alone, so a results file can be printed again.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from bench.results import (
    ProxyResult,
    Result,
    across_stores,
    against_prism,
    fmt,
    from_report,
    proxy_from_report,
)
from bench.scenarios import SCENARIOS


def progress_line(result: Result) -> str:
    """One scenario's figures, printed as soon as it ran."""
    return (
        f"  {result.server:5} {result.packages:>7,} {result.scenario:12} "
        f"{result.rps:9,.0f} req/s  p50 {result.p50_ms:7.2f} ms  p99 {result.p99_ms:7.2f} ms"
        f"  cpu/req {fmt(result.cpu_ms_per_request, 2)} ms  non-2xx {result.non_2xx}"
        f"  probe {result.statuses}"
    )


def proxy_line(proxy: ProxyResult) -> str:
    """The proxy scenario's figures, printed as soon as it ran."""
    return (
        f"  proxy  {proxy.requests:,} gets each: mock p50 {proxy.mock_p50_ms:.2f} ms"
        f" p99 {proxy.mock_p99_ms:.2f} ms; through the proxy p50 {proxy.proxy_p50_ms:.2f} ms"
        f" p99 {proxy.proxy_p99_ms:.2f} ms; added p50 {proxy.added_p50_ms:.2f} ms"
        f" p99 {proxy.added_p99_ms:.2f} ms  non-2xx {proxy.non_2xx}  probe {proxy.statuses}"
    )


def _proxy(proxy: ProxyResult) -> list[str]:
    """The mock alone against the mock behind the proxy, and what the proxy adds."""
    return [
        "### Proxy in front of the mock",
        "",
        f"`GET {proxy.path}`, one request at a time on a kept-alive connection: "
        f"{proxy.requests:,} to each in {proxy.rounds} interleaved rounds after "
        f"{proxy.warmup:,} untimed; non-2xx {proxy.non_2xx}, answers with "
        f"X-Contract-Violations {proxy.violations}, load average {proxy.load_1m:.2f}. "
        "The mock's CPU is per request it answered, alone or for the proxy.",
        "",
        "| get | p50 ms | p99 ms | mean ms | max ms | CPU ms/req |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
        f"| mock alone | {proxy.mock_p50_ms:.2f} | {proxy.mock_p99_ms:.2f} "
        f"| {proxy.mock_mean_ms:.2f} | {proxy.mock_max_ms:.2f} "
        f"| {fmt(proxy.mock_cpu_ms_per_request, 2)} |",
        f"| through the proxy | {proxy.proxy_p50_ms:.2f} | {proxy.proxy_p99_ms:.2f} "
        f"| {proxy.proxy_mean_ms:.2f} | {proxy.proxy_max_ms:.2f} "
        f"| {fmt(proxy.proxy_cpu_ms_per_request, 2)} (the proxy's) |",
        f"| added by the proxy | {proxy.added_p50_ms:.2f} | {proxy.added_p99_ms:.2f} "
        f"| {proxy.proxy_mean_ms - proxy.mock_mean_ms:.2f} | | |",
    ]


def _comparison(results: list[Result], small: int) -> list[str]:
    """The mock against Prism on the small store, a row per scenario either ran."""
    lines = [
        f"### Mock vs Prism ({small:,} packages)",
        "",
        "| scenario | mock req/s | mock p50 ms | mock p99 ms | mock CPU ms/req | mock non-2xx "
        "| prism req/s | prism p50 ms | prism p99 ms | prism CPU ms/req | prism non-2xx "
        "| mock/prism req/s |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for scenario, mock, prism, ratio in against_prism(results, small, SCENARIOS):
        if not mock and not prism:
            continue
        cells = [scenario]
        for server in (mock, prism):
            cells += [
                fmt(server and server.rps, 0),
                fmt(server and server.p50_ms, 2),
                fmt(server and server.p99_ms, 2),
                fmt(server and server.cpu_ms_per_request, 2),
                fmt(server and server.non_2xx, 0),
            ]
        cells.append(fmt(ratio, 2))
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _scale(results: list[Result], small: int, large: int) -> list[str]:
    """The mock on the small store against the large one, for the scenarios run on both."""
    lines = [
        f"### Mock with {small:,} vs {large:,} packages",
        "",
        "Under load: wrk's figures; alone: median of sequential requests on one connection.",
        "",
        f"| scenario | req/s {small:,} | p50 ms | p99 ms | req/s {large:,} | p50 ms | p99 ms "
        f"| load time ratio | alone ms {small:,} | alone ms {large:,} | alone ratio |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for scenario, a, b, ratio in across_stores(results, small, large):
        loaded = f"{ratio:.2f}" if b.requests else "none done"
        alone = f"{b.single_ms / a.single_ms:.2f}" if a.single_ms and b.single_ms else "n/a"
        lines.append(
            f"| {scenario} | {a.rps:,.0f} | {a.p50_ms:.2f} | {a.p99_ms:.2f} "
            f"| {b.rps:,.0f} | {b.p50_ms:.2f} | {b.p99_ms:.2f} | {loaded} "
            f"| {fmt(a.single_ms, 2)} | {fmt(b.single_ms, 2)} | {alone} |"
        )
    return lines


def markdown(report: dict) -> str:
    """The report's tables as Markdown."""
    results = from_report(report)
    small, large = report["small_packages"], report["large_packages"]
    env, settings = report["environment"], report["settings"]
    lines = [
        f"Run {report['started']} on {env['cpu']} ({env['cores']} cores), "
        f"{settings['connections']} connections, {settings['threads']} wrk "
        f"thread(s), {settings['duration']} s per scenario after "
        f"{settings['warmup']} s warm-up; commit {env['commit']}.",
    ]
    if results:  # none when only the proxy scenario ran
        lines += ["", *_comparison(results, small)]
    if any(r.packages == large for r in results):
        lines += ["", *_scale(results, small, large)]
    proxy = proxy_from_report(report)
    if proxy is not None:
        lines += ["", *_proxy(proxy)]
    lines += ["", "### Startup and memory", "", "| server | packages | startup s | RSS MB |"]
    lines.append("| --- | ---: | ---: | ---: |")
    for row in report["processes"]:
        lines.append(
            f"| {row['server']} | {fmt(row['packages'], 0)} | {row['startup_s']:.2f} "
            f"| {fmt(row['rss_mb_started'], 0)} (after load: {fmt(row['rss_mb_after_load'], 0)})"
            " |"
        )
    lines += ["", "### Targets", "", "| target | measured | met |", "| --- | --- | --- |"]
    for check in report["targets"]:
        lines.append(
            f"| {check['target']} | {check['measured']} | {'yes' if check['met'] else 'NO'} |"
        )
    probes = {(r.server, r.scenario): r.statuses for r in results if r.packages == small}
    if probes:
        lines += ["", "Status of one probe request per operation before each load:", ""]
    for (server, scenario), statuses in probes.items():
        shown = ", ".join(f"{op} {code}" for op, code in statuses.items())
        lines.append(f"- {server} {scenario}: {shown}")
    return "\n".join(lines) + "\n"


def write(report: dict, text: str, output: Path, stamp: str) -> Path:
    """Write `<stamp>.json` and `.md` into `output` and copy them to latest.*; the JSON file."""
    data, table = output / f"{stamp}.json", output / f"{stamp}.md"
    data.write_text(json.dumps(report, indent=2) + "\n")
    table.write_text(text)
    shutil.copyfile(data, output / "latest.json")
    shutil.copyfile(table, output / "latest.md")
    return data
