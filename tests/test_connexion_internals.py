"""One smoke test per assumption of `connexion_internals.py` (A1..A11): when an upgrade of
Connexion or Starlette breaks one, its test fails and names it."""

import asyncio
import inspect
import re
import subprocess
import sys
from pathlib import Path

import pytest
from connexion.middleware.abstract import ROUTING_CONTEXT
from connexion.middleware.lifespan import LifespanMiddleware
from connexion.middleware.main import ConnexionMiddleware
from connexion.middleware.response_validation import ResponseValidationMiddleware
from connexion.middleware.swagger_ui import SwaggerUIMiddleware
from connexion.security import AbstractSecurityHandler
from connexion.uri_parsing import OpenAPIURIParser
from connexion.validators import JSONRequestBodyValidator, ParameterValidator
from starlette.testclient import TestClient

from patchworks_mock import bundled, connexion_internals
from patchworks_mock.app import create_app
from patchworks_mock.instance import DEVELOPMENT_KEY

UPDATE = "update src/patchworks_mock/connexion_internals.py for this Connexion release"


def test_a1_the_default_stack_lists_the_layers_the_mock_leaves_out():
    layers = ConnexionMiddleware.default_middlewares
    for layer in (LifespanMiddleware, ResponseValidationMiddleware, SwaggerUIMiddleware):
        assert layer in layers, f"A1: {layer.__name__} is no longer a default layer; {UPDATE}"
    quick = connexion_internals.middleware_stack(validate_responses=False)
    assert LifespanMiddleware not in quick and ResponseValidationMiddleware not in quick
    assert ResponseValidationMiddleware in connexion_internals.middleware_stack(True)
    assert len(quick) == len(layers) - 2, f"A1: the stack changed shape; {UPDATE}"


def test_a2_swagger_ui_routes_without_trailing_slash_retries():
    client = TestClient(create_app())
    assert client.get("/openapi.json").status_code == 200
    retried = client.get("/openapi.json/", follow_redirects=False)
    assert retried.status_code == 404, f"A2: Swagger UI's router redirects again; {UPDATE}"
    ui = client.get("/ui", follow_redirects=False)
    assert ui.status_code in (301, 302, 307, 308), f"A2: /ui no longer redirects; {UPDATE}"


def _run(coroutine):
    return asyncio.run(coroutine)


def test_a3_a_body_validator_parses_and_validates_through_the_two_hooks():
    for hook in ("_parse", "_validate"):
        assert hook in vars(JSONRequestBodyValidator) or hasattr(JSONRequestBodyValidator, hook), (
            f"A3: JSONRequestBodyValidator.{hook} is gone; {UPDATE}"
        )
    seen = {}

    def decode(raw, encoding):
        seen["decoded"] = (raw, encoding)
        return {"name": "x"}

    def check(schema, body):
        seen["checked"] = (schema, body)

    validator = connexion_internals.body_validator(decode, check)(
        schema={"type": "object"}, encoding="utf-8", strict_validation=False
    )
    scope = {"type": "http", "headers": [(b"content-length", b"2")]}
    messages = [{"type": "http.request", "body": b"{}", "more_body": False}]

    async def receive():
        return messages.pop(0)

    _run(validator.wrap_receive(receive, scope=scope))
    assert seen == {"decoded": (b"{}", "utf-8"), "checked": ({"type": "object"}, {"name": "x"})}, (
        f"A3: the body hooks were not called as assumed; {UPDATE}"
    )
    assert scope[connexion_internals.BODY_SCOPE_KEY] == {"name": "x"}


def test_a4_a_parameter_validator_reads_typed_parameters():
    parameters = [
        {"name": "page", "in": "query", "schema": {"type": "integer"}},
        {"name": "package", "in": "path", "required": True, "schema": {"type": "string"}},
    ]
    checked = {}

    def check_query(query_parameters, typed_query, sent):
        checked["query"] = ([p["name"] for p in query_parameters], typed_query)
        checked["sent"] = dict(sent)

    validator_class = connexion_internals.parameter_validator(check_query)
    assert issubclass(validator_class, ParameterValidator)
    validator = validator_class(parameters, uri_parser=OpenAPIURIParser(parameters, {}))
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/packages/7",
        "query_string": b"page=2&other=x",
        "headers": [],
        "path_params": {"package": "7"},
    }
    validator.validate(scope)
    assert checked["query"] == (["page"], {"page": 2, "other": ["x"]}), (
        f"A4: the query is no longer typed as assumed; {UPDATE}"
    )
    assert checked["sent"] == {"page": "2", "other": "x"}, f"A4: the query as sent; {UPDATE}"
    params = connexion_internals.params_of(scope)
    assert params.path == {"package": "7"} and params.query["other"] == "x"


