"""Laravel's JSON for the records: snake_case relation keys, pivots, paginated envelopes.

Every function takes the include tree of the request (`{"flowVersions": {"deployments": {}}}`)
and renders only what it asks for.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any
from urllib.parse import urlencode

from starlette.datastructures import URL, QueryParams

from patchworks_mock.records import (
    Deployment,
    FlowVersion,
    FlowVersionDeployment,
    Package,
    User,
    VirtualEnvironment,
)
from patchworks_mock.store import CompareRow, Store

NO_INCLUDES: dict[str, Any] = {}
ON_EACH_SIDE = 3  # Laravel's default `onEachSide` for the page window


def user(record: User) -> dict[str, Any]:
    return {
        "id": record.id,
        "name": record.name,
        "email": record.email,
        "created_at": record.created_at,
        "updated_at": record.updated_at,
    }


def flow_version_deployment(record: FlowVersionDeployment) -> dict[str, Any]:
    return {
        "id": record.id,
        "flow_version_id": record.flow_version_id,
        "virtual_environment_id": record.virtual_environment_id,
        "deployment_id": record.deployment_id,
        "status": record.status,
        "deployed_by": record.deployed_by,
        "created_at": record.created_at,
        "updated_at": record.updated_at,
    }


def flow_version(
    store: Store,
    record: FlowVersion,
    includes: dict[str, Any] = NO_INCLUDES,
    package: Package | None = None,
) -> dict[str, Any]:
    body = {
        "id": record.id,
        "flow_id": record.flow_id,
        "flow_name": store.flows[record.flow_id].name,
        "iteration": record.iteration,
        "status": store.flow_version_status(record),
        "created_at": record.created_at,
        "updated_at": record.updated_at,
    }
    if package is not None:
        body["pivot"] = {
            "package_id": package.id,
            "flow_version_id": record.id,
            "priority": package.members[record.id],
        }
    if "deployments" in includes:
        body["deployments"] = [flow_version_deployment(d) for d in store.fvds_of_version(record)]
    return body


def virtual_environment(
    store: Store, record: VirtualEnvironment, includes: dict[str, Any] = NO_INCLUDES
) -> dict[str, Any]:
    body = {
        "id": record.id,
        "name": record.name,
        "type": record.type,
        "created_at": record.created_at,
        "updated_at": record.updated_at,
    }
    if "deployedVersion" in includes:
        last = store.last_fvd_in(record)
        body["deployed_version"] = last and flow_version_deployment(last)
    return body


def deployment(
    store: Store, record: Deployment, includes: dict[str, Any] = NO_INCLUDES
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": record.id,
        "package_id": record.package_id,
        "virtual_environment_id": record.virtual_environment_id,
        "user_id": record.user_id,
        "notes": record.notes,
        "created_at": record.created_at,
        "updated_at": record.updated_at,
    }
    if "virtualEnvironment" in includes:
        environment = store.virtual_environments[record.virtual_environment_id]
        body["virtual_environment"] = virtual_environment(
            store, environment, includes["virtualEnvironment"]
        )
    if "user" in includes:
        author = store.users.get(record.user_id) if record.user_id is not None else None
        body["user"] = author and user(author)
    if "flowVersionDeployments" in includes:
        body["flow_version_deployments"] = [
            flow_version_deployment(d) for d in store.fvds_of_deployment(record)
        ]
    return body


def package(
    store: Store, record: Package, includes: dict[str, Any] = NO_INCLUDES
) -> dict[str, Any]:
    body = {
        "id": record.id,
        "name": record.name,
        "notes": record.notes,
        "created_by_id": record.created_by_id,
        "created_at": record.created_at,
        "updated_at": record.updated_at,
    }
    if "createdBy" in includes:
        author = store.users.get(record.created_by_id) if record.created_by_id else None
        body["created_by"] = author and user(author)
    if "flowVersions" in includes:
        body["flow_versions"] = [
            flow_version(store, store.flow_versions[i], includes["flowVersions"], record)
            for i in record.members
        ]
    if "virtualEnvironments" in includes:
        body["virtual_environments"] = [
            virtual_environment(store, ve) for ve in store.environments_of(record)
        ]
    if "deployments" in includes:
        body["deployments"] = [
            deployment(store, d, includes["deployments"]) for d in store.deployments_of(record)
        ]
    if "flowVersionDeployments" in includes:
        body["flow_version_deployments"] = [
            flow_version_deployment(fvd)
            for d in store.deployments_of(record)
            for fvd in store.fvds_of_deployment(d)
        ]
    # `package` is accepted because the vendor lists it, but a package has no parent package.
    return body


def compare_row(store: Store, row: CompareRow) -> dict[str, Any]:
    return {
        "flow_id": row.flow.id,
        "flow_name": row.flow.name,
        "package_version": flow_version(store, row.package_version),
        "environment_version": row.environment_version
        and flow_version(store, row.environment_version),
        "in_sync": row.in_sync,
    }


@lru_cache(maxsize=128)
def _page_links(url: str) -> tuple[str, str, str]:
    """Laravel's `url($page)` for the request's URL, as (path, prefix, suffix) around the page.

    A client pages through the same few URLs; each is worked out once.
    """
    path, _, query_string = url.partition("?")
    # PHP keeps a repeated key at its first place, with its last value; so does a dict.
    query = dict(QueryParams(query_string).multi_items())
    keys = list(query)
    at = keys.index("page") if "page" in keys else len(keys)
    before = urlencode({k: query[k] for k in keys[:at]})
    after = urlencode({k: query[k] for k in keys[at + 1 :]})
    return path, f"{path}?{before}{'&' if before else ''}page=", f"&{after}" if after else ""


def _window(current: int, last: int) -> list[int | None]:
    """The page numbers Laravel's UrlWindow shows, `None` where it puts "..."."""
    if last < ON_EACH_SIDE * 2 + 8:
        return list(range(1, last + 1))
    window = ON_EACH_SIDE + 4
    start, finish = [1, 2], [last - 1, last]
    if current <= window:
        return [*range(1, window + ON_EACH_SIDE + 1), None, *finish]
    if current > last - window:
        return [*start, None, *range(last - (window + ON_EACH_SIDE - 1), last + 1)]
    return [*start, None, *range(current - ON_EACH_SIDE, current + ON_EACH_SIDE + 1), None, *finish]


