"""Running a Hypothesis test from inside the suite: seeded, no database, bounded, no deadline.

Shrinking is left out: against a remote server every shrink step is more traffic, and the
failing example Hypothesis reports is already a complete reproduction.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from hypothesis import HealthCheck, Phase, Verbosity, given, seed, settings
from hypothesis import strategies as st

GENERATE_ONLY = [Phase.explicit, Phase.reuse, Phase.generate]
T = TypeVar("T")


def suite_settings(max_examples: int, *, stateful_step_count: int | None = None) -> settings:
    """The suite's settings; `stateful_step_count` for a state machine."""
    chosen = settings(
        max_examples=max_examples,
        database=None,
        deadline=None,
        phases=GENERATE_ONLY,
        suppress_health_check=list(HealthCheck),
        report_multiple_bugs=False,
        verbosity=Verbosity.quiet,
    )
    if stateful_step_count is None:
        return chosen
    return settings(chosen, stateful_step_count=stateful_step_count)


def check_all(
    strategy: st.SearchStrategy[T], body: Callable[[T], None], *, run_seed: int, examples: int
) -> None:
    """Call `body` on up to `examples` values of `strategy`; the first failure propagates."""

    @seed(run_seed)
    @suite_settings(examples)
    @given(strategy)
    def test(value: T) -> None:
        body(value)

    test()


def example_note(exc: BaseException) -> str:
    """The "Falsifying example: ..." notes Hypothesis attaches to the failure."""
    return "\n".join(getattr(exc, "__notes__", []))
