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


# -- repaired input --------------------------------------------------------------------------
# Each accepts input the contract refuses by "repairing" it before the mock sees it (the mock's
# own validation then finds nothing wrong), as a server that clamps or truncates would.


class RewritingRequest:
    """ASGI wrapper: `rewrite(method, path, query, body) -> (query, body)` before the app."""

    def __init__(self, app, rewrite) -> None:
        self.app = app
        self.state = app.state
        self.rewrite = rewrite

    async def __call__(self, scope, receive, send) -> None:
        from urllib.parse import parse_qsl, urlencode  # here: this section is appended

        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw, more = b"", True
        while more:
            message = await receive()
            raw += message.get("body", b"")
            more = message.get("more_body", False)
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        query = parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)
        query, body = self.rewrite(scope["method"], scope["path"], query, body)
        if isinstance(body, dict):
            raw = json.dumps(body).encode()
        headers = [(k, v) for k, v in scope["headers"] if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(raw)).encode()))
        scope = {**scope, "headers": headers, "query_string": urlencode(query).encode()}
        replayed = False

        async def replay():
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": raw, "more_body": False}

        await self.app(scope, replay, send)


def _cut(body, field: str) -> bool:
    """Cut `body[field]` to 255 characters once trimmed; whether it was longer."""
    value = body.get(field) if isinstance(body, dict) else None
    if not isinstance(value, str) or len(value.strip()) <= 255:
        return False
    body[field] = value.strip()[:255]
    return True


def _names_package(method: str, path: str) -> bool:
    """A create or an update of a package: the requests that take a name and notes."""
    return (method == "POST" and path == "/api/v1/packages") or (
        method == "PUT" and _is_package(path)
    )


def _truncating(app, field: str):
    def rewrite(method, path, query, body):
        if _names_package(method, path):
            _cut(body, field)
        return query, body

    return RewritingRequest(app, rewrite)


def name_truncated(app):
    """A package name longer than 255 characters is cut to 255 and accepted."""
    return _truncating(app, "name")


def notes_truncated(app):
    """Notes longer than 255 characters are cut to 255 and accepted."""
    return _truncating(app, "notes")


def priority_clamped(app):
    """A flow version's priority outside 1..100 is clamped into it and accepted."""

    def rewrite(method, path, query, body):
        priority = body.get("priority") if isinstance(body, dict) else None
        if method == "POST" and "/flow-versions/" in path and isinstance(priority, int):
            body["priority"] = min(max(body["priority"], 1), 100)
        return query, body

    return RewritingRequest(app, rewrite)


def _query_rewriting(app, field: str, repair: Callable[[int], int]):
    def rewrite(method, path, query, body):
        repaired = []
        for key, value in query:
            if key == field and value.strip().lstrip("+-").isdigit():
                value = str(repair(int(value)))
            repaired.append((key, value))
        return repaired, body

    return RewritingRequest(app, rewrite)


def page_zero_as_first(app):
    """`page` below 1 is read as page 1 instead of refused."""
    return _query_rewriting(app, "page", lambda page: max(page, 1))


def per_page_clamped(app):
    """`per_page` above 100 is clamped to 100 (differs from api-notes' decision, not a fact)."""
    return _query_rewriting(app, "per_page", lambda per_page: min(per_page, 100))


def long_name_stored_despite_422(app):
    """A name over 255 characters answers 422, yet is stored cut to 255 (create and update)."""
    refused: list[bool] = []

    def cut(method, path, query, body):
        if _names_package(method, path):
            refused.append(_cut(body, "name"))
        return query, body

    def answer(method, path, status, body):
        if _names_package(method, path) and refused and refused.pop():
            message = "The name field must not be greater than 255 characters."
            return 422, {"message": message, "errors": {"name": [message]}}
        return status, body

    return Rewriting(RewritingRequest(app, cut), answer)


def untrimmed_length_refused(app):
    """A name of 255 characters plus surrounding spaces is refused: counted before trimming."""

    def rewrite(method, path, query, body):
        name = body.get("name") if isinstance(body, dict) else None
        if _names_package(method, path) and isinstance(name, str) and len(name) > 255:
            body["name"] = name.strip().ljust(len(name), "x")
        return query, body

    return RewritingRequest(app, rewrite)


def notes_column_too_short(app):
    """Notes are cut to 250 characters (a column too narrow): valid notes are not kept."""

    def rewrite(method, path, query, body):
        notes = body.get("notes") if isinstance(body, dict) else None
        if _names_package(method, path) and isinstance(notes, str):
            body["notes"] = notes.strip()[:250]
        return query, body

    return RewritingRequest(app, rewrite)


def name_length_in_bytes(app):
    """A name's length is counted in UTF-8 bytes: 255 characters with an é in them are refused."""

    def rewrite(method, path, query, body):
        name = body.get("name") if isinstance(body, dict) else None
        too_long = isinstance(name, str) and len(name.strip().encode()) > 255
        if _names_package(method, path) and too_long:
            body["name"] = name.strip().ljust(256, "x")
        return query, body

    return RewritingRequest(app, rewrite)


