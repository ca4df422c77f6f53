"""The GitHub Actions recipes in examples/github-actions/ work as a team would copy them.

Each workflow is parsed and its structure checked, then its `run:` steps are run with bash, in
order, as a GitHub runner would: `${{ ... }}` expressions substituted (the secrets become a
mock served here on 127.0.0.1), `env:` blocks applied, `$GITHUB_STEP_SUMMARY` a file, a step
after a failure run only when its `if:` says so. Install steps (named "Install ...") and
`uses:` steps are not run: the package is installed already, and the actions are GitHub's.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement

from patchworks_mock.app import create_app
from patchworks_mock.faults import PlannedFault
from patchworks_mock.server import serving

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
WORKFLOWS = EXAMPLES / "github-actions"
CONTRACT_CHECK = WORKFLOWS / "contract-check.yml"
CLIENT_TESTS = WORKFLOWS / "client-tests.yml"
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
KEY = "ci-example-key"


def load(path: Path) -> dict:
    workflow = yaml.safe_load(path.read_text(encoding="utf-8"))
    # YAML 1.1 reads the key `on` as True
    workflow["on"] = workflow.pop(True, workflow.get("on"))
    return workflow


def only_job(workflow: dict) -> dict:
    (job,) = workflow["jobs"].values()
    return job


def expressions(path: Path) -> set[str]:
    return set(EXPRESSION.findall(path.read_text(encoding="utf-8")))


def substitute(text: str, values: dict[str, str]) -> str:
    """Replace every `${{ expr }}`; an expression the test was not told about fails it."""

    def value(match: re.Match[str]) -> str:
        assert match.group(1) in values, f"no value for the expression {match.group(0)}"
        return values[match.group(1)]

    return EXPRESSION.sub(value, text)


def step_named(job: dict, start: str) -> dict:
    (step,) = [s for s in job["steps"] if s.get("name", "").startswith(start)]
    return step


@dataclass
class JobRun:
    """What happened to each step: its exit code, "uses" or "install" (would run, not run
    here) or "skipped" (its `if:` says no); and whether the job failed."""

    outcomes: list[tuple[str, int | str]] = field(default_factory=list)
    output: list[str] = field(default_factory=list)
    failed: bool = False

    def outcome(self, start: str) -> int | str:
        (found,) = [o for name, o in self.outcomes if name.startswith(start)]
        return found


def should_run(condition: str | None, failed: bool) -> bool:
    """GitHub's rule for a step's `if:`; none means `success()`."""
    assert condition in (None, "success()", "failure()", "always()"), condition
    return condition == "always()" or failed == (condition == "failure()")


def run_job(workflow: dict, values: dict[str, str], cwd: Path, summary: Path) -> JobRun:
    """Run the only job's steps as a GitHub runner does, with bash in `cwd`."""
    job = only_job(workflow)
    assert job["defaults"]["run"]["shell"] == "bash"
    base = {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "HOME": str(cwd),
        "CI": "true",
        "GITHUB_ACTIONS": "true",
        "GITHUB_STEP_SUMMARY": str(summary),
        **{k: substitute(str(v), values) for k, v in workflow.get("env", {}).items()},
        **{k: substitute(str(v), values) for k, v in job.get("env", {}).items()},
    }
    run = JobRun()
    for step in job["steps"]:
        name = step.get("name") or step["uses"]
        if not should_run(step.get("if"), run.failed):
            run.outcomes.append((name, "skipped"))
            continue
        if "uses" in step or name.startswith("Install"):
            run.outcomes.append((name, "uses" if "uses" in step else "install"))
            continue
        env = {**base, **{k: substitute(str(v), values) for k, v in step.get("env", {}).items()}}
        # GitHub runs `shell: bash` as `bash --noprofile --norc -eo pipefail {0}`
        done = subprocess.run(
            [
                "bash",
                "--noprofile",
                "--norc",
                "-eo",
                "pipefail",
                "-c",
                substitute(step["run"], values),
            ],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        run.outcomes.append((name, done.returncode))
        run.output.append(done.stdout + done.stderr)
        run.failed = run.failed or done.returncode != 0
    return run


def junit_counts(path: Path) -> dict[str, int]:
    root = ET.parse(path).getroot()
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    assert suites, "no <testsuite> in the JUnit file"
    return {
        key: sum(int(suite.get(key, 0)) for suite in suites)
        for key in ("tests", "failures", "errors")
    }


# --- structure --------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [CONTRACT_CHECK, CLIENT_TESTS], ids=lambda p: p.name)
def test_workflows_are_runnable_as_copied(path: Path) -> None:
    workflow = load(path)
    job = only_job(workflow)
    assert workflow["permissions"] == {"contents": "read"}
    assert job["runs-on"] == "ubuntu-latest"
    assert job["timeout-minutes"] <= 30  # a hung server does not hold a runner for six hours
    python = [s for s in job["steps"] if s.get("uses", "").startswith("actions/setup-python@")]
    # a string: the number 3.10 would be read as 3.1
    assert [s["with"]["python-version"] for s in python] == ["3.11"]
    install = step_named(job, "Install")
    assert '"$PATCHWORKS_MOCK"' in install["run"]
    # the example pins the release it documents; a version bump moves the pin too
    pin = Requirement(workflow["env"]["PATCHWORKS_MOCK"])
    assert pin.name == "patchworks-mock"
    assert pin.url is not None and pin.url.startswith("git+https://")
    assert pin.url.endswith(f"@v{version('patchworks-mock')}"), pin.url
    upload = [s for s in job["steps"] if s.get("uses", "").startswith("actions/upload-artifact@")]
    assert len(upload) == 1 and upload[0]["if"] == "always()"
    assert upload[0] is job["steps"][-1]


def test_contract_check_structure() -> None:
    workflow = load(CONTRACT_CHECK)
    # it needs the secrets, which pull requests from forks do not get; it runs on demand and
    # on a schedule
    assert set(workflow["on"]) == {"workflow_dispatch", "schedule"}
    assert expressions(CONTRACT_CHECK) == {"secrets.PATCHWORKS_URL", "secrets.PATCHWORKS_API_KEY"}
    job = only_job(workflow)
    check = step_named(job, "Check")
    assert check["env"] == {
        "PATCHWORKS_URL": "${{ secrets.PATCHWORKS_URL }}",
        "PATCHWORKS_API_KEY": "${{ secrets.PATCHWORKS_API_KEY }}",
    }
    command = check["run"]
    assert "patchworks-mock check --read-only" in command
    assert '--url "$PATCHWORKS_URL"' in command
    assert "--api-key" not in command  # the key comes from the environment only
    assert '--report "$GITHUB_STEP_SUMMARY"' in command
    junit = re.search(r"--junit-xml (\S+)", command)
    assert junit is not None
    upload = job["steps"][-1]
    assert upload["with"]["path"] == junit.group(1)
    assert "--profile quick" in workflow["env"]["CHECK_ARGS"]


def test_client_tests_structure() -> None:
    workflow = load(CLIENT_TESTS)
    assert set(workflow["on"]) == {"push", "pull_request"}
    assert expressions(CLIENT_TESTS) == set()  # no secrets: the mock runs inside the tests
    job = only_job(workflow)
    assert job["steps"][0]["uses"].startswith("actions/checkout@")
    tests = step_named(job, "Run the client's tests")
    junit = re.search(r"--junit-xml (\S+)", tests["run"])
    assert junit is not None
    assert job["steps"][-1]["with"]["path"] == junit.group(1)


# --- running the steps ------------------------------------------------------------------------


def run_contract_check(tmp_path: Path, app, key: str = KEY) -> tuple[JobRun, Path]:
    summary = tmp_path / "summary.md"
    summary.write_text("")
    with serving(app) as url:
        values = {"secrets.PATCHWORKS_URL": url, "secrets.PATCHWORKS_API_KEY": key}
        run = run_job(load(CONTRACT_CHECK), values, tmp_path, summary)
    return run, summary


def test_contract_check_against_a_conforming_server(tmp_path: Path) -> None:
    run, summary = run_contract_check(tmp_path, create_app(api_keys=[KEY]))
    assert run.outcome("Check") == 0, run.output
    assert not run.failed
    assert run.outcome("Keep the JUnit report") == "uses"
    counts = junit_counts(tmp_path / "contract-check.xml")
    assert counts["tests"] > 0 and counts["failures"] == counts["errors"] == 0
    text = summary.read_text(encoding="utf-8")
    assert text.startswith("## ✅ patchworks-mock check: CONFORMS"), text
    assert "| Operation | Checks | Failed | Flaky |" in text
    assert KEY not in text + "".join(run.output)


def test_contract_check_fails_the_job_and_still_reports(tmp_path: Path) -> None:
    app = create_app(api_keys=[KEY])
    app.state.planned_faults.append(
        PlannedFault(500, times=1_000_000, method="GET", path="/api/v1/packages/*")
    )
    run, summary = run_contract_check(tmp_path, app)
    assert run.outcome("Check") == 1, run.output
    assert run.failed
    assert run.outcome("Keep the JUnit report") == "uses"  # `if: always()`: still uploaded
    assert junit_counts(tmp_path / "contract-check.xml")["failures"] > 0
    text = summary.read_text(encoding="utf-8")
    assert text.startswith("## ❌ patchworks-mock check:"), text
    assert "### Failures" in text


def test_contract_check_that_cannot_run_says_why_on_the_summary(tmp_path: Path) -> None:
    run, summary = run_contract_check(tmp_path, create_app(api_keys=[KEY]), key="not-the-key")
    assert run.outcome("Check") == 2, run.output
    assert run.failed
    assert run.outcome("Keep the JUnit report") == "uses"
    assert not (tmp_path / "contract-check.xml").exists()
    text = summary.read_text(encoding="utf-8")
    assert text.startswith("## ⚠️ patchworks-mock check could not run"), text
    assert "refused the API key (401)" in text
    assert "not-the-key" not in text
    assert "refused the API key (401)" in run.output[0]  # in the step's log as well


def test_client_tests_run_the_example_client_tests(tmp_path: Path) -> None:
    # a client's repository as the workflow checks it out: its code and its tests/
    (tmp_path / "tests").mkdir()
    for name in ("packages_client.py", "test_packages_client.py"):
        shutil.copy(EXAMPLES / name, tmp_path / "tests" / name)
    summary = tmp_path / "summary.md"
    run = run_job(load(CLIENT_TESTS), {}, tmp_path, summary)
    assert run.outcome("Run the client's tests") == 0, run.output
    assert run.outcome("Install") == "install"
    counts = junit_counts(tmp_path / "client-tests.xml")
    expected = (EXAMPLES / "test_packages_client.py").read_text().count("\ndef test_")
    assert counts == {"tests": expected, "failures": 0, "errors": 0}
