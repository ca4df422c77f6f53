"""The real `serve` command, as a user runs it: a process on a loopback port."""

import json
import os
import signal
import socket
import subprocess
import sys

import httpx
import pytest

from patchworks_mock import bundled

SERVE = [sys.executable, "-m", "patchworks_mock", "serve", "--host", "127.0.0.1"]


def start(*args, env=None):
    process = subprocess.Popen(
        [*SERVE, "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )
    banner = []
    for line in process.stderr:  # log lines, the banner with them, are on stderr
        banner.append(line)
        if line.startswith("Press Ctrl-C"):
            break
    else:
        raise AssertionError(f"no banner: {banner} {process.stdout.read()}")
    url = next(line.split()[1] for line in banner if line.strip().startswith("API:"))
    return process, url.removesuffix("/api/v1/packages"), "".join(banner)


def stop(process):
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=15)
    return process.returncode, out, err


def test_serve_prints_where_and_how_then_serves_and_stops_cleanly():
    process, base, banner = start()
    try:
        assert "patchworks-mock-key" in banner and f"{base}/ui/" in banner
        response = httpx.get(
            f"{base}/api/v1/packages", headers={"Authorization": "patchworks-mock-key"}
        )
        assert response.status_code == 200 and response.json()["meta"]["total"] == 5
        assert "http://127.0.0.1" in response.json()["links"]["first"]
    finally:
        code, out, err = stop(process)
    assert code == 0
    assert "Traceback" not in err
    assert '"GET /api/v1/packages HTTP/1.1" 200 OK' in err  # one line a request
    assert "patchworks-mock stopped." in err and out == ""  # stdout stays for data


def test_serve_takes_keys_from_flags_or_the_environment():
    process, base, banner = start("--api-key", "one", "--api-key", "two")
    try:
        assert "patchworks-mock-key" not in banner
        for key, status in [("two", 200), ("patchworks-mock-key", 401)]:
            response = httpx.get(f"{base}/api/v1/packages", headers={"Authorization": key})
            assert response.status_code == status
    finally:
        stop(process)
    process, base, _ = start(env={"PATCHWORKS_MOCK_API_KEY": "from-env"})
    try:
        response = httpx.get(f"{base}/api/v1/packages", headers={"Authorization": "from-env"})
        assert response.status_code == 200
    finally:
        stop(process)


def run(*args):
    return subprocess.run([*SERVE, *args], capture_output=True, text=True, timeout=60)


def test_a_taken_port_is_one_line_and_exit_2():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run("--port", str(port))
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr


def test_a_bad_fixture_is_one_line_naming_file_place_and_reason(tmp_path):
    document = json.loads(bundled.DEFAULT_FIXTURES.read_text())
    document["packages"][2]["created_by_id"] = 42
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(document))
    result = run("--fixtures", str(bad))
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"patchworks-mock: error: {bad}: $.packages[2].created_by_id: no record with id 42 in users"
    )


@pytest.mark.parametrize(
    ("content", "reason"),
    [(None, "cannot read the file"), ("{", "not valid JSON"), ("[]", "is not of type 'object'")],
)
def test_unreadable_or_malformed_fixtures_exit_2(tmp_path, content, reason):
    path = tmp_path / "fixture.json"
    if content is not None:
        path.write_text(content)
    result = run("--fixtures", str(path))
    assert result.returncode == 2
    assert reason in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("args", [["--port", "70000"], ["--port", "x"], ["--bogus"]])
def test_bad_flags_exit_2(args):
    result = run(*args)
    assert result.returncode == 2
    assert "error:" in result.stderr and "Traceback" not in result.stderr


def test_help_describes_every_flag():
    result = subprocess.run(
        [sys.executable, "-m", "patchworks_mock", "serve", "--help"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0
    for flag in ["--host", "--port", "--fixtures", "--api-key", "--log-level"]:
        assert flag in result.stdout
