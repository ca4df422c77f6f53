"""Check, load, dump, write and generate fixture documents (see `patchworks_mock.documents`).

Kept so that documented imports work (`from patchworks_mock import fixtures`, then
`fixtures.generate`, `fixtures.problems`, `fixtures.load`, ...): the code is in the
`patchworks_mock.documents` package, and this module only re-exports it.
"""

from patchworks_mock.documents.checking import FixtureError, UnreadableFixture, check, problems
from patchworks_mock.documents.generate import generate
from patchworks_mock.documents.json_output import to_json, write_json
from patchworks_mock.documents.loading import (
    Document,
    FixtureFile,
    collector_paused,
    dump,
    load,
    read,
)
from patchworks_mock.records import COLLECTIONS

__all__ = [
    "COLLECTIONS",
    "FixtureError",
    "Document",
    "FixtureFile",
    "UnreadableFixture",
    "check",
    "collector_paused",
    "dump",
    "generate",
    "load",
    "problems",
    "read",
    "to_json",
    "write_json",
]
