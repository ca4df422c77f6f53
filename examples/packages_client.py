"""A small client for the Patchworks Packages API, as a user of patchworks-mock would write one.

It retries answers that say "try again" (429 and 503), honouring `Retry-After`.
"""

from __future__ import annotations

import time

import httpx

RETRYABLE = {429, 503}


class PackagesClient:
    def __init__(self, base_url: str, api_key: str, retries: int = 3) -> None:
        self.http = httpx.Client(
            base_url=base_url,
            headers={"Authorization": api_key, "Accept": "application/json"},
            timeout=10,
        )
        self.retries = retries

    def _send(self, method: str, path: str, **kwargs) -> dict:
        for attempt in range(self.retries + 1):
            response = self.http.request(method, path, **kwargs)
            if response.status_code not in RETRYABLE or attempt == self.retries:
                break
            time.sleep(min(float(response.headers.get("Retry-After", 0.1)), 5.0))
        response.raise_for_status()
        return response.json()

    def list_packages(self, name: str | None = None) -> list[dict]:
        """Every package (all pages), optionally those whose name contains `name`."""
        params = {"per_page": 100, **({"filter[name]": name} if name else {})}
        packages, page = [], 1
        while True:
            body = self._send("GET", "/api/v1/packages", params={**params, "page": page})
            packages += body["data"]
            if body["meta"]["current_page"] >= body["meta"]["last_page"]:
                return packages
            page += 1

    def create_package(self, name: str, notes: str | None = None) -> dict:
        return self._send("POST", "/api/v1/packages", json={"name": name, "notes": notes})["data"]

    def add_flow_version(self, package_id: int, flow_version_id: int, priority: int = 50) -> dict:
        path = f"/api/v1/packages/{package_id}/flow-versions/{flow_version_id}"
        return self._send("POST", path, json={"priority": priority})["data"]

    def deploy(self, package_id: int, environment_id: int, notes: str | None = None) -> dict:
        path = f"/api/v1/packages/{package_id}/deploy/{environment_id}"
        return self._send("POST", path, json={"notes": notes})["data"]
