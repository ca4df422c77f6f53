"""The 11 Packages operations as plain calls on an httpx client, for properties and the model.

Kept thin on purpose: each method sends one request and returns the raw response, so that the
tests judge every status and body themselves.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import httpx

PACKAGES = "/api/v1/packages"
DEPLOYED = "/api/v1/flow-version-deployments/packages"

QueryValue = str | int | float | bool | None
Query = Mapping[str, QueryValue]  # a query string, as httpx takes it

# (operation id, method, path template) of the 11 operations the suite covers
OPERATIONS = [
    ("listDeployedPackages", "GET", DEPLOYED),
    ("listPackages", "GET", PACKAGES),
    ("createPackage", "POST", PACKAGES),
    ("getPackage", "GET", PACKAGES + "/{package}"),
    ("updatePackage", "PUT", PACKAGES + "/{package}"),
    ("deletePackage", "DELETE", PACKAGES + "/{package}"),
    ("comparePackage", "GET", PACKAGES + "/{package}/compare/{virtual_environment}"),
    ("deployPackage", "POST", PACKAGES + "/{package}/deploy/{virtual_environment}"),
    ("addFlowVersion", "POST", PACKAGES + "/{package}/flow-versions/{flow_version}"),
    ("removeFlowVersion", "DELETE", PACKAGES + "/{package}/flow-versions/{flow_version}"),
    (
        "removeVirtualEnvironment",
        "DELETE",
        PACKAGES + "/{package}/virtual-environments/{virtual_environment}",
    ),
]


def label(operation_id: str) -> str:
    """`GET /api/v1/packages/{package}` for an operation id, as Schemathesis labels it."""
    method, path = next((m, p) for o, m, p in OPERATIONS if o == operation_id)
    return f"{method} {path}"


def _id(value: object) -> str:
    return quote(str(value), safe="")


class Api:
    """One method per operation; every call returns the `httpx.Response`."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client

    def list(self, query: Query | None = None, *, deployed: bool = False) -> httpx.Response:
        """A page of packages (of deployed packages with `deployed`); `query` as sent."""
        return self.client.get(DEPLOYED if deployed else PACKAGES, params=query or {})

    def create(self, body: dict[str, Any]) -> httpx.Response:
        return self.client.post(PACKAGES, json=body)

    def get(self, package: object, **params: QueryValue) -> httpx.Response:
        return self.client.get(f"{PACKAGES}/{_id(package)}", params=params)

    def update(self, package: object, body: dict[str, Any]) -> httpx.Response:
        return self.client.put(f"{PACKAGES}/{_id(package)}", json=body)

    def delete(self, package: object) -> httpx.Response:
        return self.client.delete(f"{PACKAGES}/{_id(package)}")

    def compare(self, package: object, environment: object) -> httpx.Response:
        return self.client.get(f"{PACKAGES}/{_id(package)}/compare/{_id(environment)}")

    def deploy(
        self, package: object, environment: object, body: dict[str, Any] | None = None
    ) -> httpx.Response:
        return self.client.post(
            f"{PACKAGES}/{_id(package)}/deploy/{_id(environment)}", json=body or {}
        )

    def add_version(
        self, package: object, version: object, body: dict[str, Any] | None = None
    ) -> httpx.Response:
        return self.client.post(
            f"{PACKAGES}/{_id(package)}/flow-versions/{_id(version)}", json=body or {}
        )

    def remove_version(self, package: object, version: object) -> httpx.Response:
        return self.client.delete(f"{PACKAGES}/{_id(package)}/flow-versions/{_id(version)}")

    def remove_environment(self, package: object, environment: object) -> httpx.Response:
        path = f"{PACKAGES}/{_id(package)}/virtual-environments/{_id(environment)}"
        return self.client.delete(path)
