"""The app factory: the specs, the handlers, the running instance and Laravel's error answers.

A request passes, outermost first: the size limits and CORS; the mock's own layers
(`middleware.py`: which instance serves it, the request journal, faults); Connexion's layers
(routing, security, validation, Swagger UI; `connexion_internals.py`); and
`dispatch.Dispatch`, which calls the handler (`handlers.py`, `admin.py`). Handlers ask the
store (`store.py`) and render its records (`render.py`); errors are `errors.py`'s, written
by `responses.py`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType
from typing import Any

# First, so that connexion is first imported there, without its dependencies' notices (A9).
from patchworks_mock import connexion_internals  # isort: skip
import connexion
from connexion.exceptions import ProblemException
from connexion.lifecycle import ConnexionRequest, ConnexionResponse
from connexion.middleware import MiddlewarePosition
from connexion.options import SwaggerUIOptions
from connexion.resolver import Resolver
from starlette.exceptions import HTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp

from patchworks_mock import (
    admin,
    bundled,
    dispatch,
    durable,
    errors,
    fixtures,
    handlers,
    middleware,
    request_journal,
    spec,
    validation,
)
from patchworks_mock.faults import FaultSettings
from patchworks_mock.instance import DEVELOPMENT_KEY, Limits, MockInstance
from patchworks_mock.responses import encode

logger = logging.getLogger("patchworks_mock")

# Browser pages served from this machine may call the mock without configuration.
LOCAL_ORIGINS = r"https?://(localhost|127\.0\.0\.1|\[::1\])(:\d+)?"


class MockApp(connexion.ConnexionMiddleware):  # type: ignore[misc]  # connexion is untyped
    """The ASGI app, with the running instance it serves as `state`."""

    state: MockInstance


def _snake_case(operation_id: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", operation_id).lower()


def handler_resolver(module: ModuleType) -> Resolver:
    """Connexion's resolver for the handlers in `module`: operation `getPackage` is the
    function `get_package` of the spec's module (`handlers` or `admin`)."""
    return Resolver(
        function_resolver=lambda operation_id: getattr(module, _snake_case(operation_id))
    )


def _answer(error: errors.ApiError) -> ConnexionResponse:
    return ConnexionResponse(
        status_code=error.status,
        body=encode(error.body()),
        content_type="application/json",
        headers=error.headers,
        is_streamed=False,
    )


def _api_error(request: ConnexionRequest, exc: errors.ApiError) -> ConnexionResponse:
    return _answer(exc)


def _framework_error(request: ConnexionRequest, exc: HTTPException) -> ConnexionResponse:
    """Connexion's and Starlette's own errors (routing, auth, content type), Laravel-shaped."""
    if exc.status_code >= 500:
        logger.error("unexpected %s: %r", exc.status_code, exc)
    path = request.url.path
    detail = getattr(exc, "detail", None) or getattr(exc, "title", None)
    return _answer(
        errors.framework_error(
            exc.status_code,
            request.method,
            path,
            allowed=spec.methods_of(path),
            detail=str(detail) if detail else None,
            headers=dict(exc.headers or {}),
        )
    )


