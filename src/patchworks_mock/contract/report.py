"""Results of a run and the three ways they are shown: the terminal report, Markdown, JUnit.

Every test, whatever drove it, ends as `Result` rows keyed by operation and check. The
terminal report is short by default (the verdict, one line per operation, then every failure
in full, then the flaky, assumption and skipped ones in a line each); `--verbose` adds the full
table of every check. The Markdown summary is the same report for a CI job's summary page.
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

FLAKY_TITLE = "Flaky: failed once and did not reproduce on retry (--fail-on-flaky fails the run)"
ASSUMPTION_TITLE = (
    "Assumptions: the server differs from a decision the contract made where nothing public "
    "answers (README 'Assumptions'), not from a documented fact; they do not fail the run"
)


@dataclass
class Result:
    """One check of one operation: its verdict and, on failure, how to see it again."""

    # "schema", "properties", "stateful"; "checks" (the shared checks of every answer),
    # "network" (requests that succeeded on retry), "run" (the run itself stopped)
    suite: str
    operation: str
    check: str
    status: str
    message: str = ""
    curl: str = ""
    expected: str = ""
    actual: str = ""
    # A 5xx that could not be checked again (a POST is never sent twice): a failure, unless the
    # run shows the server's 5xx going away elsewhere (`outcomes.settle_unconfirmed`).
    unconfirmed: bool = False

    @property
    def key(self) -> tuple[str, str]:
        return self.operation, self.check

    @property
    def headline(self) -> str:
        """The message's first line."""
        lines = self.message.strip().splitlines()
        return lines[0] if lines else ""


@dataclass
class Row:
    """Every result of one (operation, check), counted by status."""

    operation: str
    check: str
    counts: Counter[str]

    @property
    def status(self) -> str:
        return min(self.counts, key=_ORDER.__getitem__)


@dataclass
class OperationLine:
    """One operation in the short report: how many checks ran on it, and how many of those
    failed, and were flaky (their flaky results are counted in the flaky part below)."""

    operation: str
    checks: int
    failed: int
    flaky: int


def summarise(results: list[Result]) -> list[Row]:
    """One row per (operation, check), failures first, then by operation."""
    rows: dict[tuple[str, str], Row] = {}
    for result in results:
        row = rows.setdefault(result.key, Row(result.operation, result.check, Counter()))
        row.counts[result.status] += 1
    return sorted(rows.values(), key=lambda r: (_ORDER[r.status], r.operation, r.check))


def by_operation(results: list[Result]) -> list[OperationLine]:
    """One line per operation that ran anything, in operation order."""
    lines: dict[str, OperationLine] = {}
    for row in summarise(results):
        if row.status == SKIPPED:
            continue
        line = lines.setdefault(row.operation, OperationLine(row.operation, 0, 0, 0))
        line.checks += 1
        line.failed += row.status in (FAILED, ERROR)
        line.flaky += row.counts[FLAKY] > 0
    return sorted(lines.values(), key=lambda line: line.operation)


def _distinct(results: list[Result], statuses: tuple[str, ...]) -> list[Result]:
    seen: set[tuple[str, str, str]] = set()
    found = []
    for result in results:
        key = (result.operation, result.check, result.message)
        if result.status in statuses and key not in seen:
            seen.add(key)
            found.append(result)
    return sorted(found, key=lambda r: (r.operation, r.check))


def failures(results: list[Result]) -> list[Result]:
    """Failed and errored results, one per distinct (operation, check, message)."""
    return _distinct(results, (FAILED, ERROR))


def grouped(results: list[Result], status: str) -> list[tuple[Result, int]]:
    """Results of one status, one per (operation, check, first line), with how many there were."""
    counts: Counter[tuple[str, str, str]] = Counter()
    first: dict[tuple[str, str, str], Result] = {}
    for result in results:
        if result.status == status:
            key = (result.operation, result.check, result.headline)
            counts[key] += 1
            first.setdefault(key, result)
    return [(first[key], counts[key]) for key in sorted(first)]


