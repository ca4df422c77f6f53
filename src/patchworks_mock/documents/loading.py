"""Read fixture documents and load them into a `Store`; write a store back out as one.

`read` parses a file and `parse` a file's bytes (`FixtureError` saying where the JSON is
wrong), `load` checks a document and builds a store from it, `dump` is the way back.
`Document` and `FixtureFile` are the two starting points a mock keeps for its resets and
sandboxes: a parsed document, or a file's bytes.
"""

from __future__ import annotations

import gc
import io
import json
import threading
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from operator import attrgetter
from pathlib import Path
from typing import Any, cast

import msgspec

from patchworks_mock.documents.checking import FixtureError, UnreadableFixture, check
from patchworks_mock.records import (
    COLLECTIONS,
    Deployment,
    Flow,
    FlowVersion,
    FlowVersionDeployment,
    Integer,
    Package,
    User,
    VirtualEnvironment,
    as_record,
)
from patchworks_mock.store import DEFAULT_PRIORITY, Store


def read(path: str | Path) -> dict:
    """Parse a fixture file; unreadable or malformed files raise `FixtureError`."""
    return parse(_read_bytes(path), str(path))


def _read_bytes(path: str | Path) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise _unreadable(str(path), exc) from None


def _unreadable(source: str, exc: Exception) -> UnreadableFixture:
    return UnreadableFixture(source, [("$", f"cannot read the file: {exc}")])


def parse(raw: bytes, source: str) -> Any:
    """The JSON value in a file's bytes, or `FixtureError` saying where the syntax is wrong.

    msgspec parses in about half the time of the json module, and refuses everything that
    the json module refuses (and a little more: NaN, lone surrogates, numbers beyond a float's
    range). On any refusal the json module reads the file as before, to accept what only it
    accepts or to place the problem exactly as it always has.
    """
    try:
        return msgspec.json.decode(raw)
    except Exception:
        pass
    # Decoded as `Path.read_text` does (universal newlines too), so that a syntax error is
    # placed at the same line and column whichever way the file was read.
    try:
        text = io.TextIOWrapper(io.BytesIO(raw), encoding="utf-8").read()
    except UnicodeDecodeError as exc:
        raise _unreadable(source, exc) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        place = f"line {exc.lineno} column {exc.colno}"
        raise FixtureError(source, [(place, f"not valid JSON: {exc.msg}")]) from None
    except RecursionError:
        raise FixtureError(source, [("$", "nested too deeply to read")]) from None


def load(document: object, source: str = "<document>") -> Store:
    """Build a store from a document, or raise `FixtureError` with every problem."""
    with collector_paused():
        check(document, source)
        return _build(cast(dict[str, Any], document))  # checked: an object


@contextmanager
def collector_paused(*, keep: bool = False) -> Iterator[None]:
    """Hold the cycle collector off while a document is parsed and loaded.

    Every object made there is kept until the load ends, so each pass would walk them all and
    free nothing: about a third of the time of loading 100,000 packages. With `keep`, what was
    made is also frozen out of later passes, for state that lives as long as the process.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if keep:
            gc.freeze()
        if enabled:
            gc.enable()


class _Member(msgspec.Struct):
    """One of a package's flow versions, as the document lists them."""

    flow_version_id: Integer
    priority: Integer = DEFAULT_PRIORITY


class _Listed(msgspec.Struct):
    """What a package lists in the document but stores in another form (`Package.members`)."""

    flow_versions: list[_Member] = []


class _Records(msgspec.Struct):
    """A checked document's records (the schema has checked their shape)."""

    users: list[User]
    flows: list[Flow]
    flow_versions: list[FlowVersion]
    virtual_environments: list[VirtualEnvironment]
    packages: list[Package]
    deployments: list[Deployment] = []
    flow_version_deployments: list[FlowVersionDeployment] = []


class _Memberships(msgspec.Struct):
    """A document's packages, read for their flow versions only."""

    packages: list[_Listed]


_MEMBER = attrgetter("flow_version_id", "priority")


