"""Smoke tests: each Schemathesis internal the suite relies on still works as assumed.

`contract/schemathesis_internals.py` lists, in its docstring, what it assumes of the pinned
Schemathesis; each test here exercises one of those assumptions for real, running the engine (or
one call) against the in-process mock, and says what broke when an upgrade breaks it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest
import schemathesis
from schemathesis import engine
from schemathesis.engine import events

from patchworks_mock.app import create_app
from patchworks_mock.contract import schema_suite
from patchworks_mock.contract import schemathesis_internals as internals
from patchworks_mock.contract.profiles import PHASES
from patchworks_mock.contract.target import Target, local_mock
from patchworks_mock.faults import PlannedFault
from tests.contract import broken

FIX = "update contract/schemathesis_internals.py and the assumption in its docstring"
CREATE = "POST /api/v1/packages"


@dataclass
class Recorded:
    """What one engine run sent through the suite's hooks, and the events it gave."""

    events: list[internals.Event] = field(default_factory=list)
    calls: list[schemathesis.Case] = field(default_factory=list)  # seen by `before_call`
    answers: list[int] = field(default_factory=list)  # statuses seen by `after_call`
    failures: list[tuple[str, ...]] = field(default_factory=list)  # seen by `filter_failure`

    def of(self, kind: type) -> list:
        return [event for event in self.events if isinstance(event, kind)]

    def outcomes(self) -> list[internals.CheckOutcome]:
        return [o for event in self.of(internals.ScenarioFinished) for o in event.checks]


def _run(
    target: Target,
    phases: tuple[str, ...],
    *,
    keep: Callable[[tuple[str, ...]], bool] = lambda checks: True,
    before: Callable[[schemathesis.Case], None] = lambda case: None,
    operations: tuple[str, ...] = ("createPackage",),
) -> Recorded:
    """The engine over `operations` (`POST /api/v1/packages`), with every hook the suite uses."""
    options = schema_suite.SchemaOptions(
        seed=1, max_examples=3, stateful_steps=3, phases=phases, operations=operations
    )
    schema = schema_suite.load(target, options)
    recorded = Recorded()

    def after_call(context, case, response) -> None:
        recorded.answers.append(response.status_code)

    def filter_failure(context, failure, case, response) -> bool:
        checks = internals.failure_checks(failure)
        recorded.failures.append(checks)
        return keep(checks)

    def callback(case: schemathesis.Case) -> None:
        recorded.calls.append(case)
        before(case)

    schema.hooks.hook("after_call")(after_call)
    schema.hooks.hook("filter_failure")(filter_failure)
    try:
        with internals.before_call(schema, callback), internals.engine_events(schema) as stream:
            recorded.events = list(stream)
    except AttributeError as exc:
        pytest.fail(f"an engine event, recorder or case lacks what the suite reads ({exc}): {FIX}")
    return recorded


@pytest.fixture(scope="module")
def mock() -> Iterator[Target]:
    with local_mock(create_app()) as target:
        yield target


@pytest.fixture(scope="module")
def answers_202() -> Iterator[Target]:
    """A mock whose create answers 202, which the contract does not document: checks fail."""
    with local_mock(broken.create_answers_202(create_app())) as target:
        yield target


@pytest.fixture(scope="module")
def failing_run(answers_202: Target) -> Recorded:
    return _run(answers_202, ("coverage",))


READ = {
    "schemathesis.engine.from_schema": (engine, "from_schema"),
    "schemathesis.engine.Status.SKIP": (engine.Status, "SKIP"),
    **{
        f"schemathesis.engine.events.{name}": (events, name)
        for name in (
            "PhaseStarted",
            "PhaseFinished",
            "ScenarioFinished",
            "NonFatalError",
            "Interrupted",
            "FatalError",
        )
    },
}


@pytest.mark.parametrize("name", sorted(READ))
def test_the_engine_names_the_suite_reads_exist(name: str) -> None:
    where, attribute = READ[name]
    assert hasattr(where, attribute), f"{name} is gone: {FIX}"


def test_the_engine_runs_the_phases_asked_for(failing_run: Recorded) -> None:
    started = [e.phase for e in failing_run.of(internals.PhaseStarted)]
    finished = [e.phase for e in failing_run.of(internals.PhaseFinished)]
    assert "coverage" in started and "coverage" in finished, (
        "schemathesis.engine.from_schema(schema).execute() no longer sends PhaseStarted and "
        f"PhaseFinished events whose phase.name is 'coverage' (got {started}, {finished}): {FIX}"
    )
    assert [p for p in started if p in PHASES] == list(PHASES), (
        "the engine no longer announces each of its phases, enabled or not, in order "
        f"(got {started}): {FIX}"
    )


