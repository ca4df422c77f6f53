"""The Packages API operations: take the call, ask the store, render Laravel's answer."""

from __future__ import annotations

from typing import Any

from patchworks_mock import errors, instance, query, render
from patchworks_mock.dispatch import Call


async def _page_of_packages(call: Call, deployed_only: bool) -> dict[str, Any]:
    store = call.instance.store
    asked = query.parse(call.query)
    page, per_page = call.params["page"], call.params["per_page"]
    packages, total = store.list_packages(
        deployed_only=deployed_only,
        names=asked.names,
        sort=asked.sort,
        descending=asked.descending,
        page=page,
        per_page=per_page,
    )
    data = [render.package(store, p, asked.includes) for p in packages]
    return render.paginated(data, total, page, per_page, call.url)


async def list_deployed_packages(call: Call) -> dict[str, Any]:
    return await _page_of_packages(call, deployed_only=True)


async def list_packages(call: Call) -> dict[str, Any]:
    return await _page_of_packages(call, deployed_only=False)


async def create_package(call: Call) -> tuple[dict[str, Any], int, dict[str, str]]:
    store = call.instance.store
    package = store.create_package(call.body["name"], call.body.get("notes"), call.user_id)
    url = call.url
    location = str(url.replace(query="", path=f"{url.path}/{package.id}"))
    return {"data": render.package(store, package)}, 201, {"Location": location}


async def get_package(call: Call) -> dict[str, Any]:
    store = call.instance.store
    asked = query.parse(call.query)
    return {"data": render.package(store, store.package(call.params["package"]), asked.includes)}


async def update_package(call: Call) -> dict[str, Any]:
    store = call.instance.store
    changes = {k: call.body[k] for k in ("name", "notes") if k in call.body}
    return {"data": render.package(store, store.update_package(call.params["package"], changes))}


async def delete_package(call: Call) -> dict[str, Any]:
    call.instance.store.delete_package(call.params["package"])
    return {"message": errors.PACKAGE_DELETED}


async def compare_package(call: Call) -> dict[str, Any]:
    store = call.instance.store
    rows = store.compare(call.params["package"], call.params["virtual_environment"])
    return {"data": [render.compare_row(store, row) for row in rows]}


async def deploy_package(call: Call) -> dict[str, Any]:
    store = call.instance.store
    deployment = store.deploy(
        call.params["package"],
        call.params["virtual_environment"],
        call.body.get("notes"),
        call.user_id,
    )
    includes: dict[str, Any] = {"virtualEnvironment": {}, "user": {}, "flowVersionDeployments": {}}
    return {"data": render.deployment(store, deployment, includes)}


async def add_flow_version(call: Call) -> dict[str, Any]:
    store = call.instance.store
    updated = store.add_version(
        call.params["package"], call.params["flow_version"], call.body.get("priority")
    )
    return {"data": render.package(store, updated, {"flowVersions": {}})}


async def remove_flow_version(call: Call) -> dict[str, Any]:
    call.instance.store.remove_version(call.params["package"], call.params["flow_version"])
    return {"message": errors.FLOW_VERSION_REMOVED}


async def remove_virtual_environment(call: Call) -> dict[str, Any]:
    call.instance.store.remove_environment(
        call.params["package"], call.params["virtual_environment"]
    )
    return {"message": errors.ENVIRONMENT_REMOVED}


async def login(call: Call) -> tuple[dict[str, Any], int]:
    serving = call.instance
    user = serving.store.user_by_email(call.body["username"])
    if user is None or user.password != call.body["password"]:
        raise errors.Unauthenticated(errors.BAD_CREDENTIALS)
    token = serving.issue_token(user.id)
    return {"message": errors.LOGGED_IN, "token": token, "expires_in": instance.TOKEN_LIFETIME}, 200
