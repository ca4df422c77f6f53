"""Every use of Connexion's and Starlette's internals, in one place, with what each assumes.

The mock runs on Connexion's middleware (routing, security, request validation, Swagger UI) but
answers in Laravel's words, and skips per-request work Connexion repeats. Both take hooks that
no public API offers. Each is listed below with what it assumes of the pinned versions
(connexion 3.3.x on starlette 1.x); `tests/test_connexion_internals.py` has a smoke test for
each, which fails naming the assumption when an upgrade breaks it. The rest of the package uses
only Connexion's public API (`ConnexionMiddleware`, `add_api`, `add_middleware`,
`add_error_handler`, `Resolver`, `SwaggerUIOptions`, `ConnexionRequest`/`ConnexionResponse`).

A1. Middleware stack: `ConnexionMiddleware.default_middlewares` lists its layer classes in
    order. `LifespanMiddleware` is left out (`dispatch.Dispatch` answers lifespan events
    itself), and so is `ResponseValidationMiddleware` unless responses are validated: both
    only cost time here.
A2. Swagger UI: `SwaggerUIMiddleware.router` is a Starlette `Router` whose `routes` are one
    `Mount` per API, each with an inner router (`mount.app`). With `redirect_slashes` on, every
    API request, which matches none of them, is matched a second time with a slash added or
    removed; it is turned off on all of them (`/ui` to `/ui/` is a route of its own).
A3. Request bodies: a `JSONRequestBodyValidator` subclass overrides `_parse(stream, scope)`
    (read and decode the body) and `_validate(body)` (check it), reading `self._schema` and
    `self._encoding`; the constructor takes `required` and `nullable` keywords, and with
    `MUTABLE_VALIDATION = False` the original bytes stay on the receive channel.
A4. Parameters: a `ParameterValidator` subclass overrides `validate(scope)`, reads
    `self.parameters["query"]` (the operation's query parameters, resolved) and
    `self.uri_parser`, and may call `self.validate_request(request)` (Connexion's own check);
    `ConnexionRequest.from_starlette_request(request, uri_parser=...)` gives `query_params` and
    `path_params` typed as the spec says.
A5. `OpenAPIURIParser.param_schemas` is a plain property, rebuilt on every access (once per
    parameter read); one parser serves one request, so it is cached per parser.
A6. Routing: `scope["extensions"][ROUTING_CONTEXT]` holds the routed operation's
    `api_base_path` and `operation_id`; while a request is handled, `connexion.context.operation`
    is that operation (`function`, `parameters`, `request_body`) and `context["user"]` the `sub`
    of the security handler's info.
A7. Security: `AbstractSecurityHandler._generic_check(func, exception_msg)` turns an info
    function into the `async (request, *args, required_scopes=None)` check the security
    middleware awaits; it raises `OAuthResponseProblem` (401) when the info is None. It is
    overridden so that Connexion does not inspect the info function's signature on every
    request: the mock's info functions all take `(credential, request)`.
A8. `connexion.json_schema.Draft4RequestValidator` is jsonschema's Draft 4 validator as Connexion
    validates requests with it (`nullable`, `x-nullable`, defaults): the mock's validators word
    their refusals from its errors, so that they refuse exactly what Connexion would.
A9. Importing connexion is where all its dependencies' notices are given: `starlette.testclient`
    warns about httpx, and `connexion.json_schema` takes jsonschema's deprecated `RefResolver`
    and `RefResolutionError` at module level (three DeprecationWarnings, jsonschema >= 4.18).
    Nothing Connexion does later (adding the APIs, serving) warns. Both are silenced for that
    import only, and nobody else's warning filters change, so a user's test run with `-W error`
    passes and shows none of them.
A10. Routing: `RoutingMiddleware.__call__` routes with its Starlette router on the decoded
    `scope["path"]`, which redirects a path with a final slash to the path without it, and
    passes a path no route matches to the next layer unrouted, with `operation_id` None in
    its routing context (A6); the mock answers it 404. A path sent with an encoded slash
    (`%2F`) is passed on the same way: `/packages/1%2F` or
    `/packages/1%2Fcompare%2F2` must not name package 1 (a route's parameter has no slash).
A11. Swagger UI's spec: `SwaggerUIMiddleware.add_api(specification, base_path=None,
    arguments=None, **kwargs)` makes a `SwaggerUIAPI` (same arguments, and `default`) and mounts
    its `router` at its `base_path`; the API serves `_spec_for_prefix(request)` as
    `openapi.json` (and `.yaml`), a copy of the spec whose `servers` Connexion replaced with the
    one base path it is mounted at (`[{"url": ""}]` for the Packages API, an empty entry in the
    UI's server list). The mock names itself there instead: its URL as the request reached it,
    with the base path.
"""