def test_a_finished_scenario_carries_its_recorder(failing_run: Recorded) -> None:
    scenarios = failing_run.of(internals.ScenarioFinished)
    assert scenarios, f"no ScenarioFinished event that is not a skip: {FIX}"
    assert {s.label for s in scenarios} == {CREATE}, (
        f"ScenarioFinished.recorder.label is not the operation's label: {FIX}"
    )
    outcomes = failing_run.outcomes()
    assert outcomes, f"ScenarioFinished.recorder.checks holds no checks: {FIX}"
    assert {o.operation for o in outcomes} == {CREATE}, (
        "recorder.cases[case_id].value.operation.label no longer gives the operation of a "
        f"check: {FIX}"
    )
    assert {"not_a_server_error", "status_code_conformance"} <= {o.check for o in outcomes}, (
        f"the nodes of recorder.checks no longer carry the check's `name`: {FIX}"
    )
    called = {case.id for case in failing_run.calls}
    assert {o.case_id for o in outcomes} <= called, (
        "recorder.checks is no longer keyed by the id of the Case that was called: " + FIX
    )


def test_a_failed_check_carries_its_failure_curl_and_answer(failing_run: Recorded) -> None:
    failed = [o for o in failing_run.outcomes() if o.failure is not None]
    assert {o.check for o in failed} == {"status_code_conformance"}, (
        "a check that failed has no failure_info (or one that passed has one): " + FIX
    )
    failure = failed[0].failure
    assert failure is not None
    assert failure.title and failure.message, (
        f"failure_info.failure has no `title` or `message`: {FIX}"
    )
    assert failure.code_sample.startswith("curl ") and (
        internals.REDACTED_AUTHORIZATION in failure.code_sample
    ), (
        "failure_info.code_sample is no longer a curl command showing the key as "
        f"{internals.REDACTED_AUTHORIZATION} (got {failure.code_sample!r}): {FIX}"
    )
    assert failure.response is not None and failure.response.status_code == 202, (
        f"recorder.interactions[case_id].response no longer gives the failing answer: {FIX}"
    )
    assert failure.response.content.startswith(b"{"), (
        f"recorder.interactions[case_id].response.content is not the body's bytes: {FIX}"
    )


def test_a_failed_check_carries_the_request_as_sent(failing_run: Recorded) -> None:
    failure = next(o.failure for o in failing_run.outcomes() if o.failure is not None)
    request = failure.request
    assert request is not None and request.method == "POST", (
        f"recorder.interactions[case_id].request no longer gives the method: {FIX}"
    )
    assert request.url.endswith("/api/v1/packages") and request.url.startswith("http://"), (
        f"recorder.interactions[case_id].request.uri is not the full URL sent: {FIX}"
    )
    assert request.headers.get("Authorization"), (
        f"recorder.interactions[case_id].request.headers no longer lists the headers sent: {FIX}"
    )
    assert request.body is None or isinstance(request.body, bytes), (
        f"recorder.interactions[case_id].request.body is not bytes: {FIX}"
    )


def test_a_5xx_met_once_still_ends_the_scenario_as_a_failure() -> None:
    """Assumption 7: the engine does not send an input again when Hypothesis replays it, so
    its scenario status says nothing about whether a 5xx recurs."""
    app = create_app()
    app.state.planned_faults.append(PlannedFault(503, method="POST", path="/api/v1/packages"))
    with local_mock(app) as target:
        recorded = _run(target, ("coverage",))
    statuses = [o.failure.response.status_code for o in recorded.outcomes() if o.failure]
    assert 503 in statuses, "the planned 503 was not met"
    assert app.state.planned_faults == [], "the planned 503 was not used up"
    sent = app.state.journal.find("POST", "/api/v1/packages")
    assert len(sent) == len(recorded.calls), (
        "the engine sent an input again when Hypothesis replayed it: its own replay may now "
        f"tell whether a 5xx recurs, and `schema_suite.reproduces` may be redundant: {FIX}"
    )


def test_the_generation_mode_of_a_case_is_readable(failing_run: Recorded) -> None:
    modes = {internals.is_positive(case) for case in failing_run.calls}
    assert modes == {True, False}, (
        "case.meta.generation.mode no longer tells positive cases from negative ones "
        f"(the coverage phase gave only {modes}): {FIX}"
    )


def test_after_call_registers_on_one_schema(failing_run: Recorded) -> None:
    assert failing_run.answers and 202 in failing_run.answers, (
        f"schema.hooks.hook('after_call') no longer sees each answer: {FIX}"
    )


def test_filter_failure_sees_the_checks_of_a_failure(failing_run: Recorded) -> None:
    assert ("status_code_conformance",) in failing_run.failures, (
        "schema.hooks.hook('filter_failure') is no longer given each failure, or the failure "
        f"no longer names its checks in `checks` (got {failing_run.failures}): {FIX}"
    )


