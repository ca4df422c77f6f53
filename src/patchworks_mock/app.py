"""The app factory: the spec, the handlers, the mock's state and Laravel's error answers."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import urlparse

import connexion
import yaml
from connexion.exceptions import ProblemException
from connexion.lifecycle import ConnexionRequest, ConnexionResponse
from connexion.middleware import MiddlewarePosition
from connexion.options import SwaggerUIOptions
from connexion.resolver import Resolver
from starlette.exceptions import HTTPException

from patchworks_mock import admin, durable, errors, fixtures, handlers, paths, validation
from patchworks_mock.mock import DEVELOPMENT_KEY, Attach, Mock

logger = logging.getLogger("patchworks_mock")


def _snake(operation_id: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", operation_id).lower()


def _resolver(module) -> Resolver:
    return Resolver(function_resolver=lambda operation_id: getattr(module, _snake(operation_id)))


def _json(status: int, body: dict, headers: dict | None = None) -> ConnexionResponse:
    return ConnexionResponse(
        status_code=status,
        body=json.dumps(body),
        content_type="application/json",
        headers=headers or {},
        is_streamed=False,
    )


def _api_error(request: ConnexionRequest, exc: errors.ApiError) -> ConnexionResponse:
    return _json(exc.status, exc.body(), exc.headers)


def _routes(*spec_files: Path) -> list[tuple[re.Pattern, list[str]]]:
    """Each spec path as a regex with the methods it serves (HEAD wherever GET is)."""
    methods_in_order = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]
    routes = []
    for spec_file in spec_files:
        spec = yaml.safe_load(spec_file.read_text(encoding="utf-8"))
        prefix = urlparse(spec["servers"][0]["url"]).path.rstrip("/")
        for template, item in spec["paths"].items():
            pattern = re.sub(r"\\{[^}]+\\}", "[^/]+", re.escape(prefix + template))
            methods = {m.upper() for m in item if m != "parameters"}
            methods |= {"HEAD"} if "GET" in methods else set()
            routes.append((re.compile(pattern), [m for m in methods_in_order if m in methods]))
    return routes


_ROUTES = _routes(paths.PACKAGES_SPEC, paths.ADMIN_SPEC)


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
        allowed = next((m for pattern, m in _ROUTES if pattern.fullmatch(path)), [])
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
    document: dict | None = None,
    *,
    source: str = "<document>",
    api_keys: Iterable[str] = (),
    validate_responses: bool = False,
    state_file: str | Path | None = None,
) -> connexion.AsyncApp:
    """A mock serving `document` (the bundled fixtures by default) to holders of `api_keys`.

    With no keys it accepts the development key `patchworks-mock-key`. A bad document raises
    `fixtures.FixtureError` naming `source`. With a `state_file`, the state saved there (if any)
    is served instead of `document`, and every write is saved there before it is answered;
    a reset still goes back to `document`.
    """
    if document is None:
        document, source = fixtures.read(paths.DEFAULT_FIXTURES), str(paths.DEFAULT_FIXTURES)
    saved = durable.StateFile(state_file) if state_file is not None else None
    previous = saved.read() if saved is not None else None
    keys = frozenset(api_keys) or frozenset({DEVELOPMENT_KEY})
    state = Mock(
        initial=document,
        api_keys=keys,
        source=source,
        store=None if previous is None else fixtures.load(previous, str(state_file)),
    )
    app = connexion.AsyncApp(
        __name__,
        specification_dir=str(paths.SPEC_DIR),
        swagger_ui_options=SwaggerUIOptions(swagger_ui_path="/ui"),
    )
    app.add_api(
        Path(paths.PACKAGES_SPEC).name,
        resolver=_resolver(handlers),
        validator_map=validation.PACKAGES_VALIDATORS,
        validate_responses=validate_responses,
    )
    app.add_api(
        Path(paths.ADMIN_SPEC).name,
        resolver=_resolver(admin),
        validator_map=validation.ADMIN_VALIDATORS,
        validate_responses=validate_responses,
    )
    app.add_middleware(Attach, position=MiddlewarePosition.BEFORE_EXCEPTION, mock=state)
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