def _build(document: dict) -> Store:
    """The store of a checked document, made from it written as JSON (see `_decoded`)."""
    try:
        raw = msgspec.json.encode(document)
    except UnicodeEncodeError:  # a lone surrogate: made from the document, sharing its strings
        return _loaded(partial(msgspec.convert, document, strict=False))
    return _loaded(partial(msgspec.json.decode, raw, strict=False))


def _decoded(raw: bytes, source: str) -> Store:
    """The store of the checked document in `raw`, which msgspec decodes a second time.

    msgspec makes the records in C, in about half the time of making them from the parsed
    document in Python, and makes them new: a store that kept the parsed document's strings
    and numbers would keep nearly all of its memory in use after it is dropped (CPython gives a
    block of small objects back only when nothing in it is alive, and the document's objects
    are spread over all of its blocks). Whole numbers written as 1.0 are read as ints.
    """
    try:
        return _loaded(partial(msgspec.json.decode, raw, strict=False))
    except msgspec.DecodeError:  # a lone surrogate, or a key given twice, first with a bad value
        return _build(parse(raw, source))


def _loaded(read: Callable[..., Any]) -> Store:
    """The store of the document that `read(type=...)` gives as records of that type.

    Packages are read twice, the second time only for their flow versions, so that nothing
    made for them alone is left between the records: 15% less memory at 100,000 packages.
    """
    records = read(type=_Records)
    for package, listed in zip(records.packages, read(type=_Memberships).packages, strict=True):
        package.members = dict(map(_MEMBER, listed.flow_versions))
    return Store.loaded(msgspec.structs.asdict(records))


class Document:
    """A parsed fixture document to start from: the same two calls as a `FixtureFile`."""

    def __init__(self, value: object, source: str = "<document>") -> None:
        self.value = value
        self.source = source

    def check(self) -> None:
        """Raise `FixtureError` if the document is not valid."""
        check(self.value, self.source)

    def store(self) -> Store:
        """A new store in the document's state, checked again: a dict can be changed."""
        return load(self.value, self.source)


class FixtureFile:
    """A fixture file read once: the state the mock starts in, resets to and makes sandboxes of.

    It keeps the file's bytes, compressed to about a tenth, rather than the parsed document
    (three times their size) or the path (the file may be edited or deleted later, and a reset
    must still go back to the state the mock started in). The first store made from it checks
    the document; later ones skip the check, as the bytes cannot have changed.
    """

    def __init__(self, path: str | Path) -> None:
        self.source = str(path)
        raw = _read_bytes(path)
        self._lock = threading.Lock()
        self._raw: bytes | None = raw  # until the compressed copy is ready
        self._compressed = b""
        self._checked = False
        # zlib lets go of the GIL, so this overlaps with loading the first store.
        threading.Thread(target=self._compress, args=(raw,), daemon=True).start()

    def _compress(self, raw: bytes) -> None:
        compressed = zlib.compress(raw, 1)
        with self._lock:
            self._compressed, self._raw = compressed, None

    def _bytes(self) -> bytes:
        with self._lock:
            raw, compressed = self._raw, self._compressed
        return raw if raw is not None else zlib.decompress(compressed)

    def check(self) -> None:
        """Raise `FixtureError` if the file does not hold a valid document."""
        with collector_paused():
            self._check(self._bytes())

    def _check(self, raw: bytes) -> None:
        # Once: the bytes cannot change. The parsed document is dropped before the store is
        # made, which then takes the memory the document had.
        if not self._checked:
            check(parse(raw, self.source), self.source)
            self._checked = True

    def store(self) -> Store:
        """A new store in the file's state; a bad file raises `FixtureError` (every time)."""
        with collector_paused():
            raw = self._bytes()
            self._check(raw)
            return _decoded(raw, self.source)


def dump(store: Store) -> dict:
    """The store as a fixture document; loading it gives back an equal store."""
    return {name: [as_record(r) for r in getattr(store, name).values()] for name in COLLECTIONS}
