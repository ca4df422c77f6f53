"""Read the packages a real server lists and rebuild a fixture document the mock can load.

Read-only: GETs on `/api/v1/packages` only, every page at 100 per page, with the includes that
show every record the mock needs. What the API never shows gets a placeholder:

- users: `password` is `PLACEHOLDER_PASSWORD`; a user only referenced by id (e.g. `deployed_by`)
  is named "User <id>" with email `user<id>@placeholder.invalid`;
- flows: created at their first shown version's creation, updated at the last version's update;
- virtual environments only referenced by id: named "Virtual environment <id>", type `test`;
- a flow version deployment's `deployment_id` that names no listed deployment becomes null;
- packages' `first_deployed_at` is left out (the loader takes the earliest deployment).

Flow versions that are in no package, and their deployments, are not visible and not exported.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import httpx

from patchworks_mock.documents.checking import problems

EXPORT_INCLUDES = (
    "createdBy",
    "flowVersions.deployments",
    "deployments.virtualEnvironment",
    "deployments.user",
)
PER_PAGE = 100
PLACEHOLDER_PASSWORD = "password"
PLACEHOLDER_EMAIL = "user{id}@placeholder.invalid"
USER_FIELDS = ("id", "name", "email", "created_at", "updated_at")
ENVIRONMENT_FIELDS = ("id", "name", "type", "created_at", "updated_at")
PACKAGE_FIELDS = ("id", "name", "notes", "created_by_id", "created_at", "updated_at")
VERSION_FIELDS = ("id", "flow_id", "iteration", "created_at", "updated_at")
DEPLOYMENT_FIELDS = (
    "id",
    "package_id",
    "virtual_environment_id",
    "user_id",
    "notes",
    "created_at",
    "updated_at",
)
FVD_FIELDS = (
    "id",
    "flow_version_id",
    "virtual_environment_id",
    "deployment_id",
    "status",
    "deployed_by",
    "created_at",
    "updated_at",
)


class ExportError(Exception):
    """The export cannot go on; the message is one line for the user."""


def _pick(record: dict, names: tuple[str, ...]) -> dict:
    return {name: record[name] for name in names}


def fetch_packages(
    url: str,
    api_key: str,
    *,
    timeout: float = 30.0,
    progress: Callable[[int, int], None] | None = None,
) -> list[dict]:
    """Every package the server at `url` lists, with the export's includes, page by page;
    after each page, `progress(packages so far, packages listed)` (for a terminal's counter)."""
    endpoint = f"{url.rstrip('/')}/api/v1/packages"
    headers = {"Authorization": api_key, "Accept": "application/json"}
    packages: list[dict] = []
    page, last_page = 1, 1
    with httpx.Client(headers=headers, timeout=timeout) as client:
        while page <= last_page:
            params = {"include": ",".join(EXPORT_INCLUDES), "per_page": PER_PAGE, "page": page}
            body = _get(client, endpoint, params)
            try:
                packages.extend(body["data"])
                last_page = int(body["meta"]["last_page"])
                listed = body["meta"].get("total")
            except (KeyError, TypeError, ValueError, AttributeError):
                raise ExportError(
                    f"GET {endpoint}: the answer is not a page of packages (no data/meta)"
                ) from None
            if progress:
                shown = listed if isinstance(listed, int) else len(packages)
                progress(len(packages), max(shown, len(packages)))
            page += 1
    return packages


def _get(client: httpx.Client, endpoint: str, params: dict) -> Any:
    try:
        response = client.get(endpoint, params=params)
    except httpx.HTTPError as exc:
        raise ExportError(f"cannot read {endpoint}: {exc or type(exc).__name__}") from None
    if response.status_code == 401:
        raise ExportError(f"GET {endpoint}: 401 Unauthenticated (check --api-key)")
    if response.status_code != 200:
        raise ExportError(f"GET {endpoint}: HTTP {response.status_code} (expected 200)")
    try:
        return response.json()
    except ValueError:
        raise ExportError(f"GET {endpoint}: the answer is not JSON") from None


def document_from_packages(packages: list[dict]) -> dict:
    """The fixture document the rendered packages show, placeholders for the rest."""
    try:
        rebuild = Rebuild()
        for shown in packages:
            rebuild.package(shown)
        return rebuild.document()
    except (KeyError, TypeError, AttributeError) as exc:
        raise ExportError(f"a package is missing a field the export needs: {exc}") from None


class Rebuild:
    """The records that rendered answers show, by collection and id, the last shown kept; one
    conversion from the API's JSON to fixture records, for the export and the proxy's
    `--fixtures-out`. Raises KeyError, TypeError or AttributeError on a shape it cannot read."""

    def __init__(self) -> None:
        self.users: dict[int, dict] = {}
        self.flows: dict[int, dict] = {}
        self.versions: dict[int, dict] = {}
        self.environments: dict[int, dict] = {}
        self.packages: dict[int, dict] = {}
        self.deployments: dict[int, dict] = {}
        self.fvds: dict[int, dict] = {}

    def user(self, shown: dict | None) -> None:
        if shown:
            self.users[shown["id"]] = {
                **_pick(shown, USER_FIELDS),
                "password": PLACEHOLDER_PASSWORD,
            }

    def referenced_user(self, user_id: int | None, at: str) -> None:
        if user_id is not None and user_id not in self.users:
            self.users[user_id] = {
                "id": user_id,
                "name": f"User {user_id}",
                "email": PLACEHOLDER_EMAIL.format(id=user_id),
                "password": PLACEHOLDER_PASSWORD,
                "created_at": at,
                "updated_at": at,
            }

    def environment(self, shown: dict | None) -> None:
        if shown:
            self.environments[shown["id"]] = _pick(shown, ENVIRONMENT_FIELDS)

    def deployment(self, shown: dict) -> None:
        """A deployment, with its VE, user and flow version deployments if included."""
        self.user(shown.get("user"))
        self.environment(shown.get("virtual_environment"))
        self.deployments[shown["id"]] = _pick(shown, DEPLOYMENT_FIELDS)
        for fvd in shown.get("flow_version_deployments") or []:
            self.fvds[fvd["id"]] = _pick(fvd, FVD_FIELDS)

    def version(self, shown: dict) -> None:
        self.versions[shown["id"]] = _pick(shown, VERSION_FIELDS)
        flow = self.flows.setdefault(
            shown["flow_id"],
            {
                "id": shown["flow_id"],
                "name": shown["flow_name"],
                "created_at": shown["created_at"],
                "updated_at": shown["updated_at"],
            },
        )
        flow["created_at"] = min(flow["created_at"], shown["created_at"])
        flow["updated_at"] = max(flow["updated_at"], shown["updated_at"])
        for fvd in shown.get("deployments") or []:
            self.fvds[fvd["id"]] = _pick(fvd, FVD_FIELDS)

    def package(self, shown: dict) -> None:
        """A package with whatever it includes; its flow versions' priorities from `pivot`."""
        self.user(shown.get("created_by"))
        for deployment in shown.get("deployments") or []:
            self.deployment(deployment)
        members = []
        for version in shown.get("flow_versions") or []:
            self.version(version)
            members.append(
                {"flow_version_id": version["id"], "priority": version["pivot"]["priority"]}
            )
        self.packages[shown["id"]] = {**_pick(shown, PACKAGE_FIELDS), "flow_versions": members}

    def records(self) -> dict[str, list[dict]]:
        """Every collection as shown, sorted by id: no placeholders, references unchecked."""
        return {
            name: sorted(records.values(), key=lambda record: record["id"])
            for name, records in (
                ("users", self.users),
                ("flows", self.flows),
                ("flow_versions", self.versions),
                ("virtual_environments", self.environments),
                ("packages", self.packages),
                ("deployments", self.deployments),
                ("flow_version_deployments", self.fvds),
            )
        }

    def document(self) -> dict:
        """The records with a placeholder for each user and VE only referenced by id, and a
        `deployment_id` naming no deployment made null; the records kept are not changed."""
        filled = copy.copy(self)  # the same records; the three collections it adds to, copied
        filled.users, filled.environments = dict(self.users), dict(self.environments)
        filled.fvds = dict(self.fvds)
        for package in filled.packages.values():
            filled.referenced_user(package["created_by_id"], package["created_at"])
        for deployment in filled.deployments.values():
            filled.referenced_user(deployment["user_id"], deployment["created_at"])
            filled.referenced_environment(deployment["virtual_environment_id"], deployment)
        for fvd in self.fvds.values():
            filled.referenced_user(fvd["deployed_by"], fvd["created_at"])
            filled.referenced_environment(fvd["virtual_environment_id"], fvd)
            if fvd["deployment_id"] not in self.deployments:
                filled.fvds[fvd["id"]] = {**fvd, "deployment_id": None}
        return filled.records()

    def referenced_environment(self, environment_id: int, record: dict) -> None:
        if environment_id not in self.environments:
            self.environments[environment_id] = {
                "id": environment_id,
                "name": f"Virtual environment {environment_id}",
                "type": "test",
                "created_at": record["created_at"],
                "updated_at": record["created_at"],
            }


def export(
    url: str,
    api_key: str,
    *,
    timeout: float = 30.0,
    progress: Callable[[int, int], None] | None = None,
) -> dict:
    """A loadable fixture document of what the server at `url` lists; raises `ExportError`."""
    document = document_from_packages(
        fetch_packages(url, api_key, timeout=timeout, progress=progress)
    )
    found = problems(document)
    if found:
        place, reason = found[0]
        more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
        raise ExportError(
            f"the server's packages make no loadable document: {place}: {reason}{more}"
        )
    return document
