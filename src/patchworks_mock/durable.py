"""`serve --state-file`: state that survives a crash, kept in SQLite as the store's backend.

The in-memory store and its indexes still serve every read; this backend keeps its writes.
Each write (a `Change`) is one SQLite transaction (`BEGIN IMMEDIATE` ... `COMMIT`, WAL,
`synchronous=FULL`), committed before the store applies it and before it is answered, so a
crash or `kill -9` loses no acknowledged write and never leaves a half-made one. A reset or a
state put through the admin API is one transaction that replaces every table.

The file: one table per collection (`id`, and the record as JSON text written with
`ensure_ascii`, so that every string the mock accepts, lone surrogates too, is kept as it
was), rows in `rowid` order, the order of the store's dicts; and `next_ids`, the id each
collection gives next, so that a deleted id is never handed out again after a restart. It is
marked as ours by `PRAGMA application_id` and its layout by `PRAGMA user_version`. At start
the file is checked (`quick_check`, its tables) and its rows are loaded through the same
checks as a fixture document; anything else is refused with `StateFileError`, one line.

A commit that fails (a full disk, a read-only or vanished file, an I/O error) is rolled back
and raises `errors.StorageUnavailable` (a 503 with `Retry-After: 1`); nothing of the write is
applied. The next write tries again, on a new connection if the old one may be unusable.

Commits run on the event loop, in the handler that writes: a FULL commit takes about 0.2 ms on
the disks measured (see the stack notes), an occasional automatic WAL checkpoint more. A lock
serializes commits made from other threads (the test client's, the pytest plugin's).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import msgspec

from patchworks_mock import errors, fixtures
from patchworks_mock.changes import Change
from patchworks_mock.laravel import PHP_INT_MAX
from patchworks_mock.records import COLLECTIONS, Record, as_record
from patchworks_mock.store import Store

logger = logging.getLogger("patchworks_mock")

APPLICATION_ID = 0x50574D4B  # "PWMK"
SCHEMA_VERSION = 1
COUNTERS = "next_ids"
TABLES = frozenset({*COLLECTIONS, COUNTERS})
_SQLITE_MAGIC = b"SQLite format 3\x00"
_JOURNAL_SIZE_LIMIT = 4 * 1024 * 1024  # bytes of WAL kept after a checkpoint
# Seconds to wait for another program that holds the file's write lock (the mock's own
# commits are serialized): the wait blocks the event loop, so it is short; then a 503.
_BUSY_TIMEOUT = 0.5
# Errors after which the connection is kept for the next write: the disk or the lock.
_RETRY_ON_SAME_CONNECTION = frozenset({"SQLITE_FULL", "SQLITE_BUSY", "SQLITE_LOCKED"})
_PLACE = re.compile(r"\$\.(\w+)\[(\d+)\](.*)")


class StateFileError(fixtures.FixtureError):
    """A state file that cannot be served: one line, the file and what is wrong with it."""

    def __init__(self, path: str | Path, reason: str) -> None:
        reason = " ".join(reason.splitlines())  # SQLite's own messages may run over lines
        super().__init__(str(path), [("", reason)])
        self.args = (f"{path}: {reason}",)

    def lines(self) -> list[str]:
        return [str(self)]


def _schema() -> list[str]:
    tables = [
        f"CREATE TABLE {name} (id INTEGER NOT NULL UNIQUE, record TEXT NOT NULL)"
        for name in COLLECTIONS
    ]
    return [
        *tables,
        f"CREATE TABLE {COUNTERS} (collection TEXT PRIMARY KEY, next_id INTEGER NOT NULL)",
    ]


def _encoded(record: Record) -> str:
    return json.dumps(as_record(record), ensure_ascii=True, separators=(",", ":"))


class SqliteState:
    """A SQLite file holding a store's state: the store's durability backend."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._connection: sqlite3.Connection | None = None
        self._identity: tuple[int, int] | None = None  # (device, inode) of the file opened

    def _same_file(self) -> None:
        """Raise if the file was removed or replaced since start: a write to the old one, open
        still, would be answered but lost."""
        try:
            found = os.stat(self.path)
        except OSError as exc:
            raise sqlite3.OperationalError(f"the state file is gone: {exc.strerror}") from None
        if (found.st_dev, found.st_ino) != self._identity:
            raise sqlite3.OperationalError("the state file was replaced by another file")

    def _opened(self, connection: sqlite3.Connection) -> None:
        found = os.stat(self.path)
        self._connection, self._identity = connection, (found.st_dev, found.st_ino)

    # -- connections ----------------------------------------------------------------------

    def _open(self, mode: str) -> sqlite3.Connection:
        """A connection, with `mode=rw` unless creating, so that a file deleted under the mock
        is not silently made again, empty."""
        uri = f"{self.path.resolve().as_uri()}?mode={mode}"
        return sqlite3.connect(
            uri, uri=True, timeout=_BUSY_TIMEOUT, isolation_level=None, check_same_thread=False
        )

    @staticmethod
    def _set_up(connection: sqlite3.Connection) -> None:
        """WAL and a sync at every commit; only for a file known to be ours (or new)."""
        mode = connection.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise sqlite3.OperationalError(f"journal_mode is {mode}, not wal")
        connection.execute("PRAGMA synchronous=FULL")
        connection.execute(f"PRAGMA journal_size_limit={_JOURNAL_SIZE_LIMIT}")

    def _connect(self, create: bool) -> sqlite3.Connection:
        connection = self._open("rwc" if create else "rw")
        try:
            self._set_up(connection)
        except BaseException:
            connection.close()
            raise
        return connection

    def _usable(self) -> sqlite3.Connection:
        if self._connection is None:
            self._connection = self._connect(create=False)
        return self._connection

    def _drop(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(sqlite3.Error):
                self._connection.close()
            self._connection = None

    def close(self) -> None:
        with self._lock:
            self._drop()

    # -- writes ---------------------------------------------------------------------------

    def commit(self, change: Change) -> None:
        """Keep `change` for good in one transaction, or raise `StorageUnavailable` (and keep
        none of it)."""
        with self._lock:
            try:
                self._same_file()
                connection = self._usable()
                self._transaction(connection, change)
            except sqlite3.Error as exc:
                name = getattr(exc, "sqlite_errorname", "")
                logger.error("the state could not be saved to %s: %s (%s)", self.path, exc, name)
                if name not in _RETRY_ON_SAME_CONNECTION:
                    self._drop()
                raise errors.StorageUnavailable() from exc
        if change.replacement is not None:
            self._truncate_log()

    def _transaction(self, connection: sqlite3.Connection, change: Change) -> None:
        connection.execute("BEGIN IMMEDIATE")
        try:
            if change.replacement is not None:
                _write_whole(connection, change.replacement)
            else:
                _write_rows(connection, change)
            connection.execute("COMMIT")
        except BaseException:
            _rollback(connection)
            raise

    def _truncate_log(self) -> None:
        """After a whole new state, give the WAL's space back (best effort)."""
        with self._lock, contextlib.suppress(sqlite3.Error):
            self._usable().execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()

    # -- start ----------------------------------------------------------------------------

    def create(self, store: Store) -> None:
        """Make the file, holding `store`'s state."""
        try:
            connection = self._connect(create=True)
        except sqlite3.Error as exc:
            raise StateFileError(self.path, f"cannot create the state file: {exc}") from None
        try:
            connection.execute("BEGIN IMMEDIATE")
            try:
                connection.execute(f"PRAGMA application_id={APPLICATION_ID}")
                connection.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
                for statement in _schema():
                    connection.execute(statement)
                _write_whole(connection, store)
                connection.execute("COMMIT")
            except BaseException:
                _rollback(connection)
                raise
        except sqlite3.Error as exc:
            connection.close()
            raise StateFileError(self.path, f"cannot write the state file: {exc}") from None
        self._opened(connection)

    def load(self) -> Store:
        """The store saved in the file, checked as a fixture document is; else
        `StateFileError` (or `FixtureError` placing a bad record by table and id)."""
        try:
            connection = self._open("rw")
        except sqlite3.Error as exc:
            raise StateFileError(self.path, f"cannot open the state file: {exc}") from None
        try:
            store = self._read(connection)  # changes nothing in a file that is not ours
            self._set_up(connection)
            _save_counters(connection, store)  # and so check now that it can be written
        except sqlite3.Error as exc:
            connection.close()
            raise StateFileError(self.path, f"cannot use the state file: {exc}") from None
        except BaseException:
            connection.close()
            raise
        self._opened(connection)
        return store

    def _read(self, connection: sqlite3.Connection) -> Store:
        application_id = connection.execute("PRAGMA application_id").fetchone()[0]
        version = connection.execute("PRAGMA user_version").fetchone()[0]
        if application_id != APPLICATION_ID:
            raise StateFileError(
                self.path,
                f"a SQLite database of another application (application_id {application_id}, "
                f"not {APPLICATION_ID}), not a patchworks-mock state file",
            )
        if version != SCHEMA_VERSION:
            raise StateFileError(
                self.path,
                f"a patchworks-mock state file of layout {version}; this version reads "
                f"layout {SCHEMA_VERSION} only",
            )
        try:
            checked = [row[0] for row in connection.execute("PRAGMA quick_check(1)")]
        except sqlite3.DatabaseError as exc:
            checked = [str(exc)]
        if checked != ["ok"]:
            raise StateFileError(
                self.path,
                f"damaged (PRAGMA quick_check: {checked[0] if checked else 'no answer'}); "
                "restore it from a copy, or start afresh with another --state-file",
            )
        extra = connection.execute(
            "SELECT type, name FROM sqlite_schema WHERE type IN ('trigger', 'view')"
        ).fetchone()
        if extra is not None:  # it would change rows behind the mock's back
            raise StateFileError(self.path, f"unknown {extra[0]} {extra[1]}: not our layout")
        tables = {
            row[0]
            for row in connection.execute(
                "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        }
        if tables != TABLES:
            odd = sorted(tables - TABLES) or sorted(TABLES - tables)
            kind = "unknown" if tables - TABLES else "missing"
            raise StateFileError(self.path, f"{kind} table {odd[0]}: not our layout")
        document: dict[str, list[Any]] = {}
        ids: dict[str, list[int]] = {}
        for name in COLLECTIONS:
            document[name], ids[name] = self._rows(connection, name)
        try:
            store = fixtures.load(document, str(self.path))
        except fixtures.FixtureError as exc:
            raise fixtures.FixtureError(
                str(self.path), [(_place(place, ids), reason) for place, reason in exc.problems]
            ) from None
        saved: dict[str, int] = {}
        for name, next_id in connection.execute(f"SELECT collection, next_id FROM {COUNTERS}"):
            if name not in COLLECTIONS or type(next_id) is not int:
                raise StateFileError(
                    self.path, f"table {COUNTERS}: {name!r}: not a collection and its next id"
                )
            saved[name] = next_id
        store.skip_ids(saved)
        return store

    def _rows(self, connection: sqlite3.Connection, name: str) -> tuple[list[Any], list[int]]:
        records, ids = [], []
        for row_id, text in connection.execute(f"SELECT id, record FROM {name} ORDER BY rowid"):
            place = f"table {name}, id {row_id!r}"
            record = _decoded(text)
            if not isinstance(record, dict):
                raise StateFileError(self.path, f"{place}: the record is not a JSON object")
            if type(row_id) is not int or record.get("id") != row_id:
                raise StateFileError(self.path, f"{place}: the record's id is {record.get('id')!r}")
            records.append(record)
            ids.append(row_id)
        return records, ids


_DECODER = msgspec.json.Decoder()


def _decoded(text: object) -> Any:
    """A row's record: msgspec is quick; the json module reads what msgspec refuses (a lone
    surrogate's escape); None if neither can."""
    if not isinstance(text, str):
        return None
    try:
        return _DECODER.decode(text)
    except (msgspec.DecodeError, RecursionError):
        pass
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None


def _place(place: str, ids: dict[str, list[int]]) -> str:
    """A fixture document's JSON path, as the table and id of the row it names."""
    match = _PLACE.fullmatch(place)
    if match is None or match[1] not in ids or int(match[2]) >= len(ids[match[1]]):
        return place
    where = f"table {match[1]}, id {ids[match[1]][int(match[2])]}"
    return f"{where}, field {match[3].lstrip('.')}" if match[3] else where


def _rollback(connection: sqlite3.Connection) -> None:
    """Roll back; SQLite may have done it already (a full disk), which is no harm."""
    with contextlib.suppress(sqlite3.Error):
        connection.execute("ROLLBACK")


def _upsert(name: str) -> str:
    return (
        f"INSERT INTO {name} (id, record) VALUES (?, ?) "
        "ON CONFLICT (id) DO UPDATE SET record = excluded.record"
    )


def _write_rows(connection: sqlite3.Connection, change: Change) -> None:
    for name, row_id, row in change.rows:
        if row is None:
            connection.execute(f"DELETE FROM {name} WHERE id = ?", (row_id,))
        else:
            connection.execute(_upsert(name), (row_id, _encoded(row)))
    _write_counters(connection, change.next_ids.items())


def _write_counters(connection: sqlite3.Connection, counters: Iterable[tuple[str, int]]) -> None:
    # A SQLite INTEGER ends at PHP's largest integer, the largest id; a counter past it (every id
    # used) is kept as that id, which loading turns back into max(id) + 1.
    counters = [(name, min(next_id, PHP_INT_MAX)) for name, next_id in counters]
    connection.executemany(
        f"INSERT INTO {COUNTERS} (collection, next_id) VALUES (?, ?) "
        "ON CONFLICT (collection) DO UPDATE SET next_id = excluded.next_id",
        counters,
    )


def _write_whole(connection: sqlite3.Connection, store: Store) -> None:
    for name in COLLECTIONS:
        connection.execute(f"DELETE FROM {name}")
        rows: Iterator[tuple[int, str]] = (
            (row_id, _encoded(row)) for row_id, row in getattr(store, name).items()
        )
        connection.executemany(f"INSERT INTO {name} (id, record) VALUES (?, ?)", rows)
    connection.execute(f"DELETE FROM {COUNTERS}")
    _write_counters(connection, store.next_ids().items())


def _save_counters(connection: sqlite3.Connection, store: Store) -> None:
    connection.execute("BEGIN IMMEDIATE")
    try:
        _write_counters(connection, store.next_ids().items())
        connection.execute("COMMIT")
    except BaseException:
        _rollback(connection)
        raise


def _kind(path: Path) -> str:
    """What the file at `path` is: "missing", "empty", "sqlite", or "json"; else refused."""
    try:
        with open(path, "rb") as file:
            head = file.read(len(_SQLITE_MAGIC))
    except FileNotFoundError:
        return "missing"
    except OSError as exc:
        raise StateFileError(path, f"cannot read the state file: {exc.strerror or exc}") from None
    if not head:
        return "empty"
    if head == _SQLITE_MAGIC:
        return "sqlite"
    if head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{"):
        journal = path.with_name(path.name + ".journal")
        if journal.exists() and journal.stat().st_size > 0:
            first = (
                f"its journal {journal} holds writes not yet in it: start the older version "
                "on it once to fold them in, then carry it over"
            )
        else:
            first = "carry it over"
        raise StateFileError(
            path,
            f"a JSON state file of an older patchworks-mock, not a SQLite one; {first} "
            f"with: patchworks-mock serve --fixtures {path} --state-file NEW.sqlite",
        )
    raise StateFileError(path, "not a SQLite database (no 'SQLite format 3' header)")


def _is_blank(path: Path) -> bool:
    """Whether a SQLite file holds nothing at all: a file made by a start that crashed before
    its first commit (or made empty on purpose), seeded like a missing one."""
    try:
        connection = sqlite3.connect(path.resolve().as_uri() + "?mode=rw", uri=True)
        try:
            application_id = connection.execute("PRAGMA application_id").fetchone()[0]
            count = connection.execute("SELECT count(*) FROM sqlite_schema").fetchone()[0]
        finally:
            connection.close()
    except sqlite3.Error:
        return False  # the checks of `load` say what is wrong
    return bool(application_id == 0 and count == 0)


def open_store(path: str | Path, initial: fixtures.Document | fixtures.FixtureFile) -> Store:
    """The store saved at `path` (else `initial`'s, saved there first), with every later write
    committed there before it is applied."""
    state = SqliteState(path)
    kind = _kind(state.path)
    if kind == "missing" or kind == "empty" or (kind == "sqlite" and _is_blank(state.path)):
        store = initial.store()
        state.create(store)
    else:
        store = state.load()
    store.durability = state
    return store
