"""The proxy has teeth: in front of each deliberately broken mock, a client's session through it
gets the defect reported, by the check that should."""

from __future__ import annotations

import inspect

import httpx
import pytest

from patchworks_mock.app import create_app
from patchworks_mock.contract import report
from patchworks_mock.contract.api import Api
from tests.contract import broken
from tests.proxy.support import KEY, mock_and_proxy, valid_session

UNFLOWED = 10  # a flow version (of flow 4) the bundled fixtures deploy to no VE


def client_session(client: httpx.Client) -> None:
    """A valid session, then what a client could plausibly send besides: input at the limits,
    a few past them (a request the contract refuses, reported as such), a typo in a query, a
    revoked key, a name with a digit, a package deployed or edited before it is complete."""
    valid_session(client)
    api = Api(client)
    api.list({"sort": "name", "per_page": 100})
    api.list({"sort": "colour"})  # 400: refused
    api.list({"filter[nmae]": "sync"})  # 400: refused
    api.list({"page": 0})  # 422: refused
    api.list({"per_page": 500})  # 422 by api-notes' decision
    client.get("/api/v1/packages", headers={"Authorization": "a-revoked-key"})  # 401
    client.patch("/api/v1/packages/1", json={"name": "Patched"})  # 405: PUT updates
    api.create({"name": "Release 2"})
    api.create({"name": " " + "n" * 255 + " "})  # 255 characters once trimmed
    api.create({"name": "Café " + "é" * 250})  # 255 characters, more bytes
    api.create({"name": "n" * 300})  # 422: refused
    api.create({"name": "Long notes", "notes": "x" * 300})  # 422: refused
    package = api.create({"name": "Full notes", "notes": "x" * 255}).json()["data"]["id"]
    api.remove_version(package, 1)  # not in the package: refused
    api.deploy(package, 1)  # no flow versions yet: refused
    api.add_version(package, UNFLOWED)
    api.compare(package, 1)
    api.add_version(package, UNFLOWED, {"priority": 101})  # 422: refused
    api.update(package, {"name": "n" * 300})  # 422: refused
    api.get(package)


# (defect, the check that names it)
DETECTED = [
    (broken.create_answers_202, "documented_status"),
    (broken.package_without_created_at, "response_schema"),
    (broken.list_ids_as_strings, "response_schema"),
    (broken.not_found_with_error_key, "response_schema"),
    (broken.server_error_on_digits, "not_a_server_error"),
    (broken.removal_after_deploy_409, "documented_status"),
    (broken.delete_keeps_package, "deleted_stays_deleted"),
    (broken.priority_not_stored, "priorities_as_stored"),
    (broken.compare_in_sync_without_environment_version, "compare_rows"),
    (broken.compare_leaves_out_a_flow, "compare_covers_package"),
    (broken.compare_names_another_flow, "compare_rows"),
    (broken.links_lose_the_query, "page_links"),
    (broken.next_link_skips_a_page, "page_links"),
    (broken.meta_to_one_too_many, "page_arithmetic"),
    (broken.method_not_allowed_without_allow, "allow_header"),
    (broken.timestamps_without_microseconds, "timestamps"),
    (broken.created_by_id_zero, "positive_ids"),
    (broken.add_answers_without_the_version, "answers_its_path"),
    (broken.get_answers_another_package, "answers_its_path"),
    (broken.deploy_names_another_environment, "answers_its_path"),
    (broken.pivot_names_another_package, "pivots_agree"),
    (broken.location_is_relative, "location_header"),
    (broken.not_found_without_namespace, "not_found_message"),
    (broken.unauthenticated_says_unauthorized, "unauthenticated_body"),
    (broken.validation_message_generic, "validation_summary"),
    (broken.query_refusal_reworded, "query_not_allowed_message"),
    (broken.json_as_html, "json_content_type"),
    # input the contract refuses, accepted
    (broken.name_truncated, "refuses_what_the_contract_refuses"),
    (broken.notes_truncated, "refuses_what_the_contract_refuses"),
    (broken.priority_clamped, "refuses_what_the_contract_refuses"),
    (broken.page_zero_as_first, "refuses_what_the_contract_refuses"),
    (broken.unknown_filter_ignored, "refuses_what_the_contract_refuses"),
    # the rules of traffic_rules
    (broken.name_filter_ignored, "name_filter_applied"),
    (broken.sort_ignored, "sort_applied"),
    (broken.pagination_off_by_one, "pages_disjoint"),
    (broken.untrimmed_length_refused, "accepts_within_limits"),
    (broken.name_length_in_bytes, "accepts_within_limits"),
    (broken.notes_column_too_short, "fields_as_stored"),
    (broken.long_name_stored_despite_422, "fields_as_stored"),
    (broken.compare_never_in_sync, "in_sync_after_deploy"),
]

