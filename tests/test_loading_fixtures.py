"""Loading a fixture file: the store it gives, what a reset goes back to, and the fast paths.

A `FixtureFile` keeps the file's bytes (compressed), not the parsed document, so these tests
pin down that it loads exactly what `fixtures.load(fixtures.read(path))` loads, reports bad
files exactly as that does, and resets to the state the mock started in whatever happens to
the file afterwards.
"""

from __future__ import annotations

import copy
import io
import json
from collections import Counter
from functools import partial
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from patchworks_mock import bundled, fixtures, strategies
from patchworks_mock.app import create_app
from patchworks_mock.documents import checking, loading
from patchworks_mock.instance import MockInstance
from patchworks_mock.records import COLLECTIONS, DEPLOYED, INACTIVE
from patchworks_mock.store import DEFAULT_PRIORITY, Store
from tests.support import deterministic

PROPERTY = deterministic(50)
KEYS = frozenset({"key"})


def write(path: Path, document: dict) -> Path:
    path.write_text(fixtures.to_json(document), encoding="utf-8")
    return path


@pytest.fixture
def document() -> dict:
    return fixtures.generate(3, users=3, flows=4, packages=40, deployed_ratio=0.7)


@pytest.fixture
def file(tmp_path, document) -> Path:
    return write(tmp_path / "start.json", document)


def test_a_fixture_file_loads_what_the_document_loads(file, document):
    assert fixtures.dump(fixtures.FixtureFile(file).store()) == fixtures.dump(
        fixtures.load(document)
    )
    from_file = fixtures.FixtureFile(bundled.DEFAULT_FIXTURES)
    expected = fixtures.dump(fixtures.load(fixtures.read(bundled.DEFAULT_FIXTURES)))
    assert fixtures.dump(from_file.store()) == expected
    assert fixtures.dump(from_file.store()) == expected  # from the compressed copy


def test_every_store_is_new(file):
    fixture = fixtures.FixtureFile(file)
    first, second = fixture.store(), fixture.store()
    first.delete_package(str(min(first.packages)))
    assert fixtures.dump(second) == fixtures.dump(fixture.store())
    assert fixtures.dump(first) != fixtures.dump(second)


def loads_alike(tmp_path: Path, document: dict) -> Store:
    """The store of the document, after checking that its file loads the same one."""
    expected = fixtures.load(document)
    path = tmp_path / "alike.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    assert fixtures.dump(fixtures.FixtureFile(path).store()) == fixtures.dump(expected)
    return expected


def test_what_a_document_leaves_out_is_filled_in_from_a_file_as_from_the_document(tmp_path):
    document = fixtures.generate(6, packages=30, deployed_ratio=0.7)
    for package in document["packages"][::2]:
        del package["notes"], package["created_by_id"]
        for member in package.get("flow_versions", []):
            del member["priority"]
    for package in document["packages"][1::4]:
        package.pop("flow_versions", None)
    for record in document["deployments"]:
        del record["user_id"], record["notes"]
    for record in document["flow_version_deployments"]:
        del record["deployment_id"], record["deployed_by"]
    store = loads_alike(tmp_path, document)
    sparse = next(p for p in document["packages"][::2] if p.get("flow_versions"))
    stored = store.packages[sparse["id"]]
    assert (stored.notes, stored.created_by_id) == (None, None)
    assert set(stored.members.values()) == {DEFAULT_PRIORITY}
    assert not store.packages[document["packages"][1]["id"]].members
    for name in ("deployments", "flow_version_deployments"):
        del document[name]
    assert not loads_alike(tmp_path, document).deployments


def test_whole_numbers_written_as_floats_are_read_as_ints(tmp_path, document):
    # JSON Schema's integers include 1.0; the store reads it as 1, so that 1.0 and 1 are one id.
    package = next(p for p in document["packages"] if p.get("flow_versions"))
    package["id"] = float(package["id"])
    package["flow_versions"][0]["priority"] = 7.0
    stored = loads_alike(tmp_path, document).packages[int(package["id"])]
    assert type(stored.id) is int
    assert list(stored.members.values())[0] == 7
    assert type(list(stored.members.values())[0]) is int


def test_a_lone_surrogate_is_kept_as_the_json_module_reads_it(tmp_path, document):
    # msgspec reads and writes no lone surrogates: such documents are loaded another way.
    document["packages"][0]["name"] = "half a pair: \ud800"
    store = loads_alike(tmp_path, document)
    assert store.packages[document["packages"][0]["id"]].name == "half a pair: \ud800"