# -- inconsistent answers --------------------------------------------------------------------
# Schema-valid answers that contradict themselves, the request, the contract's fixed forms or an
# earlier answer: each is caught by one check of `contract/checks.py`.


class RewritingHeaders:
    """ASGI wrapper: `rewrite(method, path, status, headers) -> headers` on every answer."""

    def __init__(self, app, rewrite: Callable[[str, str, int, dict], dict]) -> None:
        self.app = app
        self.state = app.state
        self.rewrite = rewrite

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def edit(message) -> None:
            if message["type"] == "http.response.start":
                headers = {k.decode(): v.decode() for k, v in message.get("headers", [])}
                headers = self.rewrite(scope["method"], scope["path"], message["status"], headers)
                message = {
                    **message,
                    "headers": [(k.encode(), v.encode()) for k, v in headers.items()],
                }
            await send(message)

        await self.app(scope, receive, edit)


def _is_compare(path: str) -> bool:
    return "/compare/" in path


def compare_in_sync_without_environment_version(app):
    """Compare says `in_sync: true` for a flow with no version deployed in the VE."""

    def rewrite(method, path, status, body):
        if _is_compare(path) and status == 200:
            for row in body["data"]:
                if row["environment_version"] is None:
                    row["in_sync"] = True
        return status, body

    return Rewriting(app, rewrite)


def compare_leaves_out_a_flow(app):
    """Compare leaves out the last flow of a package holding two or more."""

    def rewrite(method, path, status, body):
        if _is_compare(path) and status == 200 and len(body["data"]) > 1:
            body["data"].pop()
        return status, body

    return Rewriting(app, rewrite)


def _lists(path: str) -> bool:
    return path in ("/api/v1/packages", "/api/v1/flow-version-deployments/packages")


def _edit_links(body: dict, edit: Callable[[str], str]) -> None:
    for name, url in body["links"].items():
        body["links"][name] = url and edit(url)
    for entry in body["meta"]["links"]:
        entry["url"] = entry["url"] and edit(entry["url"])


def links_lose_the_query(app):
    """Page links keep only `page`: a client following them loses its filter and per_page."""

    def drop(url: str) -> str:
        base, _, query = url.partition("?")
        return base + "?" + "&".join(p for p in query.split("&") if p.startswith("page="))

    def rewrite(method, path, status, body):
        if _lists(path) and status == 200:
            _edit_links(body, drop)
        return status, body

    return Rewriting(app, rewrite)


def meta_to_one_too_many(app):
    """`meta.to` counts one row more than the page holds."""

    def rewrite(method, path, status, body):
        if _lists(path) and status == 200 and body["meta"]["to"] is not None:
            body["meta"]["to"] += 1
        return status, body

    return Rewriting(app, rewrite)


def _every_object(value):
    if isinstance(value, dict):
        yield value
        for item in value.values():
            yield from _every_object(item)
    elif isinstance(value, list):
        for item in value:
            yield from _every_object(item)


def timestamps_without_microseconds(app):
    """Timestamps come as `2026-11-28T06:57:00Z`: valid date-times, not Laravel's form."""

    def rewrite(method, path, status, body):
        for record in _every_object(body):
            for key, value in record.items():
                if key.endswith("_at") and isinstance(value, str):
                    record[key] = value.split(".")[0] + "Z"
        return status, body

    return Rewriting(app, rewrite)


def created_by_id_zero(app):
    """Packages name their creator as user 0, an id Laravel never gives."""

    def rewrite(method, path, status, body):
        for record in _every_object(body.get("data")):
            if "created_by_id" in record:
                record["created_by_id"] = 0
        return status, body

    return Rewriting(app, rewrite)


def add_answers_without_the_version(app):
    """Adding a flow version answers the package as it was before the version was added."""

    def rewrite(method, path, status, body):
        if method == "POST" and "/flow-versions/" in path and status == 200:
            added = int(path.rsplit("/", 1)[1])
            rows = body["data"].get("flow_versions", [])
            body["data"]["flow_versions"] = [r for r in rows if r["id"] != added]
        return status, body

    return Rewriting(app, rewrite)


def pivot_names_another_package(app):
    """Each flow version's pivot names a package other than the one it is in."""

    def rewrite(method, path, status, body):
        for record in _every_object(body.get("data")):
            if isinstance(record.get("pivot"), dict):
                record["pivot"]["package_id"] += 1000
        return status, body

    return Rewriting(app, rewrite)


def location_is_relative(app):
    """`Location` of a created package is a path, not the absolute URL."""

    def rewrite(method, path, status, headers):
        if "location" in headers:
            headers["location"] = "/" + headers["location"].split("/", 3)[3]
        return headers

    return RewritingHeaders(app, rewrite)


def not_found_without_namespace(app):
    """404s name the model without its namespace: `[Package]` for `[App\\Models\\Package]`."""

    def rewrite(method, path, status, body):
        if status == 404 and isinstance(body.get("message"), str):
            body["message"] = body["message"].replace("App\\Models\\", "")
        return status, body

    return Rewriting(app, rewrite)


