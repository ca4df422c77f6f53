"""Every request the suite itself sends goes through one retrying transport.

Real servers answer 5xx, throttle with 429 and time out now and then; the suite must tell that
noise from a broken contract. The policy:

- An idempotent request (GET, PUT, DELETE, HEAD, OPTIONS) is retried on 5xx, 429, a timeout
  or a connection error: at most `attempts` sends, with exponential backoff, honouring
  `Retry-After` on 429 and 503, and never more than `max_wait` seconds of waiting in all.
- A POST is sent again only when it provably never reached the server (the connection could
  not be made). A POST that got an answer, whatever it was, is never sent twice.
- When an answer says the rate budget is spent (`X-RateLimit-Remaining: 0`), the next request
  waits for the window to end (from `Retry-After` or `X-RateLimit-Reset`), so that a POST is
  not throttled in the first place; when the answer does not say when (Laravel only says so on
  a 429), an idempotent `pace` request is sent first and takes the 429 instead.
- Every retry that recovered is kept as a `Flake`; what persists through every attempt is
  handed to the check as it came (the answer, or the exception), to be judged as a finding.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime

import httpx

IDEMPOTENT = frozenset({"GET", "PUT", "DELETE", "HEAD", "OPTIONS"})
ATTEMPTS = 5
BACKOFF = 0.2  # seconds before the first retry; doubled for each next one
MAX_BACKOFF = 5.0
MAX_WAIT = 60.0  # seconds of waiting per request, in all
RETRY_AFTER_STATUSES = (429, 503)
# The key of `response.extensions` under which an answer to a retry lists what the attempts
# before it met ("HTTP 503", "ReadTimeout"): a DELETE that took effect before its 503 finds
# nothing to delete when retried, and its 404 then means "gone", not "never there".
AFTER_FAILURES = "patchworks_mock.after_failures"


@dataclass(frozen=True)
class Flake:
    """A request that failed, then succeeded when sent again."""

    method: str
    path: str
    seen: tuple[str, ...]  # what each failed attempt met: "HTTP 503", "ReadTimeout"

    @property
    def retries(self) -> int:
        return len(self.seen)


@dataclass
class Record:
    """What the clients of one run share: the flakes seen, and the state of the rate budget."""

    flakes: list[Flake] = field(default_factory=list)
    throttled: int = 0  # 429s waited out
    resume_at: float = 0.0  # monotonic time before which nothing is sent
    spent: bool = False  # the budget is spent and the answer did not say until when
    lock: threading.Lock = field(default_factory=threading.Lock)


def retry_after(response: httpx.Response, now: float | None = None) -> float | None:
    """Seconds the answer asks to wait: `Retry-After` (seconds or an HTTP date), else
    `X-RateLimit-Reset` (a Unix time, as Laravel sends it); None when it names no time."""
    now = time.time() if now is None else now
    value = response.headers.get("retry-after", "").strip()
    if re.fullmatch(r"\d+(\.\d+)?", value):
        return float(value)
    if value:
        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - now)
        except (TypeError, ValueError, IndexError):
            pass
    reset = response.headers.get("x-ratelimit-reset", "").strip()
    if reset.isdigit():
        return max(0.0, int(reset) - now)
    return None


def retryable_status(status: int) -> bool:
    return status == 429 or status >= 500


class RetryingTransport(httpx.BaseTransport):
    """Wraps another transport with the retry and pacing policy above."""

    def __init__(
        self,
        inner: httpx.BaseTransport | None = None,
        *,
        attempts: int = ATTEMPTS,
        backoff: float | None = None,
        max_wait: float = MAX_WAIT,
        pace: Callable[[], httpx.Request] | None = None,
        record: Record | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.inner = inner or httpx.HTTPTransport()
        self.attempts = attempts
        self.backoff = BACKOFF if backoff is None else backoff  # read late: tests shorten it
        self.max_wait = max_wait
        self.pace = pace
        self.sleep = sleep
        self.record = record if record is not None else Record()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        idempotent = request.method.upper() in IDEMPOTENT
        self._wait_for_budget(idempotent)
        seen: list[str] = []
        waited = 0.0
        for attempt in range(1, self.attempts + 1):
            last = attempt == self.attempts
            delay = min(self.backoff * 2 ** (attempt - 1), MAX_BACKOFF)
            try:
                response = self.inner.handle_request(request)
            except httpx.ConnectError as exc:  # never reached the server: safe for a POST too
                if last or waited + delay > self.max_wait:
                    raise
                seen.append(type(exc).__name__)
            except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
                if not idempotent or last or waited + delay > self.max_wait:
                    raise
                seen.append(type(exc).__name__)
            else:
                self._note_budget(response)
                status = response.status_code
                if not (idempotent and retryable_status(status)) or last:
                    self._recovered(request, seen, status)
                    if seen:  # what the earlier attempts met: an answer to a retry says so
                        response.extensions[AFTER_FAILURES] = tuple(seen)
                    return response
                asked = retry_after(response) if status in RETRY_AFTER_STATUSES else None
                delay = asked if asked is not None else delay
                if waited + delay > self.max_wait:
                    self._recovered(request, seen, status)
                    return response
                response.read()
                response.close()
                if status == 429:
                    with self.record.lock:
                        self.record.throttled += 1
                else:
                    seen.append(f"HTTP {status}")
            self.sleep(delay)
            waited += delay
        raise AssertionError("unreachable: the last attempt returns or raises")

    def close(self) -> None:
        self.inner.close()

    def _recovered(self, request: httpx.Request, seen: list[str], status: int) -> None:
        """Keep a flake when earlier attempts failed and this one did not."""
        if seen and not retryable_status(status):
            with self.record.lock:
                self.record.flakes.append(Flake(request.method, request.url.path, tuple(seen)))

    def _note_budget(self, response: httpx.Response) -> None:
        remaining = response.headers.get("x-ratelimit-remaining", "").strip()
        if remaining != "0" and response.status_code != 429:
            return
        wait = retry_after(response)
        with self.record.lock:
            if wait is not None:
                self.record.resume_at = time.monotonic() + min(wait, self.max_wait)
                self.record.spent = False
            elif response.status_code != 429:
                self.record.spent = True

    def _wait_for_budget(self, idempotent: bool) -> None:
        """Before sending: wait out a spent budget (see the module's docstring)."""
        with self.record.lock:
            wait = self.record.resume_at - time.monotonic()
            pace = self.record.spent and not idempotent and self.pace is not None
            if pace:
                self.record.spent = False
        if wait > 0:
            self.sleep(min(wait, self.max_wait))
        elif pace and self.pace is not None:
            self.handle_request(self.pace()).close()


def pace_request(base_url: str, path: str, headers: dict[str, str]) -> Callable[[], httpx.Request]:
    """A cheap idempotent request to spend on learning when a spent rate budget comes back."""
    return lambda: httpx.Request(
        "GET", f"{base_url}{path}", params={"per_page": 1}, headers=headers
    )
