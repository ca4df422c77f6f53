"""`serve --state-file` as a real process: `kill -9` under concurrent writes, a disk that fills.

Traffic goes to 127.0.0.1 only; every loop is bounded in time and count.
"""

import os
import random
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from patchworks_mock import errors

KEY = {"Authorization": "patchworks-mock-key"}
COMMAND = Path(sys.executable).with_name("patchworks-mock")
GONE = None  # the expected "name" of a deleted package


def serve(state_file):
    """Start the mock on a free loopback port; its process and base URL."""
    process = subprocess.Popen(
        [COMMAND, "serve", "--port", "0", "--log-level", "warning", "--state-file", state_file],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,  # the banner, with the log lines
        text=True,
    )
    base = None
    deadline = time.monotonic() + 30
    for line in process.stderr:
        if line.strip().startswith("API:"):
            base = line.split()[1].removesuffix("/api/v1/packages")
        if line.startswith("Press Ctrl-C") and base is not None:
            return process, base
        if time.monotonic() > deadline:
            break
    process.kill()
    raise AssertionError(f"the mock did not start on {state_file}")


def kill_9(process):
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=10)
    process.stderr.close()


def saved_names(state_file):
    """The packages' names after a restart on `state_file`, by id."""
    process, base = serve(state_file)
    try:
        document = httpx.get(f"{base}/__mock__/state", headers=KEY, timeout=10).json()
    finally:
        kill_9(process)
    return {p["id"]: p["name"] for p in document["packages"]}


@dataclass
class Ledger:
    """What the server answered, per package: the acknowledged name (GONE once deleted), the
    refused writes, and the writes whose answer was lost to the kill (either outcome is
    right for those)."""

    acknowledged: dict[int, str | None] = field(default_factory=dict)
    refused_names: set[str] = field(default_factory=set)  # creates and renames answered 503
    refused_deletes: set[int] = field(default_factory=set)
    in_doubt: dict[int, str | None] = field(default_factory=dict)
    created_in_doubt: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)
    unexpected: list[str] = field(default_factory=list)

    def check(self, names: dict[int, str]) -> None:
        assert not self.unexpected, self.unexpected
        for package, name in self.acknowledged.items():
            allowed = {name}
            if package in self.in_doubt:
                allowed.add(self.in_doubt[package])
            assert names.get(package) in allowed, (package, names.get(package), allowed)
        known = set(self.acknowledged)
        for package, name in names.items():
            assert name not in self.refused_names, f"refused write of {name!r} was kept"
            if package not in known and name.startswith("w-"):
                assert name in self.created_in_doubt, f"{package} {name!r} was never answered"
        # What was in doubt is settled now: what the restarted server has.
        for package in self.in_doubt:
            self.acknowledged[package] = names.get(package)
        for package, name in names.items():
            if name in self.created_in_doubt:
                self.acknowledged[package] = name
        self.in_doubt.clear()
        self.created_in_doubt.clear()


def writer(base, ledger, tag, stop, seed):
    """Create, rename and delete its own packages until `stop` or the server is gone."""
    chance = random.Random(seed)
    mine: list[int] = []
    with httpx.Client(base_url=base, headers=KEY, timeout=10) as client:
        for n in range(100_000):
            if stop.is_set():
                return
            name = f"w-{tag}-{n}"
            kind = "create" if len(mine) < 3 else chance.choice(["create", "rename", "delete"])
            package = None if kind == "create" else chance.choice(mine)
            try:
                if kind == "create":
                    with ledger.lock:
                        ledger.created_in_doubt.add(name)
                    answer = client.post(
                        "/api/v1/packages", json={"name": name, "notes": "x" * 200}
                    )
                elif kind == "rename":
                    with ledger.lock:
                        ledger.in_doubt[package] = name
                    answer = client.put(f"/api/v1/packages/{package}", json={"name": name})
                else:
                    with ledger.lock:
                        ledger.in_doubt[package] = GONE
                    answer = client.delete(f"/api/v1/packages/{package}")
            except httpx.TransportError:
                return  # killed: the write stays in doubt
            with ledger.lock:
                ledger.created_in_doubt.discard(name)
                if package is not None:
                    del ledger.in_doubt[package]
                if answer.status_code == 503:
                    if (
                        answer.json() != {"message": errors.STATE_NOT_SAVED}
                        or answer.headers.get("Retry-After") != "1"
                    ):
                        ledger.unexpected.append(f"503 of the wrong shape: {answer.text}")
                    if kind == "delete":
                        ledger.refused_deletes.add(package)
                    else:
                        ledger.refused_names.add(name)
                elif answer.status_code >= 300:
                    ledger.unexpected.append(
                        f"{kind} {package}: {answer.status_code} {answer.text}"
                    )
                    return
                elif kind == "create":
                    created = answer.json()["data"]["id"]
                    ledger.acknowledged[created] = name
                    mine.append(created)
                elif kind == "rename":
                    ledger.acknowledged[package] = name
                else:
                    ledger.acknowledged[package] = GONE
                    mine.remove(package)


