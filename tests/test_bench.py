"""The benchmark's pure parts (bench/): scoring, the tables, wrk's output, the helpers.

No wrk, no server, no network: the figures are made up, small and round, so that each
expected string can be checked by hand. One test is the exception: the proxy scenario, which
needs no wrk, runs end to end on loopback (the mock and the proxy as processes, a few
seconds), and only what it reports is checked, never how fast.
"""

import json
import sys
from pathlib import Path

import pytest

# `bench` is a package at the repository root, not installed with the project
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import fixtures, measure, profiling, proxy_cost, report, run, scenarios, score
from bench.results import Result

SMALL, LARGE = 100, 1000


def result(server: str, packages: int, scenario: str, **figures) -> dict:
    """A result as the JSON holds it; `figures` override the defaults."""
    base = {
        "server": server,
        "packages": packages,
        "scenario": scenario,
        "requests": 8000,
        "seconds": 8.0,
        "rps": 1000.0,
        "mean_ms": 4.0,
        "p50_ms": 3.0,
        "p90_ms": 6.0,
        "p99_ms": 8.0,
        "max_ms": 20.0,
        "non_2xx": 0,
        "socket_errors": 0,
        "statuses": {scenario: 200},
        "load_1m": 0.5,
        "single_ms": 0.3,
        "cpu_ms_per_request": 0.4,
        "profile": [],
    }
    return base | figures


def sample(prism: bool = True, large: bool = True) -> dict:
    """A report: the mock and Prism on the small store, the mock on the large one.

    Without Prism or the large store it is what a run with --no-prism or --no-large writes.
    """
    document = {
        "started": "2026-01-02T03:04:05+00:00",
        "settings": {"connections": 16, "threads": 1, "duration": 8, "warmup": 1},
        "environment": {"cpu": "Test CPU", "cores": 2, "commit": "abc1234"},
        "small_packages": SMALL,
        "large_packages": LARGE,
        "results": [
            result("mock", SMALL, "list_default", rps=3000.0, p99_ms=8.0, mean_ms=5.0),
            result("prism", SMALL, "list_default", rps=1000.0, p99_ms=40.0, non_2xx=3),
            result("mock", SMALL, "get", rps=1500.0, p99_ms=12.5, mean_ms=2.0, single_ms=0.2),
            result("prism", SMALL, "get", rps=1000.0, cpu_ms_per_request=None),
            result("mock", SMALL, "create", rps=2500.0, statuses={"create": 201}),
            result("prism", SMALL, "update", rps=900.0),  # as if the mock's had not run
            result("mock", LARGE, "list_default", rps=1500.0, mean_ms=10.0, single_ms=0.6),
            result("mock", LARGE, "get", rps=1400.0, mean_ms=2.2, single_ms=0.25),
        ],
        "processes": [
            {
                "server": "mock",
                "packages": SMALL,
                "startup_s": 0.5,
                "rss_mb_started": 68.0,
                "rss_mb_after_load": 80.0,
            },
            {
                "server": "prism",
                "packages": None,
                "startup_s": 1.25,
                "rss_mb_started": None,
                "rss_mb_after_load": 150.0,
            },
        ],
        "large_startup_s": 4.2,
        "large_rss_mb_started": 320.0,
        "large_rss_mb_after_load": 520.0,
    }
    if not prism:
        document["results"] = [r for r in document["results"] if r["server"] != "prism"]
        document["processes"] = [p for p in document["processes"] if p["server"] != "prism"]
    if not large:
        document["large_packages"] = None
        document["results"] = [r for r in document["results"] if r["packages"] != LARGE]
        for key in ("large_startup_s", "large_rss_mb_started", "large_rss_mb_after_load"):
            del document[key]
    document["targets"] = score.evaluate(document)
    return document