from __future__ import annotations

import typing as t
import warnings
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import cached_property

with warnings.catch_warnings():  # A9
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"connexion\.json_schema")
    import connexion  # noqa: F401  (imported here first, under the filter above)

from connexion.context import context, operation
from connexion.datastructures import MediaTypeDict
from connexion.exceptions import OAuthResponseProblem
from connexion.json_schema import Draft4RequestValidator
from connexion.lifecycle import ConnexionRequest
from connexion.middleware.abstract import ROUTING_CONTEXT
from connexion.middleware.lifespan import LifespanMiddleware
from connexion.middleware.main import ConnexionMiddleware
from connexion.middleware.response_validation import ResponseValidationMiddleware
from connexion.middleware.routing import RoutingMiddleware
from connexion.middleware.swagger_ui import SwaggerUIAPI, SwaggerUIMiddleware
from connexion.security import ApiKeySecurityHandler, BearerSecurityHandler
from connexion.uri_parsing import OpenAPIURIParser
from connexion.validators import JSONRequestBodyValidator, ParameterValidator
from jsonschema import Draft4Validator
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = [
    "BODY_SCOPE_KEY",
    "PARAMS_SCOPE_KEY",
    "Operation",
    "Params",
    "URIParser",
    "authenticated_user",
    "body_of",
    "body_validator",
    "current_operation",
    "middleware_stack",
    "parameter_validator",
    "params_of",
    "request_schema_validator",
    "routed_operation",
    "security_map",
    "was_checked",
]

# Where the validators leave what they read for the handler, so it is not read twice.
PARAMS_SCOPE_KEY = "patchworks_mock.params"
BODY_SCOPE_KEY = "patchworks_mock.body"


# -- A1, A2, A11: the middleware stack -------------------------------------------------------------


SERVER_DESCRIPTION = "this mock"


class _SwaggerUIAPI(SwaggerUIAPI):  # type: ignore[misc]  # connexion is untyped
    """One API's spec and UI, its spec naming the mock as its one server (A11)."""

    def _spec_for_prefix(self, request: Request) -> dict[str, t.Any]:
        spec: dict[str, t.Any] = super()._spec_for_prefix(request)
        origin = f"{request.url.scheme}://{request.url.netloc}"
        base_path = spec["servers"][0]["url"]
        return {**spec, "servers": [{"url": origin + base_path, "description": SERVER_DESCRIPTION}]}


class _SwaggerUI(SwaggerUIMiddleware):  # type: ignore[misc]  # connexion is untyped
    """Connexion's Swagger UI without Starlette's trailing-slash retry (A2), serving specs that
    name the mock as their server (A11)."""

    def __init__(self, app: ASGIApp) -> None:
        super().__init__(app)
        self.router.redirect_slashes = False

    def add_api(
        self,
        specification: t.Any,
        base_path: str | None = None,
        arguments: dict[str, t.Any] | None = None,
        **kwargs: t.Any,
    ) -> None:
        api = _SwaggerUIAPI(
            specification,
            base_path=base_path,
            arguments=arguments,
            default=self.default_fn,
            **kwargs,
        )
        api.router.redirect_slashes = False  # its spec and UI routes
        self.router.mount(api.base_path, app=api.router)