def test_filter_failure_drops_a_failure(answers_202: Target) -> None:
    run = _run(
        answers_202, ("coverage",), keep=lambda checks: "status_code_conformance" not in checks
    )
    status_checks = [o for o in run.outcomes() if o.check == "status_code_conformance"]
    assert status_checks and all(o.failure is None for o in status_checks), (
        f"a failure filter_failure dropped is still recorded as a failure: {FIX}"
    )


def test_before_call_reaches_only_the_callback_of_its_schema(mock: Target) -> None:
    options = schema_suite.SchemaOptions(seed=1, max_examples=1, stateful_steps=2)
    mine, other = schema_suite.load(mock, options), schema_suite.load(mock, options)
    seen: list[str] = []

    def case_of(schema: schemathesis.BaseSchema) -> schemathesis.Case:
        return schema["/api/v1/packages"]["GET"].Case(query={"per_page": 1})

    key = {"Authorization": mock.api_key}
    with internals.before_call(mine, lambda case: seen.append(case.id)):
        ours = case_of(mine)
        assert ours.call(headers=key).status_code == 200
        assert case_of(other).call(headers=key).status_code == 200
        with pytest.raises(RuntimeError), internals.before_call(mine, lambda case: None):
            pass
    case_of(mine).call(headers=key)
    assert seen == [ours.id], (
        "the global before_call hook registered with @schemathesis.hook no longer runs just "
        "before a call, or `case.operation.schema` is no longer the schema the case came from "
        f"(callback saw {seen}, expected only [{ours.id!r}]): {FIX}"
    )


def test_before_call_finds_the_schema_of_every_call_in_every_phase(mock: Target) -> None:
    everything: list[str] = []

    @schemathesis.hook("before_call")
    def count(context, case, kwargs) -> None:
        everything.append(case.id)

    try:
        run = _run(mock, PHASES, operations=("createPackage", "getPackage", "deletePackage"))
    finally:
        schemathesis.hooks.unregister(count)
    phases = {s.phase for s in run.of(internals.ScenarioFinished)}
    assert {"coverage", "fuzzing", "stateful"} <= phases, f"a phase sent no call ({phases})"
    assert [case.id for case in run.calls] == everything, (
        "some calls reached the global before_call hook with a `case.operation.schema` that is "
        f"not the schema given to the engine ({len(run.calls)} of {len(everything)}): {FIX}"
    )


def test_a_scenario_with_nothing_to_run_is_skipped_with_a_reason(mock: Target) -> None:
    run = _run(mock, ("examples",))
    skipped = run.of(internals.ScenarioSkipped)
    assert skipped and all(s.reason for s in skipped), (
        "a scenario the spec has no examples for no longer ends with status Status.SKIP and "
        f"a skip_reason (events: {run.events}): {FIX}"
    )


def test_an_error_in_a_hook_is_reported_and_the_run_goes_on(mock: Target) -> None:
    def fail(case: schemathesis.Case) -> None:
        raise ValueError("smoke test")

    run = _run(mock, ("coverage",), before=fail)
    errors = run.of(internals.EngineError)
    assert errors, f"an error in a before_call hook no longer gives a NonFatalError event: {FIX}"
    assert errors[0].label == CREATE and "smoke test" in errors[0].message and errors[0].title, (
        f"NonFatalError no longer has `label`, `info.title` and `info.message` ({errors}): {FIX}"
    )
    assert run.of(internals.PhaseFinished), f"the engine stopped after a NonFatalError: {FIX}"


def test_ctrl_c_during_a_call_stops_the_engine_with_interrupted(mock: Target) -> None:
    def interrupt(case: schemathesis.Case) -> None:
        raise KeyboardInterrupt

    run = _run(mock, ("coverage",), before=interrupt)
    assert run.of(internals.Interrupted), (
        "a KeyboardInterrupt during a call no longer ends the engine's stream with an "
        f"Interrupted event (events: {run.events}): {FIX}"
    )
    assert len(run.calls) == 1, f"the engine went on calling after Ctrl-C: {FIX}"


def test_a_fatal_error_event_is_read() -> None:
    # Only the CLI's loader sends FatalError in 4.32.5, so it is made here, not provoked.
    event = events.FatalError(exception=ValueError("cannot load"))
    assert internals.translate(event) == internals.FatalError("cannot load"), (
        f"schemathesis.engine.events.FatalError no longer carries `exception`: {FIX}"
    )


def test_assumption_8_a_query_bound_is_named_in_one_line() -> None:
    one = (
        "Invalid data should have been rejected\nExpected: 400, 422\n"
        "Invalid component: parameter `per_page` in query - per_page: Value greater than maximum"
    )
    assert internals.query_bound_broken(one) == ("per_page", "maximum")
    low = one.replace("greater than maximum", "less than minimum").replace("per_page", "page")
    assert internals.query_bound_broken(low) == ("page", "minimum")
    several = "Invalid component: parameters `page`, `per_page` in query\n  - page: ...\n  - ..."
    assert internals.query_bound_broken(several) is None
