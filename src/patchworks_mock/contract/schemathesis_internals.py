"""Every use of Schemathesis beyond its documented public API, in one place.

The schema suite (`schema_suite.py`) runs Schemathesis's engine, the way `st run` does, inside
`patchworks-mock check`, and reads what the engine recorded. Schemathesis documents no Python API
for that (its public Python API is the loaders, hooks, checks and the pytest integration), so
this module does it with Schemathesis's internals and hands the rest of the suite plain data:
`Event`s and `CheckOutcome`s defined here. Nothing else in `contract/` may import a Schemathesis
module other than `schemathesis` itself, `schemathesis.openapi` and the names they export.

Written against schemathesis 4.32.5 (pyproject allows >=4.32,<5). What it assumes of that
version, each checked by a smoke test in `tests/contract/test_schemathesis_internals.py`:

1. The engine. `schemathesis.engine.from_schema(schema).execute()` runs the enabled phases and
   returns a stream of events to iterate; `stream.stop()` ends it. It takes Ctrl-C (here: a
   `KeyboardInterrupt` raised during a call) itself and sends `Interrupted`.
2. The events, in `schemathesis.engine.events`:
   - `PhaseStarted` and `PhaseFinished` carry `phase.name`, a string enum ("examples",
     "coverage", "fuzzing", "stateful"; also internal phases such as "probing");
   - `ScenarioFinished` carries `phase` (the same enum), `status` (compared with
     `schemathesis.engine.Status.SKIP`), `skip_reason` and `recorder`;
   - `NonFatalError` carries `label` and `info.title`, `info.message` (an error in a hook, or a
     network error, becomes one);
   - `Interrupted`; `FatalError` carries `exception` (only the CLI's loader sends it in 4.32.5;
     it is read in case the engine ever does).
3. The recorder of a scenario (`ScenarioRecorder`): `label`; `checks`, a dict from case id to a
   list of nodes with `name` and `failure_info` (None when the check passed; else with
   `failure.title`, `failure.message` and `code_sample`, a curl command in which the key is shown
   as `REDACTED_AUTHORIZATION`); `cases`, a dict from case id to a node whose `value` is the
   `Case`; `interactions`, a dict from case id to an interaction whose `response` (or None) has
   `status_code` and `content` (bytes).
4. A case's generation mode is `case.meta.generation.mode` (a public `GenerationMode`);
   `case.meta` is None for a case that was built rather than generated, which the suite counts
   as positive. Reading `case.meta` revalidates it if the case was changed, so the guard reads
   it before changing anything.
5. The failure a `filter_failure` hook is given names the checks that raise it in `checks`.
6. `before_call` can only be registered globally: the hook reference documents `before_call`
   for schema-level registration too, but 4.32.5 refuses it ("Cannot register hook
   'before_call' on SCHEMA scope dispatcher"). The suite needs it per run, so this module
   registers ONE global `before_call` hook, through the public `schemathesis.hook`, when it is
   first imported; that hook hands each case to the callback `before_call(schema, ...)` set for
   the case's schema, found as `case.operation.schema` (the very schema object given to the
   engine, include()-narrowed, in every phase), and does nothing for any other schema. (A
   schema-level `map_case` hook could do the same work at generation time, but was measured,
   when the guard was first written, to make the fuzzing phase about fifteen times slower.)
   (Were `schemathesis.hooks.unregister_all()` called in the process, the hook would be gone.)

7. Schemathesis's own replay tells nothing about whether a failure reproduces: Hypothesis
   replays a failing example, but the engine sends each input only once and repeats the first
   outcome for later copies (`engine/run/unit/_case.py`, `_call_and_validate_once`), so a 503
   met once ends the scenario as a failure all the same (never as a `Flaky` success). The suite
   re-sends such a request itself (`schema_suite.reproduces`), from what the recorder holds.
8. A `negative_data_rejection` failure's message names what was made invalid, when it is one
   query parameter past a bound, in one line: "Invalid component: parameter `per_page` in
   query - per_page: value greater than maximum" (or "less than minimum"); the suite reads it
   (`query_bound_broken`) to tell a server that differs from a decided bound (an assumption)
   from one that accepts anything invalid.

What the suite uses as public (documented, or exported in `schemathesis.__all__`), outside this
module: `schemathesis.openapi.from_path(path, config=...)`, `schemathesis.Config.from_dict` with
the keys of `schemathesis.toml`, `schema.include(operation_id=...)`, `schema.hooks.hook(name)` for
`after_call` and `filter_failure`, and the fields of `Case` (`id`, `operation.method`,
`operation.path`, `path_parameters`, `body`) and `Response` (`status_code`, `json()`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import schemathesis

try:
    from schemathesis.engine import Status, events, from_schema
except ImportError as exc:  # assumption 1: say which version broke it, and where to fix it
    raise ImportError(
        f"schemathesis {schemathesis.__version__}: {exc}; this suite needs from_schema, Status "
        "and events from schemathesis.engine: update contract/schemathesis_internals.py"
    ) from exc

if TYPE_CHECKING:
    from schemathesis.core.failures import Failure
    from schemathesis.engine.recorder import ScenarioRecorder

REDACTED_AUTHORIZATION = "'Authorization: [Filtered]'"  # the key, as a code sample shows it

# -- the events the suite reads, as plain data ------------------------------------------------


@dataclass(frozen=True)
class RecordedResponse:
    status_code: int
    content: bytes


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    url: str
    headers: dict[str, str]
    body: bytes | None


@dataclass(frozen=True)
class CheckFailure:
    title: str
    message: str
    code_sample: str  # a curl command; the key shows as REDACTED_AUTHORIZATION
    response: RecordedResponse | None  # the answer that failed the check, if one came
    request: RecordedRequest | None = None  # the request as sent, to send it again


@dataclass(frozen=True)
class CheckOutcome:
    """One check of one call: which operation, which check, and its failure if it failed."""

    case_id: str
    operation: str  # "GET /api/v1/packages/{package}"
    check: str
    failure: CheckFailure | None


@dataclass(frozen=True)
class PhaseStarted:
    phase: str


@dataclass(frozen=True)
class PhaseFinished:
    phase: str


@dataclass(frozen=True)
class ScenarioSkipped:
    phase: str
    label: str
    reason: str | None  # a stateful scenario that ran no step is skipped without one


@dataclass(frozen=True)
class ScenarioFinished:
    phase: str
    label: str
    checks: list[CheckOutcome]


@dataclass(frozen=True)
class EngineError:
    """An error the engine reported and went on after (a network error, an error in a hook)."""

    label: str
    title: str
    message: str


@dataclass(frozen=True)
class Interrupted:
    """The engine took Ctrl-C and stopped."""


@dataclass(frozen=True)
class FatalError:
    message: str


Event = (
    PhaseStarted
    | PhaseFinished
    | ScenarioSkipped
    | ScenarioFinished
    | EngineError
    | Interrupted
    | FatalError
)


def check_outcomes(recorder: ScenarioRecorder) -> list[CheckOutcome]:
    """Every check a scenario's recorder holds, in the order it holds them."""
    outcomes = []
    for case_id, checks in recorder.checks.items():
        node = recorder.cases.get(case_id)
        operation = node.value.operation.label if node else recorder.label
        for check in checks:
            info = check.failure_info
            failure = None
            if info is not None:
                failure = CheckFailure(
                    title=info.failure.title,
                    message=info.failure.message,
                    code_sample=info.code_sample,
                    response=_response(recorder, case_id),
                    request=_request(recorder, case_id),
                )
            outcomes.append(CheckOutcome(case_id, operation, check.name, failure))
    return outcomes


