"""The suite has teeth: each deliberately broken mock is reported, by the check that should."""

from __future__ import annotations

import pytest

from patchworks_mock.app import create_app
from patchworks_mock.contract import report
from tests.contract import broken
from tests.contract.support import run_suite

SCHEMA = ("schema",)
PROPS = ("properties",)

# (defect, what to run, the check that must name it)
VARIANTS = [
    (
        broken.create_answers_202,
        {"suites": SCHEMA, "operations": ("createPackage",), "phases": ("coverage",)},
        "status_code_conformance",
    ),
    (
        broken.package_without_created_at,
        {"suites": SCHEMA, "operations": ("getPackage",), "phases": ("coverage",)},
        "response_schema_conformance",
    ),
    (
        broken.list_ids_as_strings,
        {"suites": SCHEMA, "operations": ("listPackages",), "phases": ("coverage",)},
        "response_schema_conformance",
    ),
    (
        broken.not_found_with_error_key,
        {"suites": SCHEMA, "operations": ("getPackage",), "phases": ("coverage",)},
        "response_schema_conformance",
    ),
    (
        broken.server_error_on_digits,
        {"suites": SCHEMA, "operations": ("createPackage",), "phases": ("coverage", "fuzzing")},
        "not_a_server_error",
    ),
    (
        broken.any_key_accepted,
        {"suites": SCHEMA, "operations": ("getPackage",), "phases": ("coverage",)},
        "ignored_auth",
    ),
    (
        broken.delete_keeps_package,
        {
            "suites": SCHEMA,
            "operations": ("createPackage", "deletePackage", "getPackage"),
            "phases": ("stateful",),
        },
        "use_after_free",
    ),
    (broken.any_key_accepted, {"suites": PROPS, "properties": ("auth_enforced",)}, "auth_enforced"),
    (broken.pagination_off_by_one, {"suites": PROPS, "properties": ("pagination",)}, "pagination"),
    (broken.name_filter_ignored, {"suites": PROPS, "properties": ("name_filter",)}, "name_filter"),
    (broken.sort_ignored, {"suites": PROPS, "properties": ("sort_order",)}, "sort_order"),
    (
        broken.delete_keeps_package,
        {"suites": PROPS, "properties": ("crud_round_trip",)},
        "crud_round_trip",
    ),
    (
        broken.priority_not_stored,
        {"suites": PROPS, "properties": ("flow_versions",)},
        "flow_versions",
    ),
    (
        broken.compare_never_in_sync,
        {"suites": PROPS, "properties": ("deploy_lifecycle",)},
        "deploy_lifecycle",
    ),
    # -- repaired input (boundaries) --
    *(
        (defect, {"suites": PROPS, "properties": ("limits_enforced",)}, "limits_enforced")
        for defect in (
            broken.name_truncated,
            broken.notes_truncated,
            broken.priority_clamped,
            broken.page_zero_as_first,
            broken.long_name_stored_despite_422,
            broken.untrimmed_length_refused,
            broken.notes_column_too_short,
            broken.name_length_in_bytes,
        )
    ),
    (
        broken.unknown_filter_ignored,
        {"suites": PROPS, "properties": ("unknown_query_refused",)},
        "unknown_query_refused",
    ),
    # -- inconsistent answers: the checks of every answer (contract/checks.py) --
    (
        broken.compare_in_sync_without_environment_version,
        {"suites": ("stateful",), "max_examples": 10},
        "compare_rows",
    ),
    (
        broken.compare_leaves_out_a_flow,
        {"suites": PROPS, "properties": ("deploy_lifecycle",)},
        "compare_covers_package",
    ),
    (broken.links_lose_the_query, {"suites": PROPS, "properties": ("sort_order",)}, "page_links"),
    (
        broken.next_link_skips_a_page,
        {"suites": PROPS, "properties": ("sort_order",)},
        "page_links",
    ),
    (
        broken.compare_names_another_flow,
        {"suites": PROPS, "properties": ("deploy_lifecycle",)},
        "compare_rows",
    ),
    (
        broken.meta_to_one_too_many,
        {"suites": PROPS, "properties": ("sort_order",)},
        "page_arithmetic",
    ),
    (
        broken.timestamps_without_microseconds,
        {"suites": SCHEMA, "operations": ("getPackage",), "phases": ("coverage",)},
        "timestamps",
    ),
    (
        broken.created_by_id_zero,
        {"suites": SCHEMA, "operations": ("getPackage",), "phases": ("coverage",)},
        "positive_ids",
    ),
    (
        broken.add_answers_without_the_version,
        {"suites": PROPS, "properties": ("flow_versions",)},
        "answers_its_path",
    ),
    (
        broken.get_answers_another_package,
        {"suites": SCHEMA, "operations": ("getPackage",), "phases": ("coverage",)},
        "answers_its_path",
    ),
    (
        broken.deploy_names_another_environment,
        {"suites": PROPS, "properties": ("deploy_lifecycle",)},
        "answers_its_path",
    ),
    (
        broken.pivot_names_another_package,
        {"suites": PROPS, "properties": ("flow_versions",)},
        "pivots_agree",
    ),
    (
        broken.location_is_relative,
        {"suites": SCHEMA, "operations": ("createPackage",), "phases": ("coverage",)},
        "location_header",
    ),
    (
        broken.not_found_without_namespace,
        {"suites": SCHEMA, "operations": ("getPackage",), "phases": ("coverage",)},
        "not_found_message",
    ),
    (
        broken.unauthenticated_says_unauthorized,
        {"suites": PROPS, "properties": ("auth_enforced",)},
        "unauthenticated_body",
    ),
    (
        broken.validation_message_generic,
        {"suites": SCHEMA, "operations": ("createPackage",), "phases": ("coverage",)},
        "validation_summary",
    ),
    (
        broken.query_refusal_reworded,
        {"suites": SCHEMA, "operations": ("listPackages",), "phases": ("coverage",)},
        "query_not_allowed_message",
    ),
    (
        broken.method_not_allowed_without_allow,
        {"suites": SCHEMA, "operations": ("getPackage",), "phases": ("coverage",)},
        "allow_header",
    ),
    (
        broken.json_as_html,
        {"suites": SCHEMA, "operations": ("getPackage",), "phases": ("coverage",)},
        "json_content_type",
    ),
    (
        broken.priority_not_stored,
        {"suites": PROPS, "properties": ("flow_versions",)},
        "priorities_as_stored",
    ),
    (
        broken.delete_keeps_package,
        {"suites": PROPS, "properties": ("crud_round_trip",)},
        "deleted_stays_deleted",
    ),
]


