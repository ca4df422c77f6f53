"""spatie/laravel-query-builder's request grammar: `filter[x]`, `sort`, `include`.

The allowed includes and sorts are the spec's (the enums of its `Include` and `Sort`
parameters), and so are the allowed filters (its `filter[...]` parameters).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from starlette.datastructures import QueryParams

from patchworks_mock import errors, spec

ALLOWED_FILTERS = spec.allowed_filters()
ALLOWED_SORTS = [value for value in spec.allowed_values("Sort") if not value.startswith("-")]
ALLOWED_INCLUDES = spec.allowed_values("Include")

_FILTER_KEY = re.compile(r"filter\[([^\]]*)\]")


@dataclass(frozen=True)
class PackageQuery:
    """What a GET on packages asks for, already checked."""

    names: list[str] | None = None
    sort: str = "id"
    descending: bool = False
    includes: dict[str, Any] = field(default_factory=dict)


def include_tree(value: str | None) -> dict[str, Any]:
    """`a.b,c` -> `{"a": {"b": {}}, "c": {}}`; raises the 400 for names not allowed."""
    requested = [name for name in (value or "").split(",")] if value is not None else []
    unknown = [name for name in requested if name not in ALLOWED_INCLUDES]
    if unknown:
        raise errors.QueryNotAllowed(errors.not_allowed("include", unknown, ALLOWED_INCLUDES))
    tree: dict[str, Any] = {}
    for name in requested:
        node = tree
        for part in name.split("."):
            node = node.setdefault(part, {})
    return tree


def sort_order(value: str | None) -> tuple[str, bool]:
    """The first sort field and whether it descends; raises the 400 for fields not allowed."""
    if value is None:
        return "id", False
    requested = value.split(",")
    unknown = [name for name in requested if name.removeprefix("-") not in ALLOWED_SORTS]
    if unknown:
        raise errors.QueryNotAllowed(errors.not_allowed("sort", unknown, ALLOWED_SORTS))
    first = requested[0]
    return first.removeprefix("-"), first.startswith("-")


def name_filter(params: QueryParams) -> list[str] | None:
    """The values of `filter[name]` split on commas; raises the 400 for other filters."""
    unknown = []
    names = None
    for key, value in params.multi_items():
        match = _FILTER_KEY.fullmatch(key)
        if match is None:
            continue
        if match.group(1) not in ALLOWED_FILTERS:
            unknown.append(match.group(1))
        else:
            # spatie ignores empty values: `filter[name]=` or `filter[name]=,` filter nothing.
            names = [part for part in value.split(",") if part] or None
    if unknown:
        raise errors.QueryNotAllowed(errors.not_allowed("filter", unknown, ALLOWED_FILTERS))
    return names


def parse(params: QueryParams) -> PackageQuery:
    sort, descending = sort_order(params.get("sort"))
    return PackageQuery(
        names=name_filter(params),
        sort=sort,
        descending=descending,
        includes=include_tree(params.get("include")),
    )
