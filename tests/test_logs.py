"""`serve`'s log lines: all on stderr, and with `--log-format json` one object a line that names
each request's credential and sandbox by a short hash, never by the credential itself."""

import hashlib
import json
import logging
import signal
import subprocess
import sys
from datetime import UTC, datetime

import httpx
import pytest

from patchworks_mock import cli, logs

MAIN = "import sys; from patchworks_mock import cli; sys.exit(cli.main(sys.argv[1:]))"
KEYS = ["first-secret-key", "second-secret-key"]
TOM = {"username": "tom.okafor@example.com", "password": "battery-staple"}
REQUEST_FIELDS = {"time", "level", "method", "path", "query", "status", "ms", "key", "sandbox"}


def short_hash(text):
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def serve_json(*flags):
    """`cli.main(["serve", ...])` in a process on a free port: the process, its base URL and
    the log lines read so far (the banner)."""
    command = ["serve", "--port", "0", "--log-format", "json", *flags]
    process = subprocess.Popen(
        [sys.executable, "-c", MAIN, *command],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines = []
    for line in process.stderr:
        lines.append(line)
        message = json.loads(line).get("message", "")
        if message.strip().startswith("API:"):
            base = message.split()[1].removesuffix("/api/v1/packages")
        if message == "Press Ctrl-C to stop.":
            return process, base, lines
    process.kill()
    raise AssertionError(f"no banner: {lines}")


def test_json_lines_on_stderr_name_the_credential_and_sandbox_by_hash_only():
    flags = ["--isolate-keys", "--max-body-bytes", "1K"]
    process, base, lines = serve_json(*flags, "--api-key", KEYS[0], "--api-key", KEYS[1])
    try:
        with httpx.Client(base_url=base, timeout=10) as client:
            for key in KEYS:
                answer = client.get("/api/v1/packages?page=1", headers={"Authorization": key})
                assert answer.status_code == 200
            assert client.get("/api/v1/packages").status_code == 401
            token = client.post("/fabric/api/login", json=TOM).json()["token"]
            bearer = {"Authorization": f"Bearer {token}"}
            assert client.get("/api/v1/packages/1", headers=bearer).status_code == 200
            too_large = client.post("/api/v1/packages", headers=bearer, content=b"x" * 2048)
            assert too_large.status_code == 413  # refused outside the app's routing: logged too
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=20)
    assert process.returncode == 0 and out == ""  # stdout stays for data
    lines += err.splitlines()
    assert lines and all(secret not in line for line in lines for secret in [*KEYS, token])
    records = [json.loads(line) for line in lines]
    for record in records:
        assert datetime.fromisoformat(record["time"]).utcoffset() == UTC.utcoffset(None)
        assert record["level"] in {"debug", "info", "warning", "error", "critical"}
        assert "message" in record or set(record) == REQUEST_FIELDS, record
    messages = [record["message"] for record in records if "message" in record]
    assert "Started server process" in " ".join(messages)  # uvicorn's own lines, as JSON
    assert messages[-1] == "patchworks-mock stopped."
    requests = [
        (r["method"], r["path"], r["query"], r["status"], r["key"], r["sandbox"])
        for r in records
        if "method" in r
    ]
    assert requests == [
        ("GET", "/api/v1/packages", "page=1", 200, short_hash(KEYS[0]), short_hash(KEYS[0])),
        ("GET", "/api/v1/packages", "page=1", 200, short_hash(KEYS[1]), short_hash(KEYS[1])),
        ("GET", "/api/v1/packages", None, 401, None, None),
        ("POST", "/fabric/api/login", None, 200, None, None),
        ("GET", "/api/v1/packages/1", None, 200, short_hash(f"Bearer {token}"), short_hash(token)),
        ("POST", "/api/v1/packages", None, 413, short_hash(f"Bearer {token}"), None),
    ]
    assert all(isinstance(r["ms"], float) and r["ms"] >= 0 for r in records if "ms" in r)


def test_an_unknown_log_format_is_one_line_and_exit_2(capsys):
    with pytest.raises(SystemExit) as stopped:
        cli.main(["serve", "--log-format", "xml"])
    assert stopped.value.code == 2
    error = capsys.readouterr().err
    assert error.startswith("patchworks-mock: error: argument --log-format: invalid choice")
    assert error.count("\n") == 1


def test_a_json_line_keeps_an_error_and_its_traceback_on_one_line():
    try:
        raise ValueError("broken")
    except ValueError:
        record = logging.LogRecord(
            "patchworks_mock", logging.ERROR, __file__, 1, "failed: %s", ("x",), sys.exc_info()
        )
    line = logs.JsonLines().format(record)
    assert "\n" not in line
    parsed = json.loads(line)
    assert parsed["level"] == "error" and parsed["message"] == "failed: x"
    assert "ValueError: broken" in parsed["exception"]
