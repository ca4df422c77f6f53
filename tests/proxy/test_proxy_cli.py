"""`patchworks-mock proxy` as a user runs it: a process in front of a running mock, its
refusals of bad options, its log lines, and its report and exit code when it is stopped."""

from __future__ import annotations

import json
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import httpx
import pytest
import trustme

from patchworks_mock.app import create_app
from tests.proxy.support import KEY, VIOLATIONS, served
from tests.support import one_error_line

PROXY = [sys.executable, "-m", "patchworks_mock", "--no-config", "proxy"]
UPSTREAM = "http://127.0.0.1:9"  # never reached by the refused commands
PACKAGES = "/api/v1/packages"


def refused(*args: str) -> str:
    """The one error line of a `proxy` command that must not start; exit 2, nothing on stdout."""
    result = subprocess.run([*PROXY, *args], capture_output=True, text=True, timeout=60)
    assert (result.returncode, result.stdout) == (2, ""), result
    return one_error_line(result.stderr)


def test_without_upstream_it_says_it_needs_one() -> None:
    assert "the proxy needs --upstream URL" in refused("--port", "0")


@pytest.mark.parametrize("url", ["core.wearepatchworks.com", "ftp://example.com", "http://", "x"])
def test_an_upstream_that_is_not_an_http_url_is_refused(url: str) -> None:
    line = refused("--upstream", url, "--port", "0")
    assert f"'{url}' is not an http:// or https:// URL" in line


def test_an_upstream_ca_that_is_missing_or_not_pem_is_refused(tmp_path: Path) -> None:
    missing = tmp_path / "missing.pem"
    line = refused("--upstream", "https://127.0.0.1:9", "--upstream-ca", str(missing))
    assert f"--upstream-ca {missing}: not a readable PEM certificate" in line
    not_pem = tmp_path / "not.pem"
    not_pem.write_text("-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n")
    line = refused("--upstream", "https://127.0.0.1:9", "--upstream-ca", str(not_pem))
    assert f"--upstream-ca {not_pem}: not a readable PEM certificate" in line


