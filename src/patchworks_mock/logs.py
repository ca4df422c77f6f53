"""`serve`'s log lines: all on stderr (stdout stays for data), as text or as JSON lines.

Three kinds of line, each from its own logger:
- the banner (`patchworks_mock.banner`): where the mock serves and how to call it, then that it
  stopped; always written, whatever the log level;
- one line per request (`patchworks_mock.requests`, at "info"), written by `RequestLines`, the
  outermost layer of the served app, so that requests refused by the size limits, the sandbox
  limit or CORS are logged too;
- uvicorn's own (`uvicorn.*`: start, stop, warnings) and the mock's errors (`patchworks_mock`).

Text keeps the look uvicorn gives (`INFO:     127.0.0.1:5000 - "GET /api/v1/packages
HTTP/1.1" 200 OK`) and the banner as plain lines. JSON is one object per line: `time` (ISO 8601,
UTC, milliseconds), `level`, and `message`; for a request instead `method`, `path`, `query`,
`status`, `ms`, `key` and `sandbox`. A credential is never written: `key` is `credential_hash`
of the `Authorization` header, `sandbox` the same hash of the API key or token whose sandbox
served the request (with `--isolate-keys`; for an API key it equals `key`), else null.
"""

from __future__ import annotations

import hashlib
import http
import json
import logging
import sys
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from patchworks_mock import credentials

FORMATS = ("text", "json")
BANNER = logging.getLogger("patchworks_mock.banner")
REQUESTS = logging.getLogger("patchworks_mock.requests")
_NOTE = "patchworks_mock.log_note"
_PHRASES = {status.value: status.phrase for status in http.HTTPStatus}


def credential_hash(credential: str) -> str:
    """A short name for a credential that tells requests apart without revealing it: the
    first 8 hex digits of its SHA-256, the same in every run."""
    return hashlib.sha256(credential.encode("latin-1", "replace")).hexdigest()[:8]


class RequestNote:
    """What the layers inside learn about a request for its log line: the credential whose
    sandbox served it (`middleware.ChooseSandbox` notes it)."""

    __slots__ = ("sandbox",)

    def __init__(self) -> None:
        self.sandbox: str | None = None


def note_of(scope: Scope) -> RequestNote | None:
    """The request's note, when its line is logged (under `RequestLines`)."""
    note = scope.get(_NOTE)
    return note if isinstance(note, RequestNote) else None


class RequestLines:
    """Log one line per HTTP request once the app has answered it: `REQUESTS` at "info"."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        note = scope[_NOTE] = RequestNote()
        status = 500  # what uvicorn answers for an app that sends no answer

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            _log_request(scope, status, (time.perf_counter() - started) * 1000, note)


def _log_request(scope: Scope, status: int, ms: float, note: RequestNote) -> None:
    client = scope.get("client")
    query = scope["query_string"].decode("latin-1")
    REQUESTS.info(
        '%s - "%s %s HTTP/%s" %d %s',
        f"{client[0]}:{client[1]}" if client else "-",
        scope["method"],
        f"{scope['path']}?{query}" if query else scope["path"],
        scope.get("http_version", "1.1"),
        status,
        _PHRASES.get(status, ""),
        extra={"request": (scope, status, ms, note.sandbox)},
    )


def _request_fields(record: logging.LogRecord) -> dict[str, Any] | None:
    """A request line's fields in JSON; its credential hashed only here, when it is written.
    A line that brings its own (`extra={"fields": {...}}`, the proxy's) has those."""
    fields = getattr(record, "fields", None)
    if isinstance(fields, dict):
        return fields
    request = getattr(record, "request", None)
    if request is None:
        return None
    scope, status, ms, sandbox = request
    header = credentials.authorization(scope)
    return {
        "method": scope["method"],
        "path": scope["path"],
        "query": scope["query_string"].decode("latin-1") or None,
        "status": status,
        "ms": round(ms, 3),
        "key": None if header is None else credential_hash(header),
        "sandbox": None if sandbox is None else credential_hash(sandbox),
    }


class JsonLines(logging.Formatter):
    """A record as one JSON object on one line."""

    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        line: dict[str, Any] = {
            "time": f"{stamp}.{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
        }
        fields = _request_fields(record)
        if fields is None:
            line["message"] = record.getMessage()
        else:
            line.update(fields)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def configure(log_format: str, level: str) -> None:
    """Send the banner, the request lines, uvicorn's and the mock's lines to stderr in
    `log_format` ("text" or "json"); everything but the banner from `level` up. Pass uvicorn
    `log_config=None` so that it keeps this."""
    from uvicorn.logging import DefaultFormatter  # uvicorn's look: `INFO:     ...`

    colours = sys.stderr.isatty()
    if log_format == "json":
        lines: logging.Formatter = JsonLines()
        plain: logging.Formatter = lines
    else:
        lines = DefaultFormatter("%(levelprefix)s %(message)s", use_colors=colours)
        plain = logging.Formatter("%(message)s")
    for name, formatter, threshold in (
        ("uvicorn", lines, level.upper()),
        ("patchworks_mock", lines, level.upper()),
        (BANNER.name, plain, "INFO"),
    ):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(formatter)
        logger = logging.getLogger(name)
        logger.handlers = [handler]
        logger.setLevel(threshold)
        logger.propagate = False
