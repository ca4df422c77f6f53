"""The rules a fixture document's records keep beyond its schema, as one table.

Ids are unique in every collection (`UNIQUE_IDS`). `RULES` then says, per collection, what each
record keeps, in the order that problems are reported: which `*_id` fields name a record of
another collection (and whether they may be null), and the domain rules that the store keeps
too. `checking` derives both of its checks from this table: a fast one that only says whether
every rule holds, by whole-column set operations, and a slow one that places and words each
problem.

Four kinds of rule:

- `Reference(field, collection)`: the record's `field` is the id of a record of `collection`;
  with `nullable`, it may also be null (or left out).
- `OnePer(key, ...)`: at most one record per `key` (a tuple of fields, or `Via` fields of the
  record a reference names), counting only the records whose `when` field has that value; each
  later one is a problem at its `place` field.
- `Agrees(field, reference)`: the record's `field` equals that of the record `reference` names,
  where it names one.
- `Each(field, rules)`: the `rules` hold for every item of the record's list `field`; a `OnePer`
  among them counts within one record's list.

A `Via` or `Agrees` goes through a `Reference` among the same rules (`referenced`), which says
what it names; a `Via` through one that is not null.
"""

from __future__ import annotations

from dataclasses import dataclass

from patchworks_mock.records import COLLECTIONS, DEPLOYED

UNIQUE_IDS = COLLECTIONS
"""Collections whose ids are unique: all. Checked first, as the rules look records up by id."""


@dataclass(frozen=True)
class Via:
    """The `field` of the record that the record's `reference` names."""

    reference: str
    field: str


@dataclass(frozen=True)
class Reference:
    """`field` is the id of a record of `collection` (or null, when `nullable`)."""

    field: str
    collection: str
    nullable: bool = False


@dataclass(frozen=True)
class OnePer:
    """At most one record per `key` (of those whose `when` field has its value, if given).

    A later record is reported at `place` with `reason`, formatted with its key's values. When
    the earlier one came to the same key through the very record the later one names (by the
    key's first `Via`), `again` is the reason instead, formatted with that record's `id`.
    """

    key: tuple[str | Via, ...]
    place: str
    reason: str
    when: tuple[str, object] | None = None
    again: str | None = None


@dataclass(frozen=True)
class Agrees:
    """`field` equals the `field` of the record `reference` names; `reason` gets its `id`."""

    field: str
    reference: str
    reason: str


@dataclass(frozen=True)
class Each:
    """The `rules` hold for every item of the record's list `field`."""

    field: str
    rules: tuple[Rule, ...]


Rule = Reference | OnePer | Agrees | Each

RULES: dict[str, tuple[Rule, ...]] = {
    "flow_versions": (
        Reference("flow_id", "flows"),
        OnePer(("flow_id", "iteration"), "iteration", "flow {0} has iteration {1} twice"),
    ),
    "packages": (
        Reference("created_by_id", "users", nullable=True),
        Each(
            "flow_versions",
            (
                Reference("flow_version_id", "flow_versions"),
                OnePer(
                    (Via("flow_version_id", "flow_id"),),
                    "flow_version_id",
                    "the package already has a version of flow {0}",
                    again="flow version {id} is listed twice",
                ),
            ),
        ),
    ),
    "deployments": (
        Reference("package_id", "packages"),
        Reference("virtual_environment_id", "virtual_environments"),
        Reference("user_id", "users", nullable=True),
    ),
    "flow_version_deployments": (
        Reference("flow_version_id", "flow_versions"),
        Reference("virtual_environment_id", "virtual_environments"),
        Reference("deployment_id", "deployments", nullable=True),
        Reference("deployed_by", "users", nullable=True),
        Agrees("virtual_environment_id", "deployment_id", "deployment {id} went to another VE"),
        OnePer(
            ("virtual_environment_id", Via("flow_version_id", "flow_id")),
            "status",
            "flow {1} already has a deployed version in VE {0}",
            when=("status", DEPLOYED),
        ),
    ),
}


def referenced(rules: tuple[Rule, ...], field: str, *, nullable: bool = True) -> str:
    """The collection that `field` names, by the `Reference` among `rules` that says so.

    Raises `LookupError` if there is none, or (unless `nullable`) if it may be null.
    """
    for rule in rules:
        if isinstance(rule, Reference) and rule.field == field:
            if rule.nullable and not nullable:
                raise LookupError(f"{field} may be null: it cannot give a key")
            return rule.collection
    raise LookupError(f"no Reference says what {field} names")
