"""One run of the suite: pick the target, prepare, run the three suites, clean up, report.

The clean-up runs in a `finally`, so packages the run created are deleted after a failure or
Ctrl-C as well as after success. The report and the verdict are printed whatever happened:
after Ctrl-C (exit 130, once cleaned up) or a server that stopped answering (exit 2), they
cover what ran.

What each test's outcome is (and the reruns that tell a failure from noise) is `outcomes.py`.
"""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TextIO

import httpx

from patchworks_mock.cli_common import USAGE_ERROR
from patchworks_mock.contract import outcomes, properties, report, schema_suite, stateful
from patchworks_mock.contract.api import Api
from patchworks_mock.contract.observer import Observer
from patchworks_mock.contract.profiles import PHASES, PROFILES, SUITES, Profile
from patchworks_mock.contract.safety import CLEANUP_REQUEST_WAIT, Ledger, new_run_id
from patchworks_mock.contract.target import (
    ServedApp,
    Target,
    TargetError,
    local_mock,
    normalise_url,
    probe,
)
from patchworks_mock.contract.transport import retryable_status

INTERRUPTED = 130
Progress = Callable[[str], None]  # prints one line of progress


@dataclass
class Options:
    """Everything `check` was asked to do."""

    url: str | None = None
    api_key: str | None = None
    seed: int | None = None
    profile: str = "default"
    max_examples: int | None = None
    read_only: bool = False
    allow_deploy: bool = False
    virtual_environments: list[str] = field(default_factory=list)
    flow_versions: list[str] = field(default_factory=list)
    junit_xml: str | None = None
    report_md: str | None = None  # also write a Markdown summary here
    verbose: bool = False  # the full table of every check, not only the short report
    fail_on_flaky: bool = False  # a failure that did not reproduce fails the run too
    suites: tuple[str, ...] = SUITES
    phases: tuple[str, ...] = PHASES
    properties: tuple[str, ...] = ()  # property names to run; empty runs all
    operations: tuple[str, ...] = ()  # operation ids Schemathesis checks; empty checks all 11


@contextmanager
def open_target(options: Options, app: ServedApp | None = None) -> Iterator[Target]:
    """The server by URL (probed first), or the mock in-process (`app`, else a default one)."""
    if options.url is None:
        with local_mock(app) as target:
            target.read_only = options.read_only
            yield target
        return
    target = Target(
        base_url=normalise_url(options.url),
        api_key=options.api_key or "",
        read_only=options.read_only,
        allow_deploy=options.allow_deploy,
        virtual_environments=list(options.virtual_environments),
        flow_versions=list(options.flow_versions),
    )
    probe(target)
    yield target


DISCOVERY_ROUNDS = 3  # packages tried for the flow versions a flaky server did not take


def discover_flows(
    api: Api, ledger: Ledger, versions: list[str]
) -> tuple[dict[str, int], list[str]]:
    """Each usable flow version's flow id, learnt by adding it to a package of this run's own.

    A version the server refused is reported (not used); one that met a 5xx or 429 is tried
    again on a new package (a POST is never sent twice), for up to `DISCOVERY_ROUNDS` rounds.
    """
    flows: dict[str, int] = {}
    problems: list[str] = []
    pending = list(versions)
    why = ""  # what the last round met, for the versions still pending
    for round_number in range(1, DISCOVERY_ROUNDS + 1):
        if not pending:
            break
        created = api.create({"name": ledger.name(f"probe-{round_number}")})
        package = ledger.record_created(created)
        if package is None:
            why = f"HTTP {created.status_code}"
            continue
        again = []
        for version in pending:
            response = api.add_version(package, version)
            if retryable_status(response.status_code):
                again.append(version)
                why = f"HTTP {response.status_code}"
                continue
            if response.status_code != 200:
                problems.append(f"--flow-version {version}: HTTP {response.status_code}")
                continue
            rows = response.json().get("data", {}).get("flow_versions", [])
            row = next((r for r in rows if str(r.get("id")) == version), None)
            if row is not None:
                flows[version] = row["flow_id"]
            api.remove_version(package, version)
        if api.delete(package).status_code in (200, 204, 404):
            ledger.gone(package)
        pending = again
    problems += [f"--flow-version {version}: {why} each time" for version in pending]
    return flows, problems


def scratch_packages(api: Api, ledger: Ledger, flows: dict[str, int]) -> None:
    """Packages of this run's own for Schemathesis to aim requests at, one holding a version."""
    made = [
        ledger.record_created(api.create({"name": ledger.name(f"scratch-{number}")}))
        for number in range(3)
    ]
    if made[0] is not None and flows:
        api.add_version(made[0], sorted(flows)[0])


