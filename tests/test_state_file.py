"""`serve --state-file`: every write is a SQLite transaction, committed before it is applied.

In-process: each write survives a restart (a second app on the same file), a commit the disk
refuses (`PRAGMA max_page_count`) is a 503 that changes nothing, and files that are not ours
are refused at start with one line and exit code 2 by the real command.
"""

import json
import random
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest
from starlette.testclient import TestClient
from support import one_error_line

from patchworks_mock import bundled, create_app, durable, errors, fixtures

KEY = {"Authorization": "patchworks-mock-key"}
COMMAND = Path(sys.executable).with_name("patchworks-mock")


def client(path, document=None):
    return TestClient(create_app(document, state_file=path), headers=KEY)


def made(path, document=None):
    """Make a state file and let go of it (no connection left open, the WAL folded in)."""
    create_app(document, state_file=path).state.store.durability.close()


def edit(path, *statements):
    with closing(sqlite3.connect(path, isolation_level=None)) as db:
        for statement in statements:
            db.execute(statement)


def state(c):
    return c.get("/__mock__/state").json()


def post_raw(c, url, raw):
    """A JSON body sent as written, so that it can hold escapes such as a lone surrogate."""
    return c.post(url, content=raw.encode(), headers={"Content-Type": "application/json"})


def test_every_write_is_committed_and_survives_a_restart(tmp_path):
    path = tmp_path / "state.sqlite"
    first = client(path)
    writes = [
        lambda: first.post("/api/v1/packages", json={"name": "New", "notes": "n"}),
        lambda: first.put("/api/v1/packages/6", json={"name": "Renamed", "notes": None}),
        lambda: first.post("/api/v1/packages/6/flow-versions/3", json={"priority": 90}),
        lambda: first.post("/api/v1/packages/6/flow-versions/6"),
        lambda: first.delete("/api/v1/packages/6/flow-versions/6"),
        lambda: first.post("/api/v1/packages/6/deploy/2", json={"notes": "Go live"}),
        lambda: first.delete("/api/v1/packages/6/virtual-environments/2"),
        lambda: first.delete("/api/v1/packages/1"),
        lambda: first.post("/__mock__/reset"),
    ]
    for write in writes:
        answer = write()
        assert answer.status_code < 300, answer.text
        assert state(client(path)) == state(first)
    assert state(first) == state(TestClient(create_app(), headers=KEY))  # after the reset