def proxy_figures(**figures) -> dict:
    """The proxy scenario's figures as the JSON holds them; `figures` override the defaults."""
    base = {
        "path": "/api/v1/packages/1",
        "requests": 4000,
        "rounds": 80,
        "warmup": 500,
        "mock_p50_ms": 0.25,
        "mock_p99_ms": 0.5,
        "proxy_p50_ms": 0.75,
        "proxy_p99_ms": 6.0,
        "added_p50_ms": 0.5,
        "added_p99_ms": 5.5,
        "mock_mean_ms": 0.3,
        "proxy_mean_ms": 0.9,
        "mock_max_ms": 2.0,
        "proxy_max_ms": 9.0,
        "non_2xx": 0,
        "violations": 0,
        "statuses": {"mock": 200, "proxy": 200},
        "load_1m": 0.5,
        "proxy_cpu_ms_per_request": 0.6,
        "mock_cpu_ms_per_request": 0.2,
    }
    return base | figures


def proxy_only(**figures) -> dict:
    """A report of a run with `--scenarios proxy --no-prism --no-large`."""
    document = sample(prism=False, large=False)
    document["results"] = []
    document["proxy"] = proxy_figures(**figures)
    document["targets"] = score.evaluate(document)
    return document


# -- score ---------------------------------------------------------------------------------


def test_every_target_that_ran_is_scored_in_order():
    assert score.evaluate(sample()) == [
        {"target": "list_default: rps >= 2x Prism", "measured": "3.00x", "met": True},
        {"target": "list_default: p99 < 10 ms", "measured": "8.00 ms", "met": True},
        {"target": "get: rps >= 2x Prism", "measured": "1.50x", "met": False},
        {"target": "get: p99 < 10 ms", "measured": "12.50 ms", "met": False},
        {
            "target": "list_default: time/request at 1,000 <= 1.5x at 100",
            "measured": "2.00x (5.00 -> 10.00 ms mean under load; alone 0.30 -> 0.60 ms)",
            "met": False,
        },
        {
            "target": "get: time/request at 1,000 <= 1.5x at 100",
            "measured": "1.10x (2.00 -> 2.20 ms mean under load; alone 0.20 -> 0.25 ms)",
            "met": True,
        },
        {"target": "startup with 1,000 packages < 5 s", "measured": "4.20 s", "met": True},
        {
            "target": "resident memory with 1,000 packages < 500 MB",
            "measured": "520 MB",  # after the load, not the 320 MB at start
            "met": False,
        },
    ]


def test_without_prism_or_large_store_only_latency_is_scored():
    assert [c["target"] for c in score.evaluate(sample(prism=False, large=False))] == [
        "list_default: p99 < 10 ms",
        "get: p99 < 10 ms",
    ]


def test_a_large_store_that_finished_nothing_fails_its_scale_target():
    document = sample()
    document["results"][-1] |= {"requests": 0, "single_ms": None}
    scale = [c for c in score.evaluate(document) if c["target"].startswith("get: time")]
    assert scale == [
        {
            "target": "get: time/request at 1,000 <= 1.5x at 100",
            "measured": "no request done in 8 s (alone 0.20 -> n/a ms)",
            "met": False,
        }
    ]


def test_the_proxy_is_scored_on_what_it_adds_to_the_mocks_p50_and_p99():
    assert score.evaluate(proxy_only()) == [
        {
            "target": "proxy: get p50 added < 1 ms",
            "measured": "0.50 ms (0.25 -> 0.75 ms)",
            "met": True,
        },
        {
            "target": "proxy: get p99 added < 5 ms",
            "measured": "5.50 ms (0.50 -> 6.00 ms)",
            "met": False,
        },
    ]


def test_prism_with_no_throughput_gives_no_ratio_and_fails():
    document = sample()
    document["results"][3]["rps"] = 0.0  # Prism's get
    ratio = next(c for c in score.evaluate(document) if c["target"] == "get: rps >= 2x Prism")
    assert ratio == {"target": "get: rps >= 2x Prism", "measured": "n/ax", "met": False}


