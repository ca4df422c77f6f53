"""Hypothesis strategies for fixture records and whole documents, for property tests.

Kept so that documented imports work (`from patchworks_mock import strategies`): the code is in
`patchworks_mock.documents.strategies`, and this module only re-exports it.

    from hypothesis import given
    from patchworks_mock import strategies

    @given(strategies.documents())
    def test_something(document): ...
"""

from patchworks_mock.documents.strategies import (
    MAX_TEXT,
    documents,
    flow_versions,
    generated_documents,
    package_names,
    package_notes,
    packages,
    texts,
    timestamps,
)

__all__ = [
    "MAX_TEXT",
    "documents",
    "flow_versions",
    "generated_documents",
    "package_names",
    "package_notes",
    "packages",
    "texts",
    "timestamps",
]
