"""What the proxy never writes down: credentials, tokens and passwords, wherever a request or
an answer carries them. One policy for the HAR file, the log, the journal and the report.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from typing import Any
from urllib.parse import quote, unquote_plus, urlsplit, urlunsplit

from patchworks_mock.contract.exchange import NOT_JSON, Exchange, parse_json

REDACTED = "[redacted]"
SECRET_HEADERS = {"authorization", "proxy-authorization", "cookie", "set-cookie"}
SECRET_HEADER_WORDS = ("token", "secret", "password", "api-key", "api_key", "apikey")  # x-api-key
SECRET_PARAM_WORDS = ("token", "password", "secret", "key")  # `key` covers api_key and apikey
SECRET_FIELD_WORDS = ("password", "token", "secret", "api_key", "apikey")
FORM = "application/x-www-form-urlencoded"
# `"name": value` in text that looked like JSON but did not parse (a client's broken body may
# still hold a real password); the value is a string or a bare word. A name is at most 100
# characters without escapes, so that the search stays linear in the body's length.
SECRET_JSON_PAIR = re.compile(
    rf'("(?=[^"\\]{{0,100}}?(?:{"|".join(SECRET_FIELD_WORDS)}))[^"\\]{{0,100}}"\s*:\s*)'
    r'(?:"(?:[^"\\]|\\.)*"|[^\s,}\]]+)',
    re.IGNORECASE,
)


def secret_header(name: str) -> bool:
    name = name.lower()
    return name in SECRET_HEADERS or any(word in name for word in SECRET_HEADER_WORDS)


def secret_param(name: str) -> bool:
    name = name.lower()
    return any(word in name for word in SECRET_PARAM_WORDS)


def secret_field(name: str) -> bool:
    name = name.lower()
    return any(word in name for word in SECRET_FIELD_WORDS)


def redacted_url(url: str) -> str:
    """`url` with secret query values (and a password in its user part) redacted, and without
    a fragment (HAR's `url` has none)."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if parts.password is not None:
        user, _, host = netloc.rpartition("@")
        netloc = f"{user.partition(':')[0]}:{quote(REDACTED)}@{host}"
    return urlunsplit(parts._replace(netloc=netloc, query=redacted_form(parts.query), fragment=""))


def redacted_form(text: str) -> str:
    """A query or form body with secret values redacted, every other byte as it was."""
    pairs = []
    for pair in text.split("&"):
        name, equals, _ = pair.partition("=")
        pairs.append(
            f"{name}={quote(REDACTED)}" if equals and secret_param(unquote_plus(name)) else pair
        )
    return "&".join(pairs)


def redacted_json(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            key: REDACTED if secret_field(key) else redacted_json(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [redacted_json(item) for item in value]
    return value


_UNREAD = object()  # a body whose JSON has not been read yet


def redacted_body(text: str, body: bytes, mime: str, parsed: Any = _UNREAD) -> str:
    """A UTF-8 body's text with its secrets redacted: JSON by its keys (the text kept as sent
    when nothing was secret), a form by its names, other text by any `"secret": value` in it.
    `parsed` is the body's JSON when the caller has read it already (`Exchange.json`)."""
    if parsed is _UNREAD:
        parsed = parse_json(body)
    if parsed is not NOT_JSON:
        try:
            redacted = redacted_json(parsed)
            return text if redacted == parsed else json.dumps(redacted, ensure_ascii=False)
        except RecursionError:  # parsed, but nested deeper than this walk recurses: as text
            pass
    if FORM in mime.lower():
        return redacted_form(text)
    return SECRET_JSON_PAIR.sub(rf'\1"{REDACTED}"', text)


def redacted_bytes(body: bytes, mime: str, parsed: Any = _UNREAD) -> bytes:
    """A body with its secrets redacted (`redacted_body`); one that is not UTF-8 as it was."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return body
    clean = redacted_body(text, body, mime, parsed)
    return body if clean == text else clean.encode("utf-8")


def redacted(exchange: Exchange) -> Exchange:
    """`exchange` as the log, the journal and the report may show it: secret headers, query
    values, body fields and a password in the URL's user part redacted. With nothing to
    redact it is `exchange` itself, whose bodies' JSON (read here) the checks then reuse."""

    def headers(given: dict[str, str]) -> dict[str, str]:
        return {name: REDACTED if secret_header(name) else value for name, value in given.items()}

    clean = replace(
        exchange,
        url=redacted_url(exchange.url),
        request_headers=headers(exchange.request_headers),
        request_body=redacted_bytes(
            exchange.request_body,
            exchange.request_headers.get("content-type", ""),
            exchange.request_json,
        ),
        headers=headers(exchange.headers),
        body=redacted_bytes(exchange.body, exchange.headers.get("content-type", ""), exchange.json),
    )
    parts = ("url", "request_headers", "request_body", "headers", "body")
    same = all(getattr(clean, name) == getattr(exchange, name) for name in parts)
    return exchange if same else clean