def test_an_upstream_ca_with_insecure_is_refused(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    trustme.CA().cert_pem.write_to_path(str(ca))
    line = refused("--upstream", "https://127.0.0.1:9", "--upstream-ca", str(ca), "--insecure")
    assert "--insecure" in line and "--upstream-ca" in line and "not allowed" in line


@pytest.mark.parametrize("flag", ["--report", "--junit-xml"])
def test_a_report_path_that_cannot_be_written_is_refused_before_anything_starts(
    flag: str, tmp_path: Path
) -> None:
    for path in (tmp_path / "no-such-folder" / "r.out", tmp_path):  # no folder; a folder
        line = refused("--upstream", UPSTREAM, "--port", "0", flag, str(path))
        assert f"{flag} {path}: " in line


def test_a_port_that_is_taken_is_refused() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        line = refused("--upstream", UPSTREAM, "--port", str(port))
    assert f"cannot listen on 127.0.0.1:{port}" in line


class Running:
    """A `proxy` process; its stdout and stderr read by threads, so that no read can hang."""

    def __init__(self, *args: str) -> None:
        self.process = subprocess.Popen(
            [*PROXY, "--port", "0", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.err: queue.Queue[str] = queue.Queue()
        self.out: list[str] = []
        self.err_lines: list[str] = []
        assert self.process.stdout is not None and self.process.stderr is not None
        self._readers = [
            threading.Thread(target=self._read, args=(self.process.stderr, self.err), daemon=True),
            threading.Thread(target=self._collect, args=(self.process.stdout,), daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    def _read(self, stream: IO[str], into: queue.Queue[str]) -> None:
        for line in stream:
            into.put(line)

    def _collect(self, stream: IO[str]) -> None:
        self.out.extend(stream)

    def wait_for(self, found: Callable[[str], Any], timeout: float = 30) -> Any:
        """The first value `found` gives for a new stderr line (not None/False)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.err.get(timeout=0.1)
            except queue.Empty:
                if self.process.poll() is not None:
                    break
                continue
            self.err_lines.append(line)
            value = found(line)
            if value:
                return value
        raise AssertionError(f"not seen on stderr: {self.err_lines}")

    def stop(self) -> tuple[int, str, str]:
        """SIGTERM, as a CI job ends it: its exit code, stdout and the rest of stderr."""
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=30)
        for reader in self._readers:
            reader.join(timeout=10)
        while not self.err.empty():
            self.err_lines.append(self.err.get())
        return code, "".join(self.out), "".join(self.err_lines)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


def _banner_url(line: str) -> str | None:
    """The proxy's URL from its first banner line, as text or in a JSON line."""
    if line.startswith("{"):
        line = json.loads(line).get("message", "")
    if line.startswith("patchworks-mock proxy: "):
        return line.split()[2]
    return None


@contextmanager
def proxy_process(*args: str) -> Iterator[tuple[Running, str, str]]:
    """A mock in this process, and a `proxy` process in front of it on a free port; yields
    (the process, its URL, the mock's URL). A process still running at the end is killed."""
    with served(create_app()) as upstream:
        running = Running("--upstream", upstream.url, *args)
        try:
            url = running.wait_for(_banner_url)
            running.wait_for(lambda line: "Press Ctrl-C" in line)
            yield running, url, upstream.url
        finally:
            running.kill()


EXCHANGE_LINE = re.compile(r'"(\w+) (\S+)" (\d{3}) \d+\.\d ms: (.+)$')


def exchange_lines(err: str) -> list[tuple[str, ...]]:
    """(method, target, status, verdict) of each exchange's log line, in order."""
    found = (EXCHANGE_LINE.search(line) for line in err.splitlines())
    return [match.groups() for match in found if match]


def test_a_run_that_broke_the_contract_reports_it_and_exits_1(tmp_path: Path) -> None:
    report, junit = tmp_path / "r.md", tmp_path / "j.xml"
    with proxy_process("--report", str(report), "--junit-xml", str(junit)) as (running, url, _):
        with httpx.Client(base_url=url, timeout=10) as client:
            good = client.get(PACKAGES, headers=KEY)
            bad = client.get(PACKAGES)  # no Authorization
        code, out, err = running.stop()
    assert good.status_code == 200 and VIOLATIONS not in good.headers
    assert bad.status_code == 401 and bad.headers[VIOLATIONS] == "1"
    assert code == 1, (out, err)
    assert "DOES NOT CONFORM" in out and "request_conforms" in out
    assert "DOES NOT CONFORM" in report.read_text() and "request_conforms" in report.read_text()
    suite = ElementTree.parse(junit).getroot()
    failed = [case for case in suite.iter("testcase") if case.find("failure") is not None]
    assert any("request_conforms" in ElementTree.tostring(case, "unicode") for case in failed)
    assert "Traceback" not in err
    assert exchange_lines(err) == [
        ("GET", PACKAGES, "200", "conforms"),
        ("GET", PACKAGES, "401", "1 violation"),
    ]


def test_a_run_of_good_requests_conforms_and_exits_0() -> None:
    with proxy_process() as (running, url, _), httpx.Client(base_url=url, timeout=10) as client:
        answers = [
            client.get(PACKAGES, headers=KEY),
            client.get(f"{PACKAGES}/1", headers=KEY),
            client.get(PACKAGES, params={"per_page": 2, "page": 2}, headers=KEY),
        ]
        code, out, err = running.stop()
    assert [a.status_code for a in answers] == [200] * 3
    assert code == 0, (out, err)
    assert "CONFORMS" in out and "DOES NOT CONFORM" not in out
    assert exchange_lines(err) == [
        ("GET", PACKAGES, "200", "conforms"),
        ("GET", f"{PACKAGES}/1", "200", "conforms"),
        ("GET", f"{PACKAGES}?per_page=2&page=2", "200", "conforms"),
    ]
    assert "Traceback" not in err
    assert "patchworks-mock proxy stopped after 3 exchanges, 0 of which broke" in err


def test_json_logs_are_one_object_per_exchange() -> None:
    with (
        proxy_process("--log-format", "json") as (running, url, _),
        httpx.Client(base_url=url, timeout=10) as client,
    ):
        client.get(PACKAGES, headers=KEY)
        client.get(f"{PACKAGES}/999999", headers=KEY)
        client.post(PACKAGES, json={"name": "x" * 300}, headers=KEY)
        code, out, err = running.stop()
    assert code == 1, (out, err)
    records = [json.loads(line) for line in err.splitlines()]  # every line a JSON object
    exchanges = [r for r in records if "method" in r]
    assert [(r["method"], r["path"], r["status"]) for r in exchanges] == [
        ("GET", PACKAGES, 200),
        ("GET", f"{PACKAGES}/999999", 404),
        ("POST", PACKAGES, 422),
    ]
    assert [r["verdict"] for r in exchanges] == ["conforms", "conforms", "1 violation"]
    assert all(isinstance(r["ms"], int | float) and r["ms"] >= 0 for r in exchanges)
    [violation] = exchanges[2]["violations"]
    assert violation["check"] == "request_conforms"
    assert "Traceback" not in err