def _response(recorder: ScenarioRecorder, case_id: str) -> RecordedResponse | None:
    interaction = recorder.interactions.get(case_id)
    response = interaction.response if interaction else None
    if response is None:
        return None
    return RecordedResponse(response.status_code, response.content or b"")


def _request(recorder: ScenarioRecorder, case_id: str) -> RecordedRequest | None:
    interaction = recorder.interactions.get(case_id)
    if interaction is None:
        return None
    request = interaction.request
    headers = {name: values[0] for name, values in request.headers.items() if values}
    return RecordedRequest(request.method, request.uri, headers, request.body)


def translate(event: object) -> Event | None:
    """The suite's view of one engine event; None for the events it does not read."""
    if isinstance(event, events.PhaseStarted):
        return PhaseStarted(str(event.phase.name))
    if isinstance(event, events.ScenarioFinished):
        label = event.recorder.label
        if event.status == Status.SKIP:
            return ScenarioSkipped(str(event.phase), label, event.skip_reason)
        return ScenarioFinished(str(event.phase), label, check_outcomes(event.recorder))
    if isinstance(event, events.PhaseFinished):
        return PhaseFinished(str(event.phase.name))
    if isinstance(event, events.NonFatalError):
        return EngineError(event.label, event.info.title, event.info.message)
    if isinstance(event, events.Interrupted):
        return Interrupted()
    if isinstance(event, events.FatalError):
        return FatalError(str(event.exception))
    return None


