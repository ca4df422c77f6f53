"""One request and its answer, as the checks see it, whoever sent it.

The checks in `checks.py` judge an `Exchange`, never a client's objects, so that they run the
same on the suite's own httpx calls, on Schemathesis's calls and (later) on live traffic seen
by a proxy.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import httpx

from patchworks_mock.contract.api import OPERATIONS

NOT_JSON = object()  # what `Exchange.json` is for a body that is not JSON


def _template_matches(template: str, path: str) -> dict[str, str] | None:
    wanted, parts = template.strip("/").split("/"), path.strip("/").split("/")
    if len(wanted) != len(parts):
        return None
    params = {}
    for want, part in zip(wanted, parts, strict=True):
        if want.startswith("{"):
            params[want[1:-1]] = unquote(part)
        elif want != part:
            return None
    return params


OTHER_METHODS = "(other methods)"


def api_path(path: str, base_path: str) -> str:
    """`path` within the API: without the target's own prefix (`--url http://host/prefix`)."""
    if base_path and path.startswith(base_path + "/"):
        return path[len(base_path) :]
    return path


def route_of(method: str, path: str) -> tuple[str, dict[str, str]] | None:
    """(`METHOD /path/{template}`, path parameters) of the operation `method path` names."""
    for _, template_method, template in OPERATIONS:
        params = _template_matches(template, path)
        if params is not None and method == template_method:
            return f"{method} {template}", params
    return None


def operation_of(method: str, path: str) -> str:
    """The operation's label; `(other methods)` for a method a path of the contract does not
    take (one line in the report for all of them; the curl names the path); `METHOD /path`
    for a path the contract does not name."""
    route = route_of(method, path)
    if route:
        return route[0]
    if any(_template_matches(template, path) is not None for _, _, template in OPERATIONS):
        return OTHER_METHODS
    return f"{method} {path}"


@dataclass(frozen=True)
class Exchange:
    """A request (method, absolute URL with its raw query, headers, body) and its answer."""

    method: str
    url: str
    request_headers: dict[str, str]  # names in lower case
    request_body: bytes
    status: int
    headers: dict[str, str]  # names in lower case; repeated headers joined with ", "
    body: bytes
    base_path: str = ""  # the target's own path prefix (`--url http://host/prefix`)

    @cached_property
    def path(self) -> str:
        """The URL's path within the API: without the target's prefix."""
        return api_path(urlsplit(self.url).path, self.base_path)

    @cached_property
    def query(self) -> list[tuple[str, str]]:
        """The query's pairs, decoded, in order, blank values kept."""
        return parse_qsl(urlsplit(self.url).query, keep_blank_values=True)

    @cached_property
    def json(self) -> Any:
        """The answer's JSON, or `NOT_JSON`."""
        return parse_json(self.body)

    @cached_property
    def request_json(self) -> Any:
        """The request body's JSON, or `NOT_JSON`."""
        return parse_json(self.request_body)

    @cached_property
    def route(self) -> tuple[str, dict[str, str]] | None:
        """(`METHOD /path/{template}`, path parameters) of the operation the URL names."""
        return route_of(self.method, self.path)

    @cached_property
    def operation(self) -> str:
        """The operation's label (`operation_of`)."""
        return self.route[0] if self.route else operation_of(self.method, self.path)

    @property
    def params(self) -> dict[str, str]:
        return self.route[1] if self.route else {}


def parse_json(body: bytes) -> Any:
    """A body's JSON, or `NOT_JSON` (empty, not JSON, or nested deeper than Python recurses)."""
    if not body:
        return NOT_JSON
    try:
        return json.loads(body)
    except (ValueError, RecursionError):  # RecursionError: nested deeper than Python recurses
        return NOT_JSON


def from_httpx(response: httpx.Response, base_path: str = "") -> Exchange:
    """The exchange of an httpx response whose body has been read."""
    request = response.request
    return Exchange(
        method=request.method.upper(),
        url=str(request.url),
        request_headers={k.lower(): v for k, v in request.headers.items()},
        request_body=request.content,
        status=response.status_code,
        headers=joined_headers(response.headers.multi_items()),
        body=response.content,
        base_path=base_path,
    )


def from_schemathesis(response: Any, base_path: str = "") -> Exchange:
    """The exchange of a `schemathesis.Response` (its `request` is what was actually sent)."""
    request = response.request
    body = request.body or b""
    return Exchange(
        method=str(request.method).upper(),
        url=str(request.url),
        request_headers={str(k).lower(): str(v) for k, v in request.headers.items()},
        request_body=body.encode() if isinstance(body, str) else bytes(body),
        status=response.status_code,
        headers=joined_headers(
            (name, value) for name, values in response.headers.items() for value in values
        ),
        body=response.content or b"",
        base_path=base_path,
    )


def joined_headers(items: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Headers as the checks read them: names in lower case, repeated ones joined by ", "."""
    headers: dict[str, str] = {}
    for name, value in items:
        key = name.lower()
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    return headers