def test_put_state_replaces_every_table_and_survives_a_restart(tmp_path):
    path = tmp_path / "state.sqlite"
    first = client(path)
    document = fixtures.to_json(fixtures.generate(7, packages=40))
    answer = first.put(
        "/__mock__/state", content=document, headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 200, answer.text
    assert len(state(first)["packages"]) == 40
    assert state(client(path)) == state(first)


def test_a_deleted_id_is_not_handed_out_again_after_a_restart(tmp_path):
    path = tmp_path / "state.sqlite"
    first = client(path)
    created = first.post("/api/v1/packages", json={"name": "short-lived"}).json()["data"]["id"]
    assert first.delete(f"/api/v1/packages/{created}").status_code == 200
    again = client(path)
    assert again.post("/api/v1/packages", json={"name": "next"}).json()["data"]["id"] == created + 1


def test_lone_surrogates_survive_a_restart(tmp_path):
    path = tmp_path / "state.sqlite"
    first = client(path)
    answer = post_raw(first, "/api/v1/packages", '{"name": "a\\ud800b", "notes": "\\udfff"}')
    assert answer.status_code == 201, answer.text
    package = answer.json()["data"]["id"]
    saved = client(path).get(f"/api/v1/packages/{package}").json()["data"]
    assert (saved["name"], saved["notes"]) == ("a\ud800b", "\udfff")


def test_a_commit_the_disk_refuses_is_a_503_that_changes_nothing(tmp_path):
    path = tmp_path / "state.sqlite"
    app = create_app(state_file=path)
    c = TestClient(app, headers=KEY)
    backend = app.state.store.durability
    pages = backend._connection.execute("PRAGMA page_count").fetchone()[0]
    backend._connection.execute(f"PRAGMA max_page_count={pages}")  # the disk is full now
    acknowledged = []
    for n in range(400):  # fill the free space left in the file's pages, then one more
        before = state(c)
        answer = c.post("/api/v1/packages", json={"name": f"filler {n}", "notes": "x" * 250})
        if answer.status_code != 201:
            break
        acknowledged.append(answer.json()["data"]["id"])
    else:
        pytest.fail("400 packages fitted in the pages the file had")
    assert answer.status_code == 503
    assert answer.json() == {"message": errors.STATE_NOT_SAVED}
    assert answer.headers["Retry-After"] == "1"
    assert state(c) == before  # nothing of it applied
    assert state(client(path)) == before  # nor saved
    refused_put = c.put("/__mock__/state", json=fixtures.generate(3, packages=200))
    assert refused_put.status_code == 503
    assert state(c) == before

    backend._connection.execute(f"PRAGMA max_page_count={pages * 100}")  # space again
    answer = c.post("/api/v1/packages", json={"name": "after"})
    assert answer.status_code == 201
    assert answer.json()["data"]["id"] == acknowledged[-1] + 1  # the refused one took no id
    assert state(client(path)) == state(c)


def test_a_connection_that_broke_is_opened_again_on_the_next_write(tmp_path):
    path = tmp_path / "state.sqlite"
    app = create_app(state_file=path)
    c = TestClient(app, headers=KEY)
    app.state.store.durability._connection.close()  # unusable: ProgrammingError, not 500
    assert c.post("/api/v1/packages", json={"name": "lost"}).status_code == 503
    assert c.post("/api/v1/packages", json={"name": "kept"}).status_code == 201
    names = [p["name"] for p in state(client(path))["packages"]]
    assert "kept" in names and "lost" not in names


@pytest.mark.parametrize("how", ["removed", "replaced"])
def test_a_state_file_removed_or_replaced_under_the_mock_is_not_written_blind(tmp_path, how):
    path = tmp_path / "state.sqlite"
    c = client(path)
    before = state(c)
    path.unlink()
    if how == "replaced":
        made(path)
    answer = c.post("/api/v1/packages", json={"name": "nowhere"})
    assert answer.status_code == 503
    assert state(c) == before


def test_the_file_is_ours_and_in_wal_mode(tmp_path):
    path = tmp_path / "state.sqlite"
    client(path).post("/api/v1/packages", json={"name": "x"})
    with closing(sqlite3.connect(path)) as db:
        assert db.execute("PRAGMA application_id").fetchone()[0] == durable.APPLICATION_ID
        assert db.execute("PRAGMA user_version").fetchone()[0] == durable.SCHEMA_VERSION
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert not path.with_name("state.sqlite.journal").exists()


def test_reset_goes_back_to_the_fixture_file_as_it_was_read_even_after_a_restart(tmp_path):
    fixture = tmp_path / "start.json"
    fixture.write_text(fixtures.to_json(fixtures.generate(5, packages=4)), encoding="utf-8")
    path = tmp_path / "state.sqlite"
    first = client(path, fixtures.FixtureFile(fixture))
    start = state(first)
    first.delete("/api/v1/packages/1")
    again = client(path, fixtures.FixtureFile(fixture))
    assert len(state(again)["packages"]) == 3
    fixture.write_text("{", encoding="utf-8")  # edited after the mock read it: not used
    again.post("/__mock__/reset").raise_for_status()
    assert state(again) == start
    assert state(client(path)) == start


def test_a_hand_edited_file_is_loaded_through_the_fixture_checks(tmp_path):
    path = tmp_path / "state.sqlite"
    made(path)
    edit(path, "UPDATE packages SET record = json_set(record, '$.name', 'Edited') WHERE id = 2")
    assert client(path).get("/api/v1/packages/2").json()["data"]["name"] == "Edited"
    edit(path, "UPDATE packages SET record = json_set(record, '$.created_by_id', 42) WHERE id = 3")
    with pytest.raises(fixtures.FixtureError) as raised:
        create_app(state_file=path)
    assert raised.value.problems == [
        ("table packages, id 3, field created_by_id", "no record with id 42 in users")
    ]


# -- refused at start by the real command: one line, exit code 2 ------------------------------


def _damaged(path):
    made(path, fixtures.generate(9, packages=300))
    page = 4096
    raw = bytearray(path.read_bytes())
    assert len(raw) > 8 * page
    noise = random.Random(12)
    for at in range(2 * page, len(raw), 2 * page):  # every other page from the third
        raw[at : at + page] = noise.randbytes(page)
    path.write_bytes(bytes(raw))


def _foreign(path):
    edit(path, "CREATE TABLE notes (body TEXT)", "INSERT INTO notes VALUES ('mine')")


def _ours_with_a_foreign_table(path):
    made(path)
    edit(path, "CREATE TABLE notes (body TEXT)")


def _ours_with_a_trigger(path):
    made(path)
    edit(
        path,
        "CREATE TRIGGER sweep AFTER INSERT ON packages BEGIN DELETE FROM users; END",
    )


def _deeply_nested_record(path):
    made(path)
    edit(path, "UPDATE packages SET record = '" + "[" * 100_000 + "' WHERE id = 2")


def _newer_layout(path):
    made(path)
    edit(path, f"PRAGMA user_version={durable.SCHEMA_VERSION + 1}")


def _bad_record(path):
    made(path)
    edit(path, "UPDATE packages SET record = '{\"id\": 2' WHERE id = 2")


def _old_json_state(path):
    path.write_text(json.dumps(fixtures.generate(3, packages=2)), encoding="utf-8")


REFUSED = {
    "damaged": (_damaged, "damaged (PRAGMA quick_check: "),
    "foreign": (_foreign, "a SQLite database of another application (application_id 0"),
    "foreign table": (_ours_with_a_foreign_table, "unknown table notes: not our layout"),
    "a trigger": (_ours_with_a_trigger, "unknown trigger sweep: not our layout"),
    "deeply nested": (_deeply_nested_record, "table packages, id 2: the record is not a JSON"),
    "newer layout": (
        _newer_layout,
        f"a patchworks-mock state file of layout {durable.SCHEMA_VERSION + 1}; this version reads",
    ),
    "bad record": (_bad_record, "table packages, id 2: the record is not a JSON object"),
    "random bytes": (
        lambda p: p.write_bytes(random.Random(3).randbytes(20_000)),
        "not a SQLite database (no 'SQLite format 3' header)",
    ),
    "old JSON state": (
        _old_json_state,
        "a JSON state file of an older patchworks-mock, not a SQLite one; carry it over with: "
        "patchworks-mock serve --fixtures {path} --state-file NEW.sqlite",
    ),
    "missing directory": (lambda p: None, "cannot create the state file: "),
}


def test_files_that_are_not_a_state_file_of_ours_are_refused_in_one_line(tmp_path):
    started = {}
    for name, (make, _) in REFUSED.items():
        folder = tmp_path / name.replace(" ", "-")
        folder.mkdir()
        path = folder / ("missing" if name == "missing directory" else "") / "state.sqlite"
        make(path)
        before = path.read_bytes() if path.exists() else None
        process = subprocess.Popen(
            [COMMAND, "serve", "--port", "0", "--state-file", str(path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        started[name] = (path, before, process)
    for name, (path, before, process) in started.items():
        try:
            out, err = process.communicate(timeout=60)
        finally:
            process.kill()
        assert process.returncode == 2, (name, out, err)
        expected = REFUSED[name][1].format(path=path)
        assert one_error_line(err).startswith(f"patchworks-mock: error: {path}: {expected}"), (
            name,
            err,
        )
        if before is not None:
            assert path.read_bytes() == before, f"{name}: the refused file was changed"


def test_an_old_json_state_file_with_writes_in_its_journal_is_not_carried_over_without_them(
    tmp_path,
):
    path = tmp_path / "state.json"
    _old_json_state(path)
    path.with_name("state.json.journal").write_text('[["packages",1,null]]\n')
    with pytest.raises(durable.StateFileError) as raised:
        create_app(state_file=path)
    assert str(raised.value) == (
        f"{path}: a JSON state file of an older patchworks-mock, not a SQLite one; its journal "
        f"{path}.journal holds writes not yet in it: start the older version on it once to fold "
        f"them in, then carry it over with: patchworks-mock serve --fixtures {path} "
        "--state-file NEW.sqlite"
    )


def test_an_empty_file_is_seeded_like_a_missing_one(tmp_path):
    path = tmp_path / "state.sqlite"
    path.touch()
    assert state(client(path)) == state(TestClient(create_app(), headers=KEY))


def test_the_write_ahead_log_does_not_grow_without_bound(tmp_path):
    path = tmp_path / "state.sqlite"
    app = create_app(state_file=path)
    wal = path.with_name("state.sqlite-wal")
    sizes = []
    for n in range(3000):  # about 3,000 pages of log: past the automatic checkpoint
        app.state.store.create_package(f"p{n}", "x" * 250, None)
        if n % 100 == 99:
            sizes.append(wal.stat().st_size)
    # 3,000 commits of a page or more each would be 12 MB of log; checkpointed, it is reused
    assert max(sizes) < 5 * 1024 * 1024, sizes
    assert len(state(client(path))["packages"]) == 3005


def test_a_write_while_another_program_holds_the_write_lock_is_a_503(tmp_path):
    path = tmp_path / "state.sqlite"
    c = client(path)
    before = state(c)
    with closing(sqlite3.connect(path, isolation_level=None)) as other:
        other.execute("BEGIN IMMEDIATE")
        answer = c.post("/api/v1/packages", json={"name": "waits"})
        assert answer.status_code == 503
        assert answer.headers["Retry-After"] == "1"
        other.execute("ROLLBACK")
    assert state(c) == before
    assert c.post("/api/v1/packages", json={"name": "after"}).status_code == 201


def test_ids_up_to_phps_largest_integer_are_kept_and_none_past_it_is_made(tmp_path):
    path = tmp_path / "state.sqlite"
    document = fixtures.read(bundled.DEFAULT_FIXTURES)
    largest = 9_223_372_036_854_775_807
    document["packages"][-1]["id"] = largest
    first = client(path, document)
    assert first.post("/api/v1/packages", json={"name": "One too many"}).status_code == 409
    again = client(path)
    assert again.get(f"/api/v1/packages/{largest}").status_code == 200
    assert again.post("/api/v1/packages", json={"name": "Still too many"}).status_code == 409