def unauthenticated_says_unauthorized(app):
    """401s say `Unauthorized.` instead of Laravel's `Unauthenticated.`."""

    def rewrite(method, path, status, body):
        return status, ({"message": "Unauthorized."} if status == 401 else body)

    return Rewriting(app, rewrite)


def validation_message_generic(app):
    """422s say Laravel 5's `The given data was invalid.` instead of the first error."""

    def rewrite(method, path, status, body):
        if status == 422 and "errors" in body:
            body["message"] = "The given data was invalid."
        return status, body

    return Rewriting(app, rewrite)


def query_refusal_reworded(app):
    """spatie's 400s say `Invalid query.` instead of naming what is not allowed."""

    def rewrite(method, path, status, body):
        return status, ({"message": "Invalid query."} if status == 400 else body)

    return Rewriting(app, rewrite)


def method_not_allowed_without_allow(app):
    """405s leave out the `Allow` header."""

    def rewrite(method, path, status, headers):
        return {k: v for k, v in headers.items() if status != 405 or k.lower() != "allow"}

    return RewritingHeaders(app, rewrite)


def json_as_html(app):
    """JSON answers come as `text/html; charset=UTF-8`."""

    def rewrite(method, path, status, headers):
        if headers.get("content-type", "").startswith("application/json"):
            headers["content-type"] = "text/html; charset=UTF-8"
        return headers

    return RewritingHeaders(app, rewrite)


def delete_answers_without_message(app):
    """DELETE answers `{}`: allowed, since the vendor's page marks `message` optional."""

    def rewrite(method, path, status, body):
        return status, ({} if method == "DELETE" and status == 200 else body)

    return Rewriting(app, rewrite)


def get_answers_another_package(app):
    """GET /api/v1/packages/{id} answers with the next id in `data.id`."""

    def rewrite(method, path, status, body):
        if method == "GET" and _is_package(path) and status == 200:
            body["data"]["id"] += 1
        return status, body

    return Rewriting(app, rewrite)


def deploy_names_another_environment(app):
    """A deploy's record names a VE other than the one in the path."""

    def rewrite(method, path, status, body):
        if method == "POST" and "/deploy/" in path and status == 200:
            body["data"]["virtual_environment_id"] += 1
        return status, body

    return Rewriting(app, rewrite)


def next_link_skips_a_page(app):
    """`links.next` and the next entry of `meta.links` lead two pages on."""

    def rewrite(method, path, status, body):
        if _lists(path) and status == 200 and body["links"]["next"]:
            page = body["meta"]["current_page"]
            later = body["links"]["next"].replace(f"page={page + 1}", f"page={page + 2}")
            body["links"]["next"] = body["meta"]["links"][-1]["url"] = later
        return status, body

    return Rewriting(app, rewrite)


def compare_names_another_flow(app):
    """Each compare row's `flow_name` is another flow's name."""

    def rewrite(method, path, status, body):
        if _is_compare(path) and status == 200:
            for row in body["data"]:
                row["flow_name"] = row["flow_name"] + " (old)"
        return status, body

    return Rewriting(app, rewrite)


# -- decisions not followed ----------------------------------------------------------------------
# (also `second_version_of_flow_accepted` and `removal_allowed_after_deploy` above)


def default_priority_thirty(app):
    """A flow version added without a priority gets 30, not the 50 api-notes decides."""

    def make(original):
        def add_version(package_key, version_key, priority):
            return original(package_key, version_key, 30 if priority is None else priority)

        return add_version

    return _patch(app, "add_version", make)


def empty_deploy_accepted(app):
    """Deploying a package with no flow versions answers 200 with a made-up record, not 422."""

    def rewrite(method, path, status, body):
        if (
            method == "POST"
            and "/deploy/" in path
            and status == 422
            and "package" in body.get("errors", {})
        ):
            parts = path.strip("/").split("/")
            stamp = "2026-12-05T09:00:00.000000Z"
            record = {
                "id": 999,
                "package_id": int(parts[3]),
                "virtual_environment_id": int(parts[5]),
            }
            record |= {"user_id": 1, "notes": None, "created_at": stamp, "updated_at": stamp}
            return 200, {"data": record}
        return status, body

    return Rewriting(app, rewrite)


def absent_version_removal_answers_200(app):
    """Removing a flow version the package does not hold answers 200, not 404."""

    def rewrite(method, path, status, body):
        if method == "DELETE" and "/flow-versions/" in path and status == 404:
            return 200, {"message": "Flow version removed from package successfully."}
        return status, body

    return Rewriting(app, rewrite)


def unknown_filter_ignored(app):
    """Unknown filters are silently ignored (spatie's `disable_invalid_filter_query_exception`)."""

    def rewrite(method, path, query, body):
        kept = [(k, v) for k, v in query if not k.startswith("filter[") or k == "filter[name]"]
        return kept, body

    return RewritingRequest(app, rewrite)


def removal_after_deploy_409(app):
    """Removing a flow version from a deployed package is refused with 409, not 422."""

    def rewrite(method, path, status, body):
        if method == "DELETE" and "/flow-versions/" in path and status == 422:
            return 409, {"message": body.get("message", "")}
        return status, body

    return Rewriting(app, rewrite)