def test_a5_the_uri_parser_rebuilds_its_schema_table_on_every_access():
    attribute = inspect.getattr_static(OpenAPIURIParser, "param_schemas", None)
    assert isinstance(attribute, property), f"A5: param_schemas is not a property; {UPDATE}"
    parser = connexion_internals.URIParser([{"name": "a", "in": "query", "schema": {}}], {})
    assert parser.param_schemas is parser.param_schemas


def test_a6_a_routed_request_reaches_its_handler_with_the_user_of_its_credentials():
    assert ROUTING_CONTEXT == "connexion_routing", f"A6: the routing context moved; {UPDATE}"
    client = TestClient(create_app(), headers={"Authorization": DEVELOPMENT_KEY})
    created = client.post("/api/v1/packages", json={"name": "Smoke"})
    assert created.status_code == 201, f"A6: routing or dispatch broke; {UPDATE}"
    assert created.json()["data"]["created_by_id"] == 1, f"A6: context['user'] is gone; {UPDATE}"
    assert client.get("/api/v1/packages?per_page=1").json()["meta"]["per_page"] == 1


def test_a7_security_handlers_call_the_info_function_through_generic_check():
    assert "_generic_check" in vars(AbstractSecurityHandler), (
        f"A7: AbstractSecurityHandler._generic_check is gone; {UPDATE}"
    )
    handlers = connexion_internals.security_map()
    assert set(handlers) == {"apiKey", "bearer"}
    check = handlers["apiKey"]()._generic_check(lambda key, request: {"sub": key}, "no")
    assert _run(check("request", "k1")) == {"sub": "k1"}
    refused = handlers["apiKey"]()._generic_check(lambda key, request: None, "no")
    with pytest.raises(Exception) as raised:
        _run(refused("request", "k1"))
    assert getattr(raised.value, "status_code", None) == 401, f"A7: no 401; {UPDATE}"
    client = TestClient(create_app())
    assert client.get("/api/v1/packages", headers={"Authorization": "nope"}).status_code == 401


def test_a8_the_request_schema_validator_knows_openapi_nullable():
    validator = connexion_internals.request_schema_validator({"type": "string", "nullable": True})
    assert validator.is_valid(None), f"A8: Draft4RequestValidator ignores nullable; {UPDATE}"
    assert not validator.is_valid(1)


# The modules a user or Connexion may import first: the app, and what the specs resolve to.
ENTRY_MODULES = ["app", "handlers", "admin", "dispatch", "validation", "auth"]


