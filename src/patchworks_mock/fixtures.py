"""The fixture document: check it, load it into a `Store`, and write a store back out.

A document is one JSON object of record lists (see `fixtures/schema.json`). Checking reports
every problem at once, each with its JSON path, so that a user fixes a file in one pass.
`FixtureFile` keeps a file the mock starts from, for its resets and sandboxes. `generate`
(re-exported from `patchworks_mock.generate`) makes seeded documents of any size.
"""

from __future__ import annotations

import gc
import io
import json
import threading
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from functools import cache, partial
from operator import attrgetter
from pathlib import Path
from typing import Any, BinaryIO

import jsonschema
import jsonschema_rs
import msgspec

from patchworks_mock import bundled
from patchworks_mock.generate import generate
from patchworks_mock.records import (
    COLLECTIONS,
    DEPLOYED,
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

__all__ = [
    "COLLECTIONS",
    "FixtureError",
    "Document",
    "FixtureFile",
    "UnreadableFixture",
    "check",
    "dump",
    "generate",
    "load",
    "problems",
    "read",
    "to_json",
    "write_json",
]


class FixtureError(Exception):
    """A document that cannot be loaded; `problems` are (JSON path, reason) pairs."""

    def __init__(self, source: str, problems: list[tuple[str, str]]) -> None:
        self.source = source
        self.problems = problems
        first_place, first_reason = problems[0]
        more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
        super().__init__(f"{source}: {first_place}: {first_reason}{more}")

    def lines(self) -> list[str]:
        return [f"{self.source}: {place}: {reason}" for place, reason in self.problems]


class UnreadableFixture(FixtureError):
    """The file itself could not be read (missing, a directory, no permission, not UTF-8)."""


@cache
def _schema() -> dict:
    return json.loads(bundled.FIXTURE_SCHEMA.read_text(encoding="utf-8"))


@cache
def _validator() -> jsonschema.protocols.Validator:
    return jsonschema.Draft202012Validator(_schema())


@cache
def _fast_validator() -> jsonschema_rs.Draft202012Validator:
    """A compiled validator: about 100 times faster on a large valid document (100k packages)."""
    return jsonschema_rs.Draft202012Validator(_schema())


def _json_path(parts) -> str:
    return "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts)


def read(path: str | Path) -> dict:
    """Parse a fixture file; unreadable or malformed files raise `FixtureError`."""
    return _parse(_read_bytes(path), str(path))


def _read_bytes(path: str | Path) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise _unreadable(str(path), exc) from None


def _unreadable(source: str, exc: Exception) -> UnreadableFixture:
    return UnreadableFixture(source, [("$", f"cannot read the file: {exc}")])


def _parse(raw: bytes, source: str) -> Any:
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


def problems(document: object) -> list[tuple[str, str]]:
    """Every schema and reference problem of a document, in document order."""
    if _fast_validator().is_valid(document):
        # Only a document with problems pays for the slower check that places each one.
        return [] if _references_hold(document) else _reference_problems(document)
    # Only an invalid document pays for the slower validator that words its messages.
    found = [
        (_json_path(e.absolute_path), _shortened(e.message))
        for e in sorted(_validator().iter_errors(document), key=lambda e: list(e.absolute_path))
    ]
    return found or _reference_problems(document)


def _shortened(message: str, limit: int = 200) -> str:
    """jsonschema quotes the whole offending value; a line should stay readable."""
    return message if len(message) <= limit else f"{message[: limit - 1]}…"


def _references_hold(doc: dict) -> bool:
    """Whether `_reference_problems` finds nothing, by whole-column set operations.

    About three times faster on a valid document, which is what most documents are.
    """
    ids: dict[str, set] = {}
    for name in COLLECTIONS:
        column = [r["id"] for r in doc.get(name, [])]
        ids[name] = set(column)
        if len(ids[name]) != len(column):
            return False
    users = ids["users"] | {None}
    versions = doc["flow_versions"]
    flow_of = {v["id"]: v["flow_id"] for v in versions}
    packages = doc["packages"]
    memberships = [p["flow_versions"] for p in packages if "flow_versions" in p]
    deployments = doc.get("deployments", [])
    fvds = doc.get("flow_version_deployments", [])
    environment_of = {d["id"]: d["virtual_environment_id"] for d in deployments}
    placed = [f for f in fvds if f.get("deployment_id") is not None]
    return (
        set(flow_of.values()) <= ids["flows"]
        and _all_different((v["flow_id"], v["iteration"]) for v in versions)
        and {p.get("created_by_id") for p in packages} <= users
        and {m["flow_version_id"] for ms in memberships for m in ms} <= ids["flow_versions"]
        and all(len({flow_of[m["flow_version_id"]] for m in ms}) == len(ms) for ms in memberships)
        and {d["package_id"] for d in deployments} <= ids["packages"]
        and {d["virtual_environment_id"] for d in deployments} <= ids["virtual_environments"]
        and {d.get("user_id") for d in deployments} <= users
        and {f["flow_version_id"] for f in fvds} <= ids["flow_versions"]
        and {f["virtual_environment_id"] for f in fvds} <= ids["virtual_environments"]
        and {f["deployment_id"] for f in placed} <= ids["deployments"]
        and {f.get("deployed_by") for f in fvds} <= users
        and [environment_of[f["deployment_id"]] for f in placed]
        == [f["virtual_environment_id"] for f in placed]
        and _all_different(
            (f["virtual_environment_id"], flow_of[f["flow_version_id"]])
            for f in fvds
            if f["status"] == DEPLOYED
        )
    )


def _all_different(values: Iterable) -> bool:
    listed = list(values)
    return len(set(listed)) == len(listed)


def _reference_problems(doc: dict) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    ids: dict[str, dict[int, dict]] = {}
    for name in COLLECTIONS:
        records = doc.get(name, [])
        counts = Counter(r["id"] for r in records)
        for i, record in enumerate(records):
            if counts[record["id"]] > 1:
                found.append((f"$.{name}[{i}].id", f"duplicate id {record['id']} in {name}"))
        ids[name] = {r["id"]: r for r in records}

    def check(place: str, value, collection: str, nullable: bool = True) -> None:
        if value is None and nullable:
            return
        if value not in ids[collection]:
            found.append((place, f"no record with id {value} in {collection}"))

    seen_iterations = set()
    for i, version in enumerate(doc.get("flow_versions", [])):
        check(f"$.flow_versions[{i}].flow_id", version["flow_id"], "flows", nullable=False)
        key = (version["flow_id"], version["iteration"])
        if key in seen_iterations:
            found.append(
                (f"$.flow_versions[{i}].iteration", f"flow {key[0]} has iteration {key[1]} twice")
            )
        seen_iterations.add(key)

    for i, package in enumerate(doc.get("packages", [])):
        check(f"$.packages[{i}].created_by_id", package.get("created_by_id"), "users")
        flows_seen: set[int] = set()
        versions_seen: set[int] = set()
        for j, member in enumerate(package.get("flow_versions", [])):
            place = f"$.packages[{i}].flow_versions[{j}].flow_version_id"
            version = ids["flow_versions"].get(member["flow_version_id"])
            if version is None:
                check(place, member["flow_version_id"], "flow_versions", nullable=False)
            elif member["flow_version_id"] in versions_seen:
                found.append((place, f"flow version {version['id']} is listed twice"))
            elif version["flow_id"] in flows_seen:
                found.append(
                    (place, f"the package already has a version of flow {version['flow_id']}")
                )
            else:
                versions_seen.add(version["id"])
                flows_seen.add(version["flow_id"])

    for i, deployment in enumerate(doc.get("deployments", [])):
        check(f"$.deployments[{i}].package_id", deployment["package_id"], "packages", False)
        ve = deployment["virtual_environment_id"]
        check(f"$.deployments[{i}].virtual_environment_id", ve, "virtual_environments", False)
        check(f"$.deployments[{i}].user_id", deployment.get("user_id"), "users")

    live: set[tuple[int, int]] = set()
    for i, fvd in enumerate(doc.get("flow_version_deployments", [])):
        place = f"$.flow_version_deployments[{i}]"
        version = ids["flow_versions"].get(fvd["flow_version_id"])
        check(f"{place}.flow_version_id", fvd["flow_version_id"], "flow_versions", False)
        ve = fvd["virtual_environment_id"]
        check(f"{place}.virtual_environment_id", ve, "virtual_environments", False)
        check(f"{place}.deployment_id", fvd.get("deployment_id"), "deployments")
        check(f"{place}.deployed_by", fvd.get("deployed_by"), "users")
        deployment = ids["deployments"].get(fvd.get("deployment_id"))
        if deployment is not None and deployment["virtual_environment_id"] != ve:
            found.append(
                (f"{place}.deployment_id", f"deployment {deployment['id']} went to another VE")
            )
        if version is not None and fvd["status"] == DEPLOYED:
            key = (ve, version["flow_id"])
            if key in live:
                found.append(
                    (
                        f"{place}.status",
                        f"flow {key[1]} already has a deployed version in VE {ve}",
                    )
                )
            live.add(key)
    return found


def load(document: object, source: str = "<document>") -> Store:
    """Build a store from a document, or raise `FixtureError` with every problem."""
    with collector_paused():
        check(document, source)
        return _build(document)


def check(document: object, source: str = "<document>") -> None:
    """Raise `FixtureError` with every problem of the document, if it has any."""
    found = problems(document)
    if found:
        raise FixtureError(source, found)


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
        return _build(_parse(raw, source))


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
            check(_parse(raw, self.source), self.source)
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


_RECORD_ENCODER = json.JSONEncoder(ensure_ascii=False)  # one instance: ~1.5x faster per record


def _json_chunks(document: dict) -> Iterator[str]:
    yield "{\n"
    for index, (name, value) in enumerate(document.items()):
        separator = ",\n" if index else ""
        key = f"{separator}  {json.dumps(name)}: "
        if isinstance(value, list) and value:
            yield f"{key}[\n    {_RECORD_ENCODER.encode(value[0])}"
            for record in value[1:]:
                yield f",\n    {_RECORD_ENCODER.encode(record)}"
            yield "\n  ]"
        else:
            yield f"{key}{_RECORD_ENCODER.encode(value)}"
    yield "\n}\n"


def to_json(document: dict) -> str:
    """The document as JSON text with one record per line: diffable, and fast to write.

    Keys keep their order, so equal documents built the same way give identical bytes.
    """
    return "".join(_json_chunks(document))


def write_json(document: dict, stream: BinaryIO) -> None:
    """`to_json` as UTF-8 bytes, written record by record: no whole copy of a large document."""
    for chunk in _json_chunks(document):
        stream.write(chunk.encode("utf-8"))
