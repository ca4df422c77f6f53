"""A write, staged: what the store hands its durability backend before it applies anything.

Every write of the store (`Store._write`) is one `Change`. The backend commits it (to disk, or
nowhere); only then does the store apply it to its records and indexes. A backend that cannot
commit raises, and the store then applies nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from patchworks_mock.records import Record

if TYPE_CHECKING:
    from patchworks_mock.store import Store


@dataclass
class Change:
    """Rows put or deleted, in the order they are applied, and the id counters after them; or,
    for a reset or a replaced state, the whole `replacement` store."""

    rows: list[tuple[str, int, Record | None]] = field(default_factory=list)  # None: deleted
    next_ids: dict[str, int] = field(default_factory=dict)
    replacement: Store | None = None


class Durability(Protocol):
    """Where a store's changes are kept beyond the process, if anywhere."""

    def commit(self, change: Change) -> None:
        """Keep `change` for good, or raise (and keep none of it)."""

    def close(self) -> None:
        """Let go of what it holds open; the server is stopping."""


class InMemory:
    """The default: nothing outlives the process, so there is nothing to commit."""

    def commit(self, change: Change) -> None:
        return None

    def close(self) -> None:
        return None