class _Routing(RoutingMiddleware):  # type: ignore[misc]  # connexion is untyped
    """Connexion's routing, which leaves a path with an encoded slash unrouted (A10)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        raw_path = scope.get("raw_path", b"")
        if scope["type"] == "http" and (b"%2f" in raw_path or b"%2F" in raw_path):
            unrouted = {"api_base_path": "", "operation_id": None}  # as for an unknown path
            extensions = {**scope.get("extensions", {}), ROUTING_CONTEXT: unrouted}
            # Laravel's 404 quotes the path as sent (Request::path() is not decoded).
            path = raw_path.decode("latin-1")
            await self.app({**scope, "path": path, "extensions": extensions}, receive, send)
            return
        await super().__call__(scope, receive, send)


_REPLACED = {SwaggerUIMiddleware: _SwaggerUI, RoutingMiddleware: _Routing}


def middleware_stack(validate_responses: bool) -> list[type]:
    """Connexion's default stack, in its order, without the idle layers (A1, A2, A10, A11)."""
    idle = {LifespanMiddleware, *(() if validate_responses else (ResponseValidationMiddleware,))}
    return [
        _REPLACED.get(layer, layer)
        for layer in ConnexionMiddleware.default_middlewares
        if layer not in idle
    ]


# -- A3, A4, A5, A8: validators ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Params:
    """The parameters of a request as the parameter validator read them."""

    typed_query: dict[str, t.Any]  # as the spec types them; names it does not know as lists
    path: dict[str, t.Any]  # as the spec types them
    query: QueryParams  # as sent, for `filter[...]` and the like


def was_checked(scope: Scope) -> bool:
    """Whether Connexion's request validation took this request as its route's."""
    return PARAMS_SCOPE_KEY in scope


def params_of(scope: Scope) -> Params:
    return t.cast(Params, scope[PARAMS_SCOPE_KEY])


def body_of(scope: Scope, missing: Callable[[], Exception]) -> t.Any:
    """The body the body validator decoded and checked; `missing()` is raised when no
    validator read one (a media type none is registered for), so it is refused, not ignored."""
    if BODY_SCOPE_KEY not in scope:
        raise missing()
    return scope[BODY_SCOPE_KEY]


def request_schema_validator(schema: dict[str, t.Any]) -> Draft4Validator:
    """jsonschema's validator for a request schema, as Connexion validates requests (A8)."""
    return Draft4RequestValidator(schema, format_checker=Draft4Validator.FORMAT_CHECKER)


Decode = Callable[[bytes, str], t.Any]  # (the body's bytes, their charset) -> decoded body
# (the body's schema, the decoded body) -> None; raises
CheckBody = Callable[[dict[str, t.Any], t.Any], None]


def body_validator(decode: Decode, check: CheckBody) -> type:
    """A Connexion body-validator class that decodes with `decode`, checks with `check` and
    leaves the decoded body for `body_of` (A3). A missing body is handed to `decode` as b""
    (Connexion would refuse it when the spec requires one)."""

    class BodyValidator(JSONRequestBodyValidator):  # type: ignore[misc]  # connexion is untyped
        MUTABLE_VALIDATION = False

        def __init__(self, **kwargs: t.Any) -> None:
            super().__init__(**{**kwargs, "required": False, "nullable": False})

        async def _parse(self, stream: t.AsyncGenerator[bytes, None], scope: Scope) -> t.Any:
            raw = b"".join([chunk async for chunk in stream])
            scope[BODY_SCOPE_KEY] = body = decode(raw, self._encoding)
            return body

        def _validate(self, body: t.Any) -> None:
            check(self._schema, body)

    return BodyValidator


