"""A client's own test run with the pytest plugin: no notice of the mock's, even with `-W error`
(connexion_internals A9), and no warning filter of the user's changed."""

import os
import subprocess
import sys

USERS_TEST = """
import warnings

import httpx


def test_my_client(patchworks_mock):
    answer = httpx.get(f"{patchworks_mock.url}/api/v1/packages", headers=patchworks_mock.headers)
    assert answer.status_code == 200


def test_my_filters_are_mine():
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("default")
        warnings.warn_explicit("mine", DeprecationWarning, "connexion/json_schema.py", 1,
                               module="connexion.json_schema")
    assert len(seen) == 1
"""


def run_pytest(project, *options):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *options],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_users_run_passes_with_w_error_and_shows_no_notice_of_the_mock(tmp_path):
    (tmp_path / "test_client.py").write_text(USERS_TEST, encoding="utf-8")
    result = run_pytest(tmp_path, "-rA", "-W", "error")  # any notice would fail the run
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "2 passed" in output, output
    assert "Warning" not in output and "warnings summary" not in output, output
