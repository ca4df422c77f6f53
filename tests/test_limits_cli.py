"""`serve`'s limit flags: validated (one line, exit 2), and used by the running server."""

import socket
import subprocess
import sys

import httpx
import pytest

from patchworks_mock import cli
from tests.support import one_error_line
from tests.test_cli import start, stop

KEY = {"Authorization": "patchworks-mock-key"}
FLAGS = [
    "--max-header-bytes",
    "--max-body-bytes",
    "--max-target-bytes",
    "--journal-bytes",
    "--max-query-keys",
    "--max-sandboxes",
    "--max-tokens",
    "--max-planned-faults",
    "--header-timeout",
]


@pytest.mark.parametrize("flag", FLAGS)
@pytest.mark.parametrize("value", ["0", "-1", "x", "1.5.5", "16Q", ""])
def test_a_bad_limit_is_one_line_and_exit_2(flag, value, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["serve", "--port", "0", flag, value])
    assert exit_info.value.code == 2
    assert flag in one_error_line(capsys.readouterr().err)


def test_sizes_take_binary_units():
    args = cli.parser().parse_args(
        ["serve", "--max-body-bytes", "8M", "--journal-bytes", "64KiB", "--max-header-bytes", "100"]
    )
    assert (args.max_body_bytes, args.journal_bytes, args.max_header_bytes) == (
        8 << 20,
        64 << 10,
        100,
    )


def test_help_lists_every_limit():
    result = subprocess.run(
        [sys.executable, "-m", "patchworks_mock", "serve", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    for flag in FLAGS:
        assert flag in result.stdout


def test_serve_applies_the_limits_it_is_given():
    process, url, _ = start(
        "--max-body-bytes",
        "1K",
        "--max-header-bytes",
        "2K",
        "--max-planned-faults",
        "1",
        "--header-timeout",
        "0.5",
        "--log-level",
        "warning",
    )
    try:
        with httpx.Client(base_url=url, headers=KEY, timeout=10) as client:
            big = client.post("/api/v1/packages", json={"name": "x", "notes": "n" * 2000})
            assert big.status_code == 413
            assert client.get("/api/v1/packages", headers={"X-Pad": "p" * 3000}).status_code == 431
            assert client.post("/__mock__/faults", json={"status": 503}).status_code == 201
            assert client.post("/__mock__/faults", json={"status": 503}).status_code == 422
        host, port = url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            sock.sendall(b"GET /api/v1/pack")
            assert sock.recv(100) == b""  # closed after the header timeout, not the recv's
    finally:
        code, _, err = stop(process)
    assert code == 0, err


@pytest.mark.parametrize(
    "flag, value",
    [
        ("--max-body-bytes", "9" * 5000),
        ("--max-planned-faults", "1" * 5000),
        ("--journal-size", "²"),
        ("--rate-limit", "²/min"),
        ("--rate-limit", "9" * 5000 + "/min"),
        ("--max-throttle-windows", "0"),
    ],
)
def test_numbers_no_count_can_hold_are_one_line_and_exit_2(flag, value):
    result = subprocess.run(
        [sys.executable, "-m", "patchworks_mock", "serve", flag, value],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    line = one_error_line(result.stderr)
    assert flag in line and len(line) < 300


def test_the_longest_prefer_delay_is_a_flag():
    from starlette.testclient import TestClient

    from patchworks_mock import errors
    from patchworks_mock.app import create_app
    from patchworks_mock.faults import FaultSettings

    app = create_app(faults=FaultSettings(max_delay_ms=5))
    client = TestClient(app, headers={"Authorization": "patchworks-mock-key"})
    refused = client.get("/api/v1/packages", headers={"Prefer": "delay=6"})
    assert refused.status_code == 400
    assert refused.json() == {"message": errors.delay_over_limit(6, 5)}
    assert client.get("/api/v1/packages", headers={"Prefer": "delay=5"}).status_code == 200
    assert cli.parser().parse_args(["serve", "--max-delay", "5"]).max_delay == 5