@pytest.mark.parametrize(
    ("defect", "options", "check"),
    VARIANTS,
    ids=[f"{defect.__name__}-{check}" for defect, _, check in VARIANTS],
)
def test_defect_is_reported_by_its_check(defect, options, check) -> None:
    run = run_suite(defect(create_app()), **options)
    assert run.code == 1, run.output
    assert check in run.failing(), run.output
    assert "reproduce:" in run.output or check == "model_based_sequence", run.output


# Defects against a decision of api-notes rather than a fact: each is reported as an assumption
# by the test that meets it (which goes on), and alone does not fail the run.
ASSUMPTIONS = [
    (
        broken.second_version_of_flow_accepted,
        {"suites": PROPS, "properties": ("flow_versions",)},
        "flow_versions",
    ),
    (
        broken.removal_allowed_after_deploy,
        {"suites": PROPS, "properties": ("deploy_lifecycle",)},
        "deploy_lifecycle",
    ),
    (
        broken.removal_allowed_after_deploy,
        {"suites": ("stateful",), "max_examples": 25},
        "model_based_sequence",
    ),
    (
        broken.second_version_of_flow_accepted,
        {"suites": ("stateful",), "max_examples": 25},
        "model_based_sequence",
    ),
    (
        broken.default_priority_thirty,
        {"suites": PROPS, "properties": ("flow_versions",)},
        "flow_versions",
    ),
    (broken.default_priority_thirty, {"suites": ("stateful",)}, "model_based_sequence"),
    (
        broken.empty_deploy_accepted,
        {"suites": PROPS, "properties": ("deploy_lifecycle",)},
        "deploy_lifecycle",
    ),
    (
        broken.absent_version_removal_answers_200,
        {"suites": PROPS, "properties": ("flow_versions",)},
        "flow_versions",
    ),
    (
        broken.absent_version_removal_answers_200,
        {"suites": ("stateful",), "max_examples": 25},
        "model_based_sequence",
    ),
    (
        broken.removal_after_deploy_409,
        {"suites": ("stateful",), "max_examples": 25},
        "model_based_sequence",
    ),
]


@pytest.mark.parametrize(
    ("defect", "options", "check"),
    ASSUMPTIONS,
    ids=[f"{defect.__name__}-{check}" for defect, _, check in ASSUMPTIONS],
)
def test_a_decision_not_followed_is_an_assumption(defect, options, check) -> None:
    run = run_suite(defect(create_app()), **options)
    assumed = [r for r in run.results if r.check == check and r.status == report.ASSUMPTION]
    assert assumed, run.output
    assert all("api-notes decides" in r.message and r.curl for r in assumed), run.output
    assert run.code == 0, run.output  # the test went on, and nothing else broke
