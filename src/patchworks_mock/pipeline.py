"""Connexion's middleware stack as this mock runs it: the same steps, less work per request.

Connexion's default stack (`ConnexionMiddleware.default_middlewares`) wraps every request in
nine layers. Two do nothing here: the lifespan layer (`dispatch.Dispatch` answers lifespan
events itself) and response validation when it is off. And the Swagger UI layer, which every
API request passes through without matching, makes Starlette match its routes a second time.
"""

from __future__ import annotations

import typing as t

from connexion.middleware.lifespan import LifespanMiddleware
from connexion.middleware.main import ConnexionMiddleware
from connexion.middleware.response_validation import ResponseValidationMiddleware
from connexion.middleware.swagger_ui import SwaggerUIMiddleware


class SwaggerUI(SwaggerUIMiddleware):
    """Connexion's Swagger UI without Starlette's trailing-slash retry.

    When no route matches, Starlette's router matches them all again with a slash added or
    removed, to offer a redirect. That is every API request here. The redirect users need,
    `/ui` to `/ui/`, is a route of its own; `/openapi.json/` and the like are now 404s.
    """

    def __init__(self, app: t.Any) -> None:
        super().__init__(app)
        self.router.redirect_slashes = False

    def add_api(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().add_api(*args, **kwargs)
        for mount in self.router.routes:  # one per API: its spec and UI routes
            mount.app.redirect_slashes = False


def middlewares(validate_responses: bool) -> list[type]:
    """Connexion's default stack, in its order, without the idle layers and with `SwaggerUI`."""
    idle = {LifespanMiddleware, *(() if validate_responses else (ResponseValidationMiddleware,))}
    return [
        SwaggerUI if layer is SwaggerUIMiddleware else layer
        for layer in ConnexionMiddleware.default_middlewares
        if layer not in idle
    ]
