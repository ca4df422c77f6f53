"""What keeps a run safe on a real deployment: names it can recognise and a thorough clean-up.

Every package the suite creates is named with the run's prefix and its id is recorded; the
clean-up deletes the recorded ids and then anything else listed under the prefix. Nothing else
is ever modified or deleted. A flaky server does not stop the clean-up: it goes round again,
with backoff, for up to `CLEANUP_SECONDS`, until nothing of the run is left; only then (or on a
second Ctrl-C) does it give up and name what is left.
"""

from __future__ import annotations

import re
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import httpx

from patchworks_mock.contract.api import Api, Query
from patchworks_mock.contract.rules import MAX_NAME

PREFIX = "pwcheck"
SWEEP_PAGES = 20
CLEANUP_SECONDS = 120.0
CLEANUP_REQUEST_WAIT = 10.0  # the longest one clean-up request may wait, so that the whole
# clean-up ends within CLEANUP_SECONDS and one request's wait (a `Retry-After: 60` included)
FIRST_PAUSE = 1.0  # seconds between the first two rounds; doubled each round, up to MAX_PAUSE
MAX_PAUSE = 15.0
DELETED = (200, 204, 404)


@dataclass
class Leftovers:
    """What a clean-up could not delete, and why it stopped."""

    remaining: list[str] = field(default_factory=list)  # package ids
    reason: str = ""  # the last error met
    interrupted: bool = False  # Ctrl-C stopped the clean-up


def new_run_id() -> str:
    return secrets.token_hex(4)


# Every name a run gives starts so (`Ledger.prefix`, and `Ledger.rerun`'s `r<n>-`).
_RUN_NAME_PREFIX = re.compile(rf"{PREFIX}-[0-9a-f]+-(r[0-9]+-)?")


def without_run_names(text: str) -> str:
    """`text` with the name prefixes of any run (and rerun) taken out, so that two runs of a
    test can be compared by what they sent."""
    return _RUN_NAME_PREFIX.sub("", text)


class Ledger:
    """The run's name prefix and the ids of every package the run created."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        self.run_prefix = f"{PREFIX}-{run_id}-"  # every name the run gives: what is swept
        self.prefix = self.run_prefix  # the names given now (a rerun adds its own part)
        self._created: set[str] = set()
        self._live: list[str] = []  # created and not seen deleted, oldest first
        self._order: list[str] = []  # every id recorded, in order
        self._lock = threading.Lock()

    def name(self, suffix: str) -> str:
        """A package name under the run's prefix, cut to the contract's 255 characters."""
        return (self.prefix + suffix)[:MAX_NAME]

    @contextmanager
    def rerun(self, number: int) -> Iterator[None]:
        """Inside, names start `<run prefix>r<number>-`: a test run again sends requests of its
        own (its creates name other packages, its other POSTs name those packages), never the
        POSTs of the first run again."""
        self.prefix = f"{self.run_prefix}r{number}-"
        try:
            yield
        finally:
            self.prefix = self.run_prefix

    def record(self, package_id: object) -> None:
        with self._lock:
            self._created.add(str(package_id))
            self._live.append(str(package_id))
            self._order.append(str(package_id))

    def mark(self) -> int:
        """A point in the run, for `live_since`."""
        with self._lock:
            return len(self._order)

    def live_since(self, mark: int) -> list[str]:
        """The packages created after `mark` and not seen deleted."""
        with self._lock:
            return [i for i in self._order[mark:] if i in self._live]

    def gone(self, package_id: object) -> None:
        """The package was deleted (it stays recorded: the clean-up tries it anyway)."""
        with self._lock:
            if str(package_id) in self._live:
                self._live.remove(str(package_id))

    def latest(self) -> str | None:
        """The package created last that is still there, if any."""
        with self._lock:
            return self._live[-1] if self._live else None

    def record_created(self, response: httpx.Response) -> str | None:
        """Record the id of a successful create; returns it (None when nothing was created)."""
        if response.status_code not in (200, 201):
            return None
        try:
            package_id = response.json()["data"]["id"]
        except (ValueError, KeyError, TypeError):
            return None
        self.record(package_id)
        return str(package_id)

    def owns(self, package_id: object) -> bool:
        with self._lock:
            return str(package_id) in self._created

    def owned(self) -> list[str]:
        with self._lock:
            return sorted(self._created)

    def cleanup(
        self,
        client: httpx.Client,
        *,
        budget: float = CLEANUP_SECONDS,
        sleep: Callable[[float], None] = time.sleep,
    ) -> Leftovers:
        """Delete what the run created, round after round for up to `budget` seconds; a
        Ctrl-C stops it. Returns what is left (nothing, when all went well)."""
        api = Api(client)
        deadline = time.monotonic() + budget
        left = Leftovers(remaining=self.owned())
        pause = FIRST_PAUSE
        try:
            while True:
                left.reason = self._delete(api, left.remaining, deadline)
                if not left.remaining:
                    listed, problem = self._listed(api)
                    left.remaining = listed
                    left.reason = self._delete(api, left.remaining, deadline) or problem
                    if not left.remaining and not problem:
                        return left
                if time.monotonic() + pause > deadline:
                    return left
                sleep(pause)
                pause = min(pause * 2, MAX_PAUSE)
        except KeyboardInterrupt:
            left.interrupted = True
            return left

    def _delete(self, api: Api, ids: list[str], deadline: float) -> str:
        """Delete each id, taking it off `ids` once gone, until `deadline`; returns the last
        reason one stayed."""
        reason = ""
        for package_id in list(ids):
            if time.monotonic() > deadline:
                return reason or "out of time"
            try:
                status = api.delete(package_id).status_code
            except httpx.HTTPError as exc:
                reason = f"{type(exc).__name__}: {exc}"
                continue
            if status in DELETED:
                self.gone(package_id)
                ids.remove(package_id)
            else:
                reason = f"HTTP {status}"
        return reason

    def _listed(self, api: Api) -> tuple[list[str], str]:
        """Ids still listed under the prefix (e.g. a create cut short by Ctrl-C), and a
        reason when the listing itself failed."""
        found: list[str] = []
        for page in range(1, SWEEP_PAGES + 1):
            query: Query = {"filter[name]": self.run_prefix, "per_page": 100, "page": page}
            try:
                response = api.list(query)
                body = response.json()
            except (httpx.HTTPError, ValueError) as exc:
                return found, f"listing this run's packages failed: {exc}"
            if response.status_code != 200 or not isinstance(body, dict):
                return found, f"listing this run's packages failed: HTTP {response.status_code}"
            rows = body.get("data") or []
            found += [
                str(row["id"])
                for row in rows
                if isinstance(row, dict) and str(row.get("name", "")).startswith(self.run_prefix)
            ]
            last = (body.get("meta") or {}).get("last_page", 1)
            if not isinstance(last, int) or page >= last:
                break
        return found, ""
