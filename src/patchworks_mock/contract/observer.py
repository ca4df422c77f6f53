"""Every answer the suite sees, from any of its suites, gets every check of `checks.py`.

The observer sits on the suite's own httpx client (event hooks: properties, the state machine,
the set-up) and on Schemathesis's calls (its `after_call` hook), keeps the run's history
(`reading.Seen`) and turns findings into `report.Result` rows, each with a curl that repeats
the request.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from patchworks_mock.contract import report
from patchworks_mock.contract.checks import CHECKS, run_checks
from patchworks_mock.contract.exchange import (
    Exchange,
    api_path,
    from_httpx,
    from_schemathesis,
    route_of,
)
from patchworks_mock.contract.expectations import answer_text, curl_of
from patchworks_mock.contract.reading import Check, Finding, Seen

SUITE = "checks"
MAX_FAILURES = 3  # distinct failures kept per operation and check


@dataclass
class Observer:
    """Runs the checks on each exchange it is shown and collects their verdicts."""

    api_key: str = ""
    base_path: str = ""  # the target's path prefix, if its URL has one
    checks: list[Check] = field(default_factory=lambda: CHECKS)
    # The proxy's: every credential a client sent is written `$PATCHWORKS_API_KEY` in a curl.
    any_credential: bool = False
    seen: Seen = field(default_factory=Seen)
    ran: dict[tuple[str, str], bool] = field(default_factory=dict)  # -> failed at least once
    failures: list[report.Result] = field(default_factory=list)
    unanswered: str | None = None  # the package a write was sent to, until its answer comes

    def observe(self, exchange: Exchange, *, history: bool = True) -> list[Finding]:
        """Judge one exchange against every check and the run's history; what it broke. With
        `history` False, as `run_checks` takes it: the exchange overlapped a write."""
        broken = []
        for check, found in run_checks(exchange, self.seen, self.checks, history=history):
            self.record(exchange, check, found)
            broken += found
        return broken

    def record(self, exchange: Exchange, check: str, found: list[Finding]) -> None:
        """Note that `check` ran on `exchange` and found `found`."""
        key = (exchange.operation, check)
        self.ran[key] = self.ran.get(key, False) or bool(found)
        for finding in found:
            self._add(exchange, finding)

    def curl(self, exchange: Exchange) -> str:
        """A curl that sends the exchange's request again, without its credential."""
        credential = exchange.request_headers.get("authorization", "")
        return curl_of(
            exchange.method,
            exchange.url,
            exchange.request_headers.items(),
            exchange.request_body,
            credential if self.any_credential else self.api_key,
        )

    def _add(self, exchange: Exchange, finding: Finding) -> None:
        same = [r for r in self.failures if r.key == (exchange.operation, finding.check)]
        if len(same) >= MAX_FAILURES or any(r.message == finding.message for r in same):
            return
        self.failures.append(
            report.Result(
                SUITE,
                exchange.operation,
                finding.check,
                report.ASSUMPTION if finding.assumption else report.FAILED,
                message=finding.message,
                curl=self.curl(exchange),
                expected=finding.expected,
                actual=answer_text(exchange.status, exchange.body.decode("utf-8", "replace")),
            )
        )

    # -- the suite's own client ----------------------------------------------------------------

    def watch(self, client: httpx.Client) -> None:
        """Judge every answer `client` receives from now on."""
        client.event_hooks["request"].append(self._on_request)
        client.event_hooks["response"].append(self._on_response)

    def _on_request(self, request: httpx.Request) -> None:
        if self.unanswered is not None:  # the last write got no answer: it may have happened
            self.seen.state(self.unanswered).members = None
        route = route_of(request.method, api_path(request.url.path, self.base_path))
        is_write = route is not None and request.method != "GET"
        self.unanswered = route[1].get("package") if route and is_write else None

    def _on_response(self, response: httpx.Response) -> None:
        self.unanswered = None
        response.read()
        self.observe(from_httpx(response, self.base_path))

    # -- Schemathesis's calls ------------------------------------------------------------------

    def after_call(self) -> Callable[[Any, Any, Any], None]:
        """A Schemathesis `after_call` hook (a plain function, as hooks must be) that judges
        the answer to what was actually sent."""

        def after_call(context: Any, case: Any, response: Any) -> None:
            self.observe(from_schemathesis(response, self.base_path))

        return after_call

    def results(self) -> list[report.Result]:
        """The failures, then one passed row per operation and check that never failed."""
        passed = [
            report.Result(SUITE, operation, check, report.PASSED)
            for (operation, check), failed in self.ran.items()
            if not failed
        ]
        return self.failures + passed