# -- report --------------------------------------------------------------------------------


def test_markdown_has_a_row_per_scenario_that_ran_in_scenario_order():
    lines = report.markdown(sample()).splitlines()
    assert lines[0] == (
        "Run 2026-01-02T03:04:05+00:00 on Test CPU (2 cores), 16 connections, 1 wrk thread(s), "
        "8 s per scenario after 1 s warm-up; commit abc1234."
    )
    start = lines.index("### Mock vs Prism (100 packages)")
    rows = [line for line in lines[start + 4 :] if line.startswith("| ")][:4]
    assert rows == [
        "| list_default | 3,000 | 3.00 | 8.00 | 0.40 | 0 "
        "| 1,000 | 3.00 | 40.00 | 0.40 | 3 | 3.00 |",
        "| get | 1,500 | 3.00 | 12.50 | 0.40 | 0 | 1,000 | 3.00 | 8.00 | n/a | 0 | 1.50 |",
        "| create | 2,500 | 3.00 | 8.00 | 0.40 | 0 | n/a | n/a | n/a | n/a | n/a | n/a |",
        "| update | n/a | n/a | n/a | n/a | n/a | 900 | 3.00 | 8.00 | 0.40 | 0 | n/a |",
    ]
    assert not any(line.startswith(("| compare ", "| mix ")) for line in lines)


def test_markdown_compares_the_stores_and_lists_processes_targets_and_probes():
    text = report.markdown(sample())
    assert "### Mock with 100 vs 1,000 packages" in text
    assert (
        "| list_default | 3,000 | 3.00 | 8.00 | 1,500 | 3.00 | 8.00 | 2.00 | 0.30 | 0.60 | 2.00 |"
    ) in text
    assert (
        "| get | 1,500 | 3.00 | 12.50 | 1,400 | 3.00 | 8.00 | 1.10 | 0.20 | 0.25 | 1.25 |" in text
    )
    assert "| mock | 100 | 0.50 | 68 (after load: 80) |" in text
    assert "| prism | n/a | 1.25 | n/a (after load: 150) |" in text
    assert "| get: p99 < 10 ms | 12.50 ms | NO |" in text
    assert "| list_default: p99 < 10 ms | 8.00 ms | yes |" in text
    assert text.endswith("- mock create: create 201\n- prism update: update 200\n")


def test_markdown_without_a_large_store_has_no_scale_table():
    text = report.markdown(sample(large=False))
    assert "### Mock with" not in text
    assert "### Startup and memory" in text


def test_scale_table_says_none_done_when_the_large_store_finished_nothing():
    document = sample()
    document["results"][-1] |= {"requests": 0, "single_ms": None}
    row = next(line for line in report.markdown(document).splitlines() if "| none done |" in line)
    assert row.startswith("| get | 1,500 |") and row.endswith("| 0.20 | n/a | n/a |")


def test_markdown_of_the_proxy_alone_has_its_table_and_no_empty_ones():
    text = report.markdown(proxy_only())
    assert "### Mock vs Prism" not in text and "Status of one probe" not in text
    assert (
        "`GET /api/v1/packages/1`, one request at a time on a kept-alive connection: 4,000 to "
        "each in 80 interleaved rounds after 500 untimed; non-2xx 0, answers with "
        "X-Contract-Violations 0, load average 0.50."
    ) in text
    assert "| mock alone | 0.25 | 0.50 | 0.30 | 2.00 | 0.20 |" in text
    assert "| through the proxy | 0.75 | 6.00 | 0.90 | 9.00 | 0.60 (the proxy's) |" in text
    assert "| added by the proxy | 0.50 | 5.50 | 0.60 | | |" in text
    assert "| proxy: get p99 added < 5 ms | 5.50 ms (0.50 -> 6.00 ms) | NO |" in text


