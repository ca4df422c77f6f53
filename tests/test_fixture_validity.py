"""Generated and drawn documents are valid, load, and render as the OpenAPI schemas say."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from patchworks_mock import create_app, fixtures, query, render, strategies
from patchworks_mock.fixtures import generate
from patchworks_mock.instance import DEVELOPMENT_KEY
from patchworks_mock.records import DEPLOYED
from patchworks_mock.store import Store
from tests.support import deterministic

AUTH = {"Authorization": DEVELOPMENT_KEY}
EVERY_INCLUDE = ",".join(query.ALLOWED_INCLUDES)
PROPERTY = deterministic(25)


@pytest.fixture(scope="module")
def served():
    """One mock that checks its own responses against the spec (a mismatch answers 500)."""
    app = create_app(validate_responses=True)
    with TestClient(app) as client:
        yield app, client


def assert_renders_valid(served, document: dict) -> None:
    """Load `document` into the mock and ask for every resource it renders, all includes on."""
    app, client = served
    app.state.replace(document)
    store = app.state.store
    for path in ("/api/v1/packages", "/api/v1/flow-version-deployments/packages"):
        page, last_page = 1, 1
        while page <= last_page:
            answer = client.get(
                path,
                params={"include": EVERY_INCLUDE, "per_page": 100, "page": page},
                headers=AUTH,
            )
            assert answer.status_code == 200, answer.text
            last_page = answer.json()["meta"]["last_page"]
            page += 1
    if store.packages:
        package_id = max(store.packages)
        answer = client.get(
            f"/api/v1/packages/{package_id}", params={"include": EVERY_INCLUDE}, headers=AUTH
        )
        assert answer.status_code == 200, answer.text
        for environment_id in store.virtual_environments:
            answer = client.get(
                f"/api/v1/packages/{package_id}/compare/{environment_id}", headers=AUTH
            )
            assert answer.status_code == 200, answer.text


def test_the_harness_catches_a_response_the_spec_refuses(served, monkeypatch):
    monkeypatch.setattr(render, "user", lambda record: {"id": "not a number"})
    with pytest.raises(AssertionError, match="Server Error"):
        assert_renders_valid(served, generate(1, users=1, packages=1))


def replayed_statuses(document: dict) -> dict[int, str]:
    """Flow version deployment statuses got by replaying the deployments through the store."""
    store = fixtures.load({**document, "deployments": [], "flow_version_deployments": []})
    for deployment in document["deployments"]:
        store.deploy(
            deployment["package_id"],
            deployment["virtual_environment_id"],
            deployment["notes"],
            deployment["user_id"],
        )
    return {fvd.id: fvd.status for fvd in store.flow_version_deployments.values()}


sizes = st.fixed_dictionaries(
    {
        "users": st.integers(0, 4),
        "flows": st.integers(0, 6),
        "versions_per_flow": st.integers(1, 3),
        "environments": st.integers(0, 3),
        "packages": st.integers(0, 12),
        "deployed_ratio": st.floats(0, 1),
    }
)


@PROPERTY
@given(seed=st.integers(0, 2**32 - 1), size=sizes)
def test_generated_documents_are_valid_and_render_valid_resources(served, seed, size):
    document = generate(seed, **size)
    assert fixtures.problems(document) == []
    assert len(document["packages"]) == size["packages"]
    assert len(document["users"]) == size["users"]
    assert len(document["flow_versions"]) == size["flows"] * size["versions_per_flow"]
    assert replayed_statuses(document) == {
        fvd["id"]: fvd["status"] for fvd in document["flow_version_deployments"]
    }
    assert_renders_valid(served, document)


@PROPERTY
@given(seed=st.integers(0, 2**32 - 1), size=sizes)
def test_generated_timestamps_tell_a_consistent_story(seed, size):
    document = generate(seed, **size)
    for name in fixtures.COLLECTIONS:
        for record in document[name]:
            assert record["created_at"] <= record["updated_at"], (name, record)
    packages = {p["id"]: p for p in document["packages"]}
    versions = {v["id"]: v for v in document["flow_versions"]}
    flows = {f["id"]: f for f in document["flows"]}
    for version in versions.values():
        assert flows[version["flow_id"]]["created_at"] <= version["created_at"]
    for package in packages.values():
        for member in package["flow_versions"]:
            assert versions[member["flow_version_id"]]["created_at"] < package["created_at"]
    deployments = {d["id"]: d for d in document["deployments"]}
    times = [d["created_at"] for d in document["deployments"]]
    assert times == sorted(times), "deployment ids follow time"
    for deployment in deployments.values():
        assert packages[deployment["package_id"]]["updated_at"] < deployment["created_at"]
    for fvd in document["flow_version_deployments"]:
        assert fvd["created_at"] == deployments[fvd["deployment_id"]]["created_at"]


@PROPERTY
@given(document=strategies.documents())
def test_drawn_documents_load_and_render_valid_resources(served, document):
    assert fixtures.problems(document) == []
    assert_renders_valid(served, document)


@PROPERTY
@given(document=strategies.generated_documents())
def test_drawn_realistic_documents_are_valid(document):
    assert fixtures.problems(document) == []


@settings(max_examples=50, derandomize=True, database=None, deadline=None)
@given(data=st.data())
def test_drawn_packages_and_versions_respect_the_store_rules(data):
    flow_ids = data.draw(st.lists(st.integers(1, 5), min_size=1, max_size=4, unique=True))
    versions = data.draw(
        st.lists(
            strategies.flow_versions(flow_ids),
            min_size=1,
            max_size=8,
            unique_by=(lambda v: v["id"], lambda v: (v["flow_id"], v["iteration"])),
        )
    )
    package = data.draw(strategies.packages(versions, user_ids=[7]))
    flow_of = {v["id"]: v["flow_id"] for v in versions}
    members = [flow_of[m["flow_version_id"]] for m in package["flow_versions"]]
    assert len(members) == len(set(members)), "at most one version of a flow"
    assert package["created_by_id"] in (None, 7)
    users = [
        {
            "id": 7,
            "name": "A",
            "email": "a@example.com",
            "password": "x",
            "created_at": package["created_at"],
            "updated_at": package["created_at"],
        }
    ]
    flows = [
        {"id": f, "name": f"Flow {f}", "created_at": v["created_at"], "updated_at": v["created_at"]}
        for f, v in {v["flow_id"]: v for v in versions}.items()
    ]
    document = {
        "users": users,
        "flows": flows,
        "flow_versions": versions,
        "virtual_environments": [],
        "packages": [package],
    }
    assert fixtures.problems(document) == []
    assert isinstance(fixtures.load(document), Store)


@settings(max_examples=50, derandomize=True, database=None, deadline=None)
@given(name=strategies.package_names(), notes=strategies.package_notes())
def test_drawn_names_and_notes_are_kept_as_sent_by_the_api(served, name, notes):
    app, client = served
    app.state.replace(generate(0, packages=0))
    answer = client.post("/api/v1/packages", json={"name": name, "notes": notes}, headers=AUTH)
    assert answer.status_code == 201, answer.text
    assert (answer.json()["data"]["name"], answer.json()["data"]["notes"]) == (name, notes)


def test_every_deployed_package_version_is_deployed_or_replaced():
    document = generate(5, flows=3, packages=40, environments=2, deployed_ratio=1.0)
    store = fixtures.load(document)
    deployed = [p for p in document["packages"] if p["flow_versions"]]
    assert deployed and all(store.deployments_of(store.packages[p["id"]]) for p in deployed)
    live = [f for f in store.flow_version_deployments.values() if f.status == DEPLOYED]
    pairs = [
        (f.virtual_environment_id, store.flow_versions[f.flow_version_id].flow_id) for f in live
    ]
    assert len(pairs) == len(set(pairs)), "one deployed version per flow and VE"
    statuses = {store.flow_version_status(v) for v in store.flow_versions.values()}
    assert statuses == {"draft", "deployed", "inactive"}
