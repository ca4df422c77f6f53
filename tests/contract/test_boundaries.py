"""limits_enforced: the limits come from the spec, and a quietly repaired input is caught."""

from __future__ import annotations

import copy

import httpx
import pytest
import yaml

from patchworks_mock.app import create_app
from patchworks_mock.bundled import PACKAGES_SPEC
from patchworks_mock.contract import boundaries, properties, report
from patchworks_mock.contract.boundaries import Limit
from patchworks_mock.contract.expectations import Assumption, Violation
from tests.contract import broken
from tests.contract.support import run_suite

LIMITS_ONLY = {"suites": ("properties",), "properties": ("limits_enforced",)}
LIST = "GET /api/v1/packages"
DEPLOYED = "GET /api/v1/flow-version-deployments/packages"
GET = "GET /api/v1/packages/{package}"
CREATE = "POST /api/v1/packages"
UPDATE = "PUT /api/v1/packages/{package}"
ADD = "POST /api/v1/packages/{package}/flow-versions/{flow_version}"
DEPLOY = "POST /api/v1/packages/{package}/deploy/{virtual_environment}"


def _spec() -> dict:
    return yaml.safe_load(PACKAGES_SPEC.read_text(encoding="utf-8"))


def _table(limits: list[Limit]) -> set[tuple[str, str, str, str, int]]:
    return {(lim.operation, lim.location, lim.field, lim.keyword, lim.bound) for lim in limits}


def test_the_bundled_contracts_limits_are_all_found_and_all_tested() -> None:
    paging = {
        (op, "query", field, keyword, bound)
        for op in ("listPackages", "listDeployedPackages", "getPackage")
        for field, keyword, bound in [
            ("page", "minimum", 1),
            ("page", "maximum", 9223372036854775807),
            ("per_page", "minimum", 1),
            ("per_page", "maximum", 100),
        ]
    }
    bodies = {
        (op, "body", field, "maxLength", 255)
        for op in ("createPackage", "updatePackage")
        for field in ("name", "notes")
    }
    priority = {
        ("addFlowVersion", "body", "priority", "minimum", 1),
        ("addFlowVersion", "body", "priority", "maximum", 100),
    }
    assert _table(boundaries.LIMITS) == paging | bodies | priority
    assert all(boundaries.supported(limit) for limit in boundaries.LIMITS)
    names = [(name, operation) for name, operation, _, _ in boundaries.CHECKS]
    assert names == [("limits_enforced", op) for op in (DEPLOYED, LIST, CREATE, GET, UPDATE, ADD)]
    assert {(p.name, p.operation) for p in properties.PROPERTIES} >= set(names)


def test_a_changed_spec_gives_a_changed_table() -> None:
    spec = copy.deepcopy(_spec())
    schemas = spec["components"]["schemas"]
    schemas["PackageName"]["maxLength"] = 200
    schemas["DeployRequest"]["properties"]["notes"]["maxLength"] = 100
    spec["components"]["parameters"]["PerPage"]["schema"]["maximum"] = 50
    table = _table(boundaries.read_limits(spec))
    assert ("createPackage", "body", "name", "maxLength", 200) in table
    assert ("updatePackage", "body", "name", "maxLength", 200) in table
    assert ("deployPackage", "body", "notes", "maxLength", 100) in table
    assert ("listPackages", "query", "per_page", "maximum", 50) in table
    assert not any(row[3:] == ("maxLength", 255) and row[2] == "name" for row in table)
    needs = {operation: need for _, operation, need, _ in boundaries.checks(_limits(spec))}
    assert needs[DEPLOY] == ("write", "deploy")


def _limits(spec: dict) -> list[Limit]:
    return [limit for limit in boundaries.read_limits(spec) if boundaries.supported(limit)]


def test_a_new_limit_in_the_spec_is_tested_without_new_code(monkeypatch) -> None:
    """Limits the mock does not have (a tighter name, limited deploy notes) are reported."""
    spec = copy.deepcopy(_spec())
    spec["components"]["schemas"]["PackageName"]["maxLength"] = 100
    spec["components"]["schemas"]["DeployRequest"]["properties"]["notes"]["maxLength"] = 10
    changed = [properties.Property(*entry) for entry in boundaries.checks(_limits(spec))]
    monkeypatch.setattr(properties, "PROPERTIES", changed)
    run = run_suite(**LIMITS_ONLY)
    assert run.code == 1, run.output
    assert run.failing_pairs() == {
        (CREATE, "limits_enforced"),
        (UPDATE, "limits_enforced"),
        (DEPLOY, "limits_enforced"),
    }, run.output
    failed = [r for r in run.results if r.status == report.FAILED]
    assert all("past the maxLength" in r.message and "not refused" in r.message for r in failed)


def test_the_mock_passes_and_read_only_runs_only_the_query_limits() -> None:
    run = run_suite(**LIMITS_ONLY)
    assert run.code == 0, run.output
    assert {r.status for r in run.results} == {report.PASSED}, run.output
    assert len([r for r in run.results if r.check == "limits_enforced"]) == 6
    read_only = run_suite(read_only=True, **LIMITS_ONLY)
    assert read_only.code == 0, read_only.output
    statuses = {r.operation: r.status for r in read_only.results if r.check == "limits_enforced"}
    assert statuses == {
        LIST: report.PASSED,
        DEPLOYED: report.PASSED,
        GET: report.PASSED,
        CREATE: report.SKIPPED,
        UPDATE: report.SKIPPED,
        ADD: report.SKIPPED,
    }, read_only.output