# (the operation's query parameters from the spec, the query as typed, the query as sent)
# -> None; raises. Connexion types integers with int(), which also reads "1_0", "٣" and "01".
CheckQuery = Callable[[list[dict[str, t.Any]], dict[str, t.Any], QueryParams], None]


def parameter_validator(check_query: CheckQuery | None = None) -> type:
    """A Connexion parameter-validator class that checks with `check_query` (None: Connexion's
    own check) and then leaves the parameters it read for `params_of` (A4)."""

    class Parameters(ParameterValidator):  # type: ignore[misc]  # connexion is untyped
        def validate(self, scope: Scope) -> None:
            request = Request(scope)
            read = ConnexionRequest.from_starlette_request(request, uri_parser=self.uri_parser)
            if check_query is None:
                self.validate_request(read)
            else:
                check_query(
                    self.parameters.get("query", []), read.query_params, request.query_params
                )
            scope[PARAMS_SCOPE_KEY] = Params(
                read.query_params, read.path_params, request.query_params
            )

    return Parameters


def validator_map(parameters: type, body: type) -> dict[str, t.Any]:
    """Connexion's `validator_map` for an API: `parameters` checks its parameters, `body` its
    JSON bodies, whatever the `*/*json` media type."""
    return {"parameter": parameters, "body": MediaTypeDict({"*/*json": body})}


class URIParser(OpenAPIURIParser):  # type: ignore[misc]  # connexion is untyped
    """Connexion's parser of path and query parameters, with its table of their schemas built
    once per request instead of once per parameter read (A5)."""

    @cached_property
    def param_schemas(self) -> dict[str, dict[str, t.Any]]:
        return t.cast(dict[str, dict[str, t.Any]], super().param_schemas)


# -- A6: the routed operation ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Operation:
    """What the dispatcher needs of one operation, read from the spec once."""

    function: Callable[..., Awaitable[t.Any]]  # the handler the resolver found
    query_defaults: dict[str, t.Any]  # every query parameter of the spec, with its default
    has_body: bool


def routed_operation(scope: Scope) -> tuple[str, str]:
    """(API base path, operation id) of the operation Connexion routed this request to."""
    routed = scope["extensions"][ROUTING_CONTEXT]
    return routed["api_base_path"], routed["operation_id"]


def current_operation() -> Operation:
    """The operation being served, as Connexion resolved it."""
    return Operation(
        function=operation.function,
        query_defaults={
            p["name"]: p.get("schema", {}).get("default")
            for p in operation.parameters
            if p["in"] == "query"
        },
        has_body=bool(operation.request_body),
    )


def authenticated_user() -> t.Any:
    """The `sub` of the info the security handler accepted for this request."""
    return context.get("user")


# -- A7: security handlers -----------------------------------------------------------------------

# (the credential, the request) -> the info, or None to refuse
InfoFunction = Callable[..., "dict[str, t.Any] | None"]


class _InfoCheck:
    """Connexion's check around an info function, without reading its signature per request."""

    def _generic_check(
        self, func: InfoFunction, exception_msg: str
    ) -> Callable[..., Awaitable[dict[str, t.Any]]]:
        async def check(
            request: ConnexionRequest, *args: t.Any, required_scopes: t.Any = None
        ) -> dict[str, t.Any]:
            info = func(*args, request)
            if info is None:
                raise OAuthResponseProblem(detail=exception_msg)
            return info

        return check


class _ApiKeyHandler(_InfoCheck, ApiKeySecurityHandler):  # type: ignore[misc]  # connexion is untyped
    pass


class _BearerHandler(_InfoCheck, BearerSecurityHandler):  # type: ignore[misc]  # connexion is untyped
    pass


def security_map() -> dict[str, type]:
    """Connexion's `security_map` for the scheme types the specs use (A7)."""
    return {"apiKey": _ApiKeyHandler, "bearer": _BearerHandler}