@pytest.mark.parametrize("change", ["rewritten", "deleted", "broken"])
def test_a_reset_goes_back_to_the_start_whatever_happens_to_the_file(file, change):
    initial = fixtures.FixtureFile(file)
    mock = MockInstance(initial=initial, store=initial.store(), api_keys=KEYS)
    start = fixtures.dump(mock.store)
    mock.store.create_package("Made after the start", None, None)
    if change == "rewritten":
        write(file, fixtures.generate(4, packages=2))
    elif change == "deleted":
        file.unlink()
    else:
        file.write_text("{", encoding="utf-8")
    mock.reset()
    assert fixtures.dump(mock.store) == start
    assert fixtures.dump(mock.sandbox().store) == start


def test_a_bad_start_file_is_refused_even_when_the_mock_starts_from_saved_state(tmp_path, document):
    # A mock that starts from saved state (`serve --state-file`) does not load its fixtures
    # file, but a reset must be able to go back to it: a bad one is refused at the start.
    document["packages"][0]["created_by_id"] = 999
    bad = fixtures.FixtureFile(write(tmp_path / "bad.json", document))
    state_file = tmp_path / "state.json"
    create_app(state_file=state_file)
    assert state_file.exists()
    for initial in (bad, document):
        with pytest.raises(fixtures.FixtureError) as raised:
            create_app(initial, state_file=state_file)
        assert raised.value.problems == [
            ("$.packages[0].created_by_id", "no record with id 999 in users")
        ]


BAD_FILES = {
    "not JSON": b'{\n  "users": [,\n',
    "not JSON, CRLF": b'{\r\n  "users": [\r\n  ,\r\n',
    "not JSON, CR": b'{\r  "users": [\r  ,\r',
    "a UTF-8 BOM": b'\xef\xbb\xbf{"users": []}',
    "not UTF-8": b'{"users": [{"name": "\xff"}]}',
    "not an object": b"[]",
    "schema": json.dumps({"users": "none"}).encode(),
    "references": fixtures.to_json(
        {
            **fixtures.generate(1, packages=3),
            "flow_version_deployments": [
                {
                    "id": 1,
                    "flow_version_id": 999,
                    "virtual_environment_id": 1,
                    "status": "deployed",
                    "created_at": "2024-01-01T00:00:00Z",
                    "updated_at": "2024-01-01T00:00:00Z",
                }
            ],
        }
    ).encode(),
}


@pytest.mark.parametrize("content", BAD_FILES.values(), ids=BAD_FILES.keys())
def test_a_bad_file_is_reported_as_reading_and_loading_it_reports_it(tmp_path, content):
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    with pytest.raises(fixtures.FixtureError) as expected:
        fixtures.load(fixtures.read(path), str(path))
    with pytest.raises(fixtures.FixtureError) as got:
        fixtures.FixtureFile(path).store()
    assert type(got.value) is type(expected.value)
    assert got.value.lines() == expected.value.lines()


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_a_syntax_error_is_placed_as_in_the_text_read_with_universal_newlines(tmp_path, newline):
    path = tmp_path / "bad.json"
    path.write_bytes(newline.join(["{", '  "users": [', "    1,", "  ]", "}"]).encode())
    with pytest.raises(json.JSONDecodeError) as parser:
        json.loads(path.read_text(encoding="utf-8"))
    with pytest.raises(fixtures.FixtureError) as raised:
        fixtures.read(path)
    assert raised.value.problems == [
        (
            f"line {parser.value.lineno} column {parser.value.colno}",
            f"not valid JSON: {parser.value.msg}",
        )
    ]


def test_an_unreadable_file_is_reported_when_it_is_opened(tmp_path):
    with pytest.raises(fixtures.UnreadableFixture) as expected:
        fixtures.read(tmp_path / "missing.json")
    with pytest.raises(fixtures.UnreadableFixture) as got:
        fixtures.FixtureFile(tmp_path / "missing.json")
    assert got.value.lines() == expected.value.lines()


def _strings_and_big_numbers(value: object) -> list[object]:
    if isinstance(value, dict):
        return [x for v in value.values() for x in _strings_and_big_numbers(v)]
    if isinstance(value, list):
        return [x for v in value for x in _strings_and_big_numbers(v)]
    small = isinstance(value, int) and -5 <= value <= 256  # CPython shares these anyway
    status = value in (DEPLOYED, INACTIVE)  # one object each, kept by the store module anyway
    return [value] if isinstance(value, str | int) and not (small or status) and value != "" else []


def test_the_store_keeps_no_object_of_the_document():
    # Else the document's memory stays in use after it is dropped (see documents/loading.py).
    document = fixtures.generate(5, packages=300)  # ids above 256, which CPython does not share
    kept = {id(x) for x in _strings_and_big_numbers(document)}
    store = fixtures.load(document)
    held = [
        getattr(record, name)
        for collection in fixtures.COLLECTIONS
        for record in getattr(store, collection).values()
        for name in record.__slots__
    ]
    held += [key for key in store.packages]
    assert held and not [x for x in held if id(x) in kept]


