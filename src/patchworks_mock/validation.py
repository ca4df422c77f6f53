"""Connexion validators that answer as Laravel does, from the limits written in the spec.

Query parameters and JSON bodies are still checked against the spec's schemas; only the
answers change: 422 with Laravel's wording per field, 400 with spatie's for an `include`,
`sort` or filter not allowed, 400 for malformed JSON. Bodies are first trimmed and blank
strings made null, as Laravel's `TrimStrings` and `ConvertEmptyStringsToNull` middleware do
before any rule runs.
"""

from __future__ import annotations

import json
import typing as t
from dataclasses import dataclass

import jsonschema_rs
from jsonschema import Draft4Validator, ValidationError
from starlette.datastructures import QueryParams

from patchworks_mock import connexion_internals, errors, query
from patchworks_mock.laravel import (
    PHP_TRIMMED,
    filter_int,
    input_as_laravel_reads_it,
    json_integer,
)


def message(field: str, error: ValidationError) -> str:
    """Laravel's sentence for one failed schema keyword."""
    schema = error.schema if isinstance(error.schema, dict) else {}
    keyword = error.validator
    if keyword == "type":
        expected = error.validator_value
        expected = expected[0] if isinstance(expected, list) else expected
        return errors.must_be_type(field, expected)
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
        return errors.invalid_choice(field)
    return errors.invalid(field)


@dataclass(frozen=True, slots=True)
class Checker:
    """One spec schema, compiled twice: `exact` is the validator Connexion checks requests
    with, whose errors the messages are made from; `quick` is jsonschema-rs, which clears a
    valid value in a fraction of the time. Only its "valid" is taken; anything else goes to
    `exact`, and so does every value of a schema jsonschema-rs cannot compile (`quick` is None).
    """

    exact: Draft4Validator
    quick: jsonschema_rs.Draft4Validator | None

    def iter_errors(self, value: t.Any) -> t.Iterator[ValidationError]:
        try:
            if self.quick is not None and self.quick.is_valid(value):
                return iter(())
        except ValueError:  # a lone surrogate, which a Rust string cannot hold
            pass
        # jsonschema ships no type information
        return t.cast(t.Iterator[ValidationError], self.exact.iter_errors(value))


_CHECKERS: dict[int, tuple[dict[str, t.Any], Checker]] = {}


def checker_for(schema: dict[str, t.Any]) -> Checker:
    """One compiled checker per spec schema; those schemas live as long as the app."""
    cached = _CHECKERS.get(id(schema))
    if cached is None or cached[0] is not schema:
        try:
            quick = jsonschema_rs.Draft4Validator(schema)
        except ValueError:  # e.g. a pattern Rust's regex engine does not take
            quick = None
        checker = Checker(exact=connexion_internals.request_schema_validator(schema), quick=quick)
        cached = _CHECKERS[id(schema)] = (schema, checker)
    return cached[1]


def body_errors(schema: dict[str, t.Any], body: t.Any) -> dict[str, list[str]]:
    """Each failing field of a decoded body with Laravel's messages, in field order."""
    if not isinstance(body, dict):
        return {"body": [errors.BODY_NOT_OBJECT]}
    found: dict[str, list[str]] = {}
    properties = schema.get("properties", {})
    # Laravel's `required` fails for null too, and blank input has become null by now.
    for name in schema.get("required", []):
        if body.get(name) is None:
            found[name] = [errors.required(name)]
    for name, value in body.items():
        if value is None and name in properties and not properties[name].get("nullable"):
            found[name] = [errors.required(name)]
    for error in checker_for(schema).iter_errors(body):
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


# What JSON allows around a value: a body of only these is no body. Python's bytes.strip()
# takes \x0b and \x0c too, which JSON (and PHP's json_decode) refuse.
JSON_WHITESPACE = b" \t\n\r"


def decode_body(raw: bytes, encoding: str) -> t.Any:
    """A request's JSON body as Laravel reads it: none is `{}`, strings trimmed, blanks null."""
    return input_as_laravel_reads_it(decode_raw_body(raw, encoding))


def decode_raw_body(raw: bytes, encoding: str) -> t.Any:
    """A request's JSON body as sent, its integers read as PHP's json_decode reads them (past
    PHP's largest integer, a float: refused where an integer or string is wanted, never a
    500): none is `{}`; a charset Python does not know is 415, bytes that are not UTF-8 or
    JSON are 400."""
    if not raw.strip(JSON_WHITESPACE):
        return {}
    try:
        text = raw.decode(encoding)
    except LookupError:
        raise errors.UnsupportedMediaType(errors.UNSUPPORTED_MEDIA_TYPE) from None
    except UnicodeDecodeError:
        raise errors.MalformedJson(errors.BODY_NOT_UTF8) from None
    try:
        return json.loads(text, parse_int=json_integer)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise errors.MalformedJson(errors.body_not_json(exc)) from None


def check_body(schema: dict[str, t.Any], body: t.Any) -> None:
    """Raise Laravel's 422 for a decoded body that breaks the spec's schema."""
    found = body_errors(schema, body)
    if found:
        raise errors.Invalid(found)


def check_query(
    parameters: list[dict[str, t.Any]], typed_query: dict[str, t.Any], sent: QueryParams
) -> None:
    """422 for bad `page`/`per_page`, then spatie's 400 for `include`, `sort` and filters not
    allowed.

    An integer parameter is first checked as sent by Laravel's `integer` rule (PHP's
    filter_var): Connexion's int() also reads "1_0", "٣" and "01", and any length."""
    invalid: dict[str, list[str]] = {}
    not_allowed: list[str] = []
    for param in parameters:
        name = param["name"]
        value = typed_query.get(name)
        if value is None:
            continue
        schema = param.get("schema", {})
        if schema.get("type") == "integer":
            raw = sent.get(name)
            # blank input is null to Laravel (TrimStrings, ConvertEmptyStringsToNull)
            if raw is not None and raw.strip(PHP_TRIMMED) and filter_int(raw) is None:
                invalid[name] = [errors.must_be_type(name, "integer")]
                continue
        error = next(checker_for(schema).iter_errors(value), None)
        if error is None:
            continue
        if name in ("include", "sort"):
            not_allowed.append(name)
        else:
            invalid[name] = [message(name, error)]
    if invalid:
        raise errors.Invalid(invalid)
    # Connexion typed these comma-separated lists as lists; spatie words them as sent.
    if "include" in not_allowed:
        query.include_tree(",".join(typed_query["include"]))
    if "sort" in not_allowed:
        query.sort_order(",".join(typed_query["sort"]))
    # An operation that takes `include` is built with spatie's query builder, which refuses a
    # filter it does not allow as well.
    if any(param["name"] == "include" for param in parameters):
        query.name_filter(sent)


def body_of(scope: t.Any) -> t.Any:
    """The checked body of the request (no body: `{}`); 415 if no validator read it."""
    return connexion_internals.body_of(
        scope, lambda: errors.UnsupportedMediaType(errors.UNSUPPORTED_MEDIA_TYPE)
    )


# The packages API checks as Laravel does; the admin API keeps documents exactly as sent and
# lets Connexion check its parameters.
PACKAGES_VALIDATORS = connexion_internals.validator_map(
    connexion_internals.parameter_validator(check_query),
    connexion_internals.body_validator(decode_body, check_body),
)
ADMIN_VALIDATORS = connexion_internals.validator_map(
    connexion_internals.parameter_validator(),
    connexion_internals.body_validator(decode_raw_body, check_body),
)
