"""`ObservedState`: a client's session with a mock, watched, makes a document that, loaded into a
second mock, lists the same packages as the first did at the end."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from patchworks_mock import create_app, fixtures
from patchworks_mock.contract.exchange import Exchange, from_httpx
from patchworks_mock.instance import DEVELOPMENT_KEY
from patchworks_mock.proxy import observed
from patchworks_mock.proxy.observed import ObservedState, write_document
from patchworks_mock.server import serving

PACKAGES = "/api/v1/packages"
FULL = "createdBy,flowVersions.deployments,deployments.virtualEnvironment,deployments.user"
STAGING = 1  # a VE of the bundled fixtures


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    """A client of a mock serving the bundled fixtures."""
    with (
        serving(create_app()) as url,
        httpx.Client(base_url=url, headers={"Authorization": DEVELOPMENT_KEY}) as http,
    ):
        yield http


class Watched:
    """A client whose every answer is observed."""

    def __init__(self, client: httpx.Client, state: ObservedState) -> None:
        self.client, self.state = client, state

    def __call__(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        response = self.client.request(method, path, **kwargs)
        self.state.observe(from_httpx(response))
        return response

    def every_page(self, path: str, include: str | None = None) -> list[dict[str, Any]]:
        packages: list[dict[str, Any]] = []
        page, last_page = 1, 1
        while page <= last_page:
            params: dict[str, Any] = {"page": page, "per_page": 2}
            if include:
                params["include"] = include
            body = self("GET", path, params=params).json()
            packages += body["data"]
            last_page = body["meta"]["last_page"]
            page += 1
        return packages


def listed(client: httpx.Client, path: str = PACKAGES) -> list[tuple[Any, ...]]:
    """What a mock lists: each package's id, name, notes and (flow version, priority) pairs."""
    packages = Watched(client, ObservedState()).every_page(path, "flowVersions")
    return [
        (
            p["id"],
            p["name"],
            p["notes"],
            [(v["id"], v["pivot"]["priority"]) for v in p["flow_versions"]],
        )
        for p in packages
    ]


def test_a_session_loaded_into_a_second_mock_lists_the_same_packages(
    client: httpx.Client, tmp_path: Path
) -> None:
    state = ObservedState()
    call = Watched(client, state)
    call.every_page(PACKAGES)
    call.every_page(PACKAGES, FULL)
    made = call("POST", PACKAGES, json={"name": "Observed release", "notes": "first"}).json()
    package = f"{PACKAGES}/{made['data']['id']}"
    assert call("PUT", package, json={"name": "Observed release 2", "notes": "second"}).is_success
    assert call("POST", f"{package}/flow-versions/1", json={"priority": 70}).is_success
    assert call("POST", f"{package}/flow-versions/4").is_success
    assert call("DELETE", f"{package}/flow-versions/4").is_success
    assert call("GET", f"{package}/compare/{STAGING}").is_success
    assert call("POST", f"{package}/deploy/{STAGING}", json={"notes": "go"}).is_success
    assert call("PUT", f"{PACKAGES}/2", json={"notes": "Updated by the session"}).is_success
    doomed = call("POST", PACKAGES, json={"name": "Doomed"}).json()["data"]["id"]
    assert call("POST", f"{PACKAGES}/{doomed}/flow-versions/7").is_success
    assert call("DELETE", f"{PACKAGES}/{doomed}").is_success
    assert call("DELETE", f"{PACKAGES}/5").is_success
    call.every_page(PACKAGES, "flowVersions,deployments")

    document = state.document()
    assert fixtures.problems(document) == []
    path = tmp_path / "observed.json"
    write_document(document, path)
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left
    loaded = json.loads(path.read_text(encoding="utf-8"))
    assert loaded == document
    with (
        serving(create_app(loaded)) as url,
        httpx.Client(base_url=url, headers={"Authorization": DEVELOPMENT_KEY}) as second,
    ):
        assert listed(second) == listed(client)
        deployed = "/api/v1/flow-version-deployments/packages"
        assert listed(second, deployed) == listed(client, deployed)
        ids = [p[0] for p in listed(second)]
    assert doomed not in ids and 5 not in ids
    assert (made["data"]["id"], "Observed release 2", "second", [(1, 70)]) in listed(client)


def exchange(method: str, path: str, status: int, body: bytes) -> Exchange:
    return Exchange(method, f"http://upstream{path}", {}, b"", status, {}, body)


