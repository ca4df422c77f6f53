"""`serve --state-file`: state that survives a crash.

The state file is a fixture document (a snapshot) beside a journal of JSON lines, one per
acknowledged write, naming the records it changed and their new contents. A write is appended
and fsync'ed before its answer is sent, so an answered write is never lost; replaying the
journal onto the snapshot gives the state back. A torn last line (a crash mid-append) belongs to
a write that was never answered and is dropped. Snapshots are written to a temporary file,
fsync'ed and renamed over the old one, so the file is whole at every moment; the journal is
folded into a new snapshot at start, and whenever the state is replaced through the admin API.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from patchworks_mock import fixtures, mock
from patchworks_mock.store import Store, as_record

READS = {"GET", "HEAD", "OPTIONS"}


def _fsync_directory(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class StateFile:
    """A snapshot file and its journal (`PATH.journal`)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.journal = self.path.with_name(self.path.name + ".journal")
        self._journal_fd: int | None = None

    def read(self) -> dict | None:
        """The saved state (snapshot plus journal), or None when nothing was saved yet."""
        if not self.path.exists():
            return None
        document = fixtures.read(self.path)
        if not isinstance(document, dict) or not self.journal.exists():
            return document
        tables = {
            name: {record["id"]: record for record in document.get(name, [])}
            for name in fixtures.COLLECTIONS
            if isinstance(document.get(name), list)
        }
        for line in self.journal.read_bytes().splitlines(keepends=True):
            if not line.endswith(b"\n"):
                break  # torn by a crash before it was acknowledged
            for name, record_id, record in json.loads(line):
                table = tables.setdefault(name, {})
                if record is None:
                    table.pop(record_id, None)
                else:
                    table[record_id] = record
        return {**document, **{name: list(table.values()) for name, table in tables.items()}}

    def write_snapshot(self, document: dict) -> None:
        """Replace the snapshot atomically and start an empty journal."""
        temporary = self.path.with_name(f".{self.path.name}.tmp")
        with open(temporary, "w", encoding="utf-8") as out:
            json.dump(document, out, separators=(",", ":"))
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, self.path)
        self.close()
        self.journal.unlink(missing_ok=True)
        _fsync_directory(self.path.parent)

    def append(self, store: Store, changed: list[tuple[str, int]]) -> None:
        """Journal the current contents of the changed records, durably."""
        entry = []
        for name, record_id in changed:
            record = getattr(store, name).get(record_id)
            entry.append([name, record_id, None if record is None else as_record(record)])
        if self._journal_fd is None:
            self._journal_fd = os.open(self.journal, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            _fsync_directory(self.path.parent)
        os.write(self._journal_fd, json.dumps(entry, separators=(",", ":")).encode() + b"\n")
        os.fsync(self._journal_fd)

    def close(self) -> None:
        if self._journal_fd is not None:
            os.close(self._journal_fd)
            self._journal_fd = None


def start(state_file: StateFile, store: Store) -> None:
    """Fold what was saved into a fresh snapshot of `store`, and start recording its writes."""
    state_file.write_snapshot(fixtures.dump(store))
    store.take_changes()


class Persist:
    """ASGI middleware: make each write durable before its answer starts."""

    def __init__(self, app: ASGIApp, state_file: StateFile, saved_store: Store) -> None:
        self.app = app
        self.state_file = state_file
        self._saved_store = saved_store

    def save(self, current: mock.Mock) -> None:
        store = current.store
        if store is not self._saved_store:  # replaced or reset: a new snapshot
            self.state_file.write_snapshot(fixtures.dump(store))
            store.take_changes()
            self._saved_store = store
            return
        changed = store.take_changes()
        if changed:
            self.state_file.append(store, changed)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in READS:
            await self.app(scope, receive, send)
            return
        current = mock.of(scope)

        async def send_after_saving(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.save(current)
            await send(message)

        await self.app(scope, receive, send_after_saving)
