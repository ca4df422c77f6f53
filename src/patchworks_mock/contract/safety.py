"""What keeps a run safe on a real deployment: names it can recognise and a thorough clean-up.

Every package the suite creates is named with the run's prefix and its id is recorded; the
clean-up deletes the recorded ids and then anything else listed under the prefix. Nothing else
is ever modified or deleted.
"""

from __future__ import annotations

import secrets
import threading

import httpx

from patchworks_mock.contract.api import Api
from patchworks_mock.contract.rules import MAX_NAME

PREFIX = "pwcheck"
SWEEP_PAGES = 20


def new_run_id() -> str:
    return secrets.token_hex(4)


class Ledger:
    """The run's name prefix and the ids of every package the run created."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        self.prefix = f"{PREFIX}-{run_id}-"
        self._created: set[str] = set()
        self._live: list[str] = []  # created and not seen deleted, oldest first
        self._lock = threading.Lock()

    def name(self, suffix: str) -> str:
        """A package name under the run's prefix, cut to the contract's 255 characters."""
        return (self.prefix + suffix)[:MAX_NAME]

    def record(self, package_id: object) -> None:
        with self._lock:
            self._created.add(str(package_id))
            self._live.append(str(package_id))

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

    def cleanup(self, client: httpx.Client) -> list[str]:
        """Delete what the run created; returns the ids it could not delete, with why."""
        api = Api(client)
        problems = []
        for package_id in self.owned():
            try:
                status = api.delete(package_id).status_code
            except httpx.HTTPError as exc:
                problems.append(f"{package_id}: {exc}")
                continue
            if status not in (200, 204, 404):
                problems.append(f"{package_id}: HTTP {status}")
        problems += self._sweep(api)
        return problems

    def _sweep(self, api: Api) -> list[str]:
        """Anything still listed under the prefix (e.g. a create cut short by Ctrl-C)."""
        problems: list[str] = []
        for _ in range(SWEEP_PAGES):
            try:
                response = api.list({"filter[name]": self.prefix, "per_page": 100})
                rows = response.json().get("data", []) if response.status_code == 200 else []
            except (httpx.HTTPError, ValueError, AttributeError):
                return problems
            ours = [r for r in rows if str(r.get("name", "")).startswith(self.prefix)]
            if not ours:
                return problems
            for row in ours:
                status = api.delete(row["id"]).status_code
                if status not in (200, 204, 404):
                    problems.append(f"{row['id']}: HTTP {status}")
                    return problems
        return problems
