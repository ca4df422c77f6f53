"""Package ids kept sorted in one order, so that a page of a list is a slice, not a sort."""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Callable, Iterable
from typing import Any

from patchworks_mock.records import Package

# the fields a package sorts by, its id last
SortKey = tuple[Any, ...]


class SortedIndex:
    """Package ids kept in one order, so that a page is a slice, not a sort.

    It holds every package (or those with ids `among`), or only those `where` accepts. It
    sorts on first use, not when the store is loaded: most resets and sandboxes are never
    listed in most of the orders, and sorting 100,000 names takes a noticeable time.
    """

    def __init__(
        self,
        key: Callable[[Package], SortKey],
        packages: dict[int, Package],
        among: Iterable[int] | None = None,
        where: Callable[[Package], bool] | None = None,
    ) -> None:
        self._key = key
        # What it holds, read when it is first used.
        self._packages = packages
        self._among = among
        self._where = where
        self._sorted: list[SortKey] | None = None

    def entries(self) -> list[SortKey]:
        if self._sorted is None:
            held: Iterable[Package] = (
                self._packages.values()
                if self._among is None
                else map(self._packages.__getitem__, self._among)
            )
            if self._where is not None:
                held = filter(self._where, held)
            self._sorted = sorted(map(self._key, held))
        return self._sorted

    def add(self, package: Package) -> None:
        if self._sorted is not None and (self._where is None or self._where(package)):
            insort(self._sorted, self._key(package))

    def discard(self, package: Package) -> None:
        if self._sorted is None:
            return
        entry = self._key(package)
        at = bisect_left(self._sorted, entry)
        if at < len(self._sorted) and self._sorted[at] == entry:
            del self._sorted[at]

    def __len__(self) -> int:
        return len(self.entries())

    def page(self, offset: int, limit: int, descending: bool = False) -> list[int]:
        entries = self.entries()
        if descending:
            end = len(entries) - offset
            chosen = entries[max(end - limit, 0) : max(end, 0)][::-1]
        else:
            chosen = entries[offset : offset + limit]
        return [entry[-1] for entry in chosen]


def _by_id(package: Package) -> SortKey:
    return (package.id,)


def _by_name(package: Package) -> SortKey:
    # MySQL's default collation compares case-insensitively; ties keep id order.
    return (package.name.casefold(), package.id)


ORDERS = {"id": _by_id, "name": _by_name}
# name filters whose matches are kept up to date, per family of indexes; each holds up to every id
KEPT_FILTERS = 8


def name_contains(needles: tuple[str, ...]) -> Callable[[Package], bool]:
    """spatie's partial filter: the name contains any of the (casefolded) needles, ignoring
    case as MySQL's default collation does."""
    if len(needles) == 1:  # the usual case, and several times as fast without `any`
        (needle,) = needles
        return lambda package: needle in package.name.casefold()
    return lambda package: any(n in package.name.casefold() for n in needles)