def _skip_reason(prop: properties.Property, target: Target, flows: dict[str, int]) -> str | None:
    if "write" in prop.needs and target.read_only:
        return "--read-only: this test creates packages"
    if "deploy" in prop.needs and not target.can_deploy:
        return (
            "deploys touch a real environment: pass --allow-deploy, --virtual-environment ID "
            "and --flow-version ID"
        )
    if "flows" in prop.needs and not flows and target.flow_versions:
        return "none of the --flow-version ids could be used (see the warnings above)"
    if "flows" in prop.needs and not flows:
        return "no flow versions to use: pass --flow-version ID (repeatable)"
    return None


def run_properties(
    ctx: properties.Context, options: Options, progress: Progress
) -> list[report.Result]:
    """Each property that was asked for, or the reason it was skipped."""
    results: list[report.Result] = []
    quiet: list[str] = []  # names of passes not shown: a property passing on one more operation

    def said_quietly() -> None:
        if quiet:
            progress(f"  {quiet[0]:<17} … and {len(quiet)} more operations: passed")
            quiet.clear()

    for prop in properties.PROPERTIES:
        if options.properties and prop.name not in options.properties:
            continue
        reason = _skip_reason(prop, ctx.target, ctx.flows)
        if reason:
            result = report.Result("properties", prop.operation, prop.name, report.SKIPPED, reason)
        else:
            result = outcomes.property_result(prop, ctx)
        again = bool(results) and results[-1].check == prop.name
        if again and result.status == report.PASSED and not options.verbose:
            quiet.append(prop.name)
        else:
            said_quietly()
            progress(f"  {prop.name:<17} {prop.operation}: {result.status}")
        results.append(result)
        results += outcomes.assumption_rows(ctx, "properties", prop.operation, prop.name)
    said_quietly()
    ran_flow_versions = any(
        r.check == "flow_versions" and r.status != report.SKIPPED for r in results
    )
    flows = list(ctx.flows.values())
    if ran_flow_versions and len(set(flows)) == len(flows):
        results.append(
            report.Result(
                "properties",
                "add/remove flow version",
                "one_version_per_flow",
                report.SKIPPED,
                "no two --flow-version ids of the same flow, so the refusal of a second version "
                "of a flow is not tested",
            )
        )
    return results


def run_machine(ctx: properties.Context, profile: Profile, examples: int) -> list[report.Result]:
    base: dict[str, Any] = {
        "suite": "stateful",
        "operation": "all operations",
        "check": "model_based_sequence",
    }
    if ctx.target.read_only:
        return [report.Result(**base, status=report.SKIPPED, message="--read-only")]
    capabilities = stateful.Capabilities(
        flows=ctx.flows,
        environments=list(ctx.target.virtual_environments),
        can_deploy=ctx.target.can_deploy,
    )
    prop = properties.Property(
        base["check"],
        base["operation"],
        (),
        lambda c: stateful.run(
            c.client,
            c.ledger,
            capabilities,
            run_seed=c.seed,
            examples=examples,
            steps=profile.machine_steps,
            assumptions=c.assumptions,
        ),
    )
    result = outcomes.property_result(prop, ctx)
    result.suite = "stateful"
    return [result, *outcomes.assumption_rows(ctx, "stateful", base["operation"], base["check"])]


