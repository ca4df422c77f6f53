"""Limits on what one request may send: request-target (414), headers (431), body (413), query
keys (PHP's max_input_vars), and the request journal's bytes. Served on 127.0.0.1 where the
wire matters (Content-Length, chunked bodies); every loop is bounded."""

import socket

import httpx
import pytest
from starlette.testclient import TestClient

from patchworks_mock import create_app, errors, server
from patchworks_mock.instance import Limits

KEY = {"Authorization": "patchworks-mock-key"}


def client_for(app):
    return TestClient(app, headers=KEY)


def journal_of(app):
    return app.state.journal


def test_defaults_follow_php_laravel_and_nginx():
    limits = Limits()
    assert limits.max_body_bytes == 8 * 1024 * 1024  # post_max_size 8M
    assert limits.max_query_keys == 1000  # max_input_vars
    assert limits.max_target_bytes == 8 * 1024
    assert limits.max_header_bytes == 16 * 1024


def test_oversized_headers_get_431_and_are_not_kept():
    app = create_app()
    client = client_for(app)
    response = client.get("/api/v1/packages", headers={"X-Big": "a" * 17_000})
    assert response.status_code == 431
    assert response.json() == {"message": "Request Header Fields Too Large"}
    assert response.headers["connection"] == "close"
    assert len(journal_of(app).entries) == 0 and journal_of(app).bytes == 0
    assert client.get("/api/v1/packages", headers={"X-Fine": "a" * 8_000}).status_code == 200


def test_a_long_request_target_gets_414():
    app = create_app()
    client = client_for(app)
    response = client.get("/api/v1/packages?filter[name]=" + "a" * 8200)
    assert response.status_code == 414
    assert response.json() == {"message": "URI Too Long"}
    assert len(journal_of(app).entries) == 0
    assert client.get("/api/v1/packages?filter[name]=" + "a" * 7000).status_code == 200


def _keys(count: int) -> str:
    return "&".join(f"k{n}=" for n in range(count))


def test_a_thousand_query_keys_are_answered_correctly():
    client = client_for(create_app())
    query = _keys(999) + "&per_page=1"  # 1,000 keys: all kept
    response = client.get("/api/v1/packages?" + query)
    assert response.status_code == 200
    assert len(response.json()["data"]) == 1


def test_query_keys_past_the_limit_are_dropped_as_php_does():
    app = create_app(limits=Limits(max_target_bytes=64 * 1024))
    client = client_for(app)
    response = client.get("/api/v1/packages?" + _keys(1000) + "&per_page=1")  # key 1,001
    assert response.status_code == 200
    assert len(response.json()["data"]) > 1  # per_page=1 was dropped
    kept = journal_of(app).entries[-1].query_string
    assert kept.count(b"&") == 999


def test_the_journal_is_bounded_in_bytes_and_keeps_the_newest():
    app = create_app(limits=Limits(journal_bytes=100_000))
    client = client_for(app)
    for n in range(40):
        client.post(
            "/api/v1/packages",
            json={"name": f"Big {n}", "notes": "n" * 5_000},
            headers={"X-Padding": "p" * 10_000},
        )
        journal = journal_of(app)
        assert journal.bytes == sum(entry.cost for entry in journal.entries)
        assert journal.bytes <= 100_000
    assert 0 < len(journal.entries) < 40
    assert client.get("/__mock__/requests").json()["data"][-1]["body"]["name"] == "Big 39"


@pytest.fixture
def small_body_server():
    app = create_app(limits=Limits(max_body_bytes=1_000))
    with server.serving(app) as url:
        yield app, url


def _package_count(app):
    return len(app.state.store.packages)


def test_a_body_over_the_limit_by_content_length_gets_413_unread(small_body_server):
    app, url = small_body_server
    before = _package_count(app)
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        # The head promises 8 MiB and sends none of it: the answer cannot have read the body.
        sock.sendall(
            b"POST /api/v1/packages HTTP/1.1\r\nHost: x\r\nAuthorization: patchworks-mock-key\r\n"
            b"Content-Type: application/json\r\nContent-Length: 8388608\r\n\r\n"
        )
        answer = b""
        while b"}" not in answer and len(answer) < 10_000:
            chunk = sock.recv(4096)
            if not chunk:
                break
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 413")
    assert answer.endswith(b'{"message":"The POST data is too large."}')
    assert _package_count(app) == before


def test_a_chunked_body_over_the_limit_gets_413_and_changes_nothing(small_body_server):
    app, url = small_body_server
    before = _package_count(app)

    def chunks():
        yield b'{"name": "Chunked", "notes": "'
        for _ in range(20):
            yield b"x" * 100
        yield b'"}'

    response = httpx.post(
        url + "/api/v1/packages",
        content=chunks(),
        headers={**KEY, "Content-Type": "application/json"},
        timeout=10,
    )
    assert response.status_code == 413
    assert response.json() == {"message": errors.POST_TOO_LARGE}
    assert _package_count(app) == before
    small = httpx.post(url + "/api/v1/packages", json={"name": "Small"}, headers=KEY, timeout=10)
    assert small.status_code == 201


def test_a_body_under_the_limit_is_served(small_body_server):
    app, url = small_body_server
    response = httpx.post(
        url + "/api/v1/packages", json={"name": "Fine", "notes": "n" * 200}, headers=KEY
    )
    assert response.status_code == 201


def test_a_content_length_of_thousands_of_digits_is_judged_by_its_value_not_a_500():
    # int() refuses more than 4,300 digits: a long Content-Length must not reach it.
    client = TestClient(create_app(), headers={**KEY, "Content-Type": "application/json"})
    huge = client.post("/api/v1/packages", content=b"{}", headers={"Content-Length": "9" * 5000})
    assert huge.status_code == 413
    assert huge.json() == {"message": errors.POST_TOO_LARGE}
    body = b'{"name": "Padded"}'
    padded = client.post(
        "/api/v1/packages", content=body, headers={"Content-Length": "0" * 4999 + str(len(body))}
    )
    assert padded.status_code == 201


def test_a_bug_in_an_outer_layer_is_laravels_500_not_a_traceback(monkeypatch):
    from patchworks_mock import middleware

    def broken(self, scope):
        raise RuntimeError("a bug")

    monkeypatch.setattr(middleware.ChooseSandbox, "_choose", broken)
    client = TestClient(create_app(), headers=KEY, raise_server_exceptions=False)
    response = client.get("/api/v1/packages")
    assert response.status_code == 500
    assert response.json() == {"message": errors.SERVER_ERROR}
