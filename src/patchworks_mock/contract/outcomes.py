"""What a test's outcome is: passed, failed, flaky or an assumption, and the reruns that tell
a failure from a flaky server's noise.

A failure that may be the server's noise rather than its contract is told apart here: a
property or sequence Hypothesis could not replay, or one whose evidence is a 5xx, 429 or
timeout on a POST (which the transport never sends twice), is run again, seeded, up to
`RERUNS` times, under new names (`Ledger.rerun`), so that no POST of the first run is sent
again; if it does not fail on the same request again it is `FLAKY`, not `FAILED`. Requests the
transport recovered by retrying are `FLAKY` rows too, counted per operation.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import httpx
from hypothesis.errors import HypothesisException

from patchworks_mock.contract import properties, report
from patchworks_mock.contract.exchange import api_path, operation_of
from patchworks_mock.contract.expectations import Assumption, Violation
from patchworks_mock.contract.hypothesis_runs import NotReproduced, example_note
from patchworks_mock.contract.safety import without_run_names
from patchworks_mock.contract.transport import Flake, Record, retryable_status

RERUNS = 2  # how many times a failure that may be noise is run again


@dataclass
class Attempt:
    """One run of a property: its result, and whether its evidence may be the server's noise."""

    result: report.Result
    noise: bool = False  # a 5xx, 429 or timeout on a POST (not retried by the transport)
    signature: tuple[str, ...] = ()  # what "failing the same way" compares


def attempt(prop: properties.Property, ctx: properties.Context) -> Attempt:
    base: dict[str, Any] = {"suite": "properties", "operation": prop.operation, "check": prop.name}
    try:
        prop.check(ctx)
    except Assumption as exc:
        return Attempt(
            report.Result(
                **base,
                status=report.ASSUMPTION,
                message=exc.message,
                curl=exc.curl(ctx.target.api_key),
                expected=exc.expected,
                actual=exc.actual(),
            )
        )
    except Violation as exc:
        response = exc.response
        status = response.status_code if response is not None else 0
        noisy_post = (
            response is not None and response.request.method == "POST" and retryable_status(status)
        )
        return Attempt(
            report.Result(
                **base,
                status=report.FAILED,
                message=f"{exc.message}\n{example_note(exc)}",
                curl=exc.curl(ctx.target.api_key),
                expected=exc.expected,
                actual=exc.actual(),
            ),
            noise=noisy_post,
            # the same request met the same status: its operation and body, less the ids and
            # the run's name prefix, which a rerun gives afresh
            signature=("violation", _operation_sent(response), _body_sent(response), str(status)),
        )
    except NotReproduced as exc:
        return Attempt(report.Result(**base, status=report.FLAKY, message=_first_words(exc)))
    except httpx.HTTPError as exc:
        post = _method(exc) == "POST"
        return Attempt(
            report.Result(**base, status=report.ERROR, message=f"the request failed: {exc!r}"),
            noise=post and isinstance(exc, httpx.TimeoutException | httpx.NetworkError),
            signature=("http", type(exc).__name__),
        )
    except HypothesisException as exc:  # how the suite used Hypothesis, not the server's answer
        message = f"the suite itself failed: {exc!r}; please report it"
        return Attempt(report.Result(**base, status=report.ERROR, message=message))
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        return Attempt(
            report.Result(
                **base,
                status=report.FAILED,
                message=f"an answer does not have the contract's shape ({exc!r})\n"
                f"{example_note(exc)}",
            )
        )
    return Attempt(report.Result(**base, status=report.PASSED))


def _operation_sent(response: httpx.Response | None) -> str:
    """The operation a response answered, `POST /api/v1/packages/{package}/deploy/...`."""
    if response is None:
        return ""
    return operation_of(response.request.method, response.request.url.path)


def _body_sent(response: httpx.Response | None) -> str:
    """The body a response answered, with the run's name prefix (of any rerun) taken out."""
    if response is None:
        return ""
    return without_run_names(response.request.content.decode("utf-8", "replace"))


def _method(exc: httpx.HTTPError) -> str | None:
    try:
        return exc.request.method
    except RuntimeError:  # an error raised with no request
        return None


def _first_words(exc: NotReproduced) -> str:
    """What a failure that did not replay said the first time."""
    first = exc.first
    if isinstance(first, Violation):
        said = first.message
        if first.response is not None:
            said += f" ({first.actual()[:200]})"
    elif first is not None:
        said = f"{type(first).__name__}: {first}"
    else:
        said = exc.detail
    return f"failed once, did not fail when replayed: {said}"


def property_result(prop: properties.Property, ctx: properties.Context) -> report.Result:
    """Run the property; a failure that may be noise is run again (`RERUNS`) before it counts,
    each time from a clean slate (what the failed run created is deleted first).

    It counts (`FAILED`) when every rerun fails the same way (the same request, the same
    answer); a rerun that fails otherwise, not on noise, is reported instead; else `FLAKY`.
    """
    mark = ctx.ledger.mark()
    first = attempt(prop, ctx)
    if not first.noise:
        return first.result
    same = True
    for number in range(1, RERUNS + 1):
        for package in ctx.ledger.live_since(mark):
            if ctx.api.delete(package).status_code in (200, 204, 404):
                ctx.ledger.gone(package)
        with ctx.ledger.rerun(number):  # new names: a POST of the first run is never sent again
            again = attempt(prop, ctx)
        if again.result.status in (report.FAILED, report.ERROR) and not again.noise:
            return again.result
        same = same and again.signature == first.signature
        if not same:
            break
    if same:
        return first.result
    first.result.status = report.FLAKY
    first.result.message = "failed once, not the same way when run again: " + (
        first.result.message.strip()
    )
    return first.result


def assumption_rows(
    ctx: properties.Context, suite: str, operation: str, check: str
) -> list[report.Result]:
    """An `ASSUMPTION` row for each difference from a decision the test kept (and went on)."""
    return [
        report.Result(
            suite,
            operation,
            check,
            report.ASSUMPTION,
            message=found.message,
            curl=found.curl(ctx.target.api_key),
            expected=found.expected,
            actual=found.actual(),
        )
        for found in ctx.assumptions.take()
    ]


def settle_unconfirmed(results: list[report.Result]) -> None:
    """A 5xx that could not be checked again stays a failure on a server that never showed a
    5xx going away; on one that did (a `FLAKY` row elsewhere), it is most likely the same noise
    and is reported as flaky, marked as not confirmed."""
    if not any(r.status == report.FLAKY for r in results):
        return
    for result in results:
        if result.unconfirmed and result.status == report.FAILED:
            result.status = report.FLAKY
            result.message = "not checked again, on a server whose 5xx came and went: " + (
                result.message
            )


def flaky_rows(network: Record, base_path: str = "") -> list[report.Result]:
    """One `FLAKY` row per operation whose requests the transport recovered by retrying."""
    by_operation: dict[str, list[Flake]] = {}
    for flake in network.flakes:
        operation = operation_of(flake.method, api_path(flake.path, base_path))
        by_operation.setdefault(operation, []).append(flake)
    rows = []
    for operation, flakes in sorted(by_operation.items()):
        seen = Counter(what for flake in flakes for what in flake.seen)
        what = ", ".join(f"{name} ×{count}" for name, count in sorted(seen.items()))
        rows.append(
            report.Result(
                "network",
                operation,
                "recovered_on_retry",
                report.FLAKY,
                f"{len(flakes)} request{'s' if len(flakes) > 1 else ''} succeeded on retry "
                f"after {what}",
            )
        )
    return rows