@pytest.mark.parametrize("module", ENTRY_MODULES)
def test_a9_importing_a_module_changes_no_warning_filter_and_prints_no_notice(module):
    script = (
        "import warnings; before = list(warnings.filters);"
        f"import patchworks_mock.{module};"
        "assert warnings.filters == before, 'the warning filters changed'"
    )
    result = subprocess.run(
        [sys.executable, "-W", "default::UserWarning", "-c", script],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "starlette.testclient" not in result.stderr, f"A9: a notice is printed; {UPDATE}"


def test_a9_connexion_still_gives_its_notices_on_import_and_only_there():
    # Without the quiet import, connexion's import gives its dependencies' notices: if it no
    # longer does, A9's filters are dead and should go; if it warns elsewhere, A9 must follow.
    bare = subprocess.run(
        [sys.executable, "-W", "always", "-c", "import connexion"],
        capture_output=True,
        text=True,
        check=False,
    )
    notices = re.findall(r"^(\S+):\d+: (\w+Warning)", bare.stderr, re.M)
    assert notices, f"A9: importing connexion gives no notice any more; {UPDATE}"
    places = {(Path(path).parent.name, Path(path).name, kind) for path, kind in notices}
    expected = {
        ("apps", "abstract.py", "StarletteDeprecationWarning"),  # httpx in starlette.testclient
        ("connexion", "json_schema.py", "DeprecationWarning"),  # RefResolver, RefResolutionError
    }
    assert places == expected, f"A9: connexion's import warns elsewhere now: {places}; {UPDATE}"
    # Through the quiet import, nothing warns: not the import, the app, nor a request.
    script = (
        "from patchworks_mock.app import create_app;"
        "from starlette.testclient import TestClient;"  # imported by connexion, quietly
        "answer = TestClient(create_app()).get("
        "'/api/v1/packages', headers={'Authorization': 'patchworks-mock-key'});"
        "assert answer.status_code == 200, answer.status_code"
    )
    quiet = subprocess.run(
        [sys.executable, "-W", "error", "-c", script], capture_output=True, text=True, check=False
    )
    assert quiet.returncode == 0 and not quiet.stderr, f"A9: {quiet.stderr}; {UPDATE}"


def test_a9_only_the_app_and_the_internals_import_connexion_at_module_level():
    # Any other module would import connexion before connexion_internals could quiet it.
    package = Path(connexion_internals.__file__).parent
    importers = {
        str(path.relative_to(package))
        for path in package.rglob("*.py")
        if re.search(r"^(from|import) connexion\b", path.read_text(encoding="utf-8"), re.M)
    }
    assert importers == {"app.py", "connexion_internals.py"}


def test_a10_routing_routes_the_decoded_path_and_passes_unknown_ones_on():
    from connexion.middleware.routing import RoutingMiddleware

    assert RoutingMiddleware in ConnexionMiddleware.default_middlewares, f"A10: {UPDATE}"
    stack = connexion_internals.middleware_stack(validate_responses=False)
    assert RoutingMiddleware not in stack and any(
        issubclass(layer, RoutingMiddleware) for layer in stack
    ), f"A10: the routing layer is not replaced; {UPDATE}"
    client = TestClient(create_app(), headers={"Authorization": DEVELOPMENT_KEY})
    # Starlette routes the decoded path: an encoded slash in a segment would name package 1
    assert client.get("/api/v1/packages/1%2F", follow_redirects=False).status_code == 404
    unknown = client.get("/api/v1/nothing-here")
    assert unknown.status_code == 404, f"A10: unknown paths are no longer passed on; {UPDATE}"
    assert client.get("/api/v1/packages/1").status_code == 200


def test_a11_connexion_serves_the_ui_one_server_of_its_base_path_which_the_mock_names():
    from connexion.middleware.swagger_ui import SwaggerUIAPI, SwaggerUIMiddleware
    from connexion.resolver import Resolver

    assert list(inspect.signature(SwaggerUIMiddleware.add_api).parameters)[:4] == [
        "self",
        "specification",
        "base_path",
        "arguments",
    ], f"A11: SwaggerUIMiddleware.add_api takes other arguments; {UPDATE}"
    assert "_spec_for_prefix" in vars(SwaggerUIAPI), (
        f"A11: no SwaggerUIAPI._spec_for_prefix; {UPDATE}"
    )
    bare = ConnexionMiddleware(__name__, specification_dir=str(bundled.SPEC_DIR))
    bare.add_api(bundled.PACKAGES_SPEC.name, resolver=Resolver(lambda _: lambda: None))
    servers = TestClient(bare).get("/openapi.json").json()["servers"]
    assert servers == [{"url": ""}], f"A11: Connexion serves other servers now: {servers}; {UPDATE}"
    client = TestClient(create_app(), base_url="http://mock.test:8123")
    for spec, url in [
        ("/openapi.json", "http://mock.test:8123"),
        ("/__mock__/openapi.json", "http://mock.test:8123/__mock__"),
    ]:
        served = client.get(spec).json()["servers"]
        assert served == [{"url": url, "description": "this mock"}], f"A11: {served}; {UPDATE}"
    assert "/openapi.json" in client.get("/ui/").text  # the UI reads its servers from there
