"""The spec files are valid OpenAPI and agree with the code that serves them."""

import re

import pytest
import yaml
from openapi_spec_validator import validate
from openapi_spec_validator.readers import read_from_filename

from patchworks_mock import admin, bundled, dispatch, handlers, query

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
            resolver = dispatch.handler_resolver(module)
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


def _pattern(name: str) -> re.Pattern:
    spec = _load(bundled.PACKAGES_SPEC)
    return re.compile(spec["components"]["parameters"][name]["schema"]["pattern"])


def test_include_pattern_accepts_exactly_the_allowed_includes():
    pattern = _pattern("Include")
    for name in query.ALLOWED_INCLUDES:
        assert pattern.search(name), name
    assert pattern.search(",".join(query.ALLOWED_INCLUDES))
    for name in ["", "flowversions", "createdBy,", "user", "deployments.virtualEnvironment.x"]:
        assert not pattern.search(name), name


def test_sort_pattern_accepts_exactly_the_allowed_sorts():
    pattern = _pattern("Sort")
    for name in query.ALLOWED_SORTS:
        assert pattern.search(name) and pattern.search(f"-{name}")
    for name in ["", "id", "-", "name,", "Name"]:
        assert not pattern.search(name), name


def test_create_documents_201_with_location_and_links():
    create = _load(bundled.PACKAGES_SPEC)["paths"]["/api/v1/packages"]["post"]
    created = create["responses"]["201"]
    assert created["headers"]["Location"]["required"] is True
    assert {"GetPackage", "DeletePackage", "DeployPackage"} <= set(created["links"])
