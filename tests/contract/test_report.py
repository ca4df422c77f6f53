"""The report: short by default, verdict first, every failure in full; Markdown and JUnit."""

from __future__ import annotations

import io
import json
import re
import xml.etree.ElementTree as ET

from patchworks_mock.contract import report
from patchworks_mock.contract.report import Result
from patchworks_mock.contract.schema_errors import mismatches

GET = "GET /api/v1/packages"
ONE = "GET /api/v1/packages/{package}"


def _results() -> list[Result]:
    passed = [
        Result("schema", op, check, report.PASSED)
        for op in (GET, ONE)
        for check in ("not_a_server_error", "status_code_conformance", "content_type")
    ]
    return [
        *passed,
        Result(
            "schema",
            ONE,
            "response_schema_conformance",
            report.FAILED,
            "Response violates schema\ndata.created_at is missing (required)",
            curl="curl -X GET http://x/api/v1/packages/1",
            actual="HTTP 200 {}",
        ),
        Result("schema", GET, "not_a_server_error", report.FLAKY, "HTTP 503, then 200 on retry"),
        Result("schema", GET, "not_a_server_error", report.FLAKY, "HTTP 503, then 200 on retry"),
        Result("properties", GET, "limits_enforced", report.ASSUMPTION, "per_page=101 clamped"),
        Result("properties", "deploy", "deploy_lifecycle", report.SKIPPED, "pass --allow-deploy"),
    ]


def _printed(results: list[Result], **options: bool) -> str:
    out = io.StringIO()
    report.print_report(results, out, **options)
    return out.getvalue()


def test_the_short_report_starts_with_the_verdict_and_has_a_line_per_operation() -> None:
    text = _printed(_results())
    lines = text.strip().splitlines()
    assert lines[0].startswith("DOES NOT CONFORM: 1 failures, 1 flaky, 1 assumptions;")
    assert "PASSED" not in text  # the per-check table is behind --verbose
    operation_lines = [line for line in lines if line.startswith(("GET ", "deploy "))]
    assert [line.split()[:2] for line in operation_lines] == [["GET", "/api/v1/packages"]] + [
        ["GET", "/api/v1/packages/{package}"]
    ]
    assert operation_lines[0].split()[-3:] == ["4", "0", "1"]  # checks, failed, flaky
    assert operation_lines[1].split()[-3:] == ["4", "1", "0"]
    assert "data.created_at is missing (required)" in text
    assert "     curl -X GET http://x/api/v1/packages/1" in text
    assert "not_a_server_error (×2): HTTP 503, then 200 on retry" in text
    assert "limits_enforced: per_page=101 clamped" in text
    assert "deploy — deploy_lifecycle: pass --allow-deploy" in text


def test_verbose_adds_the_table_of_every_check() -> None:
    text = _printed(_results(), verbose=True)
    assert re.search(r"^RESULT +OPERATION +CHECK +PASSED +FAILED +FLAKY$", text, re.MULTILINE)
    assert len(re.findall(r"^PASSED ", text, re.MULTILINE)) == 5  # a row per passed check


def test_flaky_results_fail_the_run_only_when_asked() -> None:
    flaky_only = [r for r in _results() if r.status != report.FAILED]
    assert report.exit_code(flaky_only) == 0
    assert report.exit_code(flaky_only, fail_on_flaky=True) == 1
    assert _printed(flaky_only).strip().startswith("CONFORMS: 0 failures, 1 flaky")
    assert _printed(flaky_only, fail_on_flaky=True).strip().startswith("DOES NOT CONFORM")


def test_an_assumption_alone_does_not_fail_the_run() -> None:
    results = [r for r in _results() if r.status in (report.PASSED, report.ASSUMPTION)]
    assert report.exit_code(results, fail_on_flaky=True) == 0


def test_markdown_summary(tmp_path) -> None:
    path = tmp_path / "summary.md"
    path.write_text("earlier step\n")
    report.write_markdown(_results(), str(path), target="http://x", seed=7, seconds=3.2)
    text = path.read_text()
    assert text.startswith("earlier step\n## ❌ patchworks-mock check: DOES NOT CONFORM")
    assert "| `GET /api/v1/packages/{package}` | 4 | 1 | 0 |" in text
    assert "<details><summary>1. <code>GET /api/v1/packages/{package}</code>" in text
    assert "### Flaky" in text and "### Assumptions" in text and "### Skipped" in text
    assert "`--seed 7`" in text


def test_junit_marks_flaky_as_failure_only_when_asked(tmp_path) -> None:
    def statuses(fail_on_flaky: bool) -> dict[str, str]:
        path = tmp_path / "junit.xml"
        report.write_junit(_results(), str(path), 7, fail_on_flaky)
        cases = ET.parse(path).getroot().iter("testcase")
        return {
            f"{c.get('classname')} {c.get('name')}": (c[0].tag if len(c) else "passed")
            for c in cases
        }

    assert statuses(False)[f"{GET} not_a_server_error"] == "system-out"
    assert statuses(True)[f"{GET} not_a_server_error"] == "failure"
    assert statuses(False)[f"{ONE} response_schema_conformance"] == "failure"
    assert statuses(False)[f"{GET} limits_enforced"] == "system-out"


def test_schema_mismatches_are_worded_with_place_and_reason() -> None:
    body = {"data": {"id": "9", "name": "x" * 300, "notes": None, "created_by_id": 1}}
    body["data"]["updated_at"] = "yesterday"
    assert mismatches(ONE, 200, json.dumps(body).encode()) == [
        "data.created_at is missing (required)",
        'data.id is the string "9"; the contract says integer',
        "data.name is 300 characters long; the contract says at most 255",
        'data.updated_at is "yesterday", not a date-time as the contract says',
    ]
    assert mismatches(ONE, 404, b'{"error": "gone"}') == ["message is missing (required)"]
    assert mismatches(ONE, 200, b"<html>") == ["the answer is not JSON"]
    assert mismatches(ONE, 200, b"[" * 100_000) == ["the answer is not JSON"]  # no RecursionError
    assert mismatches(ONE, 418, b"{}") == []  # no schema for it: the status check says so
