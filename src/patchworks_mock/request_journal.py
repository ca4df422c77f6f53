"""The request journal: what clients sent and what they got, for tests to assert on.

WireMock-style verification: `GET /__mock__/requests` lists the recorded requests (newest
last), `DELETE /__mock__/requests` forgets them. Credentials are never recorded, bodies are cut
at `BODY_LIMIT` bytes, and the journal keeps only the newest entries that fit in both `size`
entries and `max_bytes` bytes (each entry's body, headers, method, path and query).
"""

from __future__ import annotations

import fnmatch
import json
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from patchworks_mock import laravel

DEFAULT_SIZE = 1000
DEFAULT_BYTES = 4 * 1024 * 1024
BODY_LIMIT = 64 * 1024
SECRET_HEADERS = {b"authorization", b"cookie", b"proxy-authorization"}  # ASGI: lower case


@dataclass(frozen=True, slots=True)
class Recorded:
    """One request as it came in, kept raw: it is turned into JSON only when someone asks."""

    method: str
    path: str
    query_string: bytes
    headers: list[tuple[bytes, bytes]]  # without credentials
    body: bytes
    status: int
    time: float  # seconds since the epoch

    @property
    def cost(self) -> int:
        """The bytes this entry holds: what counts towards the journal's `max_bytes`."""
        headers = sum(len(name) + len(value) for name, value in self.headers)
        return len(self.method) + len(self.path) + len(self.query_string) + headers + len(self.body)

    def as_json(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "path": self.path,
            "query": dict(parse_qsl(self.query_string.decode("latin-1"))),
            "headers": {
                name.decode("latin-1"): value.decode("latin-1") for name, value in self.headers
            },
            "body": _body(self.body),
            "status": self.status,
            "time": laravel.timestamp(datetime.fromtimestamp(self.time, UTC)),
        }


class RequestJournal:
    """The newest requests that fit in `size` entries and `max_bytes` bytes, oldest first."""

    def __init__(self, size: int = DEFAULT_SIZE, max_bytes: int = DEFAULT_BYTES) -> None:
        self.size = size
        self.max_bytes = max_bytes
        self.entries: deque[Recorded] = deque()
        self.bytes = 0  # the sum of the entries' `cost`

    def record(self, entry: Recorded) -> None:
        """Keep `entry`, forgetting the oldest ones past either limit (an entry bigger than
        `max_bytes` on its own is not kept)."""
        self.entries.append(entry)
        self.bytes += entry.cost
        while self.entries and (len(self.entries) > self.size or self.bytes > self.max_bytes):
            self.bytes -= self.entries.popleft().cost

    def clear(self) -> None:
        self.entries.clear()
        self.bytes = 0

    def find(self, method: str | None = None, path: str | None = None) -> list[dict[str, Any]]:
        """Entries by method (any case) and path (exact, or a glob with `*`), oldest first."""
        return [
            entry.as_json()
            for entry in self.entries
            if (method is None or entry.method == method.upper())
            and (path is None or fnmatch.fnmatchcase(entry.path, path))
        ]


def _body(raw: bytes) -> object:
    if not raw:
        return None
    text = raw.decode("utf-8", errors="replace")
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return text
