"""Faults and latency on purpose, to test a client's retries and timeouts.

Per request, as Prism does it: `Prefer: code=503` answers that status with a body in the API's
shape (statuses the operation documents, or 429/5xx), `Prefer: delay=250` waits 250 ms first.
Planned, as WireMock scenarios do it: the next N matching requests fail (`POST /__mock__/faults`).
For the whole server: a random latency, a share of 500/503 answers, and Laravel's throttle
(429 with `Retry-After` and the `X-RateLimit-*` headers). A faulted request never reaches the
handlers, so it changes no state. Randomness comes from one seeded generator.
"""

from __future__ import annotations

import asyncio
import fnmatch
import random
import re
import time
from dataclasses import dataclass, field

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from patchworks_mock import errors, mock, routes
from patchworks_mock.dispatch import send_json

MAX_DELAY_MS = 60_000
FAULT_MESSAGES = {
    400: "Bad Request",
    401: errors.UNAUTHENTICATED,
    403: "This action is unauthorized.",
    404: "Not Found",
    415: errors.UNSUPPORTED_MEDIA_TYPE,
    422: "The given data was invalid.",
    429: "Too Many Attempts.",
    500: errors.SERVER_ERROR,
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}
_PREFERENCE = re.compile(r"\s*(code|delay)\s*=\s*([^,;\s]*)\s*")


@dataclass(frozen=True)
class RateLimit:
    requests: int
    seconds: int


@dataclass
class FaultSettings:
    latency_ms: tuple[int, int] | None = None
    error_rate: float = 0.0
    rate_limit: RateLimit | None = None
    seed: int | None = None
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
        if not value.isdigit():
            raise PreferenceError(f"Prefer: {name}={value} must be a whole number.")
        found[name] = int(value)
    return found


def fault_body(status: int) -> dict:
    body = {"message": FAULT_MESSAGES.get(status, f"Simulated error {status}.")}
    if status == 422:
        body["errors"] = {}
    return body


def check_preferences(wanted: dict[str, int], method: str, path: str) -> None:
    """Refuse what cannot be simulated here, with a sentence that says why."""
    delay = wanted.get("delay", 0)
    if delay > MAX_DELAY_MS:
        raise PreferenceError(f"Prefer: delay={delay} is over the limit of {MAX_DELAY_MS} ms.")
    code = wanted.get("code")
    if code is None:
        return
    route = routes.find(path)
    documented = route.statuses.get(method, frozenset()) if route else frozenset()
    if code < 400 or (code not in documented and code != 429 and not 500 <= code <= 599):
        listed = ", ".join(str(c) for c in sorted(c for c in documented if c >= 400))
        raise PreferenceError(
            f"Prefer: code={code} cannot be simulated for {method} {path}: "
            f"choose 429, a 5xx, or an error status it documents ({listed})."
        )


class Throttle:
    """Laravel's fixed-window throttle, one window per credential (or client address)."""

    def __init__(self, limit: RateLimit) -> None:
        self.limit = limit
        self.windows: dict[str, tuple[float, int]] = {}

    def hit(self, key: str) -> tuple[int, int]:
        """Count a request: (remaining, seconds until the window resets); remaining < 0 = over."""
        now = time.monotonic()
        started, count = self.windows.get(key, (now, 0))
        if now - started >= self.limit.seconds:
            started, count = now, 0
        count += 1
        if len(self.windows) > 10_000:  # forget idle windows rather than grow without bound
            self.windows.clear()
        self.windows[key] = (started, count)
        reset = max(1, round(started + self.limit.seconds - now))
        return self.limit.requests - count, reset


class Faults:
    """ASGI middleware applying `Prefer` and the server-wide fault settings to API requests."""

    def __init__(self, app: ASGIApp, settings: FaultSettings) -> None:
        self.app = app
        self.settings = settings
        self.throttle = Throttle(settings.rate_limit) if settings.rate_limit else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/__mock__/"):
            await self.app(scope, receive, send)
            return
        prefer = credential = None
        for name, value in scope["headers"]:  # ASGI header names are lower case
            if name == b"prefer":
                prefer = value.decode("latin-1")
            elif name == b"authorization":
                credential = value.decode("latin-1")
        extra: dict[str, str] = {}
        if self.throttle is not None:
            key = credential or str((scope.get("client") or ("?",))[0])
            remaining, reset = self.throttle.hit(key)
            extra = {
                "X-RateLimit-Limit": str(self.throttle.limit.requests),
                "X-RateLimit-Remaining": str(max(remaining, 0)),
            }
            if remaining < 0:
                extra["Retry-After"] = str(reset)
                await send_json(send, 429, fault_body(429), extra)
                return
        try:
            wanted = preferences(prefer)
            check_preferences(wanted, scope["method"], scope["path"])
        except PreferenceError as exc:
            await send_json(send, 400, {"message": str(exc)}, extra)
            return
        delay_ms = wanted.get("delay", 0)
        if self.settings.latency_ms:
            delay_ms += self.settings.random.randint(*self.settings.latency_ms)
        if delay_ms:
            await asyncio.sleep(delay_ms / 1000)
        status = wanted.get("code")
        planned = take_planned(mock.of(scope).planned_faults, scope["method"], scope["path"])
        if status is None and planned is not None:
            status = planned.status
            if planned.retry_after is not None:
                extra["Retry-After"] = str(planned.retry_after)
        if (
            status is None
            and self.settings.error_rate
            and self.settings.random.random() < self.settings.error_rate
        ):
            status = self.settings.random.choice((500, 503))
        if status is not None:
            await send_json(send, status, fault_body(status), extra)
            return
        if not extra:
            await self.app(scope, receive, send)
            return

        async def send_with_limits(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    *message.get("headers", []),
                    *((k.lower().encode(), v.encode()) for k, v in extra.items()),
                ]
            await send(message)

        await self.app(scope, receive, send_with_limits)