def execute(
    options: Options, out: TextIO | None = None, app: ServedApp | None = None
) -> tuple[int, list[report.Result]]:
    """Run the suite; returns the exit code (0 conforms, 1 not, 2 unusable target, 130
    interrupted) and the results. Never raises: whatever happens ends in a report."""
    out = out or sys.stdout
    run_seed = options.seed if options.seed is not None else random.randrange(2**32)
    profile = PROFILES[options.profile]
    examples = options.max_examples
    started = time.monotonic()
    results: list[report.Result] = []
    stopped: int | None = None

    def progress(message: str) -> None:
        print(message, file=out, flush=True)

    try:
        with open_target(options, app) as target:
            ledger = Ledger(new_run_id())
            where = target.base_url + (" (in-process mock)" if target.is_local_mock else "")
            progress(f"patchworks-mock check: {where}")
            progress(f"seed {run_seed} (rerun with --seed {run_seed}); run id {ledger.run_id}")
            progress(
                f"packages this run creates are named '{ledger.prefix}…' and deleted at the end"
            )
            client = target.client()
            try:
                _run(
                    target, ledger, client, options, profile, run_seed, examples, progress, results
                )
            except KeyboardInterrupt:
                progress("interrupted: cleaning up (Ctrl-C again to stop the clean-up)")
                stopped = INTERRUPTED
            except httpx.HTTPError as exc:
                results.append(_stopped_answering(target, exc))
                stopped = USAGE_ERROR
            except Exception as exc:  # a bug of the suite's: reported, not a traceback
                message = f"the suite itself failed: {exc!r}; please report it"
                results.append(report.Result("run", "(suite)", "internal", report.ERROR, message))
            finally:
                stopped = _cleanup(ledger, target, progress) or stopped
                client.close()
            results += outcomes.flaky_rows(target.network, target.base_path)
            outcomes.settle_unconfirmed(results)
            if target.network.throttled:
                progress(f"the target throttled {target.network.throttled} requests (429); waited")
    except TargetError as exc:
        print(f"patchworks-mock: error: {exc}", file=sys.stderr)
        return USAGE_ERROR, []
    except KeyboardInterrupt:  # while probing or starting the mock: nothing to clean up yet
        print("patchworks-mock: interrupted before the run began", file=sys.stderr)
        return INTERRUPTED, []
    seconds = time.monotonic() - started
    report.print_report(results, out, verbose=options.verbose, fail_on_flaky=options.fail_on_flaky)
    try:
        if options.junit_xml:
            report.write_junit(results, options.junit_xml, run_seed, options.fail_on_flaky)
            progress(f"JUnit report written to {options.junit_xml}")
        if options.report_md:
            report.write_markdown(
                results,
                options.report_md,
                target=where,
                seed=run_seed,
                seconds=seconds,
                fail_on_flaky=options.fail_on_flaky,
            )
            progress(f"Markdown report written to {options.report_md}")
    except OSError as exc:  # e.g. the disk filled during the run
        print(f"patchworks-mock: error: cannot write a report: {exc}", file=sys.stderr)
        stopped = stopped or USAGE_ERROR
    progress(f"finished in {seconds:.0f}s; seed {run_seed}")
    if stopped is not None:
        return stopped, results
    return report.exit_code(results, options.fail_on_flaky), results


def _stopped_answering(target: Target, exc: httpx.HTTPError) -> report.Result:
    message = f"{target.base_url} stopped answering: {exc!r}; the run stopped here"
    print(f"patchworks-mock: error: {message}", file=sys.stderr)
    return report.Result("run", "(target)", "target_answers", report.ERROR, message)


def _run(
    target: Target,
    ledger: Ledger,
    client: httpx.Client,
    options: Options,
    profile: Profile,
    run_seed: int,
    examples: int | None,
    progress: Progress,
    results: list[report.Result],
) -> None:
    """Prepare (flow ids, scratch packages), then the suites that were asked for, in order;
    results are added to `results` as each suite ends, so an interrupted run keeps them."""
    api = Api(client)
    flows: dict[str, int] = {}
    observer = Observer(target.api_key, target.base_path)  # every answer gets `checks.CHECKS`
    observer.watch(client)
    try:
        if not target.read_only:
            flows, problems = discover_flows(api, ledger, target.flow_versions)
            for problem in problems:
                progress(f"warning: {problem} (not used)")
            scratch_packages(api, ledger, flows)
        if "schema" in options.suites:
            schema_options = schema_suite.SchemaOptions(
                seed=run_seed,
                max_examples=examples or profile.schema_examples,
                stateful_steps=profile.schema_steps,
                phases=options.phases,
                operations=options.operations,
                verbose=options.verbose,
            )
            schema_suite.run(
                target, ledger, schema_options, progress, results, after_call=observer.after_call()
            )
        ctx = properties.Context(
            target, ledger, client, run_seed, examples or profile.property_examples, flows
        )
        if "properties" in options.suites:
            progress("properties:")
            results += run_properties(ctx, options, progress)
        if "stateful" in options.suites:
            progress("stateful: model-based sequences of all operations")
            found = run_machine(ctx, profile, examples or profile.machine_examples)
            progress(f"  {found[0].check}: {found[0].status}")
            results += found
    finally:  # what the checks found so far counts, also after Ctrl-C
        results += observer.results()


def _cleanup(ledger: Ledger, target: Target, progress: Progress) -> int | None:
    """Delete what the run created; say in one line what is left, never raise. Returns
    `INTERRUPTED` when Ctrl-C stopped the clean-up itself."""
    with target.client(max_wait=CLEANUP_REQUEST_WAIT) as client:
        left = ledger.cleanup(client)
    why = "clean-up interrupted" if left.interrupted else left.reason
    if left.remaining:
        ids = ", ".join(left.remaining)
        progress(
            f"warning: {len(left.remaining)} packages of this run are left ({why}); "
            f"delete them by hand: {ids}"
        )
    elif why:
        progress(f"warning: could not confirm that nothing of this run is left ({why})")
    return INTERRUPTED if left.interrupted else None
