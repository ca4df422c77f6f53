"""Running a Hypothesis test from inside the suite: seeded, no database, bounded, no deadline.

Shrinking is left out: against a remote server every shrink step is more traffic, and the
failing example Hypothesis reports is already a complete reproduction.

Hypothesis replays a failing example before it reports it; against a flaky server the replay
may pass, and Hypothesis raises `Flaky`. The suite reports that, never raises it: `check_all`
(and the state machine's `run`) turn it into `NotReproduced`, which carries the first failure.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from hypothesis import HealthCheck, Phase, Verbosity, given, seed, settings
from hypothesis import strategies as st
from hypothesis.errors import Flaky

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

    with not_reproduced():
        test()


class NotReproduced(Exception):
    """A failure that did not happen again when Hypothesis replayed its example."""

    def __init__(self, first: BaseException | None, detail: str) -> None:
        super().__init__(detail)
        self.first = first  # the failure as it first happened, when Hypothesis kept it
        self.detail = detail


def first_failure(exc: Flaky) -> BaseException | None:
    """The failure a `Flaky` stands for: the group's first member, else what it was raised in."""
    members = getattr(exc, "exceptions", ())
    if members:
        return members[0]
    return exc.__cause__ or exc.__context__


@contextmanager
def not_reproduced() -> Iterator[None]:
    """Turn Hypothesis's `Flaky` into `NotReproduced`, with the first failure kept."""
    try:
        yield
    except Flaky as exc:
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise NotReproduced(first_failure(exc), detail) from None


def example_note(exc: BaseException) -> str:
    """The "Falsifying example: ..." notes Hypothesis attaches to the failure."""
    return "\n".join(getattr(exc, "__notes__", []))
