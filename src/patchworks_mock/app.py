"""The app factory: the spec, the handlers, the mock's state and Laravel's error answers."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from pathlib import Path

import connexion
from connexion.exceptions import ProblemException
from connexion.lifecycle import ConnexionRequest, ConnexionResponse
from connexion.middleware import MiddlewarePosition
from connexion.options import SwaggerUIOptions
from connexion.resolver import Resolver
from starlette.exceptions import HTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.testclient import TestClient

from patchworks_mock import (
    admin,
    auth,
    dispatch,
    durable,
    errors,
    fixtures,
    handlers,
    journal,
    paths,
    pipeline,
    routes,
    validation,
)
from patchworks_mock.faults import Faults, FaultSettings
from patchworks_mock.mock import DEVELOPMENT_KEY, Attach, Mock

logger = logging.getLogger("patchworks_mock")

# Browser pages served from this machine may call the mock without configuration.
LOCAL_ORIGINS = r"https?://(localhost|127\.0\.0\.1|\[::1\])(:\d+)?"


def _snake(operation_id: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", operation_id).lower()


def _resolver(module) -> Resolver:
    return Resolver(function_resolver=lambda operation_id: getattr(module, _snake(operation_id)))


class MockApp(connexion.ConnexionMiddleware):
    """The ASGI app: Connexion's middleware (routing, auth, validation, Swagger UI) around the
    handlers, with the mock it serves as `state`."""

    state: Mock

    def test_client(self, **kwargs) -> TestClient:
        return TestClient(self, **kwargs)


def _json(status: int, body: dict, headers: dict | None = None) -> ConnexionResponse:
    return ConnexionResponse(
        status_code=status,
        body=dispatch.encode(body),
        content_type="application/json",
        headers=headers or {},
        is_streamed=False,
    )


def _api_error(request: ConnexionRequest, exc: errors.ApiError) -> ConnexionResponse:
    return _json(exc.status, exc.body(), exc.headers)


def _http_error(request: ConnexionRequest, exc: HTTPException) -> ConnexionResponse:
    """Connexion's and Starlette's own errors (routing, auth, content type), Laravel-shaped."""
    status = exc.status_code
    headers = dict(exc.headers or {})
    if status == 401:
        message = errors.UNAUTHENTICATED
    elif status == 404:
        message = errors.route_not_found(request.url.path)
    elif status == 405:
        # Starlette's `Allow` names one route's methods; the path's are spread over several.
        path = request.url.path
        route = routes.find(path)
        allowed = route.methods if route else []
        headers["Allow"] = ", ".join(allowed)
        message = errors.method_not_allowed(request.method, path, allowed)
    elif status == 415:
        message = errors.UNSUPPORTED_MEDIA_TYPE
    elif status >= 500:
        logger.error("unexpected %s: %r", status, exc)
        return _json(500, {"message": errors.SERVER_ERROR})
    else:
        message = str(getattr(exc, "detail", None) or getattr(exc, "title", "Bad Request"))
    return _json(status, {"message": message}, headers)


def _server_error(request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
    logger.error(
        "unexpected error on %s %s: %r", request.method, request.url.path, exc, exc_info=exc
    )
    return _json(500, {"message": errors.SERVER_ERROR})


def create_app(
    document: dict | fixtures.FixtureFile | None = None,
    *,
    source: str = "<document>",
    api_keys: Iterable[str] = (),
    validate_responses: bool = False,
    state_file: str | Path | None = None,
    faults: FaultSettings | None = None,
    isolate_keys: bool = False,
    cors_origins: Iterable[str] = (),
    journal_size: int = journal.DEFAULT_SIZE,
) -> MockApp:
    """A mock serving `document` (the bundled fixtures by default) to holders of `api_keys`.

    `document` is a parsed fixture document (`source` says where from) or a
    `fixtures.FixtureFile`, which keeps the file's bytes for resets instead of the parsed
    document (a third of the memory) and checks them once. With no keys it accepts the
    development key `patchworks-mock-key`. A bad document raises `fixtures.FixtureError`. With
    a `state_file`, the state saved there (if any) is served instead of `document`, and every
    write is saved there before it is answered; a reset still goes back to `document`, which is
    checked at start all the same. `Prefer` headers and planned faults always work;
    `faults` adds server-wide latency, errors and rate limits. `isolate_keys` gives every
    credential its own copy of the state; `cors_origins` are the browser origins allowed
    besides local ones (`*` for any).
    """
    if state_file is not None and isolate_keys:
        raise ValueError("a state file keeps one state; it cannot be combined with isolated keys")
    if document is None:
        document = fixtures.FixtureFile(paths.DEFAULT_FIXTURES)
    saved = durable.StateFile(state_file) if state_file is not None else None
    previous = saved.read() if saved is not None else None
    keys = frozenset(api_keys) or frozenset({DEVELOPMENT_KEY})
    state = Mock(
        initial=document,
        api_keys=keys,
        source=source,
        store=None if previous is None else fixtures.load(previous, str(state_file)),
        journal=journal.RequestJournal(journal_size),
    )
    app = MockApp(
        dispatch.Dispatch(),
        import_name=__name__,
        specification_dir=str(paths.SPEC_DIR),
        swagger_ui_options=SwaggerUIOptions(swagger_ui_path="/ui"),
        middlewares=pipeline.middlewares(validate_responses),
    )
    for spec, module, validator_map in (
        (paths.PACKAGES_SPEC, handlers, validation.PACKAGES_VALIDATORS),
        (paths.ADMIN_SPEC, admin, validation.ADMIN_VALIDATORS),
    ):
        app.add_api(
            spec.name,
            resolver=_resolver(module),
            validator_map=validator_map,
            uri_parser_class=validation.URIParser,
            security_map=auth.SECURITY_MAP,
            validate_responses=validate_responses,
        )
    # Outermost first: CORS answers preflights before anything else looks at the request.
    app.add_middleware(
        CORSMiddleware,
        position=MiddlewarePosition.BEFORE_EXCEPTION,
        allow_origins=list(cors_origins),
        allow_origin_regex=LOCAL_ORIGINS,
        allow_methods=["GET", "HEAD", "POST", "PUT", "DELETE"],
        allow_headers=["Authorization", "Content-Type", "Accept", "Prefer"],
        expose_headers=["Location", "Retry-After", "X-RateLimit-Limit", "X-RateLimit-Remaining"],
    )
    app.add_middleware(
        Attach, position=MiddlewarePosition.BEFORE_EXCEPTION, mock=state, isolate_keys=isolate_keys
    )
    app.add_middleware(journal.Record, position=MiddlewarePosition.BEFORE_EXCEPTION)
    app.add_middleware(
        Faults, position=MiddlewarePosition.BEFORE_EXCEPTION, settings=faults or FaultSettings()
    )
    app.add_middleware(validation.MediaTypeCase, position=MiddlewarePosition.BEFORE_VALIDATION)
    if saved is not None:
        durable.start(saved, state.store)
        app.add_middleware(
            durable.Persist,
            position=MiddlewarePosition.BEFORE_EXCEPTION,
            state_file=saved,
            saved_store=state.store,
        )
    app.add_error_handler(errors.ApiError, _api_error)
    app.add_error_handler(ProblemException, _http_error)
    app.add_error_handler(HTTPException, _http_error)
    app.add_error_handler(Exception, _server_error)
    app.state = state
    return app