def test_no_acknowledged_write_is_lost_to_kill_9_under_concurrent_writes(tmp_path):
    state_file = tmp_path / "state.sqlite"
    ledger = Ledger()
    chance = random.Random(20261205)
    started = time.monotonic()
    for cycle in range(3):
        process, base = serve(state_file)
        stop = threading.Event()
        threads = [
            threading.Thread(
                target=writer, args=(base, ledger, f"{cycle}.{t}", stop, cycle * 10 + t)
            )
            for t in range(4)
        ]
        try:
            for thread in threads:
                thread.start()
            # Kill at a random moment once this cycle has had enough writes acknowledged: a
            # count, not a time, so that a slow or loaded machine proves as much as a fast one.
            wanted, deadline = len(ledger.acknowledged) + 40, time.monotonic() + 15
            while len(ledger.acknowledged) < wanted and time.monotonic() < deadline:
                time.sleep(0.02)
            time.sleep(chance.uniform(0.0, 0.5))
        finally:
            kill_9(process)
            stop.set()
            for thread in threads:
                thread.join(timeout=15)
        ledger.check(saved_names(state_file))
    answered = len(ledger.acknowledged)
    assert answered > 100, f"only {answered} packages written: too few to prove anything"
    assert not ledger.refused_names and not ledger.refused_deletes  # the disk was never full
    assert time.monotonic() - started < 60


@pytest.fixture
def small_disk(tmp_path):
    """A 2 MiB tmpfs, unmounted afterwards; skipped where mounting is not allowed."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(disk)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({mounted.stderr.strip() or mounted.returncode})")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], capture_output=True, timeout=30)


def fill(folder):
    """Write a file until the disk is full; returns it, to free the space by deleting it."""
    filler = folder / "filler"
    with open(filler, "wb", buffering=0) as out:
        for _ in range(10_000):
            try:
                out.write(b"\0" * 4096)
            except OSError:
                break
    return filler


def test_a_disk_that_fills_up_refuses_writes_with_503_and_recovers(small_disk):
    state_file = small_disk / "state.sqlite"
    process, base = serve(state_file)
    ledger = Ledger()
    try:
        filler = fill(small_disk)
        with httpx.Client(base_url=base, headers=KEY, timeout=10) as client:
            refused = None
            for n in range(2000):
                name = f"w-full-{n}"
                answer = client.post("/api/v1/packages", json={"name": name, "notes": "y" * 250})
                if answer.status_code == 201:
                    ledger.acknowledged[answer.json()["data"]["id"]] = name
                    continue
                refused = answer
                ledger.refused_names.add(name)
                break
            assert refused is not None, "2000 writes fitted on a full 2 MiB disk"
            assert refused.status_code == 503
            assert refused.json() == {"message": errors.STATE_NOT_SAVED}
            assert refused.headers["Retry-After"] == "1"
            assert client.get("/api/v1/packages?per_page=1").status_code == 200  # reads go on
            again = client.post("/api/v1/packages", json={"name": "w-full-again", "notes": "y"})
            assert again.status_code == 503  # still full
            ledger.refused_names.add("w-full-again")
            filler.unlink()
            recovered = client.post("/api/v1/packages", json={"name": "w-full-after"})
            assert recovered.status_code == 201, recovered.text
            ledger.acknowledged[recovered.json()["data"]["id"]] = "w-full-after"
    finally:
        kill_9(process)
    ledger.check(saved_names(state_file))


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["Ctrl-C", "SIGTERM"])
def test_a_clean_stop_folds_the_wal_into_the_file(tmp_path, stop):
    # SIGTERM is what `docker stop`, systemd and `timeout` send.
    state_file = tmp_path / "state.sqlite"
    process, base = serve(state_file)
    try:
        answer = httpx.post(f"{base}/api/v1/packages", headers=KEY, json={"name": "w-kept"})
        assert answer.status_code == 201
        assert state_file.with_name("state.sqlite-wal").exists()
    finally:
        process.send_signal(stop)
        process.wait(timeout=20)
        rest = process.stderr.read()
        process.stderr.close()
    assert process.returncode == 0
    assert "patchworks-mock stopped." in rest
    assert not state_file.with_name("state.sqlite-wal").exists()
    assert "w-kept" in saved_names(state_file).values()
