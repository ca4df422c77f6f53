"""Results of a run, the summary table, the failure details and the JUnit file.

Every test, whatever drove it, ends as `Result` rows keyed by operation and check, so that one
table shows the whole run with the failures first.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass
from typing import TextIO

PASSED = "passed"
FAILED = "failed"
SKIPPED = "skipped"
ERROR = "error"
FLAKY = "flaky"  # failed once, then did not reproduce: fails the run only with --fail-on-flaky
ASSUMPTION = "assumption"  # differs from a decision api-notes records, not from a fact
_ORDER = {FAILED: 0, ERROR: 1, FLAKY: 2, ASSUMPTION: 3, SKIPPED: 4, PASSED: 5}


@dataclass
class Result:
    """One check of one operation: its verdict and, on failure, how to see it again."""

    suite: str  # "schema", "properties" or "stateful"
    operation: str
    check: str
    status: str
    message: str = ""
    curl: str = ""
    expected: str = ""
    actual: str = ""

    @property
    def key(self) -> tuple[str, str]:
        return self.operation, self.check


@dataclass
class Row:
    operation: str
    check: str
    counts: Counter[str]

    @property
    def status(self) -> str:
        return min(self.counts, key=_ORDER.__getitem__)


def summarise(results: list[Result]) -> list[Row]:
    """One row per (operation, check), failures first, then by operation."""
    rows: dict[tuple[str, str], Row] = {}
    for result in results:
        row = rows.setdefault(result.key, Row(result.operation, result.check, Counter()))
        row.counts[result.status] += 1
    return sorted(rows.values(), key=lambda r: (_ORDER[r.status], r.operation, r.check))


def failures(results: list[Result]) -> list[Result]:
    """Failed and errored results, one per distinct (operation, check, message)."""
    seen: set[tuple[str, str, str]] = set()
    found = []
    for result in results:
        key = (result.operation, result.check, result.message)
        if result.status in (FAILED, ERROR) and key not in seen:
            seen.add(key)
            found.append(result)
    return sorted(found, key=lambda r: (r.operation, r.check))


def exit_code(results: list[Result], fail_on_flaky: bool = False) -> int:
    """0 when everything that ran conforms, 1 otherwise (a flaky result too, if asked)."""
    failing = (FAILED, ERROR, FLAKY) if fail_on_flaky else (FAILED, ERROR)
    return 1 if any(r.status in failing for r in results) else 0


def _table(headers: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    lines = [line, "  ".join("-" * w for w in widths)]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return lines


def print_report(
    results: list[Result], out: TextIO, *, verbose: bool = False, fail_on_flaky: bool = False
) -> None:
    """The summary table, then each failure with its reproduction, then each skip's reason."""
    rows = summarise(results)
    if rows:
        body = [
            [
                row.status.upper(),
                row.operation,
                row.check,
                str(row.counts[PASSED]),
                str(row.counts[FAILED] + row.counts[ERROR]),
            ]
            for row in rows
        ]
        print("", file=out)
        for line in _table(["RESULT", "OPERATION", "CHECK", "PASSED", "FAILED"], body):
            print(line, file=out)
    found = failures(results)
    for number, result in enumerate(found, 1):
        print(f"\n{number}. {result.operation} — {result.check} [{result.suite}]", file=out)
        for text in result.message.strip().splitlines():
            print(f"   {text}", file=out)
        if result.expected:
            print(f"   expected: {result.expected}", file=out)
        if result.actual:
            print(f"   actual:   {result.actual}", file=out)
        if result.curl:
            print("   reproduce:", file=out)
            for text in result.curl.strip().splitlines():
                print(f"     {text}", file=out)
    skipped = sorted({(r.operation, r.check, r.message) for r in results if r.status == SKIPPED})
    for operation, check, reason in skipped:
        print(f"skipped: {operation} — {check}: {reason}", file=out)
    counts = Counter(r.status for r in results)
    verdict = "DOES NOT CONFORM" if exit_code(results, fail_on_flaky) else "CONFORMS"
    print(
        f"\n{verdict}: {len(found)} distinct failures; "
        f"{counts[PASSED]} passed, {counts[FAILED] + counts[ERROR]} failed, "
        f"{counts[SKIPPED]} skipped",
        file=out,
    )


def write_junit(results: list[Result], path: str, seed: int) -> None:
    """A JUnit XML report: one suite per kind of test, one case per (operation, check)."""
    root = ET.Element("testsuites", name="patchworks-mock check")
    for suite in sorted({r.suite for r in results}):
        mine = [r for r in results if r.suite == suite]
        rows = summarise(mine)
        element = ET.SubElement(
            root,
            "testsuite",
            name=suite,
            tests=str(len(rows)),
            failures=str(sum(1 for row in rows if row.status in (FAILED, ERROR))),
            skipped=str(sum(1 for row in rows if row.status == SKIPPED)),
        )
        ET.SubElement(
            ET.SubElement(element, "properties"), "property", name="seed", value=str(seed)
        )
        for row in rows:
            case = ET.SubElement(element, "testcase", classname=row.operation, name=row.check)
            related = [r for r in failures(mine) if r.key == (row.operation, row.check)]
            if row.status in (FAILED, ERROR):
                text = "\n\n".join(
                    "\n".join(
                        filter(
                            None,
                            [
                                r.message,
                                r.expected and f"expected: {r.expected}",
                                r.actual and f"actual: {r.actual}",
                                r.curl,
                            ],
                        )
                    )
                    for r in related
                )
                first = related[0].message.strip().splitlines()[0] if related else row.check
                ET.SubElement(case, "failure", message=first).text = text
            elif row.status == SKIPPED:
                reason = next((r.message for r in mine if r.key == (row.operation, row.check)), "")
                ET.SubElement(case, "skipped", message=reason)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)
