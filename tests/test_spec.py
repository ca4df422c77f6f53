"""The spec files are valid OpenAPI and agree with the code that serves them."""

import pytest
import yaml
from openapi_spec_validator import validate
from openapi_spec_validator.readers import read_from_filename

from patchworks_mock import admin, bundled, handlers, query
from patchworks_mock.app import handler_resolver

SPECS = {bundled.PACKAGES_SPEC: handlers, bundled.ADMIN_SPEC: admin}


def _load(path):
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.name)
def test_spec_is_valid_openapi(path):
    spec, base_uri = read_from_filename(str(path))
    validate(spec, base_uri=base_uri)


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.name)
def test_every_operation_has_an_async_handler(path):
    import inspect

    module = SPECS[path]
    for item in _load(path)["paths"].values():
        for method, operation in item.items():
            if method == "parameters":
                continue
            resolver = handler_resolver(module)
            handler = resolver.function_resolver(operation["operationId"])
            assert inspect.iscoroutinefunction(handler), operation["operationId"]


def test_the_vendors_eleven_operations_are_there():
    spec = _load(bundled.PACKAGES_SPEC)
    operations = {
        (method.upper(), path)
        for path, item in spec["paths"].items()
        for method in item
        if method != "parameters" and path.startswith("/api/v1/")
    }
    assert len(operations) == 11


def test_the_allowed_includes_and_sorts_are_the_specs_enums():
    parameters = _load(bundled.PACKAGES_SPEC)["components"]["parameters"]
    assert parameters["Include"]["schema"]["items"]["enum"] == query.ALLOWED_INCLUDES
    assert query.ALLOWED_SORTS == ["name"]
    assert query.ALLOWED_FILTERS == ["name"]  # from the spec's `filter[name]` parameter
    assert parameters["Sort"]["schema"]["items"]["enum"] == ["name", "-name"]


def test_every_allowed_include_and_sort_is_accepted_and_nothing_else(client):
    for name in query.ALLOWED_INCLUDES:
        assert client.get(f"/api/v1/packages?include={name}").status_code == 200, name
    assert client.get("/api/v1/packages?include=" + ",".join(query.ALLOWED_INCLUDES)).is_success
    for name in ["", "flowversions", "createdBy,", "user", "deployments.virtualEnvironment.x"]:
        assert client.get(f"/api/v1/packages?include={name}").status_code == 400, name
    for name in ["name", "-name", "name,-name"]:
        assert client.get(f"/api/v1/packages?sort={name}").status_code == 200, name
    for name in ["", "id", "-", "name,", "Name"]:
        assert client.get(f"/api/v1/packages?sort={name}").status_code == 400, name


def test_create_documents_201_with_location_and_links():
    create = _load(bundled.PACKAGES_SPEC)["paths"]["/api/v1/packages"]["post"]
    created = create["responses"]["201"]
    assert created["headers"]["Location"]["required"] is True
    assert {"GetPackage", "DeletePackage", "DeployPackage"} <= set(created["links"])


def _schemas(node):
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _schemas(value)
    elif isinstance(node, list):
        for value in node:
            yield from _schemas(value)


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.name)
def test_nullable_stands_only_beside_a_type(path):
    # OpenAPI 3.0 defines `nullable` only with `type`; linters such as Redocly refuse it alone.
    lonely = [s for s in _schemas(_load(path)) if "nullable" in s and "type" not in s]
    assert lonely == []
