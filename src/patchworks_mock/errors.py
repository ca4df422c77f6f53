"""The errors the mock answers with, in Laravel's shapes, and the one table of their wording.

The store, the handlers, the validators and the fault layer raise or build these; every error
answer the mock sends, its own or Connexion's and Starlette's (`framework_error`), is one of
them, written by `responses.py`.
"""

from __future__ import annotations

from typing import Any

MODEL_CLASSES = {
    "package": "App\\Models\\Package",
    "virtual_environment": "App\\Models\\VirtualEnvironment",
    "flow_version": "App\\Models\\FlowVersion",
}

UNAUTHENTICATED = "Unauthenticated."
SERVER_ERROR = "Server Error"
BAD_CREDENTIALS = "These credentials do not match our records."
UNSUPPORTED_MEDIA_TYPE = "Unsupported Media Type: the request body must be application/json."
BODY_NOT_OBJECT = "The request body must be a JSON object."
BODY_NOT_UTF8 = "The request body is not valid UTF-8."
STATE_NOT_SAVED = "The state could not be saved; try again."


class ApiError(Exception):
    """An error answer: an HTTP status and a Laravel-shaped JSON body."""

    status = 500

    def __init__(
        self, message: str, headers: dict[str, str] | None = None, status: int | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.headers = headers or {}
        if status is not None:
            self.status = status

    def body(self) -> dict[str, Any]:
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


class MethodNotAllowed(ApiError):
    status = 405


class IdsExhausted(ApiError):
    """Every id a collection may give (up to PHP's largest integer) is used."""

    status = 409


class UnsupportedMediaType(ApiError):
    status = 415


class StorageUnavailable(ApiError):
    """A write the state file could not keep (`serve --state-file`: a full disk, an I/O
    error): nothing of it was applied, and it may be sent again in a second."""

    status = 503

    def __init__(self, message: str = STATE_NOT_SAVED) -> None:
        super().__init__(message, {"Retry-After": "1"})


class Invalid(ApiError):
    """A 422 with Laravel's `errors` per field and its "(and N more errors)" summary."""

    status = 422

    def __init__(self, errors: dict[str, list[str]], message: str | None = None) -> None:
        self.errors = errors
        super().__init__(message or _summary(errors))

    @classmethod
    def field(cls, field: str, message: str) -> Invalid:
        return cls({field: [message]})

    def body(self) -> dict[str, Any]:
        return {"message": self.message, "errors": self.errors}


def _summary(errors: dict[str, list[str]]) -> str:
    """Laravel's `message` of a 422: the first message, and "(and N more errors)"."""
    messages = [m for field_messages in errors.values() for m in field_messages]
    summary = messages[0]
    if len(messages) > 1:
        more = len(messages) - 1
        summary += f" (and {more} more error{'s' if more > 1 else ''})"
    return summary


def attribute(field: str) -> str:
    """Laravel's display name of an input field: `per_page` -> `per page`."""
    return field.replace("_", " ")


def required(field: str) -> str:
    return f"The {attribute(field)} field is required."


def prohibited(field: str) -> str:
    return f"The {attribute(field)} field is prohibited."


def must_be(field: str, kind: str) -> str:
    return f"The {attribute(field)} field must be {kind}."


_TYPE_WORDS = {
    "integer": "an integer",
    "number": "a number",
    "string": "a string",
    "boolean": "true or false",
    "object": "an array",
    "array": "an array",
}


def must_be_type(field: str, json_type: str) -> str:
    """Laravel's sentence for a value of the wrong JSON type (PHP calls objects arrays)."""
    return must_be(field, _TYPE_WORDS.get(json_type, f"of type {json_type}"))


def invalid_choice(field: str) -> str:
    return f"The selected {attribute(field)} is invalid."


def invalid(field: str) -> str:
    return f"The {attribute(field)} field is invalid."


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


def body_not_json(reason: Exception) -> str:
    return f"The request body is not valid JSON: {reason}."


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


# The mock's own endpoints (`/__mock__/...`).
STATE_RESET = "The state was reset to the fixtures loaded at start."
JOURNAL_CLEARED = "The request journal is empty."
FAULTS_CLEARED = "No faults are planned."

# Limits (README "Limits"): what a client gets past each one.
POST_TOO_LARGE = "The POST data is too large."  # Laravel 11's ValidatePostSize
URI_TOO_LONG = "URI Too Long"
HEADERS_TOO_LARGE = "Request Header Fields Too Large"


class TooLarge(ApiError):
    """A request past one of the size limits (413, 414, 431), refused before it is kept; the
    connection is closed after the answer, so an unread body is never read."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message, {"Connection": "close"}, status=status)


def post_too_large() -> TooLarge:
    return TooLarge(POST_TOO_LARGE, 413)


def uri_too_long() -> TooLarge:
    return TooLarge(URI_TOO_LONG, 414)


def headers_too_large() -> TooLarge:
    return TooLarge(HEADERS_TOO_LARGE, 431)


def too_many_sandboxes(retry_after: int) -> ApiError:
    return ApiError(
        "Too many sandboxes are in use; try again when one expires.",
        {"Retry-After": str(retry_after)},
        status=503,
    )


def too_many_tokens(retry_after: int) -> ApiError:
    return ApiError(
        "Too many login tokens are live; try again when one expires.",
        {"Retry-After": str(retry_after)},
        status=503,
    )


def too_many_planned_faults(limit: int) -> Invalid:
    return Invalid.field("faults", f"No more than {limit} faults can be planned at once.")


# Answers made on purpose (`Prefer: code=...`, planned faults, error rate, throttle).
SIMULATED = {
    400: "Bad Request",
    401: UNAUTHENTICATED,
    403: "This action is unauthorized.",
    404: "Not Found",
    415: UNSUPPORTED_MEDIA_TYPE,
    422: "The given data was invalid.",
    429: "Too Many Attempts.",
    500: SERVER_ERROR,
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


def simulated(status: int, headers: dict[str, str] | None = None) -> ApiError:
    """The answer of a fault made on purpose: `status`, with the body Laravel would send."""
    message = SIMULATED.get(status, f"Simulated error {status}.")
    if status == 422:
        return Invalid({}, message)
    return ApiError(message, headers, status=status)


def preference_not_a_number(name: str, value: str, digits: int) -> str:
    shown = value if len(value) <= 20 else f"{value[:20]}..."
    return f"Prefer: {name}={shown} must be a whole number of at most {digits} digits."


def delay_over_limit(delay: int, limit: int) -> str:
    return f"Prefer: delay={delay} is over the limit of {limit} ms."


def code_not_simulated(code: int, method: str, path: str, documented: list[int]) -> str:
    listed = ", ".join(str(c) for c in documented)
    return (
        f"Prefer: code={code} cannot be simulated for {method} {path}: "
        f"choose 429, a 5xx, or an error status it documents ({listed})."
    )


def framework_error(
    status: int,
    method: str,
    path: str,
    allowed: list[str],
    detail: str | None = None,
    headers: dict[str, str] | None = None,
) -> ApiError:
    """The Laravel answer for an error Connexion or Starlette raised: routing (404, 405 with
    every method the path has in `Allow`), security (401), content type (415), anything else
    with its own detail; a 5xx is the generic server error."""
    headers = dict(headers or {})
    if status == 401:
        return Unauthenticated(UNAUTHENTICATED, headers)
    if status == 404:
        return NotFound(route_not_found(path), headers)
    if status == 405:
        headers["Allow"] = ", ".join(allowed)
        return MethodNotAllowed(method_not_allowed(method, path, allowed), headers)
    if status == 415:
        return UnsupportedMediaType(UNSUPPORTED_MEDIA_TYPE, headers)
    if status >= 500:
        return ApiError(SERVER_ERROR, status=500)
    return ApiError(detail or "Bad Request", headers, status=status)


def ids_exhausted(collection: str, largest: int) -> str:
    return f"No new {collection} can be made: every id up to {largest} has been used."