@contextmanager
def engine_events(schema: schemathesis.BaseSchema) -> Iterator[Iterator[Event]]:
    """Run Schemathesis's engine over `schema`, as `st run` would; the stream stops on exit."""
    stream = from_schema(schema).execute()

    def translated() -> Iterator[Event]:
        for event in stream:
            mine = translate(event)
            if mine is not None:
                yield mine

    try:
        yield translated()
    finally:
        stream.stop()


# -- what a case and a failure say about themselves --------------------------------------------


def is_positive(case: schemathesis.Case) -> bool:
    """Whether the case was generated to be valid (an explicit example counts as valid)."""
    meta = case.meta
    return meta is None or meta.generation.mode == schemathesis.GenerationMode.POSITIVE


def failure_checks(failure: object) -> tuple[str, ...]:
    """The names of the checks that raise this kind of failure (assumption 5)."""
    return tuple(cast("Failure", failure).checks)


# -- `before_call` for one schema ----------------------------------------------------------------

_before_call: dict[int, Callable[[schemathesis.Case], None]] = {}  # id(schema) -> callback


@schemathesis.hook("before_call")
def _hand_to_schema_callback(
    context: schemathesis.HookContext, case: schemathesis.Case, kwargs: dict[str, Any]
) -> None:
    """The one process-wide `before_call` hook (assumption 6): inert for other schemas."""
    callback = _before_call.get(id(case.operation.schema))
    if callback is not None:
        callback(case)


@contextmanager
def before_call(
    schema: schemathesis.BaseSchema, callback: Callable[[schemathesis.Case], None]
) -> Iterator[None]:
    """While inside, `callback(case)` runs just before each call of a case of `schema`."""
    key = id(schema)
    if key in _before_call:
        raise RuntimeError("this schema already has a before_call callback")
    _before_call[key] = callback
    try:
        yield
    finally:
        del _before_call[key]


# -- what a failure's message says (assumption 8) ------------------------------------------------

_QUERY_BOUND = re.compile(
    r"^Invalid component: parameter `([^`]+)` in query - \1: value (greater than maximum|less than"
    r" minimum)$",
    re.IGNORECASE | re.MULTILINE,
)


def query_bound_broken(message: str) -> tuple[str, str] | None:
    """(parameter, "maximum" or "minimum") when a `negative_data_rejection` failure's only
    invalid component is one query parameter past that bound; else None."""
    found = _QUERY_BOUND.findall(message)
    if len(found) != 1 or message.count("Invalid component:") != 1:
        return None
    name, broken = found[0]
    return name, "maximum" if "maximum" in broken.lower() else "minimum"
