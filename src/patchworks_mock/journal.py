"""The request journal: what clients sent and what they got, for tests to assert on.

WireMock-style verification: `GET /__mock__/requests` lists the recorded requests (newest
last), `DELETE /__mock__/requests` forgets them. Credentials are never recorded, the journal
keeps only the newest `size` entries, and bodies are cut at `BODY_LIMIT` bytes.
"""

from __future__ import annotations

import fnmatch
import json
from collections import deque
from datetime import UTC, datetime
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from patchworks_mock import mock

DEFAULT_SIZE = 1000
BODY_LIMIT = 64 * 1024
SECRET_HEADERS = {"authorization", "cookie", "proxy-authorization"}
ADMIN_PREFIX = "/__mock__/"


class RequestJournal:
    def __init__(self, size: int = DEFAULT_SIZE) -> None:
        self.entries: deque[dict] = deque(maxlen=size)

    def record(self, entry: dict) -> None:
        self.entries.append(entry)

    def clear(self) -> None:
        self.entries.clear()

    def find(self, method: str | None = None, path: str | None = None) -> list[dict]:
        """Entries by method (any case) and path (exact, or a glob with `*`), oldest first."""
        return [
            entry
            for entry in self.entries
            if (method is None or entry["method"] == method.upper())
            and (path is None or fnmatch.fnmatchcase(entry["path"], path))
        ]


def _body(raw: bytes) -> object:
    if not raw:
        return None
    text = raw[:BODY_LIMIT].decode("utf-8", errors="replace")
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return text


class Record:
    """ASGI middleware: journal every API request (not the admin ones) once it is answered."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(ADMIN_PREFIX):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        status = 0
        body_read = False

        async def receive_and_keep() -> Message:
            nonlocal size, body_read
            message = await receive()
            if message["type"] != "http.request":
                body_read = True
            else:
                body_read = not message.get("more_body", False)
                if size < BODY_LIMIT:
                    chunks.append(message.get("body", b""))
                    size += len(chunks[-1])
            return message

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        started = datetime.now(UTC)
        try:
            await self.app(scope, receive_and_keep, send_and_note)
        finally:
            while not body_read and size < BODY_LIMIT:  # refused before reading: read it now
                await receive_and_keep()
            headers = {
                name.decode("latin-1"): value.decode("latin-1")
                for name, value in scope["headers"]
                if name.decode("latin-1").lower() not in SECRET_HEADERS
            }
            mock.of(scope).journal.record(
                {
                    "method": scope["method"],
                    "path": scope["path"],
                    "query": dict(parse_qsl(scope["query_string"].decode("latin-1"))),
                    "headers": headers,
                    "body": _body(b"".join(chunks)),
                    "status": status,
                    "time": started.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                }
            )