def test_indexes_made_after_changes_hold_what_indexes_kept_up_to_date_hold(document):
    # The sorted indexes are built on first use, so changes made before that must show too.
    fresh, used = fixtures.load(document), fixtures.load(document)
    for store in (fresh, used)[1:]:
        store.list_packages(
            deployed_only=False, names=None, sort="name", descending=False, page=1, per_page=1
        )
    for store in (fresh, used):
        ids = sorted(store.packages)
        store.update_package(str(ids[0]), {"name": "aaa first by name"})
        store.delete_package(str(ids[1]))
        created = store.create_package("Zzz last by name", None, None)
        version = next(iter(store.flow_versions))
        store.add_version(str(created.id), str(version), None)
        store.deploy(str(created.id), str(next(iter(store.virtual_environments))), None, None)
    for deployed_only in (False, True):
        for sort in ("id", "name"):
            pages = [
                store.list_packages(
                    deployed_only=deployed_only,
                    names=None,
                    sort=sort,
                    descending=True,
                    page=1,
                    per_page=100,
                )
                for store in (fresh, used)
            ]
            assert [p.id for p in pages[0][0]] == [p.id for p in pages[1][0]]
            assert pages[0][1] == pages[1][1]


NAMES = {  # per collection, the fields the rules read and the collection whose ids they take
    "flow_versions": {"id": "flow_versions", "flow_id": "flows", "iteration": None},
    "packages": {"id": "packages", "created_by_id": "users"},
    "deployments": {
        "id": "deployments",
        "package_id": "packages",
        "virtual_environment_id": "virtual_environments",
        "user_id": "users",
    },
    "flow_version_deployments": {
        "id": "flow_version_deployments",
        "flow_version_id": "flow_versions",
        "virtual_environment_id": "virtual_environments",
        "deployment_id": "deployments",
        "deployed_by": "users",
    },
    "users": {"id": "users"},
    "flows": {"id": "flows"},
    "virtual_environments": {"id": "virtual_environments"},
}
NULLABLE = {"created_by_id", "user_id", "deployment_id", "deployed_by"}


def set_field(collection: str, index: int, field: str, value, document: dict) -> None:
    document[collection][index][field] = value


def set_member(index: int, position: int, value, document: dict) -> None:
    document["packages"][index]["flow_versions"][position]["flow_version_id"] = value


def add_member(index: int, at_end: bool, value, document: dict) -> None:
    members = document["packages"][index].setdefault("flow_versions", [])
    members.insert(len(members) if at_end else 0, {"flow_version_id": value})


def changes(document: dict) -> dict[str, list[partial]]:
    """Every way to change one id, reference, membership or status, by what it changes.

    Each is a change to make to a copy. A field gets each id of the collection it names (for an
    `id`, its own: a duplicate), the smallest as a float too (equal to the integer), null where
    allowed, and 999 (no record): most changes keep the references whole and break another rule.
    """

    def values(named: str | None, field: str) -> list:
        ids = sorted(r["id"] for r in document[named]) if named else [1, 2, 3]
        return [*ids, *[float(i) for i in ids[:1]], 999, *([None] if field in NULLABLE else [])]

    found: dict[str, list[partial]] = {}
    for collection, fields in NAMES.items():
        for index, record in enumerate(document[collection]):
            for field, named in fields.items():
                for value in values(named, field):
                    change = partial(set_field, collection, index, field, value)
                    found.setdefault(f"{collection}.{field}", []).append(change)
            if collection == "packages":
                for value in values("flow_versions", "flow_version_id"):
                    for at_end in (False, True):
                        change = partial(add_member, index, at_end, value)
                        found.setdefault("a member added", []).append(change)
                    for position in range(len(record.get("flow_versions", []))):
                        change = partial(set_member, index, position, value)
                        found.setdefault("a member changed", []).append(change)
            if collection == "flow_version_deployments":
                change = partial(set_field, collection, index, "status", DEPLOYED)
                found.setdefault("deployed", []).append(change)
    return found


def changed(document: dict, change: partial) -> dict:
    copied = copy.deepcopy(document)
    change(copied)
    return copied


def reference_problems_before_the_table(doc: dict) -> list[tuple[str, str]]:
    """fixtures._reference_problems as it was before `documents.rules` (verbatim, 7b31783).

    The rule checks derived from the table must find exactly what it found, in its order.
    """
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


def assert_both_checks_agree(document: dict) -> list[tuple[str, str]]:
    """The document's rule problems, after checking that both checks and `problems` agree."""
    found = checking.rule_problems(document)
    assert found == reference_problems_before_the_table(document)
    assert checking.rules_hold(document) == (found == []), found
    assert fixtures.problems(document) == found  # the changes keep to the schema
    return found


