"""`proxy --record`'s HAR files: valid against the published HAR 1.2 schema (npm `har-schema`,
vendored in `har_schema/`), credentials redacted, bounded in size, written atomically."""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import replace
from importlib import metadata
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT6

from patchworks_mock.contract.exchange import Exchange
from patchworks_mock.proxy import har
from patchworks_mock.proxy.har import REDACTED, HarRecorder

SCHEMAS = Path(__file__).parent / "har_schema"
BASE = "http://127.0.0.1:8000"
STARTED = 1_796_000_000.25  # a Unix time with milliseconds
LOGIN = "/fabric/api/login"
PASSWORD = "correct-horse-battery-staple"
TOKEN = "tok_5f2b9c1e7a"
API_KEY = "pk_live_3141592653"


def _validator() -> jsonschema.Draft6Validator:
    resources = [
        (path.name, Resource.from_contents(json.loads(path.read_text()), DRAFT6))
        for path in SCHEMAS.glob("*.json")
    ]
    registry: Registry[Any] = Registry().with_resources(resources)
    schema = json.loads((SCHEMAS / "har.json").read_text())
    return jsonschema.Draft6Validator(
        schema, registry=registry, format_checker=jsonschema.Draft6Validator.FORMAT_CHECKER
    )


VALIDATOR = _validator()


def valid_har(path: Path) -> dict[str, Any]:
    """The file's HAR, after checking it against the schema and the timings' bounds (the
    schema's `"min": -1` is not a JSON Schema keyword, so it checks no bound)."""
    document = json.loads(path.read_bytes().decode("utf-8"))
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in VALIDATOR.iter_errors(document)]
    assert not errors, errors
    for entry in document["log"]["entries"]:
        timings = entry["timings"]
        assert all(timings[name] >= 0 for name in ("send", "wait", "receive")), timings
        assert entry["time"] == pytest.approx(sum(timings[n] for n in ("send", "wait", "receive")))
    return document


def exchange(
    method: str = "GET",
    target: str = "/api/v1/packages?page=2",
    *,
    sent: bytes = b"",
    request_headers: dict[str, str] | None = None,
    status: int = 200,
    headers: dict[str, str] | None = None,
    body: bytes = b'{"data": []}',
) -> Exchange:
    return Exchange(
        method=method,
        url=BASE + target,
        request_headers={"host": "127.0.0.1:8000", **(request_headers or {})},
        request_body=sent,
        status=status,
        headers={"content-type": "application/json"} if headers is None else headers,
        body=body,
    )


def recorded(tmp_path: Path, *exchanges: Exchange, **options: Any) -> dict[str, Any]:
    recorder = HarRecorder(tmp_path / "session.har", **options)
    for one in exchanges:
        recorder.add(one, started=STARTED, elapsed_ms=12.5, wait_ms=10.0)
    recorder.write()
    return valid_har(tmp_path / "session.har")


def header(headers: list[dict[str, str]], name: str) -> str:
    (value,) = [h["value"] for h in headers if h["name"] == name]
    return value


