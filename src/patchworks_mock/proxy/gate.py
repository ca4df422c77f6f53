"""Whether a client's request is one the contract allows, judged by the mock's own checks.

The gate is the mock's app without its state (`app.create_request_gate`): the size limits,
routing, a credential, the parameters and the body are checked exactly as `serve` checks
them, and a request that passes reaches `_passed`, which only notes it. A request that does
not pass gets the mock's answer (400, 401, 413, 414, 415, 422, 431, in Laravel's shape): the
proxy reports it, and with `--errors` sends it to the client instead of the upstream's. A path
or method the contract does not name (the mock's 404 or 405) is outside the contract: the
proxy forwards it and judges nothing of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.types import Message, Receive, Scope, Send

from patchworks_mock import connexion_internals, validation
from patchworks_mock.app import create_request_gate
from patchworks_mock.contract.boundaries import DECISIONS
from patchworks_mock.contract.exchange import Exchange, parse_json
from patchworks_mock.contract.expectations import answer_text
from patchworks_mock.contract.reading import Finding
from patchworks_mock.errors import ApiError
from patchworks_mock.instance import Limits
from patchworks_mock.responses import encode

_PASSED = "patchworks_mock.gate_passed"  # a list the gate's inner app appends to
REFUSED = frozenset({400, 401, 413, 414, 415, 422, 431})  # a request the contract refuses
DECIDED_FIELDS = frozenset(field for field, _ in DECISIONS)


@dataclass(frozen=True)
class Refusal:
    """The mock's answer to a request the contract refuses."""

    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes

    @property
    def message(self) -> str:
        body = parse_json(self.body)
        message = body.get("message") if isinstance(body, dict) else None
        return message if isinstance(message, str) else self.body.decode("utf-8", "replace")

    @property
    def on_decisions_only(self) -> bool:
        """Whether only limits api-notes decided (not documented facts) refused it."""
        body = parse_json(self.body)
        errors = body.get("errors") if isinstance(body, dict) else None
        return self.status == 422 and isinstance(errors, dict) and set(errors) <= DECIDED_FIELDS


@dataclass(frozen=True)
class Verdict:
    """The gate's word on one request: it conforms, is refused, or is outside the contract."""

    refusal: Refusal | None = None
    outside: bool = False

    @property
    def conforms(self) -> bool:
        return self.refusal is None and not self.outside


def refusal_of(error: ApiError) -> Refusal:
    """The answer of an `ApiError` the proxy raises itself (a body past the limit)."""
    body = encode(error.body())
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    headers += [
        (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in error.headers.items()
    ]
    return Refusal(error.status, headers, body)


async def _passed(scope: Scope, receive: Receive, send: Send) -> None:
    """The gate's inner app: a request that got here passed every check before it."""
    if connexion_internals.was_checked(scope):
        if connexion_internals.current_operation().has_body:
            validation.body_of(scope)  # a body no validator read is refused (415)
        scope[_PASSED].append(True)
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body", "body": b""})


class RequestGate:
    """The mock's checks of a request, run on a copy of the request the proxy received."""

    def __init__(self, limits: Limits) -> None:
        self.app = create_request_gate(_passed, limits)

    async def judge(self, scope: Scope, body: bytes) -> Verdict:
        """The verdict on a request (its ASGI `scope` and its whole body)."""
        passed: list[bool] = []
        copy = {**scope, "extensions": dict(scope.get("extensions") or {}), _PASSED: passed}
        answer: dict[str, Any] = {}
        chunks: list[bytes] = []
        sent = False

        async def receive() -> Message:
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: Message) -> None:
            if message["type"] == "http.response.start":
                answer.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(copy, receive, send)
        status = answer.get("status", 500)
        if passed:
            return Verdict()
        if status in REFUSED:
            return Verdict(Refusal(status, list(answer.get("headers", [])), b"".join(chunks)))
        return Verdict(outside=True)  # 404 or 405: a route or method the contract does not name


def request_findings(verdict: Verdict, exchange: Exchange) -> list[Finding]:
    """What the exchange broke because of its request: the request itself, and the server's
    acceptance of it when the contract refuses it."""
    refusal = verdict.refusal
    if refusal is None:
        return []
    mock_answer = answer_text(refusal.status, refusal.body.decode("utf-8", "replace"))
    found = [
        Finding(
            "request_conforms",
            f"the client sent a request the contract refuses: {refusal.message}",
            f"a request the contract allows; this one is answered {mock_answer}",
            assumption=refusal.on_decisions_only,
        )
    ]
    if 200 <= exchange.status < 300:
        found.append(
            Finding(
                "refuses_what_the_contract_refuses",
                f"the server accepted (HTTP {exchange.status}) a request the contract refuses "
                f"with {refusal.status}: {refusal.message}",
                mock_answer,
                assumption=refusal.on_decisions_only,
            )
        )
    return found
