"""Every write of the store goes one way: staged, committed by the durability backend, applied.

A backend that refuses a commit leaves the state, its indexes and its id counters untouched;
what a backend is given is exactly what changed.
"""

import pytest
from starlette.testclient import TestClient

from patchworks_mock import bundled, errors, fixtures
from patchworks_mock.app import create_app
from patchworks_mock.changes import Change
from patchworks_mock.instance import DEVELOPMENT_KEY
from patchworks_mock.records import as_record
from patchworks_mock.sorted_index import SortedIndex


class Refusing:
    """A backend whose disk is full."""

    def commit(self, change: Change) -> None:
        raise OSError(28, "No space left on device")


class Recording:
    def __init__(self) -> None:
        self.changes: list[Change] = []

    def commit(self, change: Change) -> None:
        self.changes.append(change)


def _store():
    return fixtures.load(fixtures.read(bundled.DEFAULT_FIXTURES))


def _listed(store) -> list:
    """What every kind of list shows, so that a stale index is seen too."""
    return [
        store.list_packages(
            deployed_only=deployed,
            names=names,
            sort=sort,
            descending=False,
            page=1,
            per_page=100,
        )
        for deployed in (False, True)
        for names in (None, ["order"])
        for sort in ("id", "name")
    ]


WRITES = {
    "create": lambda s: s.create_package("New", None, 1),
    "update": lambda s: s.update_package("1", {"name": "Renamed orders"}),
    "delete": lambda s: s.delete_package("1"),
    "add version": lambda s: s.add_version("3", "1", 70),
    "remove version": lambda s: s.remove_version("4", "3"),
    "deploy": lambda s: s.deploy("3", "2", "Go", 1),
    "remove environment": lambda s: s.remove_environment("1", "1"),
    "replace all": lambda s: s.replaced_by(fixtures.load(fixtures.generate(2, packages=3))),
}


@pytest.mark.parametrize("write", WRITES)
def test_a_refused_commit_changes_nothing(write):
    store = _store()
    WRITES[write](_store())  # the write itself is valid on this state
    before = (fixtures.dump(store), store.next_ids(), _listed(store))
    store.durability = Refusing()
    with pytest.raises(OSError):
        WRITES[write](store)
    assert (fixtures.dump(store), store.next_ids(), _listed(store)) == before


@pytest.mark.parametrize("write", [w for w in WRITES if w != "replace all"])
def test_the_backend_is_given_exactly_the_rows_that_changed(write):
    store = _store()
    before = {(name, r["id"]): r for name, rs in fixtures.dump(store).items() for r in rs}
    store.durability = recording = Recording()
    WRITES[write](store)
    after = {(name, r["id"]): r for name, rs in fixtures.dump(store).items() for r in rs}
    committed = {
        (name, row_id): None if row is None else as_record(row)
        for change in recording.changes
        for name, row_id, row in change.rows
    }
    changed = {key: after.get(key) for key in before.keys() | after.keys()}
    changed = {key: row for key, row in changed.items() if before.get(key) != row}
    assert committed == changed


def test_a_request_whose_write_cannot_be_kept_changes_nothing():
    app = create_app()
    client = TestClient(app, headers={"Authorization": DEVELOPMENT_KEY})
    before = client.get("/__mock__/state").json()
    app.state.store.durability = Refusing()
    response = client.post("/api/v1/packages", json={"name": "Lost"})
    assert response.status_code == 500
    assert response.json() == {"message": errors.SERVER_ERROR}
    assert client.get("/__mock__/state").json() == before


def test_a_reset_whose_state_cannot_be_kept_changes_nothing():
    app = create_app()
    client = TestClient(app, headers={"Authorization": DEVELOPMENT_KEY})
    client.post("/api/v1/packages", json={"name": "Made before the reset"})
    before = client.get("/__mock__/state").json()
    app.state.store.durability = Refusing()
    assert client.post("/__mock__/reset").status_code == 500
    assert client.get("/__mock__/state").json() == before


def test_a_write_that_keeps_the_name_leaves_the_sorted_indexes_alone(monkeypatch):
    # Indexes sort by name and id: moving a package in them costs a search per index kept.
    store = _store()
    store.list_packages(deployed_only=False, names=["order"], sort="name", descending=False,
                        page=1, per_page=5)  # fmt: skip
    moved = []
    monkeypatch.setattr(SortedIndex, "discard", lambda index, package: moved.append(package.id))
    store.update_package("4", {"notes": "Only the notes"})
    store.add_version("3", "1", 70)
    store.deploy("3", "2", None, 1)
    assert moved == []
    store.update_package("4", {"name": "A new name"})
    assert moved and set(moved) == {4}


@pytest.mark.parametrize("how", ["reset", "replace"])
def test_a_replaced_state_is_a_new_store_and_the_old_one_stays_whole(how):
    # The pytest plugin resets and replaces the state from the test's thread while the server
    # answers on its own: a request that holds the store it started with must see all of it,
    # so the old store is swapped out whole, never emptied or refilled in place.
    app = create_app()
    client = TestClient(app, headers={"Authorization": DEVELOPMENT_KEY})
    client.post("/api/v1/packages", json={"name": "Made before"})
    old = app.state.store
    before = (fixtures.dump(old), old.next_ids(), _listed(old))
    if how == "reset":
        app.state.reset()
    else:
        app.state.replace(fixtures.generate(3, packages=20))
    assert app.state.store is not old
    assert (fixtures.dump(old), old.next_ids(), _listed(old)) == before
    assert fixtures.dump(app.state.store) != before[0]


def test_past_phps_largest_id_a_create_is_refused_and_changes_nothing():
    document = fixtures.read(bundled.DEFAULT_FIXTURES)
    largest = 9_223_372_036_854_775_807  # PHP's largest integer
    document["packages"][-1]["id"] = largest
    client = TestClient(create_app(document), headers={"Authorization": DEVELOPMENT_KEY})
    before = client.get("/__mock__/state").json()
    refused = client.post("/api/v1/packages", json={"name": "One too many"})
    assert refused.status_code == 409
    assert refused.json() == {
        "message": errors.ids_exhausted("packages", 9_223_372_036_854_775_807)
    }
    assert client.get("/__mock__/state").json() == before
    assert client.get(f"/api/v1/packages/{largest}").status_code == 200