def test_the_vendored_schemas_are_the_published_files() -> None:
    for line in (SCHEMAS / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split()
        assert hashlib.sha256((SCHEMAS / name).read_bytes()).hexdigest() == digest, name


def test_the_validator_rejects_what_is_not_a_har() -> None:
    entry_without_timings = {
        "startedDateTime": "2026-01-01T00:00:00.000Z",
        "time": 1,
        "request": {},
        "response": {},
        "cache": {},
    }
    bad = {"log": {"version": "1.2", "creator": {"name": "x"}, "entries": [entry_without_timings]}}
    messages = {error.message for error in VALIDATOR.iter_errors(bad)}
    assert "'version' is a required property" in messages  # of the creator
    assert "'timings' is a required property" in messages
    assert "'method' is a required property" in messages  # of the request, through its $ref


def test_a_get_is_one_entry_of_a_valid_har(tmp_path: Path) -> None:
    answer = b'{"data": [{"id": 1}], "meta": {"current_page": 2}}'
    document = recorded(tmp_path, exchange(body=answer), creator_version="9.9.9")

    log = document["log"]
    assert log["version"] == "1.2"
    assert log["creator"] == {"name": "patchworks-mock", "version": "9.9.9"}
    assert "comment" not in log
    (entry,) = log["entries"]
    assert entry["startedDateTime"] == "2026-11-30T00:53:20.250Z"
    assert entry["timings"] == {"send": 0, "wait": 10.0, "receive": 2.5}
    assert entry["time"] == 12.5
    request, response = entry["request"], entry["response"]
    assert request["method"] == "GET"
    assert request["url"] == f"{BASE}/api/v1/packages?page=2"
    assert request["queryString"] == [{"name": "page", "value": "2"}]
    assert header(request["headers"], "host") == "127.0.0.1:8000"
    assert request["bodySize"] == 0 and "postData" not in request
    assert (response["status"], response["statusText"]) == (200, "OK")
    assert response["content"] == {
        "size": len(answer),
        "mimeType": "application/json",
        "text": answer.decode(),
    }
    assert response["bodySize"] == len(answer)
    assert response["redirectURL"] == ""


def test_a_post_keeps_its_json_body_as_sent(tmp_path: Path) -> None:
    sent = b'{"name":"Orders sync","description":null}'  # not as json.dumps would write it
    document = recorded(
        tmp_path,
        exchange(
            "POST",
            "/api/v1/packages",
            sent=sent,
            request_headers={"content-type": "application/json"},
            status=201,
        ),
    )

    request = document["log"]["entries"][0]["request"]
    assert request["postData"] == {"mimeType": "application/json", "text": sent.decode()}
    assert request["bodySize"] == len(sent)
    assert document["log"]["entries"][0]["response"]["statusText"] == "Created"


def test_a_login_keeps_neither_the_password_nor_the_token(tmp_path: Path) -> None:
    sent = json.dumps({"username": "ada@example.com", "password": PASSWORD}).encode()
    answer = json.dumps({"message": "Logged in", "token": TOKEN, "expires_in": 3600}).encode()
    path = tmp_path / "session.har"
    document = recorded(
        tmp_path,
        exchange(
            "POST",
            LOGIN,
            sent=sent,
            request_headers={"content-type": "application/json"},
            body=answer,
        ),
    )

    entry = document["log"]["entries"][0]
    assert json.loads(entry["request"]["postData"]["text"]) == {
        "username": "ada@example.com",
        "password": REDACTED,
    }
    assert json.loads(entry["response"]["content"]["text"]) == {
        "message": "Logged in",
        "token": REDACTED,
        "expires_in": 3600,
    }
    assert entry["response"]["content"]["size"] == len(answer)  # the size of what was sent
    content = path.read_bytes()
    assert PASSWORD.encode() not in content and TOKEN.encode() not in content


def test_secrets_nested_in_json_are_redacted_at_any_depth(tmp_path: Path) -> None:
    answer = json.dumps(
        {"data": [{"id": 1, "auth": {"Client_Secret": "s3", "refreshToken": {"v": "t4"}}}]}
    ).encode()
    document = recorded(tmp_path, exchange(body=answer))

    text = document["log"]["entries"][0]["response"]["content"]["text"]
    assert json.loads(text)["data"][0]["auth"] == {
        "Client_Secret": REDACTED,
        "refreshToken": REDACTED,
    }


def test_credential_headers_are_redacted_and_others_kept(tmp_path: Path) -> None:
    secrets = {
        "authorization": f"Bearer {TOKEN}",
        "proxy-authorization": "Basic dXNlcjpwYXNz",
        "cookie": "session=c00k1e",
        "x-api-key": API_KEY,
        "x-csrf-token": "csrf-551",
        "x-client-secret": "cs-8",
        "x-password": "pw-9",
    }
    document = recorded(
        tmp_path,
        exchange(
            request_headers={**secrets, "accept": "application/json"},
            headers={"content-type": "application/json", "set-cookie": "session=n3w; HttpOnly"},
        ),
    )

    entry = document["log"]["entries"][0]
    request_headers = entry["request"]["headers"]
    for name in secrets:
        assert header(request_headers, name) == REDACTED, name
    assert header(request_headers, "accept") == "application/json"
    assert header(entry["response"]["headers"], "set-cookie") == REDACTED
    assert header(entry["response"]["headers"], "content-type") == "application/json"
    assert entry["request"]["cookies"] == [] and entry["response"]["cookies"] == []
    content = (tmp_path / "session.har").read_bytes()
    for value in [*secrets.values(), "n3w"]:
        assert value.encode() not in content, value


def test_secret_query_parameters_are_redacted_in_the_url_and_the_query(tmp_path: Path) -> None:
    target = f"/api/v1/packages?api_key={API_KEY}&Token={TOKEN}&password=pw&filter%5Bname%5D=x&page"
    document = recorded(tmp_path, exchange(target=target))

    request = document["log"]["entries"][0]["request"]
    assert request["queryString"] == [
        {"name": "api_key", "value": REDACTED},
        {"name": "Token", "value": REDACTED},
        {"name": "password", "value": REDACTED},
        {"name": "filter[name]", "value": "x"},
        {"name": "page", "value": ""},
    ]
    assert request["url"].endswith("&password=%5Bredacted%5D&filter%5Bname%5D=x&page")
    content = (tmp_path / "session.har").read_bytes()
    assert API_KEY.encode() not in content and TOKEN.encode() not in content


def test_a_password_in_the_url_is_redacted_and_a_fragment_dropped(tmp_path: Path) -> None:
    recorder = HarRecorder(tmp_path / "session.har")
    recorder.add(
        replace(exchange(), url=f"http://ada:{PASSWORD}@host/x?a=1#part"),
        started=STARTED,
        elapsed_ms=1,
    )
    recorder.write()

    url = valid_har(tmp_path / "session.har")["log"]["entries"][0]["request"]["url"]
    assert url == "http://ada:%5Bredacted%5D@host/x?a=1"


def test_a_form_body_is_redacted_by_its_names(tmp_path: Path) -> None:
    sent = f"grant_type=password&username=ada&password={PASSWORD}&client_secret=cs".encode()
    document = recorded(
        tmp_path,
        exchange(
            "POST",
            "/oauth/token",
            sent=sent,
            request_headers={"content-type": "application/x-www-form-urlencoded"},
        ),
    )

    text = document["log"]["entries"][0]["request"]["postData"]["text"]
    assert text == (
        "grant_type=password&username=ada&password=%5Bredacted%5D&client_secret=%5Bredacted%5D"
    )


def test_a_broken_json_body_still_loses_its_secrets(tmp_path: Path) -> None:
    sent = f'{{"username": "ada", "password": "{PASSWORD}", "api_key": {API_KEY[:2]}'.encode()
    document = recorded(
        tmp_path,
        exchange("POST", LOGIN, sent=sent, request_headers={"content-type": "application/json"}),
    )

    text = document["log"]["entries"][0]["request"]["postData"]["text"]
    assert text == f'{{"username": "ada", "password": "{REDACTED}", "api_key": "{REDACTED}"'


def test_json_nested_too_deep_to_walk_is_redacted_as_text(tmp_path: Path) -> None:
    depth = 900  # json.loads reads it; a walk of two frames a level cannot
    answer = ('{"a": ' * depth + f'{{"token": "{TOKEN}"}}' + "}" * depth).encode()
    path = tmp_path / "session.har"
    document = recorded(tmp_path, exchange(body=answer))

    assert json.loads(answer)  # it is JSON
    text = document["log"]["entries"][0]["response"]["content"]["text"]
    assert f'"token": "{REDACTED}"' in text
    assert TOKEN.encode() not in path.read_bytes()


def test_other_text_is_kept_as_sent(tmp_path: Path) -> None:
    body = "a token of thanks: <b>password</b> reset is at /reset"
    document = recorded(
        tmp_path, exchange(headers={"content-type": "text/html"}, body=body.encode())
    )

    assert document["log"]["entries"][0]["response"]["content"]["text"] == body


def test_a_binary_body_is_base64(tmp_path: Path) -> None:
    body = bytes(range(256))
    document = recorded(
        tmp_path,
        exchange(
            "PUT",
            "/upload",
            sent=body,
            request_headers={"content-type": "application/octet-stream"},
            headers={"content-type": "image/png"},
            body=body,
        ),
    )

    entry = document["log"]["entries"][0]
    content = entry["response"]["content"]
    assert content["encoding"] == "base64"
    assert base64.b64decode(content["text"]) == body
    assert content["size"] == 256
    post = entry["request"]["postData"]
    assert base64.b64decode(post["text"]) == body
    assert "base64" in post["comment"]


def test_a_body_past_max_body_bytes_is_cut_and_the_entry_says_so(tmp_path: Path) -> None:
    long_text = "é" * 100  # 200 bytes of UTF-8: a cut at 101 falls inside a character
    document = recorded(
        tmp_path,
        exchange(
            "POST",
            "/notes",
            sent=b"x" * 1000,
            request_headers={"content-type": "text/plain"},
            headers={"content-type": "text/plain"},
            body=long_text.encode(),
        ),
        max_body_bytes=101,
    )

    entry = document["log"]["entries"][0]
    assert entry["request"]["postData"]["text"] == "x" * 101
    assert entry["response"]["content"]["text"] == "é" * 50
    assert entry["response"]["content"]["size"] == 200
    assert entry["comment"] == (
        "request body cut at 101 bytes of 1000; response body cut at 101 bytes of 200"
    )


def test_a_binary_body_is_cut_too(tmp_path: Path) -> None:
    body = bytes(range(256)) * 4
    document = recorded(tmp_path, exchange(body=body), max_body_bytes=300)

    entry = document["log"]["entries"][0]
    assert base64.b64decode(entry["response"]["content"]["text"]) == body[:300]
    assert entry["comment"] == "response body cut at 300 bytes of 1024"


def test_the_callers_comment_is_kept(tmp_path: Path) -> None:
    recorder = HarRecorder(tmp_path / "session.har")
    recorder.add(exchange(), started=STARTED, elapsed_ms=3, comment="schema: 1 failure")
    recorder.write()

    entry = valid_har(tmp_path / "session.har")["log"]["entries"][0]
    assert entry["comment"] == "schema: 1 failure"


def test_entries_past_max_bytes_are_left_out_and_counted(tmp_path: Path) -> None:
    path = tmp_path / "session.har"
    max_bytes = 20_000
    recorder = HarRecorder(path, max_bytes=max_bytes)
    for page in range(1, 101):
        body = json.dumps({"data": [{"id": page, "name": "n" * 300}]}).encode()
        recorder.add(
            exchange(target=f"/api/v1/packages?page={page}", body=body),
            started=STARTED,
            elapsed_ms=1,
        )
    recorder.write()

    document = valid_har(path)
    kept = document["log"]["entries"]
    assert 0 < len(kept) < 100
    assert recorder.left_out == 100 - len(kept)
    assert [e["request"]["queryString"][0]["value"] for e in kept] == [
        str(page) for page in range(1, len(kept) + 1)
    ]  # the first ones, in order
    assert document["log"]["comment"] == (
        f"{recorder.left_out} entries left out: the file reached its bound of 20000 bytes"
    )
    assert max_bytes - 2000 < path.stat().st_size <= max_bytes + 1024


def test_a_later_entry_that_fits_is_still_kept(tmp_path: Path) -> None:
    recorder = HarRecorder(tmp_path / "session.har", max_bytes=3000)
    recorder.add(exchange(body=b'"' + b"x" * 4000 + b'"'), started=STARTED, elapsed_ms=1)
    recorder.add(exchange(), started=STARTED, elapsed_ms=1)
    recorder.write()

    assert recorder.left_out == 1
    assert len(valid_har(tmp_path / "session.har")["log"]["entries"]) == 1


def test_write_again_writes_the_whole_current_file(tmp_path: Path) -> None:
    path = tmp_path / "session.har"
    recorder = HarRecorder(path)
    recorder.add(exchange(target="/one"), started=STARTED, elapsed_ms=1)
    recorder.write()
    assert len(valid_har(path)["log"]["entries"]) == 1

    recorder.add(exchange(target="/two"), started=STARTED + 1, elapsed_ms=1)
    recorder.write()
    urls = [entry["request"]["url"] for entry in valid_har(path)["log"]["entries"]]
    assert urls == [f"{BASE}/one", f"{BASE}/two"]


def test_an_empty_session_is_a_valid_har(tmp_path: Path) -> None:
    HarRecorder(tmp_path / "session.har").write()

    assert valid_har(tmp_path / "session.har")["log"]["entries"] == []


def test_write_leaves_only_the_file(tmp_path: Path) -> None:
    path = tmp_path / "session.har"
    path.write_text("an older recording")
    recorder = HarRecorder(path)
    recorder.add(exchange(), started=STARTED, elapsed_ms=1)
    recorder.write()

    assert [p.name for p in tmp_path.iterdir()] == ["session.har"]
    assert valid_har(path)["log"]["entries"]
    assert path.stat().st_mode & 0o077 == 0  # it holds what clients sent: its owner's only


def test_a_failed_write_keeps_the_previous_file_and_no_temporary_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "session.har"
    recorder = HarRecorder(path)
    recorder.write()
    before = path.read_bytes()

    def full_disk(*args: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(har.os, "replace", full_disk)
    recorder.add(exchange(), started=STARTED, elapsed_ms=1)
    with pytest.raises(OSError, match="No space left"):
        recorder.write()

    assert [p.name for p in tmp_path.iterdir()] == ["session.har"]
    assert path.read_bytes() == before


def test_an_unwritable_path_raises_oserror(tmp_path: Path) -> None:
    recorder = HarRecorder(tmp_path / "no such folder" / "session.har")
    recorder.add(exchange(), started=STARTED, elapsed_ms=1)

    with pytest.raises(OSError):
        recorder.write()


@pytest.mark.parametrize(
    ("elapsed_ms", "wait_ms", "expected"),
    [
        (12.5, None, {"send": 0, "wait": 12.5, "receive": 0}),
        (12.5, 10.0, {"send": 0, "wait": 10.0, "receive": 2.5}),
        (5.0, 8.0, {"send": 0, "wait": 8.0, "receive": 0}),  # a wait measured past the end
        (-1.0, -2.0, {"send": 0, "wait": 0, "receive": 0}),  # a clock that went back
    ],
)
def test_timings_are_never_negative_and_add_up(
    tmp_path: Path, elapsed_ms: float, wait_ms: float | None, expected: dict[str, float]
) -> None:
    recorder = HarRecorder(tmp_path / "session.har")
    recorder.add(exchange(), started=STARTED, elapsed_ms=elapsed_ms, wait_ms=wait_ms)
    recorder.write()

    entry = valid_har(tmp_path / "session.har")["log"]["entries"][0]
    assert entry["timings"] == expected
    assert entry["time"] == sum(expected.values())


def test_the_creator_is_the_installed_version_by_default(tmp_path: Path) -> None:
    recorder = HarRecorder(tmp_path / "session.har")
    recorder.write()

    creator = valid_har(tmp_path / "session.har")["log"]["creator"]
    assert creator == {"name": "patchworks-mock", "version": metadata.version("patchworks-mock")}


def test_a_compressed_answers_size_on_the_wire_is_unknown(tmp_path: Path) -> None:
    headers = {"content-type": "application/json", "content-encoding": "gzip"}
    document = recorded(tmp_path, exchange(headers=headers, body=b'{"data": []}'))

    response = document["log"]["entries"][0]["response"]
    assert response["bodySize"] == -1
    assert response["content"]["size"] == len(b'{"data": []}')
    assert header(response["headers"], "content-encoding") == "gzip"


def test_a_redirect_and_an_unknown_status(tmp_path: Path) -> None:
    document = recorded(
        tmp_path,
        exchange(status=302, headers={"location": "/elsewhere"}, body=b""),
        exchange(status=599, headers={}, body=b""),
    )

    redirect, unknown = (entry["response"] for entry in document["log"]["entries"])
    assert (redirect["statusText"], redirect["redirectURL"]) == ("Found", "/elsewhere")
    assert (unknown["statusText"], unknown["content"]["mimeType"]) == ("", "")