def _server_error(request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
    logger.error(
        "unexpected error on %s %s: %r", request.method, request.url.path, exc, exc_info=exc
    )
    return _answer(errors.framework_error(500, request.method, request.url.path, allowed=[]))


def create_app(
    document: dict[str, Any] | fixtures.FixtureFile | None = None,
    *,
    source: str = "<document>",
    api_keys: Iterable[str] = (),
    validate_responses: bool = False,
    state_file: str | Path | None = None,
    faults: FaultSettings | None = None,
    isolate_keys: bool = False,
    cors_origins: Iterable[str] = (),
    journal_size: int = request_journal.DEFAULT_SIZE,
    limits: Limits | None = None,
) -> MockApp:
    """A mock serving `document` (the bundled fixtures by default) to holders of `api_keys`.

    `document` is a parsed fixture document (`source` says where from) or a
    `fixtures.FixtureFile`, which keeps the file's bytes for resets instead of the parsed
    document (a third of the memory) and checks them once. With no keys it accepts the
    development key `patchworks-mock-key`. A bad document raises `fixtures.FixtureError`. With
    a `state_file` (SQLite, `durable.py`), the state saved there (if any) is served instead of
    `document`, and every write is saved there before it is answered (one that cannot be saved
    is a 503 and changes nothing); a file that cannot be served raises
    `durable.StateFileError`, a `FixtureError`. A reset still goes back to `document`, which
    is checked at start all the same. `Prefer` headers and planned faults always work;
    `faults` adds server-wide latency, errors and rate limits. `isolate_keys` gives every
    credential its own copy of the state; `cors_origins` are the browser origins allowed
    besides local ones (`*` for any). `limits` bound what a client may send or make the mock
    keep (sizes, journal bytes, sandboxes, tokens, planned faults; README "Limits").
    """
    limits = limits or Limits()
    if state_file is not None and isolate_keys:
        raise ValueError("a state file keeps one state; it cannot be combined with isolated keys")
    if document is None:
        document = fixtures.FixtureFile(bundled.DEFAULT_FIXTURES)
    initial = fixtures.Document(document, source) if isinstance(document, dict) else document
    if state_file is None:
        store = initial.store()
    else:
        initial.check()  # a reset must be able to go back: refuse a bad start now
        store = durable.open_store(state_file, initial)
    shared = MockInstance(
        initial=initial,
        store=store,
        api_keys=frozenset(api_keys) or frozenset({DEVELOPMENT_KEY}),
        journal=request_journal.RequestJournal(journal_size, limits.journal_bytes),
        limits=limits,
    )
    app = _connexion_app(
        dispatch.Dispatch(),
        [
            (bundled.PACKAGES_SPEC, handlers, validation.PACKAGES_VALIDATORS),
            (bundled.ADMIN_SPEC, admin, validation.ADMIN_VALIDATORS),
        ],
        validate_responses,
    )
    # Outermost first: sizes are checked before anything keeps a request; then CORS answers
    # preflights before anything else looks at the request.
    app.add_middleware(
        middleware.LimitRequests, position=MiddlewarePosition.BEFORE_EXCEPTION, limits=limits
    )
    app.add_middleware(
        CORSMiddleware,
        position=MiddlewarePosition.BEFORE_EXCEPTION,
        allow_origins=list(cors_origins),
        allow_origin_regex=LOCAL_ORIGINS,
        allow_methods=["GET", "HEAD", "POST", "PUT", "DELETE"],
        allow_headers=["Authorization", "Content-Type", "Accept", "Prefer"],
        expose_headers=[
            "Location",
            "Retry-After",
            "X-RateLimit-Limit",
            "X-RateLimit-Remaining",
            "X-RateLimit-Reset",
        ],
    )
    app.add_middleware(
        middleware.ChooseSandbox,
        position=MiddlewarePosition.BEFORE_EXCEPTION,
        shared=shared,
        isolate_keys=isolate_keys,
    )
    app.add_middleware(middleware.RecordRequests, position=MiddlewarePosition.BEFORE_EXCEPTION)
    # After Connexion's security (BEFORE_VALIDATION is after it): bad credentials are 401
    # before any fault, `Prefer` or throttle attempt is spent on them.
    app.add_middleware(
        middleware.ApplyFaults,
        position=MiddlewarePosition.BEFORE_VALIDATION,
        settings=faults or FaultSettings(),
    )
    app.add_middleware(middleware.LowerCaseMediaType, position=MiddlewarePosition.BEFORE_VALIDATION)
    app.state = shared
    return app


def _connexion_app(
    inner: ASGIApp, apis: list[tuple[Path, ModuleType, dict[str, Any]]], validate_responses: bool
) -> MockApp:
    """Connexion's layers around `inner`, serving each (spec file, handler module, validator
    map) of `apis`, every error answered in Laravel's shape."""
    app = MockApp(
        inner,
        import_name=__name__,
        specification_dir=str(bundled.SPEC_DIR),
        swagger_ui_options=SwaggerUIOptions(swagger_ui_path="/ui"),
        middlewares=connexion_internals.middleware_stack(validate_responses),
    )
    for spec_file, module, validator_map in apis:
        app.add_api(
            spec_file.name,
            resolver=handler_resolver(module),
            validator_map=validator_map,
            uri_parser_class=connexion_internals.URIParser,
            security_map=connexion_internals.security_map(),
            validate_responses=validate_responses,
        )
    app.add_error_handler(errors.ApiError, _api_error)
    app.add_error_handler(ProblemException, _framework_error)
    app.add_error_handler(HTTPException, _framework_error)
    app.add_error_handler(Exception, _server_error)
    return app


def create_request_gate(inner: ASGIApp, limits: Limits | None = None) -> MockApp:
    """The mock's checks of a request without its state, for the proxy: the size limits,
    routing, a credential (any: whether it is valid is the upstream's to say), the parameters
    and the body. A request that passes them all reaches `inner`; any other is answered as the
    mock answers it (400, 401, 404, 405, 413, 414, 415, 422, 431)."""
    limits = limits or Limits()
    nothing = fixtures.Document(
        {name: [] for name in ("users", "flows", "flow_versions", "virtual_environments")}
        | {"packages": []},
        "<the request gate>",
    )
    shared = MockInstance(
        initial=nothing,
        store=nothing.store(),
        api_keys=frozenset(),
        limits=limits,
        any_credential=True,
    )
    app = _connexion_app(
        inner, [(bundled.PACKAGES_SPEC, handlers, validation.PACKAGES_VALIDATORS)], False
    )
    app.add_middleware(
        middleware.LimitRequests, position=MiddlewarePosition.BEFORE_EXCEPTION, limits=limits
    )
    app.add_middleware(
        middleware.ChooseSandbox, position=MiddlewarePosition.BEFORE_EXCEPTION, shared=shared
    )
    app.add_middleware(middleware.LowerCaseMediaType, position=MiddlewarePosition.BEFORE_VALIDATION)
    app.state = shared
    return app
