"""One request and its answer, as the checks see it, whoever sent it.

The checks in `checks.py` judge an `Exchange`, never a client's objects, so that they run the
same on the suite's own httpx calls, on Schemathesis's calls and (later) on live traffic seen
by a proxy.
"""

from __future__ import annotations

import json
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

    @cached_property
    def path(self) -> str:
        return urlsplit(self.url).path

    @cached_property
    def query(self) -> list[tuple[str, str]]:
        """The query's pairs, decoded, in order, blank values kept."""
        return parse_qsl(urlsplit(self.url).query, keep_blank_values=True)

    @cached_property
    def json(self) -> Any:
        """The answer's JSON, or `NOT_JSON`."""
        return _parse(self.body)

    @cached_property
    def request_json(self) -> Any:
        """The request body's JSON, or `NOT_JSON`."""
        return _parse(self.request_body)

    @cached_property
    def route(self) -> tuple[str, dict[str, str]] | None:
        """(`METHOD /path/{template}`, path parameters) of the operation the URL names."""
        for _, method, template in OPERATIONS:
            params = _template_matches(template, self.path)
            if params is not None and method == self.method:
                return f"{method} {template}", params
        return None

    @property
    def operation(self) -> str:
        """The operation's label; `(other methods)` for a method a path of the contract does
        not take (one line in the report for all of them; the curl names the path); `METHOD
        /path` for a path the contract does not name."""
        if self.route:
            return self.route[0]
        for _, _, template in OPERATIONS:
            if _template_matches(template, self.path) is not None:
                return OTHER_METHODS
        return f"{self.method} {self.path}"

    @property
    def params(self) -> dict[str, str]:
        return self.route[1] if self.route else {}


def _parse(body: bytes) -> Any:
    if not body:
        return NOT_JSON
    try:
        return json.loads(body)
    except ValueError:
        return NOT_JSON


def from_httpx(response: httpx.Response) -> Exchange:
    """The exchange of an httpx response whose body has been read."""
    request = response.request
    return Exchange(
        method=request.method.upper(),
        url=str(request.url),
        request_headers={k.lower(): v for k, v in request.headers.items()},
        request_body=request.content,
        status=response.status_code,
        headers=_joined(response.headers.multi_items()),
        body=response.content,
    )


def from_schemathesis(response: Any) -> Exchange:
    """The exchange of a `schemathesis.Response` (its `request` is what was actually sent)."""
    request = response.request
    body = request.body or b""
    return Exchange(
        method=str(request.method).upper(),
        url=str(request.url),
        request_headers={str(k).lower(): str(v) for k, v in request.headers.items()},
        request_body=body.encode() if isinstance(body, str) else bytes(body),
        status=response.status_code,
        headers=_joined(
            (name, value) for name, values in response.headers.items() for value in values
        ),
        body=response.content or b"",
    )


def _joined(items: Any) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name, value in items:
        key = name.lower()
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    return headers
