"""Faults and latency on purpose, to test a client's retries and timeouts.

Per request, as Prism does it: `Prefer: code=503` answers that status with a body in the API's
shape (statuses the operation documents, or 429/5xx), `Prefer: delay=250` waits 250 ms first.
Planned, as WireMock scenarios do it: the next N matching requests fail (`POST /__mock__/faults`).
For the whole server: a random latency, a share of 500/503 answers, and Laravel's throttle
(429 with `Retry-After` and the `X-RateLimit-*` headers). A faulted request never reaches the
handlers, so it changes no state. Randomness comes from one seeded generator.
"""

from __future__ import annotations

import fnmatch
import math
import random
import re
import time
from dataclasses import dataclass, field

from patchworks_mock import errors, spec

MAX_DELAY_MS = 60_000
# `Retry-After` of a simulated 429 that names none: the window of Laravel's default
# `throttle:api` (60 requests a minute).
DEFAULT_RETRY_AFTER = 60
# How many throttle windows (credentials, client addresses) are kept at most.
MAX_WINDOWS = 10_000
# A preference's value: ASCII digits only (str.isdigit also takes "²" and "٣", which int()
# refuses or reads), and few enough that int() never meets Python's 4,300-digit limit.
MAX_PREFERENCE_DIGITS = 9
_PREFERENCE = re.compile(r"\s*(code|delay)\s*=\s*([^,;\s]*)\s*")
_WHOLE_NUMBER = re.compile(rf"[0-9]{{1,{MAX_PREFERENCE_DIGITS}}}")


@dataclass(frozen=True)
class RateLimit:
    requests: int
    seconds: int
    windows: int = MAX_WINDOWS  # the most windows (credentials, addresses) kept at once


@dataclass
class FaultSettings:
    latency_ms: tuple[int, int] | None = None
    error_rate: float = 0.0
    rate_limit: RateLimit | None = None
    seed: int | None = None
    max_delay_ms: int = MAX_DELAY_MS  # the longest `Prefer: delay=`
    random: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self.random = random.Random(self.seed)


class PreferenceError(ValueError):
    pass


@dataclass
class PlannedFault:
    """WireMock-style scenario: the next `times` matching requests answer `status`."""

    status: int
    times: int = 1
    method: str | None = None
    path: str | None = None  # exact, or a glob with `*`
    retry_after: int | None = None  # seconds, sent with the answer (429 and 503 use it)

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method.upper() == method) and (
            self.path is None or fnmatch.fnmatchcase(path, self.path)
        )


def take_planned(planned: list[PlannedFault], method: str, path: str) -> PlannedFault | None:
    """The first planned fault for this request, used up by one."""
    for fault in planned:
        if fault.matches(method, path):
            fault.times -= 1
            if fault.times <= 0:
                planned.remove(fault)
            return fault
    return None


def preferences(header: str | None) -> dict[str, int]:
    """`code=503, delay=250` -> {"code": 503, "delay": 250}; other preferences are ignored."""
    found: dict[str, int] = {}
    for part in (header or "").split(","):
        match = _PREFERENCE.fullmatch(part)
        if match is None:
            continue
        name, value = match.groups()
        if _WHOLE_NUMBER.fullmatch(value) is None:
            raise PreferenceError(
                errors.preference_not_a_number(name, value, MAX_PREFERENCE_DIGITS)
            )
        found[name] = int(value)
    return found


def check_preferences(
    wanted: dict[str, int], method: str, path: str, max_delay_ms: int = MAX_DELAY_MS
) -> None:
    """Refuse what cannot be simulated here, with a sentence that says why."""
    delay = wanted.get("delay", 0)
    if delay > max_delay_ms:
        raise PreferenceError(errors.delay_over_limit(delay, max_delay_ms))
    code = wanted.get("code")
    if code is None:
        return
    documented = spec.documented_statuses(method, path)
    if code < 400 or (code not in documented and code != 429 and not 500 <= code <= 599):
        errors_documented = sorted(c for c in documented if c >= 400)
        raise PreferenceError(errors.code_not_simulated(code, method, path, errors_documented))


class Throttle:
    """Laravel's fixed-window throttle, one window per credential (or client address).

    It keeps at most `max_windows` windows: a new one first forgets the windows that have
    ended (whose count a new request would restart anyway), and only if every kept window is
    still running, the one that ends soonest. Windows are kept in the order they started.
    """

    def __init__(self, limit: RateLimit, max_windows: int = MAX_WINDOWS) -> None:
        self.limit = limit
        self.max_windows = max_windows
        self.windows: dict[str, tuple[float, int]] = {}

    def hit(self, key: str) -> tuple[int, int]:
        """Count a request: (remaining, seconds until the window resets); remaining < 0 = over."""
        now = time.monotonic()
        window = self.windows.get(key)
        if window is None or now - window[0] >= self.limit.seconds:
            self.windows.pop(key, None)  # a new window goes to the end: started last
            self._make_room(now)
            started, count = now, 0
        else:
            started, count = window
        count += 1
        self.windows[key] = (started, count)
        reset = max(1, math.ceil(started + self.limit.seconds - now))
        return self.limit.requests - count, reset

    def _make_room(self, now: float) -> None:
        while self.windows:
            oldest = next(iter(self.windows))
            ended = now - self.windows[oldest][0] >= self.limit.seconds
            if not ended and len(self.windows) < self.max_windows:
                return
            del self.windows[oldest]