def test_the_fast_and_the_slow_rule_check_agree_on_every_single_change():
    document = fixtures.generate(
        2, users=2, flows=3, versions_per_flow=2, environments=2, packages=6, deployed_ratio=1
    )
    document["flow_version_deployments"][0]["deployment_id"] = None
    document["deployments"].append({**document["deployments"][0], "id": 500})  # with no fvds
    broken = {True: 0, False: 0}
    for kind in changes(document).values():
        for change in kind:
            broken[bool(assert_both_checks_agree(changed(document, change)))] += 1
    assert broken[False] > 500 and broken[True] > 1000


@pytest.mark.parametrize(
    ("members", "reasons"),
    [
        ([1, 1], ["flow version 1 is listed twice"]),
        ([1, 2], ["the package already has a version of flow 1"]),
        # the second 2 clashes with 1 again: 2 was never counted as the package's version
        ([1, 2, 2], ["the package already has a version of flow 1"] * 2),
        ([1, 99, 1], ["no record with id 99 in flow_versions", "flow version 1 is listed twice"]),
    ],
)
def test_a_package_holds_one_version_of_a_flow_and_lists_it_once(document, members, reasons):
    package = document["packages"][0]
    version = {k: document["flow_versions"][0][k] for k in ("created_at", "updated_at")}
    document["flow_versions"] = [
        {**version, "id": 1, "flow_id": 1, "iteration": 1},
        {**version, "id": 2, "flow_id": 1, "iteration": 2},
    ]
    document["packages"] = [{**package, "flow_versions": [{"flow_version_id": m} for m in members]}]
    document["deployments"], document["flow_version_deployments"] = [], []
    found = assert_both_checks_agree(document)
    assert [reason for _, reason in found] == reasons


@deterministic(200)
@given(document=strategies.documents(max_packages=6, max_deployments=8), data=st.data())
def test_the_fast_and_the_slow_rule_check_agree_on_drawn_documents_changed(document, data):
    for _ in range(data.draw(st.integers(1, 3))):
        kinds = changes(document)  # none for a document of no records
        if kinds:
            kind = data.draw(st.sampled_from(sorted(kinds)))
            document = changed(document, data.draw(st.sampled_from(kinds[kind])))
    assert_both_checks_agree(document)


def parsed_as_before(raw: bytes) -> tuple:
    """What reading a file with `Path.read_text` and parsing it with `json.loads` gives."""
    try:
        text = io.TextIOWrapper(io.BytesIO(raw), encoding="utf-8").read()
    except UnicodeDecodeError as exc:
        return ("unreadable", f"cannot read the file: {exc}")
    try:
        return ("value", repr(json.loads(text)))  # repr tells 0.0 from -0.0, and key order
    except json.JSONDecodeError as exc:
        return ("error", f"line {exc.lineno} column {exc.colno}", f"not valid JSON: {exc.msg}")


def parsed_now(raw: bytes) -> tuple:
    try:
        return ("value", repr(loading.parse(raw, "f")))
    except fixtures.UnreadableFixture as exc:
        return ("unreadable", exc.problems[0][1])
    except fixtures.FixtureError as exc:
        return ("error", *exc.problems[0])


characters = st.characters() | st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(characters, max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(characters, max_size=4), inner, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=300, derandomize=True, database=None, deadline=None)
@given(value=json_values, data=st.data())
def test_the_fast_parser_reads_files_as_the_json_module_reads_them(value, data):
    text = json.dumps(
        value,
        ensure_ascii=data.draw(st.booleans()),
        indent=data.draw(st.none() | st.integers(0, 2)),
    )
    raw = bytearray(
        text.replace("\n", data.draw(st.sampled_from(["\n", "\r\n", "\r"]))).encode(
            "utf-8", "surrogatepass"
        )
    )
    for _ in range(data.draw(st.integers(0, 2))):  # a few bytes changed, as in a damaged file
        at = data.draw(st.integers(0, len(raw) - 1))
        raw[at : at + 1] = data.draw(st.binary(max_size=2))
        if not raw:
            break
    assert parsed_now(bytes(raw)) == parsed_as_before(bytes(raw))


EDGES = [
    b'\xef\xbb\xbf{"a": 1}',
    b"\x0c{}",
    b"{}\x00",
    b"{} ",
    b"NaN",
    b"[-Infinity, -0, -0.0, 1e400, 1E2, 0.1]",
    b"123456789012345678901234567890",
    b'"\\ud800"',
    b'{"a": 1, "b": 2, "a": 3}',
    b"[" * 3000 + b"]" * 3000,
    b'{"a":\r\r 1,}',
]


@pytest.mark.parametrize("raw", EDGES)
def test_the_fast_parser_reads_the_edges_of_json_as_the_json_module_does(raw):
    try:
        expected = parsed_as_before(raw)
    except RecursionError:  # once a traceback; now a problem like any other
        assert parsed_now(raw) == ("error", "$", "nested too deeply to read")
    else:
        assert parsed_now(raw) == expected