def test_progress_line():
    line = report.progress_line(Result(**result("mock", 100_000, "get", rps=2345.6)))
    assert line == (
        "  mock  100,000 get              2,346 req/s  p50    3.00 ms  p99    8.00 ms"
        "  cpu/req 0.40 ms  non-2xx 0  probe {'get': 200}"
    )


def test_write_keeps_the_run_and_the_latest_copies(tmp_path):
    document = sample()
    written = report.write(document, "tables\n", tmp_path, "20260102T030405Z")
    assert written == tmp_path / "20260102T030405Z.json"
    assert json.loads(written.read_text()) == document
    assert (tmp_path / "latest.json").read_text() == written.read_text()
    assert (tmp_path / "20260102T030405Z.md").read_text() == "tables\n"
    assert (tmp_path / "latest.md").read_text() == "tables\n"


# -- measure -------------------------------------------------------------------------------

WRK_STDOUT = """Running 2s test @ http://127.0.0.1:8000
  1 threads and 16 connections
BENCH_JSON {"requests": 2000, "duration_us": 2000000, "mean_us": 7500, "p50_us": 7000, \
"p90_us": 9000, "p99_us": 12345, "max_us": 30000, "non_2xx": 4, "connect_errors": 1, \
"read_errors": 2, "write_errors": 0, "timeouts": 3}
"""


def test_parse_wrk_reads_the_scripts_line_among_wrks_own():
    measured = measure.parse_wrk(WRK_STDOUT)
    assert measured is not None
    assert measured["requests"] == 2000 and measured["p99_us"] == 12345


def test_parse_wrk_without_the_scripts_line_is_none():
    assert measure.parse_wrk("Running 2s test\nRequests/sec: 1000\n") is None


def test_figures_are_milliseconds_per_second_and_cpu_per_request():
    measured = measure.parse_wrk(WRK_STDOUT)
    assert measure.figures(measured, cpu_s=0.8) == {
        "requests": 2000,
        "seconds": 2.0,
        "rps": 1000.0,
        "mean_ms": 7.5,
        "p50_ms": 7.0,
        "p90_ms": 9.0,
        "p99_ms": 12.345,
        "max_ms": 30.0,
        "non_2xx": 4,
        "socket_errors": 6,
        "cpu_ms_per_request": 0.4,
    }
    assert measure.figures(measured | {"requests": 0}, cpu_s=0.8)["cpu_ms_per_request"] is None


def test_profile_summary_counts_the_innermost_frame(tmp_path):
    raw = tmp_path / "raw.txt"
    raw.write_text("main;serve;handle 30\nmain;serve;render 10\nmain;idle 60\nnot a sample\n")
    assert profiling.summary(raw, top=2) == [
        {"function": "idle", "self_share": 0.6, "samples": 60},
        {"function": "handle", "self_share": 0.3, "samples": 30},
    ]


def test_proxy_percentiles_are_nearest_rank_and_rounds_cover_every_request():
    values = [float(v) for v in range(100, 0, -1)]
    assert proxy_cost.percentile(values, 0.50) == 50.0
    assert proxy_cost.percentile(values, 0.99) == 99.0
    assert proxy_cost.percentile([3.0], 0.99) == 3.0
    assert proxy_cost.round_sizes(120) == [50, 50, 20]
    assert proxy_cost.round_sizes(100) == [50, 50]
    assert proxy_cost.round_sizes(7) == [7]


# -- fixtures and scenarios ----------------------------------------------------------------


def test_spread_keeps_short_lists_and_spaces_long_ones():
    assert fixtures.spread([1, 2, 3], 5) == [1, 2, 3]
    assert fixtures.spread(list(range(100)), 4) == [0, 25, 50, 75]


