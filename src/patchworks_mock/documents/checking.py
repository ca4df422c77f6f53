"""Check a fixture document: its schema, then the rules between its records (`rules.RULES`).

Every problem is reported at once, as a (JSON path, reason) pair in document order, so that a
user fixes a file in one pass. A valid document, what most documents are, is cleared by the
fast checks (`jsonschema_rs`, then `rules_hold`); only a document with problems pays for the
slower ones that place and word them (`jsonschema`, then `rule_problems`). Both rule checks are
read off the one table of rules, so they cannot disagree about what a rule is.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from functools import cache, partial
from operator import itemgetter
from typing import Any, cast

import jsonschema
import jsonschema_rs

from patchworks_mock import bundled
from patchworks_mock.documents.rules import (
    RULES,
    UNIQUE_IDS,
    Agrees,
    Each,
    OnePer,
    Reference,
    Rule,
    Via,
    referenced,
)


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


def schema_valid(document: object) -> bool:
    """Whether a document passes the schema alone, its records' references unchecked."""
    return _fast_validator().is_valid(document)


def _json_path(parts: Iterable[str | int]) -> str:
    return "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts)


def problems(document: object) -> list[tuple[str, str]]:
    """Every schema and rule problem of a document, in document order."""
    if schema_valid(document):
        valid = cast(dict[str, Any], document)  # the schema says it is an object
        # Only a document with problems pays for the slower check that places each one.
        return [] if rules_hold(valid) else rule_problems(valid)
    # Only an invalid document pays for the slower validator that words its messages.
    found = [
        (_json_path(e.absolute_path), _shortened(e.message))
        for e in sorted(_validator().iter_errors(document), key=lambda e: list(e.absolute_path))
    ]
    # No schema problem: an object, whose rules may still be broken.
    return found or rule_problems(cast(dict[str, Any], document))


def _shortened(message: str, limit: int = 200) -> str:
    """jsonschema quotes the whole offending value; a line should stay readable."""
    return message if len(message) <= limit else f"{message[: limit - 1]}…"


# -- the fast check: whether every rule holds ---------------------------------------------------


def rules_hold(document: dict) -> bool:
    """Whether `rule_problems` finds nothing, by whole-column set operations on `RULES`.

    About three times faster on a valid document, which is what most documents are. The
    document must be valid against the schema.
    """
    ids: dict[str, set] = {}
    for name in UNIQUE_IDS:
        column = [r["id"] for r in document.get(name, [])]
        ids[name] = set(column)
        if len(ids[name]) != len(column):
            return False
    scopes = list(_scopes(document))
    lookups = _Lookups(document)
    # References first: the other rules look records up through them.
    return all(
        _ids_named(rule, groups) <= ids[rule.collection]
        for rules, groups in scopes
        for rule in rules
        if isinstance(rule, Reference)
    ) and all(
        _holds(rule, rules, groups, lookups)
        for rules, groups in scopes
        for rule in rules
        if isinstance(rule, Agrees | OnePer)
    )


_Scope = tuple[tuple[Rule, ...], list[list[dict]]]


def _scopes(document: dict) -> Iterator[_Scope]:
    """Rules with the groups of items they hold for, the `Each` rules' after the others.

    A collection's records are one group; an `Each` makes one group of each record's list,
    as a `OnePer` among its rules counts within one record's list.
    """
    pending = [(rules, [document.get(name, [])]) for name, rules in RULES.items()]
    for rules, groups in pending:  # grows as it goes
        yield rules, groups
        for rule in rules:
            if isinstance(rule, Each):
                field = rule.field
                lists = [item[field] for group in groups for item in group if field in item]
                pending.append((rule.rules, lists))


def _ids_named(reference: Reference, groups: list[list[dict]]) -> set:
    """The ids that the groups' items name in the reference's field, null left out."""
    field = reference.field
    if not reference.nullable:
        return {item[field] for group in groups for item in group}
    named = {item.get(field) for group in groups for item in group}
    named.discard(None)
    return named


def _holds(
    rule: Agrees | OnePer, rules: tuple[Rule, ...], groups: list[list[dict]], lookups: _Lookups
) -> bool:
    """Whether the rule holds for every item of the groups, whose references are whole."""
    if isinstance(rule, Agrees):
        other = lookups.column(referenced(rules, rule.reference), rule.field)
        placed = [item for g in groups for item in g if item.get(rule.reference) is not None]
        named = map(other.__getitem__, map(itemgetter(rule.reference), placed))
        return list(named) == [item[rule.field] for item in placed]
    keys = _keys(rule.key, rules, lookups)
    if rule.when is not None:
        name, value = rule.when
        groups = [[item for item in group if item[name] == value] for group in groups]
    return all(len(set(keys(group))) == len(group) for group in groups)


