"""Helpers to run the contract suite in-process, small and seeded, and read its verdict."""

from __future__ import annotations

import io
from dataclasses import dataclass

from patchworks_mock.contract import report, runner

SEED = 20261128


@dataclass
class Run:
    code: int
    results: list[report.Result]
    output: str

    def failing(self) -> set[str]:
        return {r.check for r in self.results if r.status in (report.FAILED, report.ERROR)}

    def failing_pairs(self) -> set[tuple[str, str]]:
        return {r.key for r in self.results if r.status in (report.FAILED, report.ERROR)}


def run_suite(app=None, **options) -> Run:
    """The suite with the quick profile and a fixed seed against `app` (or a default mock)."""
    out = io.StringIO()
    chosen = runner.Options(seed=SEED, profile="quick", **options)
    code, results = runner.execute(chosen, out=out, app=app)
    return Run(code, results, out.getvalue())


class UnderPrefix:
    """The mock served under `/prefix`, as behind a gateway that strips it."""

    def __init__(self, app) -> None:
        self.app, self.state = app, app.state

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/prefix/"):
            path, raw = scope["path"][len("/prefix") :], scope["raw_path"][len(b"/prefix") :]
            scope = {**scope, "path": path, "raw_path": raw}
        await self.app(scope, receive, send)