# A repair that changes what is kept, or refuses what the limits allow, is seen by the traffic
# rules too (`traffic_rules`), on the answers the property gets: (operation, rule) pairs.
WRITES = (CREATE, UPDATE)
KEPT_AS_LAST_STORED = {(GET, "fields_as_stored")}
KEPT_AS_SENT = {(op, "fields_as_stored") for op in WRITES}
REFUSED_WITHIN = {(op, "accepts_within_limits") for op in WRITES}


@pytest.mark.parametrize(
    ("defect", "operations", "words", "also"),
    [
        (broken.name_truncated, {CREATE, UPDATE}, "name=a string of 256 characters", set()),
        (broken.notes_truncated, {CREATE, UPDATE}, "notes=a string of 256 characters", set()),
        (broken.priority_clamped, {ADD}, "priority=0 is past the minimum 1", set()),
        (broken.page_zero_as_first, {LIST, DEPLOYED, GET}, "page=0 is past the minimum 1", set()),
        (
            broken.long_name_stored_despite_422,
            {CREATE, UPDATE},
            "was refused, yet it changed",
            KEPT_AS_LAST_STORED,
        ),
        (
            broken.untrimmed_length_refused,
            {CREATE, UPDATE},
            "and surrounding spaces is within",
            REFUSED_WITHIN,
        ),
        (
            broken.notes_column_too_short,
            {CREATE, UPDATE},
            "was accepted but kept as",
            KEPT_AS_SENT,
        ),
        (
            broken.name_length_in_bytes,
            {CREATE, UPDATE},
            "255 characters (é among them) is within",
            REFUSED_WITHIN,
        ),
    ],
    ids=lambda value: getattr(value, "__name__", None),
)
def test_each_repair_is_reported_on_every_operation_it_touches(
    defect, operations, words, also
) -> None:
    run = run_suite(defect(create_app()), **LIMITS_ONLY)
    assert run.failing_pairs() == {(op, "limits_enforced") for op in operations} | also, run.output
    limits = [r for r in run.results if r.status == report.FAILED and r.check == "limits_enforced"]
    assert all(words in r.message for r in limits), run.output


def test_per_page_clamped_is_an_assumption_not_a_failure() -> None:
    """Clamping per_page differs from a decision of api-notes: reported apart, exit code 0."""
    run = run_suite(broken.per_page_clamped(create_app()), **LIMITS_ONLY)
    assert run.code == 0, run.output
    assert not run.failing(), run.output
    assumed = [r for r in run.results if r.status == report.ASSUMPTION]
    assert {r.operation for r in assumed} == {LIST, DEPLOYED, GET}, run.output
    assert all("per_page=101" in r.message and "api-notes" in r.message for r in assumed)
    assert all(r.curl and r.actual.startswith("HTTP 200") for r in assumed)


def _answer(status: int, body: dict) -> httpx.Response:
    return httpx.Response(status, json=body, request=httpx.Request("GET", "http://127.0.0.1/"))


PER_PAGE_MAX = Limit("listPackages", "query", "per_page", "maximum", 100)
PAGE_MIN = Limit("listPackages", "query", "page", "minimum", 1)
CASE = boundaries.Case(101, False, "101")


def test_only_a_decided_limit_answered_2xx_is_an_assumption() -> None:
    clamped = _answer(200, {"data": [], "meta": {"per_page": 100}})
    found = boundaries._not_refused(PER_PAGE_MAX, CASE, clamped)
    assert isinstance(found, Assumption)
    assert "meta.per_page 100" in found.message
    crashed = boundaries._not_refused(PER_PAGE_MAX, CASE, _answer(500, {"message": "x"}))
    assert not isinstance(crashed, Assumption)
    fact = boundaries._not_refused(PAGE_MIN, boundaries.Case(0, False, "0"), clamped)
    assert not isinstance(fact, Assumption)


def test_a_failure_outranks_an_assumption_and_every_limit_is_tried() -> None:
    tried: list[str] = []

    def assume() -> None:
        tried.append("assume")
        raise Assumption("clamped")

    def fail(message: str) -> None:
        tried.append(message)
        raise Violation(message)

    with pytest.raises(Violation) as raised:
        boundaries._all([assume, lambda: fail("a"), lambda: fail("b")])
    assert not isinstance(raised.value, Assumption)
    assert raised.value.message == "a (and 1 more limit of this operation)"
    assert tried == ["assume", "a", "b"]
    with pytest.raises(Assumption):
        boundaries._all([assume, lambda: None])


def test_schemathesis_meets_a_clamped_per_page_as_an_assumption_too() -> None:
    """Its `negative_data_rejection` names the one invalid query bound (assumption 8 of
    `schemathesis_internals`): past a decided bound it is an assumption, not a failure."""
    run = run_suite(
        broken.per_page_clamped(create_app()),
        suites=("schema",),
        operations=("listPackages",),
        phases=("coverage",),
    )
    assert run.code == 0, run.output
    assumed = [r for r in run.results if r.status == report.ASSUMPTION]
    assert {(r.operation, r.check) for r in assumed} == {(LIST, "negative_data_rejection")}
    assert all("per_page=101" in r.curl and "api-notes decides" in r.message for r in assumed)


def test_schemathesis_accepting_past_a_fact_bound_stays_a_failure() -> None:
    run = run_suite(
        broken.page_zero_as_first(create_app()),
        suites=("schema",),
        operations=("listPackages",),
        phases=("coverage",),
    )
    assert ("GET /api/v1/packages", "negative_data_rejection") in run.failing_pairs(), run.output
