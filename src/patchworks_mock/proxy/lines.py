"""The proxy's log: a line per exchange (method, path, status, ms, verdict), then each
violation in full with a curl that sends the request again (its credential written
`$PATCHWORKS_API_KEY`). As text, or as one JSON object per exchange (`--log-format json`)."""

from __future__ import annotations

import logging

from patchworks_mock.proxy.journal import Outcome

EXCHANGES = logging.getLogger("patchworks_mock.proxy")


def _escaped(text: str) -> str:
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def log(outcome: Outcome) -> None:
    """Write the outcome's line, and its violations, at "warning" when there are any."""
    level = logging.WARNING if outcome.violations else logging.INFO
    if not EXCHANGES.isEnabledFor(level):  # `--log-level warning`: most lines are not made
        return
    target = f"{outcome.path}?{outcome.query}" if outcome.query else outcome.path
    lines = [f'"{outcome.method} {target}" {outcome.status} {outcome.ms:.1f} ms: {outcome.verdict}']
    for number, finding in enumerate(outcome.violations, 1):
        lines.append(f"  {number}. {finding.check}: {finding.message}")
        if finding.expected:
            lines.append(f"     expected: {finding.expected}")
        if outcome.actual:
            lines.append(f"     actual:   {outcome.actual}")
    if outcome.violations and outcome.curl:
        lines.append(f"     reproduce: {outcome.curl}")
    for finding in outcome.assumptions:
        lines.append(f"  assumption, {finding.check}: {finding.message}")
    fields = {
        **outcome.as_json(),
        "curl": outcome.curl if outcome.violations else None,
        "actual": outcome.actual if outcome.violations else None,
    }
    del fields["time"]  # the log line has its own
    # What a client sent (a decoded path, a query value quoted in a message) may hold a line
    # break: escaped, so that a client cannot write lines of its own into the log.
    EXCHANGES.log(level, "\n".join(map(_escaped, lines)), extra={"fields": fields})
