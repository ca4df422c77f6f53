"""The servers under test: start the mock, Prism or the proxy, wait until it answers, talk to
it, stop it.

Each runs as a real process on a free loopback port, as a user would run them, so that the
figures include the HTTP server and the startup time is what a user waits for.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import API_KEY, REPO, BenchError
from bench.fixtures import Fixture

SPEC = REPO / "openapi" / "packages.yaml"
READY_PATH = "/api/v1/packages"  # startup ends at the first 2xx answer to this
START_TIMEOUT_S = 120  # the mock loads a 100,000-package store in a few seconds


def free_port() -> int:
    """A loopback port nothing listens on (the OS picks it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def call(method: str, url: str, body: dict | None = None, timeout: float = 30) -> tuple[int, Any]:
    """One request with the benchmark's key; (status, decoded JSON or None)."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Authorization", API_KEY)
    request.add_header("Accept", "application/json")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            raw = answer.read()
            status = answer.status
    except urllib.error.HTTPError as exc:
        raw, status = exc.read(), exc.code
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:
        return status, None


def rss_mb(pid: int) -> float | None:
    """Resident memory of a process from /proc/PID/status (VmRSS), in MB (10^6 bytes)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024 / 1e6
    except OSError:
        return None
    return None


@dataclass
class Server:
    """A server process under test, its base URL and how long it took to answer."""

    name: str
    process: subprocess.Popen
    base: str
    log: Path
    startup_s: float = 0.0
    dirty: bool = False  # a write scenario ran since the last reset

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self) -> None:
        """Ctrl-C (SIGINT) the process we started, then SIGKILL it if it lingers."""
        if self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


def start(name: str, command: list[str], port: int, log: Path) -> Server:
    """Start `command` and wait for a 2xx answer on `port`; the time it took is startup."""
    base = f"http://127.0.0.1:{port}"
    handle = log.open("w")
    started = time.monotonic()
    process = subprocess.Popen(
        command, cwd=REPO, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
    )
    handle.close()
    server = Server(name, process, base, log)
    deadline = started + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log.read_text(errors="replace").strip().splitlines()[-1:] or ["no output"]
            raise BenchError(f"{name} exited with {process.returncode}: {tail[0]}")
        try:
            status, _ = call("GET", base + READY_PATH, timeout=2)
        except OSError:
            status = 0
        if 200 <= status < 300:
            server.startup_s = time.monotonic() - started
            return server
        time.sleep(0.02)
    server.stop()
    raise BenchError(
        f"{name} did not answer {READY_PATH} within {START_TIMEOUT_S:.0f} s; see {log}"
    )


def start_mock(python: str, log_level: str, fixture: Fixture, logs: Path) -> Server:
    """The mock (`python -m patchworks_mock serve`) on `fixture`, with the benchmark's key."""
    port = free_port()
    command = [python, "-m", "patchworks_mock", "serve", "--port", str(port)]
    command += ["--fixtures", str(fixture.path), "--api-key", API_KEY, "--log-level", log_level]
    return start("mock", command, port, logs / f"mock-{fixture.packages}.log")


def start_prism(prism: list[str], log_level: str, logs: Path) -> Server:
    """Prism's mock server on the same spec (it answers with the spec's static examples)."""
    port = free_port()
    command = [*prism, "mock", str(SPEC), "-p", str(port), "-h", "127.0.0.1"]
    command += ["-v", log_level]
    return start("prism", command, port, logs / "prism.log")


def start_proxy(python: str, log_level: str, upstream: Server, logs: Path) -> Server:
    """`patchworks-mock proxy` in front of `upstream`; it is ready once a get through it is
    answered, so its startup time includes the upstream's answer."""
    port = free_port()
    command = [python, "-m", "patchworks_mock", "proxy", "--upstream", upstream.base]
    command += ["--port", str(port), "--log-level", log_level]
    return start("proxy", command, port, logs / "proxy.log")
