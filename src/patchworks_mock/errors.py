"""The errors the API answers with, in Laravel's shapes, and the one table of their wording.

Handlers and the store raise these; `app.py` renders each as the JSON body Laravel would send.
"""

from __future__ import annotations

MODEL_CLASSES = {
    "package": "App\\Models\\Package",
    "virtual_environment": "App\\Models\\VirtualEnvironment",
    "flow_version": "App\\Models\\FlowVersion",
}

UNAUTHENTICATED = "Unauthenticated."
SERVER_ERROR = "Server Error"
BAD_CREDENTIALS = "These credentials do not match our records."
UNSUPPORTED_MEDIA_TYPE = "Unsupported Media Type: the request body must be application/json."


class ApiError(Exception):
    """An error answer: an HTTP status and a Laravel-shaped JSON body."""

    status = 500

    def __init__(self, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.headers = headers or {}

    def body(self) -> dict:
        return {"message": self.message}


class NotFound(ApiError):
    """Route-model binding found no row: `No query results for model [App\\Models\\X] id`."""

    status = 404

    @classmethod
    def model(cls, kind: str, key: object) -> NotFound:
        return cls(f"No query results for model [{MODEL_CLASSES[kind]}] {key}")


class QueryNotAllowed(ApiError):
    """spatie/laravel-query-builder's 400 for an unknown filter, sort or include."""

    status = 400


class MalformedJson(ApiError):
    status = 400


class Unauthenticated(ApiError):
    status = 401


class UnsupportedMediaType(ApiError):
    status = 415


class Invalid(ApiError):
    """A 422 with Laravel's `errors` per field and its "(and N more errors)" summary."""

    status = 422

    def __init__(self, errors: dict[str, list[str]]) -> None:
        self.errors = errors
        messages = [m for field_messages in errors.values() for m in field_messages]
        summary = messages[0]
        if len(messages) > 1:
            more = len(messages) - 1
            summary += f" (and {more} more error{'s' if more > 1 else ''})"
        super().__init__(summary)

    @classmethod
    def field(cls, field: str, message: str) -> Invalid:
        return cls({field: [message]})

    def body(self) -> dict:
        return {"message": self.message, "errors": self.errors}


def attribute(field: str) -> str:
    """Laravel's display name of an input field: `per_page` -> `per page`."""
    return field.replace("_", " ")


def required(field: str) -> str:
    return f"The {attribute(field)} field is required."


def prohibited(field: str) -> str:
    return f"The {attribute(field)} field is prohibited."


def must_be(field: str, kind: str) -> str:
    return f"The {attribute(field)} field must be {kind}."


def too_long(field: str, limit: int) -> str:
    return f"The {attribute(field)} field must not be greater than {limit} characters."


def too_large(field: str, limit: int | float) -> str:
    return f"The {attribute(field)} field must not be greater than {limit:g}."


def too_small(field: str, limit: int | float) -> str:
    return f"The {attribute(field)} field must be at least {limit:g}."


def between(field: str, low: int | float, high: int | float) -> str:
    return f"The {attribute(field)} field must be between {low:g} and {high:g}."


def not_allowed(kind: str, requested: list[str], allowed: list[str]) -> str:
    """spatie's wording; `sort` says "is", the others "are"."""
    verb = "is" if kind == "sort" else "are"
    return (
        f"Requested {kind}(s) `{', '.join(requested)}` {verb} not allowed. "
        f"Allowed {kind}(s) are `{', '.join(allowed)}`."
    )


def route_not_found(path: str) -> str:
    return f"The route {path.lstrip('/')} could not be found."


def method_not_allowed(method: str, path: str, allowed: list[str]) -> str:
    return (
        f"The {method} method is not supported for route {path.lstrip('/')}. "
        f"Supported methods: {', '.join(allowed)}."
    )


# Domain rule violations (decisions recorded in the README's assumptions table).
FLOW_ALREADY_IN_PACKAGE = "The package already contains a version of this flow."
REMOVE_AFTER_DEPLOY = "Flow versions cannot be removed from a package that has been deployed."
EMPTY_PACKAGE = "The package has no flow versions to deploy."
NOT_IN_PACKAGE = "The flow version is not in this package."
NOT_DEPLOYED_THERE = "The package is not deployed to this virtual environment."
PACKAGE_DELETED = "Package deleted successfully."
FLOW_VERSION_REMOVED = "Flow version removed from package successfully."
ENVIRONMENT_REMOVED = "Virtual environment removed from package successfully."
LOGGED_IN = "You have successfully logged in."
