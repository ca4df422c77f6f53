"""`proxy --record PATH.har`: the exchanges the proxy saw, as an HTTP Archive (HAR 1.2).

A recording is made to be shared (attached to a bug report, opened in a browser's network
panel), so credentials never reach it: headers, query parameters and JSON or form fields that
carry keys, tokens or passwords are replaced by `REDACTED` before an entry is kept. It is also
bounded: each body is cut at `max_body_bytes`, and entries past `max_bytes` are counted, not
kept, so that neither the file nor the proxy's memory grows with a long session.
"""

from __future__ import annotations

import base64
import json
import os
import tempfile
from datetime import UTC, datetime
from http import HTTPStatus
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from patchworks_mock.contract.exchange import Exchange
from patchworks_mock.proxy.secrets import (
    REDACTED,
    redacted_body,
    redacted_url,
    secret_header,
)

# A page of the API with every include is some hundreds of KiB: a body cut at 1 MiB is kept
# whole in ordinary use, while a download cannot crowd out the rest of the session.
DEFAULT_MAX_BODY_BYTES = 1024 * 1024
# Enough for thousands of ordinary exchanges, and still a file that a browser's network panel
# or a HAR viewer opens, and that `write` rewrites whole in well under a second.
DEFAULT_MAX_BYTES = 32 * 1024 * 1024

HTTP_VERSION = "HTTP/1.1"  # what the proxy speaks; `Exchange` does not carry a version
_ENTRY_SEPARATOR = ",\n"  # one entry a line: a file that diffs and greps well


class HarRecorder:
    """The HAR file of one proxy session: entries are kept redacted and serialized, so that
    `write` only joins them and the memory held is what the file will hold."""

    def __init__(
        self,
        path: str | Path,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        creator_version: str = "",
    ) -> None:
        self.path = Path(path)
        self.max_bytes = max_bytes
        self.max_body_bytes = max_body_bytes
        self.creator = {"name": "patchworks-mock", "version": creator_version or _installed()}
        self._entries: list[str] = []  # each entry's JSON (ASCII: its length is its bytes)
        self._bytes = 0  # the kept entries' bytes, with their separators
        self._left_out = 0

    @property
    def left_out(self) -> int:
        """The entries not kept because the file reached `max_bytes`."""
        return self._left_out

    def add(
        self,
        exchange: Exchange,
        *,
        started: float,
        elapsed_ms: float,
        wait_ms: float | None = None,
        comment: str = "",
    ) -> None:
        """Keep one exchange as a HAR entry (redacted); past max_bytes it is counted as left
        out, not kept."""
        text = json.dumps(self._entry(exchange, started, elapsed_ms, wait_ms, comment))
        cost = len(text) + len(_ENTRY_SEPARATOR)
        if self._bytes + cost > self.max_bytes:
            self._left_out += 1
            return
        self._entries.append(text)
        self._bytes += cost

    def write(self) -> None:
        """Write the HAR file atomically (temporary file in the same folder, then os.replace).

        A reader (or a crash halfway) sees the previous whole file or the new one, never a
        part. The file is readable by its owner only (`mkstemp`'s mode), as it holds what
        clients sent."""
        log: dict[str, Any] = {"version": "1.2", "creator": self.creator}
        if self._left_out:
            log["comment"] = (
                f"{self._left_out} entries left out: the file reached its bound of "
                f"{self.max_bytes} bytes"
            )
        head = json.dumps({"log": log})[:-2]  # open: `{"log": {...` without its closing braces
        content = f'{head}, "entries": [\n{_ENTRY_SEPARATOR.join(self._entries)}\n]}}}}\n'
        handle, temporary = tempfile.mkstemp(
            dir=self.path.parent, prefix=f".{self.path.name}.", suffix=".tmp"
        )
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as file:
                file.write(content)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def _entry(
        self,
        exchange: Exchange,
        started: float,
        elapsed_ms: float,
        wait_ms: float | None,
        comment: str,
    ) -> dict[str, Any]:
        notes = [comment] if comment else []
        url = redacted_url(exchange.url)
        request: dict[str, Any] = {
            "method": exchange.method,
            "url": url,
            "httpVersion": HTTP_VERSION,
            "cookies": [],  # cookies are in the (redacted) headers
            "headers": _headers(exchange.request_headers),
            "queryString": [
                {"name": name, "value": value}
                for name, value in parse_qsl(urlsplit(url).query, keep_blank_values=True)
            ],
            "headersSize": -1,
            "bodySize": len(exchange.request_body),
        }
        if exchange.request_body:
            mime = exchange.request_headers.get("content-type", "")
            text, encoding = self._body(exchange.request_body, mime, "request", notes)
            request["postData"] = {"mimeType": mime, "text": text}
            if encoding:  # postData has no `encoding` field: say it in words
                request["postData"]["comment"] = "text is the body in base64 (not UTF-8)"
        mime = exchange.headers.get("content-type", "")
        text, encoding = self._body(exchange.body, mime, "response", notes)
        content: dict[str, Any] = {"size": len(exchange.body), "mimeType": mime, "text": text}
        if encoding:
            content["encoding"] = encoding
        encoded = exchange.headers.get("content-encoding", "identity") != "identity"
        response = {
            "status": exchange.status,
            "statusText": _status_text(exchange.status),
            "httpVersion": HTTP_VERSION,
            "cookies": [],
            "headers": _headers(exchange.headers),
            "content": content,
            "redirectURL": exchange.headers.get("location", ""),
            "headersSize": -1,
            # the body came decoded: its size on the wire is unknown when it was compressed
            "bodySize": -1 if encoded else len(exchange.body),
        }
        wait = max(0.0, elapsed_ms if wait_ms is None else wait_ms)
        timings = {
            "send": 0.0,
            "wait": round(wait, 3),
            "receive": round(max(0.0, elapsed_ms - wait), 3),
        }
        entry: dict[str, Any] = {
            "startedDateTime": _iso(started),
            "time": round(sum(timings.values()), 3),
            "request": request,
            "response": response,
            "cache": {},
            "timings": timings,
        }
        if notes:
            entry["comment"] = "; ".join(notes)
        return entry

    def _body(self, body: bytes, mime: str, which: str, notes: list[str]) -> tuple[str, str]:
        """(text, encoding) of a body: redacted, then cut at `max_body_bytes` (said in
        `notes`); a body that is not UTF-8 is base64, `encoding` "base64"."""
        try:
            text = redacted_body(body.decode("utf-8"), body, mime)
        except UnicodeDecodeError:
            kept = body[: self.max_body_bytes]
            if len(kept) < len(body):
                notes.append(f"{which} body cut at {len(kept)} bytes of {len(body)}")
            return base64.b64encode(kept).decode("ascii"), "base64"
        data = text.encode("utf-8")
        if len(data) > self.max_body_bytes:
            notes.append(f"{which} body cut at {self.max_body_bytes} bytes of {len(data)}")
            text = data[: self.max_body_bytes].decode("utf-8", "ignore")  # no half character
        return text, ""


def _installed() -> str:
    try:
        return metadata.version("patchworks-mock")
    except metadata.PackageNotFoundError:
        return "unknown"


def _iso(started: float) -> str:
    moment = datetime.fromtimestamp(started, UTC).isoformat(timespec="milliseconds")
    return moment.replace("+00:00", "Z")


def _status_text(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _headers(headers: dict[str, str]) -> list[dict[str, str]]:
    return [
        {"name": name, "value": REDACTED if secret_header(name) else value}
        for name, value in headers.items()
    ]
