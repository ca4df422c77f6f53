"""The schema-driven part: Schemathesis's engine over the 11 operations, every fitting check.

The engine runs the examples, coverage, fuzzing and stateful phases as `st run` would. Hooks
keep it safe on a real deployment: just before each call, a request naming a package is pointed
at a package this run created (or at an id that names nothing), and a valid create or update is
named under the run's prefix; after each call, every package Schemathesis created is recorded,
so that the clean-up removes it.

Schemathesis's own requests retry network errors and wait out 429s (its `request-retries` and
`rate-limit = "auto"`), but not a 5xx. A check that failed on a 5xx or 429 is therefore checked
again by the suite (`reproduces`): an idempotent request is sent again through the retrying
client; a POST never is, but up to `RESENDS` new POSTs like it are (a create under a new name,
the same body for another of the run's packages; anything they create is recorded for the
clean-up). A failure that is not met again is `FLAKY`; one that is, `FAILED`.

This module uses Schemathesis's public API only; running the engine, reading what it recorded
and the `before_call` hook are in `schemathesis_internals.py` (imported as `internals`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

import httpx
import schemathesis

from patchworks_mock import bundled
from patchworks_mock.cli_common import TARGET_KEY_VARIABLE
from patchworks_mock.contract import report, schema_errors
from patchworks_mock.contract import schemathesis_internals as internals
from patchworks_mock.contract.api import OPERATIONS, PACKAGES
from patchworks_mock.contract.boundaries import DECISIONS
from patchworks_mock.contract.exchange import api_path, route_of
from patchworks_mock.contract.expectations import answer_text
from patchworks_mock.contract.profiles import PHASES
from patchworks_mock.contract.rules import ABSENT, nonblank
from patchworks_mock.contract.safety import Ledger
from patchworks_mock.contract.target import Target
from patchworks_mock.contract.transport import IDEMPOTENT, retryable_status

CREATE = "POST /api/v1/packages"
DELETE = "DELETE /api/v1/packages/{package}"
# A schema-valid request to these operations may be refused with a documented 422 for a domain
# rule the schema cannot express: deploying an empty package, a second version of a flow,
# removing a version after the first deploy. Only `positive_data_acceptance`, only on a 422, only
# here, is told so (see `filter_failure`); every other check of these operations stays as is.
DOMAIN_REFUSALS = {
    "POST /api/v1/packages/{package}/deploy/{virtual_environment}",
    "POST /api/v1/packages/{package}/flow-versions/{flow_version}",
    "DELETE /api/v1/packages/{package}/flow-versions/{flow_version}",
}
DESIGN_CHECKS = {
    "ensure_resource_availability",
    "use_after_free",
    "negative_data_rejection",
    "positive_data_acceptance",
}
WRITES_BODY_NAME = {"POST /api/v1/packages", "PUT /api/v1/packages/{package}"}
REQUEST_RETRIES = 3  # Schemathesis's own retries of a connection error or a timeout
RESENDS = 2  # how many times a POST that met a 5xx or 429 is sent again, to see if it recurs
NOT_RESENT = {"host", "content-length", "connection", "accept-encoding", "user-agent"}


@dataclass
class SchemaOptions:
    seed: int
    max_examples: int
    stateful_steps: int
    phases: tuple[str, ...] = PHASES
    operations: tuple[str, ...] = ()  # operation ids to keep; empty keeps all 11
    verbose: bool = False  # a progress line per scenario, not only per phase and failure


def config_for(target: Target, options: SchemaOptions) -> schemathesis.Config:
    """Every built-in check that fits the API, all generation modes, a fixed seed, no database."""
    phases: dict[str, dict[str, bool | int]] = {
        name: {"enabled": name in options.phases} for name in PHASES
    }
    phases["stateful"]["max-steps"] = options.stateful_steps
    return schemathesis.Config.from_dict(
        {
            "seed": options.seed,
            "base-url": target.base_url,
            "headers": {"Authorization": target.api_key},
            "request-timeout": target.timeout,
            "request-retries": REQUEST_RETRIES,
            "rate-limit": "auto",
            "generation": {
                "max-examples": options.max_examples,
                "database": "none",
                "deterministic": True,
            },
            "phases": phases,
        }
    )


def operation_ids(target: Target, options: SchemaOptions) -> list[str]:
    """The operations this target may be sent (and the run asked for); login is never sent."""
    chosen = []
    for operation_id, method, _ in OPERATIONS:
        if options.operations and operation_id not in options.operations:
            continue
        if target.read_only and method != "GET":
            continue
        if operation_id == "deployPackage" and not target.can_deploy:
            continue
        chosen.append(operation_id)
    return chosen


def load(target: Target, options: SchemaOptions) -> schemathesis.BaseSchema:
    """The bundled contract, narrowed to `operation_ids` (one filter: chained ones replace)."""
    schema = schemathesis.openapi.from_path(
        bundled.PACKAGES_SPEC, config=config_for(target, options)
    )
    return schema.include(operation_id=operation_ids(target, options))


def _aimed(package: str, ledger: Ledger, positive: bool) -> str:
    """The package a request may name: its own if this run created it, else the latest one it
    created (in a stateful chain, the chain's own), else an id that names nothing.

    A request meant to be refused gets the id that names nothing: the rewrite must not make an
    invalid request valid (which `negative_data_rejection` would report).
    """
    if ledger.owns(package):
        return package
    latest = ledger.latest() if positive else None
    return latest or ABSENT


@dataclass
class Guard:
    """What one run may send: packages it owns, VEs it was given, names under its prefix."""

    target: Target
    ledger: Ledger
    rewritten: set[str] = field(default_factory=set)  # ids of the cases whose ids were changed

    def adjust(self, case: schemathesis.Case) -> None:
        """Called just before each call: re-aim the case at what this run may touch."""
        method = case.operation.method.upper()
        label = f"{method} {case.operation.path}"
        params = case.path_parameters
        positive = internals.is_positive(case)
        keep_ids = self.target.read_only and method == "GET"
        if params and not keep_ids and "package" in params:
            aimed = _aimed(str(params["package"]), self.ledger, positive)
            if aimed != str(params["package"]):  # an unchanged value must stay untouched
                params["package"] = aimed
                self.rewritten.add(case.id)
        environments = self.target.virtual_environments
        deploy = params and label.endswith("/deploy/{virtual_environment}") and environments
        if deploy and params.get("virtual_environment") not in environments:
            params["virtual_environment"] = environments[0]
            self.rewritten.add(case.id)
        body = case.body
        if label in WRITES_BODY_NAME and positive and isinstance(body, dict):
            name = body.get("name")
            if isinstance(name, str) and nonblank(name) and not name.startswith(self.ledger.prefix):
                body["name"] = self.ledger.name(name)


def install_guards(schema: schemathesis.BaseSchema, guard: Guard) -> None:
    """Record every package Schemathesis creates or deletes; drop the failures `Guard` caused.

    (Aiming package ids at packages the run owns is `guard.adjust`, set with
    `internals.before_call` for the length of the run.)
    """

    def after_call(
        context: schemathesis.HookContext,
        case: schemathesis.Case,
        response: schemathesis.Response,
    ) -> None:
        label = f"{case.operation.method.upper()} {case.operation.path}"
        if label == DELETE and response.status_code == 200:
            guard.ledger.gone((case.path_parameters or {}).get("package"))
        if label != CREATE or response.status_code not in (200, 201):
            return
        try:
            guard.ledger.record(response.json()["data"]["id"])
        except (ValueError, KeyError, TypeError):
            return

    def filter_failure(
        context: schemathesis.HookContext,
        failure: object,
        case: schemathesis.Case,
        response: schemathesis.Response,
    ) -> bool:
        checks = internals.failure_checks(failure)
        domain_refusal = (
            "positive_data_acceptance" in checks
            and response.status_code == 422
            and f"{case.operation.method.upper()} {case.operation.path}" in DOMAIN_REFUSALS
        )
        # A request the guard re-aimed is not the one Schemathesis designed: whether it should
        # have found its resource, or been refused, is no longer known. The checks of the
        # answer itself (status, schema, headers, no 500) still judge it.
        redesigned = case.id in guard.rewritten and bool(set(checks) & DESIGN_CHECKS)
        return not (domain_refusal or redesigned)

    schema.hooks.hook("after_call")(after_call)
    schema.hooks.hook("filter_failure")(filter_failure)


def _curl(code_sample: str) -> str:
    key = f'"Authorization: ${TARGET_KEY_VARIABLE}"'
    return code_sample.replace(internals.REDACTED_AUTHORIZATION, key)


def _response_text(response: internals.RecordedResponse | None) -> str:
    if response is None:
        return ""
    return answer_text(response.status_code, response.content.decode("utf-8", "replace"))


def _noise(failure: internals.CheckFailure) -> bool:
    """A failure on an answer a flaky server gives: a 5xx or 429."""
    status = failure.response.status_code if failure.response else 0
    return retryable_status(status)


def _on_the_wire(url: str) -> str:
    """The URL as sent: control characters and spaces percent-encoded (as Schemathesis's HTTP
    client sent them; httpx refuses them raw)."""
    return re.sub(r"[\x00-\x20\x7f]", lambda m: f"%{ord(m.group()):02X}", url)


def _fresh_posts(
    ledger: Ledger, request: internals.RecordedRequest, base_path: str
) -> list[tuple[str, bytes]]:
    """New POSTs like `request`, one per re-check (at most `RESENDS`): a create under a new
    name, or the same body for another package of the run's own. Empty when nothing can be
    varied (a create without a name, no other package): that POST is not sent again."""
    wire = urlsplit(_on_the_wire(request.url))  # its path stays percent-encoded, as sent
    path = api_path(wire.path, base_path)
    body = request.body or b""
    if path == PACKAGES:
        try:
            sent = json.loads(body)
        except ValueError:
            return []
        name = sent.get("name") if isinstance(sent, dict) else None
        if not isinstance(name, str) or not nonblank(name):
            return []
        fresh = []
        for number in range(1, RESENDS + 1):
            with ledger.rerun(number):
                renamed = {**sent, "name": ledger.name(name.removeprefix(ledger.run_prefix))}
            fresh.append((urlunsplit(wire), json.dumps(renamed).encode()))
        return fresh
    segments = path.split("/")
    if path.startswith(PACKAGES + "/") and len(segments) > 4:
        before = wire.path[: len(wire.path) - len(path)]  # the target's own prefix
        others = [p for p in reversed(ledger.live_since(0)) if p != segments[4]][:RESENDS]
        paths = [before + "/".join([*segments[:4], other, *segments[5:]]) for other in others]
        return [(urlunsplit(wire._replace(path=path)), body) for path in paths]
    return []


def reproduces(
    client: httpx.Client, ledger: Ledger, request: internals.RecordedRequest
) -> bool | None:
    """Whether a request that met a 5xx or 429 meets one again: True, False, or None when
    that cannot be told without sending a POST twice.

    An idempotent request is sent again once through the retrying client (which retries it
    itself). A POST is never sent twice: new POSTs like it are sent instead (`_fresh_posts`),
    whose answers tell whether the server fails on requests of that kind.
    """
    headers = {k: v for k, v in request.headers.items() if k.lower() not in NOT_RESENT}
    base_path = urlsplit(str(client.base_url)).path.rstrip("/")  # the target's own prefix
    if request.method.upper() in IDEMPOTENT:
        attempts = [(_on_the_wire(request.url), request.body)]
    else:
        attempts = list(_fresh_posts(ledger, request, base_path))
        if not attempts:
            return None
    for url, body in attempts:
        try:
            response = client.request(request.method, url, headers=headers, content=body)
        except httpx.InvalidURL:
            return None  # it cannot be sent again as it was: whether it recurs is not known
        except httpx.HTTPError:
            continue
        route = route_of(request.method.upper(), api_path(response.url.path, base_path))
        if route and route[0] == CREATE:
            ledger.record_created(response)
        if route and route[0] == DELETE and response.status_code == 200:
            ledger.gone(route[1]["package"])
        if not retryable_status(response.status_code):
            return False
    return True


def _message(outcome: internals.CheckOutcome, failure: internals.CheckFailure) -> str:
    """The failure in plain words: a response-schema mismatch says where and why, instead of
    Schemathesis's truncated dump of the schema and the value."""
    response = failure.response
    if outcome.check == "response_schema_conformance" and response is not None:
        words = schema_errors.mismatches(outcome.operation, response.status_code, response.content)
        if words:
            return "\n".join(
                [f"the HTTP {response.status_code} answer does not match the contract's schema:"]
                + [f"- {line}" for line in words]
            )
    return f"{failure.title}\n{failure.message}".strip()


def results_of(
    outcomes: list[internals.CheckOutcome],
    recurs: Callable[[internals.RecordedRequest], bool | None] = lambda request: True,
) -> list[report.Result]:
    """One result per check per operation of a finished scenario, failures with their curl.

    A failure on a 5xx or 429 counts only if `recurs` says its request meets one again
    (asked once per request); otherwise it is `FLAKY`. When `recurs` cannot tell (None), the
    row is marked `unconfirmed`, for the runner to judge once the whole run is known.
    """
    seen: dict[tuple[str, str], report.Result] = {}
    recurred: dict[str, bool | None] = {}
    found = []
    for outcome in outcomes:
        failure = outcome.failure
        if failure is None:
            key = (outcome.operation, outcome.check)
            if key not in seen:
                seen[key] = report.Result("schema", outcome.operation, outcome.check, report.PASSED)
            continue
        status = report.FAILED
        message = _message(outcome, failure)
        decided = (
            internals.query_bound_broken(failure.message)
            if outcome.check == "negative_data_rejection"
            else None
        )
        if decided in DECISIONS:  # past a bound api-notes decided, not one of the contract's facts
            status = report.ASSUMPTION
            message = f"{message}\n{DECISIONS[decided]}"
        unconfirmed = False
        if _noise(failure) and failure.request is not None:
            if outcome.case_id not in recurred:
                recurred[outcome.case_id] = recurs(failure.request)
            if recurred[outcome.case_id] is False:
                status = report.FLAKY
                message = f"failed once, not again when the request was sent again: {message}"
            elif recurred[outcome.case_id] is None:
                unconfirmed = True
                message = (
                    f"{message}\n(a POST the suite does not send twice, and nothing of it to vary "
                    "for a new one: whether it recurs is not known)"
                )
        found.append(
            report.Result(
                "schema",
                outcome.operation,
                outcome.check,
                status,
                message=message,
                curl=_curl(failure.code_sample),
                actual=_response_text(failure.response),
                unconfirmed=unconfirmed,
            )
        )
    failed = {(r.operation, r.check) for r in found}
    return found + [r for key, r in seen.items() if key not in failed]


def run(
    target: Target,
    ledger: Ledger,
    options: SchemaOptions,
    progress: Callable[[str], None],
    results: list[report.Result] | None = None,
    after_call: Callable[..., None] | None = None,
) -> list[report.Result]:
    """Run the engine; every check of every operation becomes `Result` rows, added to
    `results` (when given) as each scenario ends, so that Ctrl-C keeps what ran.

    Requests naming someone else's package go to the packages the ledger holds (the runner
    creates a few first), never elsewhere. `after_call`, if given, sees every answer too.
    """
    schema = load(target, options)
    guard = Guard(target, ledger)
    install_guards(schema, guard)
    if after_call is not None:
        schema.hooks.hook("after_call")(after_call)
    client = target.client()
    results = [] if results is None else results
    skips: dict[tuple[str, str], list[str]] = {}
    scenarios: dict[str, int] = {}
    failing: dict[str, int] = {}
    with (
        client,
        internals.before_call(schema, guard.adjust),
        internals.engine_events(schema) as stream,
    ):
        for event in stream:
            if isinstance(event, internals.PhaseStarted) and event.phase in PHASES:
                progress(f"schema: {event.phase} phase")
            elif isinstance(event, internals.ScenarioSkipped):
                # A stateful scenario that ran no step is "skipped" without a reason.
                if event.reason:
                    skips.setdefault((event.phase, event.reason), []).append(event.label)
            elif isinstance(event, internals.ScenarioFinished):
                found = results_of(event.checks, lambda r: reproduces(client, ledger, r))
                results += found
                bad = sum(1 for r in found if r.status == report.FAILED)
                scenarios[event.phase] = scenarios.get(event.phase, 0) + 1
                failing[event.phase] = failing.get(event.phase, 0) + bool(bad)
                if bad or (options.verbose and event.phase != "stateful"):
                    mark = f"{bad} failing checks" if bad else "ok"
                    progress(f"  {event.phase:<9} {event.label}: {mark}")
            elif isinstance(event, internals.PhaseFinished) and event.phase in PHASES:
                ran, bad_ones = scenarios.get(event.phase, 0), failing.get(event.phase, 0)
                progress(f"  {ran} scenarios, {bad_ones} with failures")
            elif isinstance(event, internals.EngineError):
                results.append(
                    report.Result(
                        "schema",
                        event.label,
                        "schemathesis",
                        report.ERROR,
                        message=f"{event.title}: {event.message}",
                    )
                )
            elif isinstance(event, internals.Interrupted):
                # The engine takes Ctrl-C itself and stops; the run must stop (and clean up) too.
                raise KeyboardInterrupt
            elif isinstance(event, internals.FatalError):
                results.append(
                    report.Result("schema", "(run)", "schemathesis", report.ERROR, event.message)
                )
    for (phase, reason), labels in skips.items():
        where = "all operations" if len(labels) > 1 else labels[0]
        results.append(report.Result("schema", where, f"{phase} phase", report.SKIPPED, reason))
    return results
