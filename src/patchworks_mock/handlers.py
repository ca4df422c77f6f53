"""The Packages API operations: parse the request, call the store, render Laravel's answer."""

from __future__ import annotations

from connexion import request
from connexion.context import context

from patchworks_mock import errors, mock, query, render


def _store():
    return mock.of(request.scope).store


def _user_id() -> int | None:
    return context["user"]


async def _page_of_packages(deployed_only: bool, page: int, per_page: int) -> dict:
    store = _store()
    asked = query.parse(request.query_params)
    packages, total = store.list_packages(
        deployed_only=deployed_only,
        names=asked.names,
        sort=asked.sort,
        descending=asked.descending,
        page=page,
        per_page=per_page,
    )
    data = [render.package(store, p, asked.includes) for p in packages]
    return render.paginated(data, total, page, per_page, request.url)


async def list_deployed_packages(page: int, per_page: int) -> dict:
    return await _page_of_packages(True, page, per_page)


async def list_packages(page: int, per_page: int) -> dict:
    return await _page_of_packages(False, page, per_page)


async def create_package(body: dict) -> tuple:
    store = _store()
    package = store.create_package(body["name"], body.get("notes"), _user_id())
    location = str(request.url.replace(query="", path=f"{request.url.path}/{package.id}"))
    return {"data": render.package(store, package)}, 201, {"Location": location}


async def get_package(package: str) -> dict:
    store = _store()
    asked = query.parse(request.query_params)
    return {"data": render.package(store, store.package(package), asked.includes)}


async def update_package(package: str, body: dict) -> dict:
    store = _store()
    changes = {k: body[k] for k in ("name", "notes") if k in body}
    return {"data": render.package(store, store.update_package(package, changes))}


async def delete_package(package: str) -> dict:
    _store().delete_package(package)
    return {"message": errors.PACKAGE_DELETED}


async def compare_package(package: str, virtual_environment: str) -> dict:
    store = _store()
    rows = store.compare(package, virtual_environment)
    return {"data": [render.compare_row(store, row) for row in rows]}


async def deploy_package(package: str, virtual_environment: str, body: dict) -> dict:
    store = _store()
    deployment = store.deploy(package, virtual_environment, body.get("notes"), _user_id())
    includes = {"virtualEnvironment": {}, "user": {}, "flowVersionDeployments": {}}
    return {"data": render.deployment(store, deployment, includes)}


async def add_flow_version(package: str, flow_version: str, body: dict) -> dict:
    store = _store()
    updated = store.add_version(package, flow_version, body.get("priority"))
    return {"data": render.package(store, updated, {"flowVersions": {}})}


async def remove_flow_version(package: str, flow_version: str) -> dict:
    _store().remove_version(package, flow_version)
    return {"message": errors.FLOW_VERSION_REMOVED}


async def remove_virtual_environment(package: str, virtual_environment: str) -> dict:
    _store().remove_environment(package, virtual_environment)
    return {"message": errors.ENVIRONMENT_REMOVED}


async def login(body: dict) -> tuple:
    current = mock.of(request.scope)
    user = current.store.user_by_email(body["username"])
    if user is None or user.password != body["password"]:
        raise errors.Unauthenticated(errors.BAD_CREDENTIALS)
    token = current.issue_token(user.id)
    return {"message": errors.LOGGED_IN, "token": token, "expires_in": mock.TOKEN_LIFETIME}, 200