def exit_code(results: list[Result], fail_on_flaky: bool = False) -> int:
    """0 when everything that ran conforms, 1 otherwise (a flaky result too, if asked)."""
    failing = (FAILED, ERROR, FLAKY) if fail_on_flaky else (FAILED, ERROR)
    return 1 if any(r.status in failing for r in results) else 0


def verdict(results: list[Result], fail_on_flaky: bool = False) -> str:
    """`CONFORMS` or `DOES NOT CONFORM`, with what the run found, in one line."""
    word = "DOES NOT CONFORM" if exit_code(results, fail_on_flaky) else "CONFORMS"
    rows = summarise(results)
    counts = Counter(row.status for row in rows)
    found = [f"{len(failures(results))} failures"]
    if counts[FLAKY]:
        found.append(f"{counts[FLAKY]} flaky")
    if counts[ASSUMPTION]:
        found.append(f"{counts[ASSUMPTION]} assumptions")
    return f"{word}: {', '.join(found)}; {counts[PASSED]} checks passed, {counts[SKIPPED]} skipped"


def _table(headers: list[str], rows: list[list[str]], right: int = 99) -> list[str]:
    """A plain text table; columns from index `right` on are right-aligned (numbers)."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]

    def line(cells: list[str]) -> str:
        parts = [
            c.rjust(w) if i >= right else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(parts).rstrip()

    return [line(headers), line(["-" * w for w in widths])] + [line(r) for r in rows]


def _failure_lines(number: int, result: Result) -> list[str]:
    lines = [f"{number}. {result.operation} — {result.check} [{result.suite}]"]
    lines += [f"   {text}" for text in result.message.strip().splitlines()]
    if result.expected:
        lines.append(f"   expected: {result.expected}")
    if result.actual:
        lines.append(f"   actual:   {result.actual}")
    if result.curl:
        lines.append("   reproduce:")
        lines += [f"     {text}" for text in result.curl.strip().splitlines()]
    return lines


def report_lines(
    results: list[Result], *, verbose: bool = False, fail_on_flaky: bool = False
) -> list[str]:
    """The terminal report: verdict, operations, failures in full, then the rest a line each."""
    lines = ["", verdict(results, fail_on_flaky)]
    operations = by_operation(results)
    if operations:
        body = [[o.operation, str(o.checks), str(o.failed), str(o.flaky)] for o in operations]
        lines += [""] + _table(["OPERATION", "CHECKS", "FAILED", "FLAKY"], body, right=1)
    if verbose and results:
        body = [
            [
                row.status.upper(),
                row.operation,
                row.check,
                str(row.counts[PASSED]),
                str(row.counts[FAILED] + row.counts[ERROR]),
                str(row.counts[FLAKY]),
            ]
            for row in summarise(results)
        ]
        headers = ["RESULT", "OPERATION", "CHECK", "PASSED", "FAILED", "FLAKY"]
        lines += [""] + _table(headers, body, right=3)
    found = failures(results)
    if found:
        lines += ["", "Failures:"]
        for number, result in enumerate(found, 1):
            lines += [""] + _failure_lines(number, result)
    for status, title in ((FLAKY, FLAKY_TITLE), (ASSUMPTION, ASSUMPTION_TITLE)):
        entries = grouped(results, status)
        if entries:
            lines += ["", f"{title}:"]
            for result, count in entries:
                times = f" (×{count})" if count > 1 else ""
                lines.append(f"  {result.operation} — {result.check}{times}: {result.headline}")
    skipped = grouped(results, SKIPPED)
    if skipped:
        lines += ["", "Skipped:"]
        lines += [f"  {r.operation} — {r.check}: {r.headline}" for r, _ in skipped]
    return lines


def print_report(
    results: list[Result], out: TextIO, *, verbose: bool = False, fail_on_flaky: bool = False
) -> None:
    """Print `report_lines` to `out`."""
    for line in report_lines(results, verbose=verbose, fail_on_flaky=fail_on_flaky):
        print(line, file=out)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def markdown(
    results: list[Result],
    *,
    target: str,
    seed: int | None,
    seconds: float,
    fail_on_flaky: bool = False,
    command: str = "check",
) -> str:
    """The report as Markdown for a CI job's summary page (GitHub's step summary, say)."""
    mark = "❌" if exit_code(results, fail_on_flaky) else "✅"
    rerun = "" if seed is None else f" · seed `{seed}` (rerun with `--seed {seed}`)"
    lines = [
        f"## {mark} patchworks-mock {command}: {verdict(results, fail_on_flaky)}",
        "",
        f"Target `{target}`{rerun} · {seconds:.0f} s",
        "",
        "| Operation | Checks | Failed | Flaky |",
        "| --- | ---: | ---: | ---: |",
    ]
    lines += [
        f"| `{_cell(o.operation)}` | {o.checks} | {o.failed} | {o.flaky} |"
        for o in by_operation(results)
    ]
    found = failures(results)
    if found:
        lines += ["", "### Failures", ""]
        for number, result in enumerate(found, 1):
            title = f"{number}. <code>{result.operation}</code> — {result.check}"
            lines += [f"<details><summary>{title}</summary>", "", "```text"]
            lines += _failure_lines(number, result)[1:]
            lines += ["```", "", "</details>"]
    for status, title in ((FLAKY, FLAKY_TITLE), (ASSUMPTION, ASSUMPTION_TITLE)):
        entries = grouped(results, status)
        if entries:
            heading, _, explanation = title.partition(": ")
            lines += ["", f"### {heading}", "", explanation[:1].upper() + explanation[1:] + ".", ""]
            lines += [
                f"- `{_cell(r.operation)}` — {r.check} (×{count}): {_cell(r.headline)}"
                for r, count in entries
            ]
    skipped = grouped(results, SKIPPED)
    if skipped:
        lines += ["", "### Skipped", ""]
        lines += [f"- `{_cell(r.operation)}` — {r.check}: {_cell(r.headline)}" for r, _ in skipped]
    return "\n".join(lines) + "\n"


def write_markdown(
    results: list[Result],
    path: str,
    *,
    target: str,
    seed: int | None,
    seconds: float,
    fail_on_flaky: bool = False,
    command: str = "check",
) -> None:
    """Write `markdown(...)` to `path`, appending (a CI summary file collects several steps)."""
    text = markdown(
        results,
        target=target,
        seed=seed,
        seconds=seconds,
        fail_on_flaky=fail_on_flaky,
        command=command,
    )
    with open(path, "a", encoding="utf-8") as file:
        file.write(text)


def _junit_text(related: list[Result]) -> str:
    return "\n\n".join(
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


def write_junit(
    results: list[Result],
    path: str,
    seed: int | None,
    fail_on_flaky: bool = False,
    command: str = "check",
) -> None:
    """A JUnit XML report: one suite per kind of test, one case per (operation, check).

    A flaky case is a failure with `--fail-on-flaky`, else it passes and says so in its
    `system-out`, as an assumption does: JUnit has no status for either.
    """
    failing = (FAILED, ERROR, FLAKY) if fail_on_flaky else (FAILED, ERROR)
    root = ET.Element("testsuites", name=f"patchworks-mock {command}")
    for suite in sorted({r.suite for r in results}):
        mine = [r for r in results if r.suite == suite]
        rows = summarise(mine)
        element = ET.SubElement(
            root,
            "testsuite",
            name=suite,
            tests=str(len(rows)),
            failures=str(sum(1 for row in rows if row.status in failing)),
            skipped=str(sum(1 for row in rows if row.status == SKIPPED)),
        )
        if seed is not None:
            ET.SubElement(
                ET.SubElement(element, "properties"), "property", name="seed", value=str(seed)
            )
        for row in rows:
            case = ET.SubElement(element, "testcase", classname=row.operation, name=row.check)
            related = _distinct(
                [r for r in mine if r.key == (row.operation, row.check)], (row.status,)
            )
            if row.status in failing:
                first = related[0].headline if related else row.check
                ET.SubElement(case, "failure", message=first).text = _junit_text(related)
            elif row.status == SKIPPED:
                ET.SubElement(case, "skipped", message=related[0].headline if related else "")
            elif row.status in (FLAKY, ASSUMPTION):
                ET.SubElement(case, "system-out").text = f"{row.status}:\n" + _junit_text(related)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)
