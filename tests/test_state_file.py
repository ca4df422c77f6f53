"""`serve --state-file`: no acknowledged write is lost to `kill -9`, the file is never torn."""

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time

import httpx
import pytest
from starlette.testclient import TestClient

from patchworks_mock import create_app, durable, fixtures

KEY = {"Authorization": "patchworks-mock-key"}


def serve(state_file):
    process = subprocess.Popen(
        [sys.executable, "-m", "patchworks_mock", "serve", "--port", "0", "--state-file",
         str(state_file)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )  # fmt: skip
    for line in process.stdout:
        if line.strip().startswith("API:"):
            base = line.split()[1].removesuffix("/api/v1/packages")
        if line.startswith("Press Ctrl-C"):
            return process, base
    raise AssertionError("the mock did not start")


def write_until_killed(base, acknowledged, in_flight):
    """Create, rename and delete packages as fast as possible, noting each 2xx.

    `in_flight` holds the one write sent but not yet answered: the kill may land after it was
    saved and before its answer arrived, so either outcome is right for that package.
    """
    with httpx.Client(base_url=base, headers=KEY, timeout=5) as client:
        for n in range(1, 100_000):
            try:
                created = client.post("/api/v1/packages", json={"name": f"write {n}"})
                package = created.json()["data"]["id"]
                acknowledged[package] = f"write {n}"
                if n % 3 == 0:
                    in_flight[package] = None
                    client.delete(f"/api/v1/packages/{package}").raise_for_status()
                    acknowledged[package] = None
                elif n % 2 == 0:
                    in_flight[package] = f"r{n}"
                    client.put(f"/api/v1/packages/{package}", json={"name": f"r{n}"})
                    acknowledged[package] = f"r{n}"
                in_flight.clear()
            except httpx.TransportError:
                return


def test_no_acknowledged_write_is_lost_to_kill_9(tmp_path):
    state_file = tmp_path / "state.json"
    chance = random.Random(20261128)
    acknowledged: dict[int, str | None] = {}
    maybe: dict[int, str | None] = {}
    for _round in range(3):
        process, base = serve(state_file)
        in_flight: dict[int, str | None] = {}
        writer = threading.Thread(target=write_until_killed, args=(base, acknowledged, in_flight))
        writer.start()
        time.sleep(chance.uniform(0.3, 1.2))
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
        writer.join(timeout=10)
        maybe.update(in_flight)
        json.loads(state_file.read_text())  # the snapshot is always whole
    assert len(acknowledged) > 20, "too few writes to prove anything"
    process, base = serve(state_file)
    try:
        names = {
            p["id"]: p["name"]
            for p in httpx.get(f"{base}/__mock__/state", headers=KEY).json()["packages"]
        }
    finally:
        process.kill()
        process.wait()
    for package, name in acknowledged.items():
        allowed = {name, maybe[package]} if package in maybe else {name}
        assert names.get(package) in allowed, f"package {package}: acknowledged {name!r}"


def test_a_torn_journal_line_is_dropped_and_replay_is_idempotent(tmp_path):
    path = tmp_path / "state.json"
    client = TestClient(create_app(state_file=path), headers=KEY)
    client.post("/api/v1/packages", json={"name": "kept"})
    expected = client.get("/__mock__/state").json()
    journal = path.with_name("state.json.journal")
    with open(journal, "ab") as out:
        out.write(b'[["packages",7,{"id":7,"na')  # a crash in the middle of an append
    assert durable.StateFile(path).read() == expected
    # a crash after the snapshot was renamed but before the journal was removed
    saved = journal.read_bytes()
    durable.StateFile(path).write_snapshot(expected)
    journal.write_bytes(saved)
    assert durable.StateFile(path).read() == expected


def test_restart_folds_the_journal_and_reset_goes_back_to_the_fixtures(tmp_path):
    path = tmp_path / "state.json"
    first = TestClient(create_app(state_file=path), headers=KEY)
    start = first.get("/__mock__/state").json()
    first.delete("/api/v1/packages/1")
    first.post("/api/v1/packages/4/deploy/1")
    changed = first.get("/__mock__/state").json()
    again = TestClient(create_app(state_file=path), headers=KEY)
    assert again.get("/__mock__/state").json() == changed
    assert not path.with_name("state.json.journal").exists()
    again.post("/__mock__/reset")
    assert (
        TestClient(create_app(state_file=path), headers=KEY).get("/__mock__/state").json() == start
    )


def test_put_state_is_saved_as_a_snapshot(tmp_path):
    path = tmp_path / "state.json"
    client = TestClient(create_app(state_file=path), headers=KEY)
    document = client.get("/__mock__/state").json()
    document["packages"][0]["name"] = "Renamed through PUT"
    client.put("/__mock__/state", json=document)
    assert json.loads(path.read_text())["packages"][0]["name"] == "Renamed through PUT"


def test_an_unwritable_state_file_is_one_line_and_exit_2(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "patchworks_mock", "serve", "--state-file",
         str(tmp_path / "missing-dir" / "state.json")],
        capture_output=True,
        text=True,
        timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    assert "cannot write the state file" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_corrupt_state_file_is_refused(tmp_path):
    path = tmp_path / "state.json"
    path.write_text("{not json")
    result = subprocess.run(
        [sys.executable, "-m", "patchworks_mock", "serve", "--state-file", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert f"{path}: line 1 column 2: not valid JSON" in result.stderr


def test_reset_goes_back_to_the_fixture_file_as_it_was_read_even_after_a_restart(tmp_path):
    fixture = tmp_path / "start.json"
    fixture.write_text(fixtures.to_json(fixtures.generate(5, packages=4)), encoding="utf-8")
    path = tmp_path / "state.json"
    first = TestClient(create_app(fixtures.FixtureFile(fixture), state_file=path), headers=KEY)
    start = first.get("/__mock__/state").json()
    first.delete("/api/v1/packages/1")
    again = TestClient(create_app(fixtures.FixtureFile(fixture), state_file=path), headers=KEY)
    fixture.write_text("{", encoding="utf-8")  # edited after the mock read it: not used
    again.post("/__mock__/reset").raise_for_status()
    assert again.get("/__mock__/state").json() == start
    assert json.loads(path.read_text())["packages"] == start["packages"]


def test_a_bad_fixture_file_is_refused_at_start_even_when_the_state_file_is_served(tmp_path):
    good = tmp_path / "good.json"
    good.write_text(fixtures.to_json(fixtures.generate(5, packages=2)), encoding="utf-8")
    path = tmp_path / "state.json"
    TestClient(create_app(fixtures.FixtureFile(good), state_file=path), headers=KEY)
    assert path.exists()  # the saved state that a restart would serve
    broken = tmp_path / "broken.json"
    document = json.loads(good.read_text())
    document["packages"][0]["created_by_id"] = 999
    broken.write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(fixtures.FixtureError, match=r"created_by_id"):
        create_app(fixtures.FixtureFile(broken), state_file=path)
    result = subprocess.run(
        [sys.executable, "-m", "patchworks_mock", "serve", "--port", "0",
         "--fixtures", str(broken), "--state-file", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.strip().startswith(f"patchworks-mock: error: {broken}: $.packages[0]")
    assert len(result.stderr.strip().splitlines()) == 1
