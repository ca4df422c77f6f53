"""How an answer breaks the contract's response schema, in plain words.

Schemathesis says a response "violates schema" with a truncated dump of the schema and the
value. A user needs the place and the reason: "data.created_at is missing", "data.id is the
string "7"; the contract says integer". This module validates the answer again, against the
bundled contract, with OpenAPI 3.0's dialect (`nullable`), and words each error.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import cache
from itertools import islice
from typing import Any

from jsonschema.exceptions import ValidationError, best_match
from openapi_schema_validator import OAS30Validator

from patchworks_mock.contract import contract_file
from patchworks_mock.contract.exchange import NOT_JSON, parse_json

MAX_ERRORS = 5
MAX_SCANNED = 100  # schema errors read from one answer
MAX_VALUE = 60  # characters of a value quoted in a message


@cache
def response_schema(operation: str, status: int) -> dict[str, Any] | None:
    """The JSON schema the contract gives `operation` ("GET /path") for `status`, if any."""
    method, _, path = operation.partition(" ")
    spec = contract_file.bundled()
    responses = spec["paths"].get(path, {}).get(method.lower(), {}).get("responses", {})
    response = responses.get(str(status)) or responses.get("default")
    if response is None:
        return None
    media = contract_file.resolve(spec, response).get("content", {}).get("application/json")
    if media is None or "schema" not in media:
        return None
    # The schema's `#/components/...` references resolve against the root: give it the
    # contract's components.
    return {**media["schema"], "components": spec["components"]}


def _where(error: ValidationError) -> str:
    place = "the answer"
    for part in error.absolute_path:
        place = f"{place}[{part}]" if isinstance(part, int) else f"{place}.{part}"
    return place.replace("the answer.", "", 1) if error.absolute_path else place


def _show(value: object) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= MAX_VALUE else text[: MAX_VALUE - 1] + "…"


def _kind(value: object) -> str:
    names = {bool: "a boolean", int: "an integer", float: "a number", str: "the string"}
    names |= {list: "an array", dict: "an object", type(None): "null"}
    return names.get(type(value), type(value).__name__)


def describe(error: ValidationError) -> str:
    """One schema error as "place: what is wrong; what the contract says"."""
    if error.validator in ("anyOf", "oneOf") and error.context:
        return describe(best_match(error.context))
    where, value, rule = _where(error), error.instance, error.validator_value
    if error.validator == "required":
        missing = [name for name in rule if isinstance(value, dict) and name not in value]
        fields = ", ".join(f"{where}.{name}" for name in missing).replace("the answer.", "")
        return f"{fields} {'is' if len(missing) == 1 else 'are'} missing (required)"
    if error.validator == "type":
        shown = _show(value) if isinstance(value, (str, int, float)) else ""
        return f"{where} is {_kind(value)} {shown}".rstrip() + f"; the contract says {rule}"
    if error.validator == "enum":
        allowed = ", ".join(_show(v) for v in rule)
        return f"{where} is {_show(value)}; the contract allows only {allowed}"
    if error.validator in ("maxLength", "minLength"):
        bound = "at most" if error.validator == "maxLength" else "at least"
        return f"{where} is {len(value)} characters long; the contract says {bound} {rule}"
    if error.validator in ("maximum", "minimum"):
        bound = "at most" if error.validator == "maximum" else "at least"
        return f"{where} is {_show(value)}; the contract says {bound} {rule}"
    if error.validator == "format":
        return f"{where} is {_show(value)}, not a {rule} as the contract says"
    if error.validator == "pattern":
        return f"{where} is {_show(value)}, which does not match the pattern {rule!r}"
    return f"{where}: {error.message}"


@cache
def _validator(operation: str, status: int) -> OAS30Validator | None:
    """One validator per documented answer: the proxy checks many answers of each."""
    schema = response_schema(operation, status)
    if schema is None:
        return None
    return OAS30Validator(schema, format_checker=OAS30Validator.FORMAT_CHECKER)


def mismatches(operation: str, status: int, content: bytes) -> list[str]:
    """How an answer's body breaks its response schema: a line per error, at most a few."""
    validator = _validator(operation, status)
    if validator is None:
        return []
    body = parse_json(content)
    if body is NOT_JSON:
        return ["the answer is not JSON"]
    # The first errors only: a page of thousands of rows, each wrong, is told in a few lines,
    # in time that does not grow with the count of errors.
    found = list(islice(validator.iter_errors(body), MAX_SCANNED + 1))
    errors: Iterable[ValidationError] = sorted(
        found[:MAX_SCANNED], key=lambda e: [str(p) for p in e.absolute_path]
    )
    lines = list(dict.fromkeys(describe(error) for error in errors))
    if len(found) > MAX_SCANNED:
        lines = lines[:MAX_ERRORS] + ["… and more"]
    elif len(lines) > MAX_ERRORS:
        lines = lines[:MAX_ERRORS] + [f"… and {len(lines) - MAX_ERRORS} more"]
    return lines
