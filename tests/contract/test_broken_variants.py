"""The suite has teeth: each deliberately broken mock is reported, by the check that should."""

from __future__ import annotations

import pytest

from patchworks_mock.app import create_app
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
        broken.second_version_of_flow_accepted,
        {"suites": PROPS, "properties": ("flow_versions",)},
        "flow_versions",
    ),
    (
        broken.compare_never_in_sync,
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