def test_odd_answers_change_nothing(client: httpx.Client) -> None:
    state = ObservedState()
    Watched(client, state).every_page(PACKAGES, FULL)
    before = state.document()
    page = client.get(PACKAGES, params={"include": "flowVersions"}).json()
    wrong_priority = json.loads(json.dumps(page))
    wrong_priority["data"][0]["flow_versions"][0]["pivot"]["priority"] = 0
    renamed = json.loads(json.dumps(page))
    renamed["data"][0]["name"] = "Seen in an error"
    odd = [
        exchange("GET", PACKAGES, 200, b"<html>Bad gateway</html>"),
        exchange("GET", PACKAGES, 200, b""),
        exchange("GET", PACKAGES, 200, b'{"data": "packages"}'),
        exchange("GET", PACKAGES, 200, b'{"data": [{"id": "1", "name": "x"}]}'),
        exchange("GET", PACKAGES, 200, b'{"data": [{"id": [1]}]}'),
        exchange("GET", PACKAGES, 200, json.dumps(wrong_priority).encode()),
        exchange("GET", f"{PACKAGES}/1", 200, b'{"data": null}'),
        exchange("POST", f"{PACKAGES}/1/deploy/1", 200, b'{"data": {"id": 1}}'),
        exchange("GET", f"{PACKAGES}/1/compare/1", 200, b'{"data": [{"flow_id": 1}]}'),
        exchange("GET", PACKAGES, 500, json.dumps(renamed).encode()),
        exchange("PUT", f"{PACKAGES}/1", 422, json.dumps({"data": renamed["data"][0]}).encode()),
        exchange("DELETE", f"{PACKAGES}/1", 404, b'{"message": "Not found"}'),
        exchange("DELETE", f"{PACKAGES}/1", 503, b""),
        exchange("DELETE", f"{PACKAGES}/one", 200, b""),
        exchange("DELETE", f"{PACKAGES}/1/flow-versions/x", 200, b""),
        exchange("GET", "/somewhere/else", 200, b'{"data": []}'),
    ]
    for answer in odd:
        state.observe(answer)
        assert state.document() == before, answer


def test_nothing_seen_is_a_valid_empty_document() -> None:
    document = ObservedState().document()
    assert fixtures.problems(document) == []
    assert not any(document.values())


def test_at_most_max_packages_are_kept(client: httpx.Client) -> None:
    state = ObservedState(max_packages=2)
    seen = Watched(client, state).every_page(PACKAGES, FULL)
    document = state.document()
    assert state.forgotten == len(seen) - 2
    assert [p["id"] for p in document["packages"]] == [p["id"] for p in seen[-2:]]
    members = {m["flow_version_id"] for p in document["packages"] for m in p["flow_versions"]}
    assert {v["id"] for v in document["flow_versions"]} == members
    assert fixtures.problems(document) == []


def test_records_no_kept_package_reaches_are_dropped(
    client: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(observed, "RECORDS_PER_PACKAGE", 1)
    one_at_a_time = [ObservedState() for _ in range(5)]
    for number, alone in enumerate(one_at_a_time, start=1):
        alone.observe(from_httpx(client.get(f"{PACKAGES}/{number}", params={"include": FULL})))
    most = max(sum(map(len, alone.document().values())) for alone in one_at_a_time)
    state = ObservedState(max_packages=1)
    for _ in range(3):
        for number in range(1, 6):
            state.observe(from_httpx(client.get(f"{PACKAGES}/{number}", params={"include": FULL})))
            assert state._size() <= 2 * most
    assert state.forgotten == 14


def test_an_answer_without_includes_keeps_what_was_seen(client: httpx.Client) -> None:
    state = ObservedState()
    call = Watched(client, state)
    call("GET", f"{PACKAGES}/1", params={"include": FULL})
    call("PUT", f"{PACKAGES}/1", json={"notes": "Renamed"})
    call("DELETE", f"{PACKAGES}/1/virtual-environments/2")
    document = state.document()
    (package,) = document["packages"]
    assert package["notes"] == "Renamed"
    assert [(m["flow_version_id"], m["priority"]) for m in package["flow_versions"]] == [
        (2, 80),
        (5, 50),
    ]
    assert [d["virtual_environment_id"] for d in document["deployments"]] == [1]
    # The VE's flow versions stay deployed there, no longer by a deployment kept.
    assert {
        f["deployment_id"]
        for f in document["flow_version_deployments"]
        if f["status"] == "deployed"
    } == {1, None}
    assert fixtures.problems(document) == []
    client.delete(f"{PACKAGES}/1/virtual-environments/1")  # by another client, unwatched
    call("GET", f"{PACKAGES}/1", params={"include": "deployments"})
    assert state.document()["deployments"] == []
    assert fixtures.problems(state.document()) == []
