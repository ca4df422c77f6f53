"""Judging each exchange the proxy sees, and keeping what came of it.

The checks are the contract suite's own, from the same code as `check`'s: the request (the
gate's verdict), the contract's word on the answer (`contract.conformance`: documented
status, no server error, the schema) and the rules of `contract.checks`, those that need
history judged against what this proxy has seen since it started (`Observer`). An exchange
the contract does not name, or whose answer could not be read, is logged and journaled as
not judged.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from urllib.parse import urlsplit

from patchworks_mock.contract import report
from patchworks_mock.contract.checks import CHECKS
from patchworks_mock.contract.conformance import CONFORMANCE
from patchworks_mock.contract.exchange import NOT_JSON, OTHER_METHODS, Exchange, route_of
from patchworks_mock.contract.expectations import answer_text
from patchworks_mock.contract.observer import Observer
from patchworks_mock.contract.reading import Finding
from patchworks_mock.proxy import lines
from patchworks_mock.proxy.gate import Verdict, request_findings
from patchworks_mock.proxy.har import HarRecorder
from patchworks_mock.proxy.journal import OUTSIDE, Journal, Outcome
from patchworks_mock.proxy.observed import ObservedState
from patchworks_mock.proxy.secrets import redacted


@dataclass(eq=False)
class Ticket:
    """One exchange while it is in flight: the package its path names (None: a list, a
    create), whether it writes, and whether a write that concerns it overlapped it."""

    package: str | None
    write: bool
    disturbed: bool = False

    def concerns(self, other: Ticket) -> bool:
        """Whether this write may change what `other` shows."""
        return self.package is None or other.package is None or self.package == other.package


class Watch:
    """The checks, the history and the journal of one proxy run."""

    def __init__(
        self,
        journal: Journal,
        observed: ObservedState | None = None,
        har: HarRecorder | None = None,
    ) -> None:
        self.observer = Observer(checks=CONFORMANCE + CHECKS, any_credential=True)
        self.journal = journal
        self.observed = observed  # --fixtures-out: the state the answers showed
        self.har = har  # --record
        self.exchanges = 0
        self.broken = 0  # exchanges with at least one violation
        self.unjudged_kinds: Counter[str] = Counter()
        self._in_flight: set[Ticket] = set()  # as many as the connections being served

    def begin(self, method: str, path: str) -> Ticket:
        """Note an exchange as it starts. The server may do concurrent requests in any order,
        and answers are judged in the order they arrive: an exchange that overlapped a write
        concerning it is not judged against the history (`end` when it is over)."""
        route = route_of(method, path)  # the client's path: the upstream's prefix comes later
        write = route is not None and method not in ("GET", "HEAD")
        ticket = Ticket(route[1].get("package") if route else None, write)
        for other in self._in_flight:
            if other.write and other.concerns(ticket):
                ticket.disturbed = True
            if write and ticket.concerns(other):
                other.disturbed = True
        self._in_flight.add(ticket)
        return ticket

    def end(self, ticket: Ticket) -> None:
        self._in_flight.discard(ticket)

    def judge(
        self, exchange: Exchange, verdict: Verdict, started_at: float, ticket: Ticket
    ) -> Outcome:
        """Every check on an exchange the upstream answered; those against the history only
        if no write overlapped it (`begin`). A method the contract does not take on one of its
        paths is not the request's fault, but its answer is judged (a 405 says `Allow`)."""
        exchange = redacted(exchange)  # what is judged is shown: never a secret
        if verdict.outside and exchange.operation != OTHER_METHODS:
            return self.unjudged(exchange, OUTSIDE, started_at)
        history = not ticket.disturbed
        if verdict.outside:
            found = self.observer.observe(exchange, history=history)
            return self._outcome(exchange, found, started_at, True)
        found = self._record_request(exchange, verdict)
        found += self.observer.observe(exchange, history=history)
        return self._outcome(exchange, found, started_at, forwarded=True)

    def judge_refused(self, exchange: Exchange, verdict: Verdict, started_at: float) -> Outcome:
        """The request's checks on an exchange the proxy answered itself (`--errors`, a
        body past the limit): the answer is the mock's, not the upstream's."""
        exchange = redacted(exchange)
        found = self._record_request(exchange, verdict)
        return self._outcome(exchange, found, started_at, forwarded=False)

    def unjudged(
        self,
        exchange: Exchange,
        reason: str,
        started_at: float,
        forwarded: bool = True,
        verdict: Verdict | None = None,
    ) -> Outcome:
        """An exchange whose answer is not judged, and why; its request is, if the gate's
        `verdict` on it is given."""
        exchange = redacted(exchange)
        found = [] if verdict is None else self._record_request(exchange, verdict)
        outcome = self._outcome(exchange, found, started_at, forwarded=forwarded)
        outcome.unjudged = reason
        return outcome

    def done(
        self,
        outcome: Outcome,
        exchange: Exchange,
        started: float,
        started_at: float,
        wait_ms: float,
    ) -> None:
        """Keep what came of an exchange once its answer is sent: count, journal, log."""
        outcome.ms = (time.perf_counter() - started) * 1000
        self.exchanges += 1
        self.broken += bool(outcome.violations)
        if outcome.unjudged:
            self.unjudged_kinds[outcome.unjudged.split(":")[0]] += 1
        self.journal.add(outcome)
        lines.log(outcome)
        if self.observed is not None and outcome.forwarded and not outcome.unjudged:
            self.observed.observe(exchange)
        if self.har is not None:
            self.har.add(
                exchange,
                started=started_at,
                elapsed_ms=outcome.ms,
                wait_ms=wait_ms,
                comment=f"patchworks-mock proxy: {outcome.verdict}",
            )

    def _record_request(self, exchange: Exchange, verdict: Verdict) -> list[Finding]:
        found = request_findings(verdict, exchange)
        for finding in found:
            self.observer.record(exchange, finding.check, [finding])
        if verdict.conforms:
            self.observer.record(exchange, "request_conforms", [])
        return found

    def _outcome(
        self, exchange: Exchange, found: list[Finding], started_at: float, forwarded: bool
    ) -> Outcome:
        body = exchange.body.decode("utf-8", "replace") if exchange.json is not NOT_JSON else ""
        return Outcome(
            method=exchange.method,
            path=exchange.path,
            query=urlsplit(exchange.url).query,
            status=exchange.status,
            ms=0.0,
            forwarded=forwarded,
            violations=[f for f in found if not f.assumption],
            assumptions=[f for f in found if f.assumption],
            curl=self.observer.curl(exchange) if found else "",
            actual=answer_text(exchange.status, body) if found else "",
            time=started_at,
        )

    def results(self) -> list[report.Result]:
        """The run's results for the report: the checks', then a skipped row per kind of
        exchange that was not judged."""
        skipped = [
            report.Result(
                "proxy",
                "(not judged)",
                kind,
                report.SKIPPED,
                message=f"{count} exchange{'s' if count > 1 else ''}: {kind}",
            )
            for kind, count in sorted(self.unjudged_kinds.items())
        ]
        return self.observer.results() + skipped