class _Lookups:
    """`{id: record[field]}` for a collection's records, made once per collection and field."""

    def __init__(self, document: dict) -> None:
        self.document = document
        self.made: dict[tuple[str, str], dict] = {}

    def column(self, collection: str, field: str) -> dict:
        if (collection, field) not in self.made:
            records = self.document.get(collection, [])
            self.made[collection, field] = {r["id"]: r[field] for r in records}
        return self.made[collection, field]


def _keys(
    key: tuple[str | Via, ...], rules: tuple[Rule, ...], lookups: _Lookups
) -> Callable[[list[dict]], Iterable]:
    """A function that gives the `key` of each item of a group, in C loops (`map`, `zip`)."""
    columns = []
    for part in key:
        if isinstance(part, Via):
            collection = referenced(rules, part.reference, nullable=False)
            other = lookups.column(collection, part.field).__getitem__
            columns.append(partial(_through, other, itemgetter(part.reference)))
        else:
            columns.append(partial(map, itemgetter(part)))
    if len(columns) == 1:
        return columns[0]
    return lambda items: zip(*(column(items) for column in columns), strict=True)


def _through(other: Callable, reference: Callable, items: list[dict]) -> Iterator:
    return map(other, map(reference, items))


# -- the slow check: every problem, placed and worded ---------------------------------------------


def rule_problems(document: dict) -> list[tuple[str, str]]:
    """Every problem with unique ids and `RULES`, placed and worded, in document order.

    The document must be valid against the schema.
    """
    found: list[tuple[str, str]] = []
    records: dict[str, dict] = {}
    for name in UNIQUE_IDS:
        listed = document.get(name, [])
        counts = Counter(r["id"] for r in listed)
        for i, record in enumerate(listed):
            if counts[record["id"]] > 1:
                found.append((f"$.{name}[{i}].id", f"duplicate id {record['id']} in {name}"))
        records[name] = {r["id"]: r for r in listed}
    for name, rules in RULES.items():
        _place_problems(rules, document.get(name, []), f"$.{name}", records, found)
    return found


def _place_problems(
    rules: tuple[Rule, ...],
    items: list[dict],
    place: str,
    records: dict[str, dict],
    found: list[tuple[str, str]],
) -> None:
    """Add the problems of `items` (listed at `place`) with `rules` to `found`, item by item."""
    seen: list[dict] = [{} for _ in rules]  # per `OnePer`: the keys counted so far
    for i, item in enumerate(items):
        at = f"{place}[{i}]"
        for rule, keys in zip(rules, seen, strict=True):
            if isinstance(rule, Each):
                field = rule.field
                _place_problems(rule.rules, item.get(field, []), f"{at}.{field}", records, found)
                continue
            if isinstance(rule, Reference):
                field, reason = rule.field, _unnamed(rule, item, records)
            elif isinstance(rule, Agrees):
                field, reason = rule.reference, _disagreement(rule, rules, item, records)
            else:
                field, reason = rule.place, _repeated(rule, rules, item, records, keys)
            if reason is not None:
                found.append((f"{at}.{field}", reason))


def _unnamed(rule: Reference, item: dict, records: dict[str, dict]) -> str | None:
    """Why the item's reference names no record, or None."""
    value = item.get(rule.field) if rule.nullable else item[rule.field]
    if (value is None and rule.nullable) or value in records[rule.collection]:
        return None
    return f"no record with id {value} in {rule.collection}"


def _disagreement(
    rule: Agrees, rules: tuple[Rule, ...], item: dict, records: dict[str, dict]
) -> str | None:
    """Why the item disagrees with the record it names, or None (also when it names none)."""
    other = records[referenced(rules, rule.reference)].get(item.get(rule.reference))
    if other is None or other[rule.field] == item[rule.field]:
        return None
    return rule.reason.format(id=other["id"])


def _repeated(
    rule: OnePer, rules: tuple[Rule, ...], item: dict, records: dict[str, dict], keys: dict
) -> str | None:
    """Why the item repeats a key of `keys`, the items' before it; else None, its key counted."""
    if rule.when is not None and item[rule.when[0]] != rule.when[1]:
        return None
    values = []
    named = None  # the record that the key's first `Via` goes through
    for part in rule.key:
        if isinstance(part, Via):
            collection = referenced(rules, part.reference, nullable=False)
            other = records[collection].get(item[part.reference])
            if other is None:  # a broken reference, which its `Reference` reports
                return None
            values.append(other[part.field])
            named = other if named is None else named
        else:
            values.append(item[part])
    key = tuple(values)
    if key not in keys:
        keys[key] = named
        return None
    if rule.again is not None and named is not None and keys[key] is named:
        return rule.again.format(id=named["id"])
    return rule.reason.format(*key)


def check(document: object, source: str = "<document>") -> None:
    """Raise `FixtureError` with every problem of the document, if it has any."""
    found = problems(document)
    if found:
        raise FixtureError(source, found)
