"""`serve --state-file`: state that survives a crash, as the store's durability backend.

The state file is a fixture document (a snapshot) beside its write-ahead log (`PATH.journal`,
not to be confused with the request journal): JSON lines, one per committed write, naming the
records it changed and their new contents. The store commits each
write here before it applies it (see `store.py`), and the write is answered only after that, so
an answered write is never lost; replaying the log onto the snapshot gives the state back.
A torn last line (a crash mid-append) belongs to a write that was never answered and is
dropped. Snapshots are written to a temporary file, fsync'ed and renamed over the old one, so
the file is whole at every moment; the log is folded into a new snapshot at start, and
whenever the whole state is replaced (a reset, or a state put through the admin API).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from patchworks_mock import fixtures
from patchworks_mock.changes import Change
from patchworks_mock.records import as_record
from patchworks_mock.store import Store


def _fsync_directory(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class StateFile:
    """A snapshot file and its write-ahead log (`PATH.journal`): a store's durability backend."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.log = self.path.with_name(self.path.name + ".journal")
        self._log_fd: int | None = None

    def read(self) -> dict[str, Any] | None:
        """The saved state (snapshot plus log), or None when nothing was saved yet."""
        if not self.path.exists():
            return None
        document = fixtures.read(self.path)
        if not isinstance(document, dict) or not self.log.exists():
            return document
        tables = {
            name: {record["id"]: record for record in document.get(name, [])}
            for name in fixtures.COLLECTIONS
            if isinstance(document.get(name), list)
        }
        for line in self.log.read_bytes().splitlines(keepends=True):
            if not line.endswith(b"\n"):
                break  # torn by a crash before it was acknowledged
            for name, record_id, record in json.loads(line):
                table = tables.setdefault(name, {})
                if record is None:
                    table.pop(record_id, None)
                else:
                    table[record_id] = record
        return {**document, **{name: list(table.values()) for name, table in tables.items()}}

    def write_snapshot(self, document: dict[str, Any]) -> None:
        """Replace the snapshot atomically and start an empty log."""
        temporary = self.path.with_name(f".{self.path.name}.tmp")
        with open(temporary, "w", encoding="utf-8") as out:
            json.dump(document, out, separators=(",", ":"))
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, self.path)
        self.close()
        self.log.unlink(missing_ok=True)
        _fsync_directory(self.path.parent)

    def commit(self, change: Change) -> None:
        """Keep a write for good: its rows as a line of the log, or a whole new snapshot."""
        if change.replacement is not None:
            self.write_snapshot(fixtures.dump(change.replacement))
            return
        entry = [
            [name, record_id, None if record is None else as_record(record)]
            for name, record_id, record in change.rows
        ]
        if not entry:
            return
        if self._log_fd is None:
            self._log_fd = os.open(self.log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            _fsync_directory(self.path.parent)
        os.write(self._log_fd, json.dumps(entry, separators=(",", ":")).encode() + b"\n")
        os.fsync(self._log_fd)

    def close(self) -> None:
        if self._log_fd is not None:
            os.close(self._log_fd)
            self._log_fd = None


def open_store(path: str | Path, initial: fixtures.Document | fixtures.FixtureFile) -> Store:
    """The store saved at `path` (else `initial`'s), saved there again as one snapshot, with
    every later write committed there first."""
    state_file = StateFile(path)
    saved = state_file.read()
    store = initial.store() if saved is None else fixtures.load(saved, str(path))
    state_file.write_snapshot(fixtures.dump(store))
    store.durability = state_file
    return store
