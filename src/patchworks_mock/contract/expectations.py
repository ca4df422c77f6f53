"""What the property and stateful tests expect of an answer, and how a broken expectation shows.

`expect`, `expect_status` and `data` raise a `Violation` that carries the request that showed
it, so that the report can print a curl command the user runs as is (with the key in
`$PATCHWORKS_API_KEY`, never the key itself).
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterable
from typing import Any

import httpx

from patchworks_mock.cli_common import TARGET_KEY_VARIABLE
from patchworks_mock.contract.transport import AFTER_FAILURES


def curl(request: httpx.Request, api_key: str = "") -> str:
    """A curl command that repeats `request`; the suite's own key becomes `$PATCHWORKS_API_KEY`."""
    return curl_of(
        request.method, str(request.url), request.headers.items(), request.content, api_key
    )


MAX_CURL_BODY = 4096  # bytes of a request body a curl shows


def curl_of(
    method: str,
    url: str,
    headers: Iterable[tuple[str, str]],
    body: bytes,
    api_key: str = "",
) -> str:
    """A curl command that sends this request, with the suite's key as `$PATCHWORKS_API_KEY`."""
    parts = ["curl", "-X", method]
    for name, value in headers:
        if name.lower() not in ("authorization", "content-type", "accept"):
            continue
        if name.lower() == "authorization" and api_key and value == api_key:
            parts += ["-H", f'"Authorization: ${TARGET_KEY_VARIABLE}"']
        else:
            parts += ["-H", shlex.quote(f"{name}: {value}")]
    if len(body) > MAX_CURL_BODY:  # a report or log line holds a few KiB of it, not megabytes
        cut = body[:MAX_CURL_BODY].decode("utf-8", "ignore")
        parts += ["-d", shlex.quote(f"{cut}… (the first {MAX_CURL_BODY} of {len(body)} bytes)")]
    elif body:
        parts += ["-d", shlex.quote(body.decode("utf-8", "replace"))]
    parts.append(shlex.quote(url))
    return " ".join(parts)


MAX_SHOWN_BODY = 400  # characters of an answer's body a report shows


def answer_text(status: int, body: str) -> str:
    """`HTTP 404 {"message": ...}`, the body shortened to `MAX_SHOWN_BODY` characters."""
    if len(body) > MAX_SHOWN_BODY:
        body = body[:MAX_SHOWN_BODY] + "…"
    return f"HTTP {status} {body}".strip()


def describe(response: httpx.Response) -> str:
    """An httpx answer as `answer_text` shows it (its JSON written compactly)."""
    try:
        body = json.dumps(response.json(), ensure_ascii=False)
    except ValueError:
        body = response.text
    return answer_text(response.status_code, body)


class Violation(AssertionError):
    """The target broke a rule: what the rule is, what was expected, what came back."""

    def __init__(
        self, message: str, response: httpx.Response | None = None, expected: str = ""
    ) -> None:
        super().__init__(message)
        self.message = message
        self.response = response
        self.expected = expected

    def actual(self) -> str:
        return describe(self.response) if self.response is not None else ""

    def curl(self, api_key: str) -> str:
        return curl(self.response.request, api_key) if self.response is not None else ""


class Assumption(Violation):
    """The target differs from a decision api-notes records, not from a fact: reported apart
    from the failures, and it does not fail the run."""


class Assumptions:
    """Differences from api-notes' decisions met during a test: kept, not raised, so that the
    test goes on and its rules that are facts still judge the server."""

    def __init__(self) -> None:
        self.found: dict[str, Assumption] = {}  # by message: a test meets each once or often

    def expect(
        self, condition: bool, why: str, response: httpx.Response, expected: str = ""
    ) -> bool:
        """Keep an `Assumption` about `response` unless `condition` holds; returns `condition`."""
        if not condition:
            self.found.setdefault(why, Assumption(why, response, expected=expected))
        return condition

    def take(self) -> list[Assumption]:
        """What was kept since the last call, in the order met."""
        found, self.found = list(self.found.values()), {}
        return found


def done_before_retry(response: httpx.Response) -> bool:
    """A DELETE answered 404 on a retry after a 5xx or a timeout: the first attempt most likely
    deleted it (a gateway answers 502/504 after the backend committed), so it is gone."""
    return (
        response.request.method == "DELETE"
        and response.status_code == 404
        and bool(response.extensions.get(AFTER_FAILURES))
    )


def expect_status(response: httpx.Response, status: int, why: str) -> None:
    """Raise a `Violation` unless `response` has `status` (a DELETE's 200 may be a 404 that
    `done_before_retry` explains)."""
    if response.status_code == status or (status == 200 and done_before_retry(response)):
        return
    raise Violation(why, response, expected=f"HTTP {status}")


def expect(condition: bool, why: str, response: httpx.Response, expected: str = "") -> None:
    """Raise a `Violation` about `response` unless `condition` holds."""
    if not condition:
        raise Violation(why, response, expected=expected)


def data(response: httpx.Response) -> Any:
    """`data` of a JSON answer, or a `Violation` saying the body is not what the contract says."""
    try:
        return response.json()["data"]
    except (ValueError, KeyError, TypeError):
        raise Violation(
            "the answer has no JSON `data`", response, expected='{"data": ...}'
        ) from None
