"""Connexion validators that answer as Laravel does, from the limits written in the spec.

Query parameters and JSON bodies are still checked against the spec's schemas; only the
answers change: 422 with Laravel's wording per field, 400 with spatie's for `include`/`sort`,
400 for malformed JSON. Bodies are first trimmed and blank strings made null, as Laravel's
`TrimStrings` and `ConvertEmptyStringsToNull` middleware do before any rule runs.
"""

from __future__ import annotations

import json
import typing as t
from dataclasses import dataclass
from functools import cached_property

import jsonschema_rs
from connexion.datastructures import MediaTypeDict
from connexion.json_schema import Draft4RequestValidator
from connexion.lifecycle import ConnexionRequest
from connexion.uri_parsing import OpenAPIURIParser
from connexion.validators import JSONRequestBodyValidator, ParameterValidator
from jsonschema import Draft4Validator, ValidationError
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from patchworks_mock import errors, query
from patchworks_mock.laravel import input_as_laravel_reads_it

_TYPE_WORDS = {
    "integer": "an integer",
    "number": "a number",
    "string": "a string",
    "boolean": "true or false",
    "object": "an array",
    "array": "an array",
}


def message(field: str, error: ValidationError) -> str:
    """Laravel's sentence for one failed schema keyword."""
    schema = error.schema if isinstance(error.schema, dict) else {}
    keyword = error.validator
    if keyword == "type":
        expected = error.validator_value
        expected = expected[0] if isinstance(expected, list) else expected
        return errors.must_be(field, _TYPE_WORDS.get(expected, f"of type {expected}"))
    if keyword == "maxLength":
        return errors.too_long(field, error.validator_value)
    if keyword in ("minimum", "maximum"):
        if schema.get("x-laravel-rule") == "between":
            return errors.between(field, schema["minimum"], schema["maximum"])
        if keyword == "minimum":
            return errors.too_small(field, error.validator_value)
        return errors.too_large(field, error.validator_value)
    if keyword in ("minLength", "pattern"):
        return errors.required(field)
    if keyword == "enum":
        return f"The selected {errors.attribute(field)} is invalid."
    return f"The {errors.attribute(field)} field is invalid."


@dataclass(frozen=True, slots=True)
class _Checker:
    """One spec schema, compiled twice: `exact` is Connexion's request validator, whose errors
    the messages are made from; `quick` is jsonschema-rs, which clears a valid value in a
    fraction of the time. Only its "valid" is taken; anything else goes to `exact`, and so does
    every value of a schema jsonschema-rs cannot compile (`quick` is None)."""

    exact: Draft4Validator
    quick: jsonschema_rs.Draft4Validator | None

    def iter_errors(self, value: t.Any) -> t.Iterator[ValidationError]:
        try:
            if self.quick is not None and self.quick.is_valid(value):
                return iter(())
        except ValueError:  # a lone surrogate, which a Rust string cannot hold
            pass
        return self.exact.iter_errors(value)


_CHECKERS: dict[int, tuple[dict, _Checker]] = {}


def _validator(schema: dict) -> _Checker:
    """One compiled checker per spec schema; those schemas live as long as the app."""
    cached = _CHECKERS.get(id(schema))
    if cached is None or cached[0] is not schema:
        try:
            quick = jsonschema_rs.Draft4Validator(schema)
        except ValueError:  # e.g. a pattern Rust's regex engine does not take
            quick = None
        checker = _Checker(
            exact=Draft4RequestValidator(schema, format_checker=Draft4Validator.FORMAT_CHECKER),
            quick=quick,
        )
        cached = _CHECKERS[id(schema)] = (schema, checker)
    return cached[1]


def body_errors(schema: dict, body: t.Any) -> dict[str, list[str]]:
    """Each failing field of a decoded body with Laravel's messages, in field order."""
    if not isinstance(body, dict):
        return {"body": ["The request body must be a JSON object."]}
    found: dict[str, list[str]] = {}
    properties = schema.get("properties", {})
    # Laravel's `required` fails for null too, and blank input has become null by now.
    for name in schema.get("required", []):
        if body.get(name) is None:
            found[name] = [errors.required(name)]
    for name, value in body.items():
        if value is None and name in properties and not properties[name].get("nullable"):
            found[name] = [errors.required(name)]
    for error in _validator(schema).iter_errors(body):
        if not error.path:
            if error.validator == "additionalProperties":  # `false`: as Laravel's `prohibited`
                for name in body:
                    if name not in properties:
                        found.setdefault(name, [errors.prohibited(name)])
            continue  # `required`: reported above
        name = str(error.path[0])
        if name in found:
            continue
        found.setdefault(name, []).append(message(name, error))
    order = list(properties)
    return dict(sorted(found.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else 0))


BODY = "patchworks_mock.body"  # where the checked, trimmed body waits for the handler


def body_of(scope: t.Any) -> t.Any:
    """The body the validator parsed, trimmed and checked for this request (no body: `{}`).

    A body no validator read (a media type none is registered for) is refused, not ignored.
    """
    if BODY not in scope:
        raise errors.UnsupportedMediaType(errors.UNSUPPORTED_MEDIA_TYPE)
    return scope[BODY]


