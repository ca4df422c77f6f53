"""Deliberately broken variants of the mock, each one small named defect.

A variant takes a fresh `create_app()` and returns the ASGI app to serve: either the same app
with one store method replaced, or a wrapper that rewrites some responses. The core modules are
never edited.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from patchworks_mock import errors, store

Rewrite = Callable[[str, str, int, dict], tuple[int, dict]]


class Rewriting:
    """ASGI wrapper: `rewrite(method, path, status, body) -> (status, body)` on JSON answers."""

    def __init__(self, app, rewrite: Rewrite) -> None:
        self.app = app
        self.state = app.state
        self.rewrite = rewrite

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start: dict = {}
        chunks: list[bytes] = []

        async def capture(message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body"):
                return
            raw = b"".join(chunks)
            status = start["status"]
            headers = [
                (k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"
            ]
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = None
            if isinstance(body, dict):
                status, body = self.rewrite(scope["method"], scope["path"], status, body)
                raw = json.dumps(body).encode()
            headers.append((b"content-length", str(len(raw)).encode()))
            await send({**start, "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": raw})

        await self.app(scope, receive, capture)


def _is_package(path: str) -> bool:
    parts = path.strip("/").split("/")
    return len(parts) == 4 and parts[:3] == ["api", "v1", "packages"]


# -- defects in the answers ----------------------------------------------------------------


def create_answers_202(app):
    """POST /api/v1/packages answers 202 instead of 201."""

    def rewrite(method, path, status, body):
        if method == "POST" and path == "/api/v1/packages" and status == 201:
            return 202, body
        return status, body

    return Rewriting(app, rewrite)


def package_without_created_at(app):
    """GET /api/v1/packages/{id} leaves out the required `created_at`."""

    def rewrite(method, path, status, body):
        if method == "GET" and _is_package(path) and status == 200:
            body["data"].pop("created_at", None)
        return status, body

    return Rewriting(app, rewrite)


def list_ids_as_strings(app):
    """GET /api/v1/packages gives each package's `id` as a string."""

    def rewrite(method, path, status, body):
        if method == "GET" and path == "/api/v1/packages" and status == 200:
            for row in body["data"]:
                row["id"] = str(row["id"])
        return status, body

    return Rewriting(app, rewrite)


def not_found_with_error_key(app):
    """404 bodies say `{"error": ...}` instead of Laravel's `{"message": ...}`."""

    def rewrite(method, path, status, body):
        if status == 404 and "message" in body:
            return status, {"error": body["message"]}
        return status, body

    return Rewriting(app, rewrite)


# -- defects in the rules ------------------------------------------------------------------


def _patch(app, name: str, make: Callable) -> object:
    """Replace one method of the app's store with `make(original)`."""
    target = app.state.store
    setattr(target, name, make(getattr(target, name)))
    return app


def pagination_off_by_one(app):
    """Each page starts one package early, so neighbouring pages overlap."""

    def make(original):
        def list_packages(*, page, per_page, **kwargs):
            everything, total = original(page=1, per_page=10**9, **kwargs)
            start = max((page - 1) * per_page - 1, 0)
            return everything[start : start + per_page], total

        return list_packages

    return _patch(app, "list_packages", make)


def name_filter_ignored(app):
    """`filter[name]` is accepted and ignored."""

    def make(original):
        def list_packages(*, names, **kwargs):
            return original(names=None, **kwargs)

        return list_packages

    return _patch(app, "list_packages", make)


def sort_ignored(app):
    """`sort` is accepted and ignored: lists stay in id order."""

    def make(original):
        def list_packages(*, sort, descending, **kwargs):
            return original(sort="id", descending=False, **kwargs)

        return list_packages

    return _patch(app, "list_packages", make)


def delete_keeps_package(app):
    """DELETE answers 200 but the package stays."""
    lookup = app.state.store.package  # still 404 for a package that does not exist
    return _patch(app, "delete_package", lambda original: lambda key: lookup(key))


def priority_not_stored(app):
    """Adding a flow version ignores the priority sent: always 50."""

    def make(original):
        return lambda package, version, priority: original(package, version, None)

    return _patch(app, "add_version", make)


def any_key_accepted(app):
    """Every non-empty Authorization value is accepted as a key."""

    class Everything(frozenset):
        def __contains__(self, item) -> bool:
            return True

    app.state.api_keys = Everything()
    return app


def server_error_on_digits(app):
    """Creating a package whose name holds a digit crashes with a 500."""

    def make(original):
        def create_package(name, notes, user_id):
            if any(ch.isdigit() for ch in name):
                raise RuntimeError("name parser crashed")
            return original(name, notes, user_id)

        return create_package

    return _patch(app, "create_package", make)


def compare_never_in_sync(app):
    """Compare reports no version deployed in the VE, even right after a deploy."""

    def make(original):
        def compare(package, environment):
            return [
                store.CompareRow(row.flow, row.package_version, None)
                for row in original(package, environment)
            ]

        return compare

    return _patch(app, "compare", make)


def removal_allowed_after_deploy(app):
    """Flow versions can still be removed from a package that has been deployed."""

    def make(original):
        def remove_version(package_key, version_key):
            package = app.state.store.package(package_key)
            deployed_at, package.first_deployed_at = package.first_deployed_at, None
            try:
                original(package_key, version_key)
            finally:
                package.first_deployed_at = deployed_at

        return remove_version

    return _patch(app, "remove_version", make)


def second_version_of_flow_accepted(app):
    """A package takes a second version of a flow it already holds."""

    def make(original):
        def add_version(package_key, version_key, priority):
            try:
                return original(package_key, version_key, priority)
            except errors.Invalid:
                target = app.state.store
                package = target.package(package_key)
                version = target.flow_version(version_key)
                package.members[version.id] = priority or store.DEFAULT_PRIORITY
                return package

        return add_version

    return _patch(app, "add_version", make)
