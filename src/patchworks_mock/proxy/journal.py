"""What the proxy did with each exchange, and its verdict: one `Outcome` each, for the log
line, the journal (`GET /__mock__/requests`) and the report."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the command's defaults come from here, read before anything is checked
    from patchworks_mock.contract.reading import Finding

CONFORMS = "conforms"
OUTSIDE = "not in the contract"  # a path or method the contract does not name
NOT_CHECKED = "not checked"  # an answer past the body limit, or in an encoding not read
NO_ANSWER = "no answer from the upstream"
DEFAULT_SIZE = 1000  # exchanges the journal keeps


@dataclass
class Outcome:
    """One exchange through the proxy and what came of it."""

    method: str
    path: str
    query: str
    status: int
    ms: float
    forwarded: bool  # False: answered by the proxy (--errors, a limit, no upstream answer)
    violations: list[Finding] = field(default_factory=list)
    assumptions: list[Finding] = field(default_factory=list)
    unjudged: str = ""  # why nothing was judged: OUTSIDE, NOT_CHECKED or NO_ANSWER (+ reason)
    curl: str = ""
    actual: str = ""  # the answer, shortened, for a violation's "actual" line
    time: float = field(default_factory=time.time)

    @property
    def verdict(self) -> str:
        if self.unjudged and not self.violations:
            return self.unjudged
        if self.violations:
            count = len(self.violations)
            return f"{count} violation{'s' if count > 1 else ''}"
        return CONFORMS

    def as_json(self) -> dict[str, Any]:
        """The journal's entry: no credential, no body."""
        return {
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.time)),
            "method": self.method,
            "path": self.path,
            "query": self.query or None,
            "status": self.status,
            "ms": round(self.ms, 3),
            "forwarded": self.forwarded,
            "verdict": self.verdict,
            "violations": [
                {"check": f.check, "message": f.message, "expected": f.expected}
                for f in self.violations
            ],
            "assumptions": [{"check": f.check, "message": f.message} for f in self.assumptions],
        }


class Journal:
    """The newest `size` outcomes, oldest first."""

    def __init__(self, size: int = DEFAULT_SIZE) -> None:
        self.entries: deque[Outcome] = deque(maxlen=size)

    def add(self, outcome: Outcome) -> None:
        self.entries.append(outcome)

    def clear(self) -> None:
        self.entries.clear()

    def as_json(self) -> list[dict[str, Any]]:
        return [entry.as_json() for entry in self.entries]
