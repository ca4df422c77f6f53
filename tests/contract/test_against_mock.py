"""The suite against the correct mock, in-process and by URL, and the safety of a run."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import httpx

from patchworks_mock.app import create_app
from patchworks_mock.contract import report
from patchworks_mock.contract.safety import PREFIX
from patchworks_mock.instance import DEVELOPMENT_KEY
from patchworks_mock.server import serving
from tests.contract.support import run_suite


def _state(app) -> dict:
    store = app.state.store
    return {
        i: (p.name, p.notes, dict(p.members), p.first_deployed_at)
        for i, p in store.packages.items()
    }


def test_the_mock_conforms_in_process(tmp_path) -> None:
    app = create_app()
    before = _state(app)
    junit = tmp_path / "report.xml"
    run = run_suite(app, junit_xml=str(junit))
    assert run.failing_pairs() == set(), run.output
    assert run.code == 0, run.output
    assert {r.suite for r in run.results if r.status == report.PASSED} == {
        "schema",
        "properties",
        "stateful",
        "checks",
    }
    assert "seed 20261128" in run.output
    suites = ET.parse(junit).getroot().findall("testsuite")
    assert {s.get("name") for s in suites} == {"schema", "properties", "stateful", "checks"}
    # Fixture packages the run did not create are untouched; nothing it created is left.
    assert {i: before[i] for i in before if i in app.state.store.packages} == before
    left = [p.name for p in app.state.store.packages.values() if p.name.startswith(PREFIX)]
    assert left == []


def test_by_url_the_verdict_is_the_same_and_nothing_is_left() -> None:
    app = create_app(api_keys=["secret-key"])
    before = _state(app)
    environments = [str(i) for i in sorted(app.state.store.virtual_environments)]
    versions = [str(i) for i in sorted(app.state.store.flow_versions)]
    with serving(app) as url:
        run = run_suite(
            url=url,
            api_key="secret-key",
            allow_deploy=True,
            virtual_environments=environments,
            flow_versions=versions,
        )
        listed = httpx.get(
            f"{url}/api/v1/packages",
            params={"filter[name]": PREFIX, "per_page": 100},
            headers={"Authorization": "secret-key"},
        ).json()
    assert run.code == 0, run.output
    assert not [r for r in run.results if r.status == report.SKIPPED and r.suite != "schema"]
    assert listed["data"] == []
    assert {i: before[i] for i in before if i in app.state.store.packages} == before
    assert "secret-key" not in run.output  # curl lines carry $PATCHWORKS_API_KEY instead


def test_by_url_without_deploy_rights_deploy_tests_are_skipped_with_a_reason() -> None:
    app = create_app()
    with serving(app) as url:
        run = run_suite(url=url, api_key=DEVELOPMENT_KEY, suites=("properties",))
    skipped = {r.check: r.message for r in run.results if r.status == report.SKIPPED}
    assert "--allow-deploy" in skipped["deploy_lifecycle"]
    assert "--flow-version" in skipped["flow_versions"]
    assert "\n  deploy/compare/remove VE — deploy_lifecycle: deploys touch" in run.output
    assert not app.state.store.deployments.keys() - {1, 2, 3}


def test_read_only_changes_nothing() -> None:
    app = create_app()
    before = _state(app)
    next_ids = app.state.store.next_ids()
    with serving(app) as url:
        run = run_suite(url=url, api_key=DEVELOPMENT_KEY, read_only=True)
    assert run.code == 0, run.output
    assert _state(app) == before
    assert app.state.store.next_ids() == next_ids  # not even a create that was undone
    ran = {r.operation.split(" ")[0] for r in run.results if r.suite == "schema"}
    assert ran <= {"GET", "all"}
    assert any(r.check == "auth_enforced" and r.status == report.PASSED for r in run.results)