# Defects against a decision of api-notes rather than a fact: reported as assumptions. (A
# package that took two versions of a flow then lists the flow twice in compare, which
# `compare_rows` reports: a consequence, the one failure allowed besides the client's own.)
ASSUMED = [
    (broken.per_page_clamped, "refuses_what_the_contract_refuses"),
    (broken.removal_allowed_after_deploy, "removal_after_deploy"),
    (broken.default_priority_thirty, "default_priority"),
    (broken.second_version_of_flow_accepted, "one_version_per_flow"),
    (broken.empty_deploy_accepted, "empty_deploy_refused"),
    (broken.absent_version_removal_answers_200, "absent_version_removal"),
]
CONSEQUENCES = {broken.second_version_of_flow_accepted: {"compare_rows"}}

# What a proxy cannot tell from the traffic it sees, and why.
NOT_DETECTABLE = {
    broken.any_key_accepted: "the proxy never knows which keys are valid, so a wrong key the "
    "server accepts looks like a right one",
}

# Variants that break nothing: the contract allows what they do.
NOT_DEFECTS = {
    broken.delete_answers_without_message: "the vendor's page marks the DELETE answer's "
    "`message` optional",
}


def _variants() -> set[object]:
    return {
        function
        for name, function in inspect.getmembers(broken, inspect.isfunction)
        if not name.startswith("_") and function.__module__ == broken.__name__
    }


def _session_results(app: object) -> list[report.Result]:
    with (
        mock_and_proxy(app) as (_, proxy_url, proxy),
        httpx.Client(base_url=proxy_url, headers=KEY) as client,
    ):
        client_session(client)
        return proxy.watch.results()


def _failed(results: list[report.Result]) -> set[str]:
    return {r.check for r in report.failures(results)}


def _assumed(results: list[report.Result]) -> set[str]:
    return {r.check for r in results if r.status == report.ASSUMPTION}


# The past-limit requests of the session: the client's own violations, whatever the server.
CLIENT_ERRORS = {"request_conforms"}


def test_against_the_correct_mock_only_the_clients_own_violations_are_reported() -> None:
    results = _session_results(create_app())
    assert _failed(results) == CLIENT_ERRORS, report.failures(results)
    assert _assumed(results) == set(), results


@pytest.mark.parametrize(
    ("defect", "check"), DETECTED, ids=[f"{d.__name__}-{c}" for d, c in DETECTED]
)
def test_defect_is_reported_by_its_check(defect, check) -> None:
    results = _session_results(defect(create_app()))
    assert check in _failed(results), results


@pytest.mark.parametrize(
    ("defect", "check"), ASSUMED, ids=[f"{d.__name__}-{c}" for d, c in ASSUMED]
)
def test_a_decision_not_followed_is_an_assumption(defect, check) -> None:
    results = _session_results(defect(create_app()))
    assumed = [r for r in results if r.check == check and r.status == report.ASSUMPTION]
    assert assumed, results
    assert all(r.curl and r.expected for r in assumed), assumed
    allowed = CLIENT_ERRORS | CONSEQUENCES.get(defect, set())
    assert _failed(results) <= allowed, report.failures(results)  # nothing else broke


@pytest.mark.parametrize("defect", [*NOT_DETECTABLE, *NOT_DEFECTS], ids=lambda d: d.__name__)
def test_what_the_proxy_cannot_tell_or_the_contract_allows_is_not_reported(defect) -> None:
    results = _session_results(defect(create_app()))
    assert _failed(results) == CLIENT_ERRORS, report.failures(results)
    assert _assumed(results) == set(), results


def test_every_variant_is_classified() -> None:
    classified = [d for d, _ in DETECTED + ASSUMED] + [*NOT_DETECTABLE, *NOT_DEFECTS]
    assert set(classified) == _variants()
    assert len({*NOT_DETECTABLE, *NOT_DEFECTS} & {d for d, _ in DETECTED + ASSUMED}) == 0