class LaravelJSONBody(JSONRequestBodyValidator):
    """Missing bodies count as `{}`, as Laravel reads no input as an empty array.

    The handler gets the parsed, trimmed body through the scope (`body_of`) rather than as JSON
    encoded again and parsed again.
    """

    MUTABLE_VALIDATION = False
    normalize = staticmethod(input_as_laravel_reads_it)

    def __init__(self, **kwargs: t.Any) -> None:
        super().__init__(**{**kwargs, "required": False, "nullable": False})

    async def _parse(self, stream: t.AsyncGenerator[bytes, None], scope: t.Any) -> t.Any:
        scope[BODY] = body = await self._decode(stream)
        return body

    async def _decode(self, stream: t.AsyncGenerator[bytes, None]) -> t.Any:
        raw = b"".join([chunk async for chunk in stream])
        if not raw.strip():
            return {}
        try:
            text = raw.decode(self._encoding)
        except LookupError:
            raise errors.UnsupportedMediaType(errors.UNSUPPORTED_MEDIA_TYPE) from None
        except UnicodeDecodeError:
            raise errors.MalformedJson("The request body is not valid UTF-8.") from None
        try:
            return self.normalize(json.loads(text))
        except (json.JSONDecodeError, RecursionError) as exc:
            raise errors.MalformedJson(f"The request body is not valid JSON: {exc}.") from None

    def _validate(self, body: t.Any) -> None:
        found = body_errors(self._schema, body)
        if found:
            raise errors.Invalid(found)


class URIParser(OpenAPIURIParser):
    """Connexion's parser of path and query parameters, with its table of their schemas built
    once per request instead of once per parameter read."""

    @cached_property
    def param_schemas(self) -> dict[str, dict]:
        return super().param_schemas


PARAMS = "patchworks_mock.params"  # where the parameters wait for the handler


@dataclass(frozen=True, slots=True)
class Params:
    """The parameters of a request as the validator read them."""

    typed_query: dict[str, t.Any]  # as the spec types them; names it does not know as lists
    path: dict[str, t.Any]  # as the spec types them
    query: QueryParams  # as sent, for `filter[...]` and the like


def params_of(scope: t.Any) -> Params:
    return scope[PARAMS]


def was_checked(scope: t.Any) -> bool:
    """Whether Connexion's request validation took this request as its route's."""
    return PARAMS in scope


class TypedParameters(ParameterValidator):
    """Connexion's parameter check, which then hands the handler the parameters it read
    (`params_of`) rather than have them parsed and typed again."""

    def validate(self, scope: t.Any) -> None:
        request = Request(scope)
        checked = ConnexionRequest.from_starlette_request(request, uri_parser=self.uri_parser)
        self.validate_request(checked)
        scope[PARAMS] = Params(checked.query_params, checked.path_params, request.query_params)


class LaravelParameters(TypedParameters):
    """422 for bad `page`/`per_page`, then spatie's 400 for `include`/`sort` not allowed."""

    def validate_request(self, request) -> None:
        invalid: dict[str, list[str]] = {}
        not_allowed: list[str] = []
        for param in self.parameters.get("query", []):
            value = request.query_params.get(param["name"])
            if value is None:
                continue
            schema = param.get("schema", {})
            error = next(_validator(schema).iter_errors(value), None)
            if error is None:
                continue
            if param["name"] in ("include", "sort"):
                not_allowed.append(param["name"])
            else:
                invalid[param["name"]] = [message(param["name"], error)]
        if invalid:
            raise errors.Invalid(invalid)
        if "include" in not_allowed:
            query.include_tree(request.query_params.get("include"))
        if "sort" in not_allowed:
            query.sort_order(request.query_params.get("sort"))
        if not_allowed:  # the spec's pattern and query's table disagree: still refuse
            raise errors.QueryNotAllowed(f"Requested {not_allowed[0]} is not allowed.")


class RawJSONBody(LaravelJSONBody):
    """For the admin API: documents are kept exactly as sent, not trimmed."""

    normalize = staticmethod(lambda value: value)


class MediaTypeCase:
    """ASGI middleware: the media type of `Content-Type` in lower case before validation.

    Media types compare without regard to case (RFC 9110). Connexion's 415 check agrees, but it
    picks the body's schema and validator by exact name, so `Application/JSON` would be read
    against no schema at all.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = scope["headers"]
            for at, (name, value) in enumerate(headers):
                if name == b"content-type":
                    media_type, semicolon, rest = value.partition(b";")
                    if media_type != media_type.lower():
                        changed = (name, media_type.lower() + semicolon + rest)
                        scope = {**scope, "headers": [*headers[:at], changed, *headers[at + 1 :]]}
                    break
        await self.app(scope, receive, send)


PACKAGES_VALIDATORS = {
    "parameter": LaravelParameters,
    "body": MediaTypeDict({"*/*json": LaravelJSONBody}),
}
ADMIN_VALIDATORS = {
    "parameter": TypedParameters,
    "body": MediaTypeDict({"*/*json": RawJSONBody}),
}
