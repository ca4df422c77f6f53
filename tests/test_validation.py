"""The quick schema check never changes what the spec's validator decides."""

import json

import pytest
from connexion.spec import Specification
from hypothesis import given
from hypothesis import strategies as st

from patchworks_mock import bundled, validation
from tests.support import deterministic


def _request_schemas() -> dict[str, dict]:
    """Every distinct parameter and body schema of both specs, resolved as Connexion reads
    them, named by the first place that uses it."""
    by_content: dict[str, tuple[str, dict]] = {}
    for spec_path in (bundled.PACKAGES_SPEC, bundled.ADMIN_SPEC):
        spec = Specification.load(spec_path)
        for path, item in spec["paths"].items():
            for method, operation in item.items():
                if not isinstance(operation, dict) or "responses" not in operation:
                    continue
                used = [(p["name"], p["schema"]) for p in operation.get("parameters", [])]
                content = operation.get("requestBody", {}).get("content", {})
                used += [(media_type, c["schema"]) for media_type, c in content.items()]
                for name, schema in used:
                    key = json.dumps(schema, sort_keys=True)
                    by_content.setdefault(key, (f"{method} {path} {name}", schema))
    return dict(by_content.values())


SCHEMAS = _request_schemas()

_edge_texts = st.one_of(
    st.text(),
    st.sampled_from(["", " ", "\t", "\x00", "\x0b", "\xa0", "\ud800", "a\udfff", "-name", "name,"]),
    st.builds(lambda c, n: c * n, st.sampled_from(["a", "é", "😀", " "]), st.integers(250, 260)),
)
_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-2, 102),
    st.integers(),
    st.sampled_from([2**63, 2**64, -(2**63) - 1, 10**30]),
    st.floats(),
    st.sampled_from([1.0, 50.0, 100.5]),
    _edge_texts,
)


def _values(schema: dict) -> st.SearchStrategy:
    names = st.sampled_from([*schema.get("properties", {}), "other"])
    return st.recursive(
        _scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(names, inner)
    )


@pytest.mark.parametrize("where", SCHEMAS)
def test_the_quick_check_agrees_with_the_specs_validator(where):
    schema = SCHEMAS[where]
    checker = validation.checker_for(schema)

    @deterministic(200)
    @given(_values(schema))
    def agree(value):
        quick = next(checker.iter_errors(value), None) is None
        exact = next(checker.exact.iter_errors(value), None) is None
        assert quick == exact, value

    agree()


def test_a_schema_jsonschema_rs_cannot_compile_is_checked_by_jsonschema_alone():
    checker = validation.checker_for({"type": "string", "pattern": "(?i)^k$"})  # Python's flag
    assert checker.quick is None
    assert next(checker.iter_errors("K"), None) is None
    assert next(checker.iter_errors("x"), None).validator == "pattern"