def paginated(
    data: list[dict[str, Any]], total: int, page: int, per_page: int, url: URL
) -> dict[str, Any]:
    """LengthAwarePaginator's JSON for the request's `url`: `data`, `links` and `meta` with
    absolute URLs."""
    path, prefix, suffix = _page_links(str(url))

    def page_url(number: int) -> str:
        return f"{prefix}{number}{suffix}"

    last_page = max(math.ceil(total / per_page), 1)
    first_item = (page - 1) * per_page + 1 if data else None
    prev_url = page_url(page - 1) if page > 1 else None
    next_url = page_url(page + 1) if page < last_page else None
    links = [{"url": prev_url, "label": "&laquo; Previous", "active": False}]
    for number in _window(page, last_page):
        if number is None:
            links.append({"url": None, "label": "...", "active": False})
        else:
            links.append(
                {
                    "url": page_url(number),
                    "label": str(number),
                    "active": number == page,
                }
            )
    links.append({"url": next_url, "label": "Next &raquo;", "active": False})
    return {
        "data": data,
        "links": {
            "first": page_url(1),
            "last": page_url(last_page),
            "prev": prev_url,
            "next": next_url,
        },
        "meta": {
            "current_page": page,
            "from": first_item,
            "last_page": last_page,
            "links": links,
            "path": path,
            "per_page": per_page,
            "to": first_item + len(data) - 1 if first_item else None,
            "total": total,
        },
    }