def test_alone_timing_requests_the_probe_path():
    fixture = fixtures.Fixture(
        packages=3,
        path=Path("unused.json"),
        ids=[11, 12, 13],
        members=[12],
        versions=[7, 8],
        environments=[5],
        seconds=0.0,
    )
    assert scenarios.read_path("get", fixture) == "/api/v1/packages/12"
    assert scenarios.read_path("compare", fixture) == "/api/v1/packages/12/compare/5"
    probe = scenarios.probes(fixture, fresh=[40, 41])["add_version"]
    assert probe == ("POST", "/api/v1/packages/41/flow-versions/8", {"priority": 50})


def test_the_mix_probes_each_operation_once_and_every_scenario_is_described():
    assert scenarios.operations("mix") == [
        "list_default",
        "list_query",
        "get",
        "compare",
        "create",
        "update",
        "add_version",
    ]
    assert scenarios.operations("get") == ["get"]
    assert set(scenarios.DESCRIPTIONS) == set(scenarios.CHOICES)


# -- command line --------------------------------------------------------------------------


def test_the_command_line_keeps_its_flags():
    flags = {o for a in run.parser()._actions for o in a.option_strings if o.startswith("--")}
    assert flags == {
        "--help",
        "--duration",
        "--warmup",
        "--connections",
        "--threads",
        "--scenarios",
        "--proxy-requests",
        "--small",
        "--large",
        "--seed",
        "--no-prism",
        "--no-large",
        "--mock-log-level",
        "--prism-log-level",
        "--python",
        "--wrk",
        "--prism",
        "--profile",
        "--py-spy",
        "--output",
    }


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--scenarios", "get,nope"], "unknown scenario(s) nope"),
        (["--duration", "0"], "--duration, --connections and --threads must be at least 1"),
        (["--proxy-requests", "0"], "--proxy-requests must be at least 1"),
    ],
)
def test_bad_flags_stop_the_run_before_anything_starts(
    argv, message, capsys, tmp_path, monkeypatch
):
    def no_wrk(explicit):
        raise AssertionError("the flags are checked before any tool is looked for")

    monkeypatch.setattr(run.tools, "ensure_wrk", no_wrk)
    assert run.main([*argv, "--output", str(tmp_path)]) == 2
    assert capsys.readouterr().err.startswith(f"bench: error: {message}")
    assert list(tmp_path.iterdir()) == []


# -- the proxy scenario, end to end ----------------------------------------------------------


def test_the_proxy_scenario_runs_end_to_end_and_reports_what_the_proxy_adds(
    tmp_path, monkeypatch, capsys
):
    def no_wrk(explicit):
        raise AssertionError("the proxy scenario needs no wrk")

    monkeypatch.setattr(run.tools, "ensure_wrk", no_wrk)
    argv = ["--scenarios", "proxy", "--no-prism", "--no-large", "--small", "5"]
    assert run.main([*argv, "--proxy-requests", "60", "--output", str(tmp_path)]) == 0
    document = json.loads((tmp_path / "latest.json").read_text())
    proxy = document["proxy"]
    assert proxy["path"] == "/api/v1/packages/1"
    assert (proxy["requests"], proxy["rounds"]) == (60, 2)
    assert proxy["statuses"] == {"mock": 200, "proxy": 200}
    assert (proxy["non_2xx"], proxy["violations"]) == (0, 0)
    for figure in ("mock_p50_ms", "mock_p99_ms", "proxy_p50_ms", "proxy_p99_ms"):
        assert proxy[figure] > 0
    assert proxy["added_p50_ms"] == pytest.approx(proxy["proxy_p50_ms"] - proxy["mock_p50_ms"])
    assert proxy["added_p99_ms"] == pytest.approx(proxy["proxy_p99_ms"] - proxy["mock_p99_ms"])
    assert [row["server"] for row in document["processes"]] == ["mock", "proxy"]
    assert [c["target"] for c in document["targets"]] == [
        "proxy: get p50 added < 1 ms",
        "proxy: get p99 added < 5 ms",
    ]
    assert document["results"] == []
    printed = capsys.readouterr().out
    assert "### Proxy in front of the mock" in printed
    assert "| added by the proxy |" in printed
