"""Requests go to the upstream as they were sent, answers come back as they were received:
only `Host` and the hop-by-hop headers change, bodies are never decoded, and an answer past the
body limit streams back whole but unchecked."""

from __future__ import annotations

import asyncio
import base64
import gzip
import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from starlette.types import Receive, Scope, Send

from patchworks_mock.instance import Limits
from tests.proxy.support import KEY, VIOLATIONS, journal, proxy_in_front, raw_upstream, served

LIMIT = 64 * 1024  # the proxy's max_body_bytes in these tests
BIG = 1024 * 1024 + 7  # an answer past it
GZIPPED = gzip.compress(json.dumps({"data": ["x" * 100] * 20}).encode(), mtime=0)
ANSWER_HOP_BY_HOP = [
    (b"connection", b"x-answer-hop"),
    (b"x-answer-hop", b"named in Connection"),
    (b"keep-alive", b"timeout=5, max=100"),
    (b"proxy-authenticate", b'Basic realm="upstream"'),
    (b"trailer", b"x-checksum"),
]
TWO_COOKIES = [(b"set-cookie", b"a=1; Path=/"), (b"set-cookie", b"b=2; HttpOnly")]


class Echo:
    """An upstream that answers a request with what it received (method, raw path and query,
    headers, body, the port it came from), or, as its `X-Echo` header asks, with a fixed answer:
    gzip-encoded, with two Set-Cookie headers, another status, a long body, or chunked."""

    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        seen = {
            "method": scope["method"],
            "raw_path": scope["raw_path"].decode("latin-1"),
            "query_string": scope["query_string"].decode("latin-1"),
            "headers": [[n.decode("latin-1"), v.decode("latin-1")] for n, v in scope["headers"]],
            "body": base64.b64encode(body).decode(),
            "port": scope["client"][1],
        }
        self.seen.append(seen)
        mode = dict(scope["headers"]).get(b"x-echo", b"").decode()
        status, headers, chunks = self._answer(mode, seen)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        for chunk in chunks[:-1]:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": chunks[-1] if chunks else b""})

    @staticmethod
    def _answer(
        mode: str, seen: dict[str, Any]
    ) -> tuple[int, list[tuple[bytes, bytes]], list[bytes]]:
        json_type = (b"content-type", b"application/json")
        if mode == "gzip":
            length = (b"content-length", b"%d" % len(GZIPPED))
            return 200, [json_type, (b"content-encoding", b"gzip"), length], [GZIPPED]
        if mode == "cookies":
            return 200, [(b"content-type", b"text/plain"), *TWO_COOKIES], [b"two cookies"]
        if mode.startswith("status:"):
            return int(mode[7:]), [(b"content-type", b"text/plain"), (b"x-odd", b"yes")], [b"odd"]
        if mode in ("204", "304"):
            return int(mode), [(b"etag", b'"v1"')], []
        if mode == "big":  # with its length
            chunks = [bytes([65 + i % 26]) * (BIG // 16) for i in range(16)]
            chunks.append(b"z" * (BIG - sum(map(len, chunks))))
            return 200, [(b"content-length", b"%d" % BIG)], chunks
        if mode == "big-chunked":  # without: uvicorn sends it chunked
            return 200, [(b"content-type", b"text/plain")], [b"%05d" % i * 2000 for i in range(120)]
        if mode == "chunked":
            return 200, [json_type], [b'{"parts": ', b'["a", ', b'"b"]}']
        if mode == "hop-by-hop":
            return 200, [json_type, *ANSWER_HOP_BY_HOP, (b"x-kept", b"yes")], [b"{}"]
        return 200, [json_type], [json.dumps(seen).encode()]


@contextmanager
def echo_and_proxy(**options: Any) -> Iterator[tuple[Echo, str, str]]:
    """The echo upstream (adding no Server or Date of its own) and a proxy in front of it whose
    body limit is `LIMIT`; yields (the echo, its URL, the proxy's URL)."""
    echo = Echo()
    with (
        served(echo, own_headers=False) as upstream,
        proxy_in_front(upstream.url, limits=Limits(max_body_bytes=LIMIT), **options) as (url, _),
    ):
        yield echo, upstream.url, url


def names(headers: list[list[str]]) -> list[str]:
    return [name for name, _ in headers]


@pytest.mark.parametrize(
    "target",
    [
        b"/api/v1/packages/%2F..%2fa%20b%C3%A9;x=1?q=%ZZ&a=b+c&&=&filter[name]=%E2%9C%93&x=%00",
        b"/api/v1/packages?include=flowVersions,createdBy&sort=-name&page=2&per_page=2",
        b"/odd//path/./../%7e?a=1&a=2&%5B%5D=%5b%5d&=&&?&/?",
        b"/no-query?",
    ],
)
def test_the_raw_path_and_query_arrive_byte_identical(target: bytes) -> None:
    with echo_and_proxy() as (echo, _, proxy_url), httpx.Client(base_url=proxy_url) as client:
        answer = client.get("/", headers=KEY, extensions={"target": target})
    assert answer.status_code == 200, answer.text
    [seen] = echo.seen
    path, _, query = target.partition(b"?")
    assert seen["raw_path"].encode("latin-1") == path
    assert seen["query_string"].encode("latin-1") == query


def test_only_host_and_hop_by_hop_headers_change_and_a_chunked_body_arrives_whole() -> None:
    sent = [
        ("Authorization", "Bearer 12|secret-token"),
        ("Accept-Encoding", "gzip, br;q=0.5"),
        ("Connection", "keep-alive, X-Hop-Named"),
        ("X-Hop-Named", "dropped: Connection names it"),
        ("Keep-Alive", "timeout=5, max=100"),
        ("TE", "trailers"),
        ("Upgrade", "h2c"),
        ("Proxy-Authorization", "Basic cHJveHk6c2VjcmV0"),
        ("X-Repeated", "one"),
        ("X-Repeated", "two"),
        ("Content-Type", "application/octet-stream"),
        ("User-Agent", "forwarding-test/1.0"),
    ]
    body = bytes(range(256)) * 40  # every byte value, 10 KiB

    def chunks() -> Iterator[bytes]:  # no length: sent with Transfer-Encoding: chunked
        for start in range(0, len(body), 1000):
            yield body[start : start + 1000]

    with echo_and_proxy() as (echo, upstream_url, proxy_url):
        answer = httpx.post(f"{proxy_url}/api/v1/anything", headers=sent, content=chunks())
    assert answer.status_code == 200, answer.text
    [seen] = echo.seen
    assert seen["method"] == "POST"
    assert base64.b64decode(seen["body"]) == body
    received = [(name, value) for name, value in seen["headers"]]
    assert ("host", upstream_url.removeprefix("http://")) in received
    assert names(seen["headers"]).count("host") == 1
    hop_by_hop = {"connection", "x-hop-named", "keep-alive", "te", "upgrade", "transfer-encoding"}
    assert not ({*hop_by_hop, "proxy-authorization"} & set(names(seen["headers"]))), received
    # the rest, in the order sent, repeated ones as they were
    kept = [
        (n.lower(), v) for n, v in sent if n.lower() not in hop_by_hop | {"proxy-authorization"}
    ]
    assert [h for h in received if h[0] in {n for n, _ in kept}] == kept
    assert ("content-length", str(len(body))) in received


def test_a_request_body_arrives_byte_identical_with_its_length() -> None:
    body = b'{"name": "caf\xc3\xa9", "notes": "\\u0000 \xff"}'
    with echo_and_proxy() as (echo, _, proxy_url):
        answer = httpx.put(
            f"{proxy_url}/api/v1/packages/1",
            headers={**KEY, "Content-Type": "application/json"},
            content=body,
        )
    assert answer.status_code == 200
    [seen] = echo.seen
    assert base64.b64decode(seen["body"]) == body
    assert ["content-length", str(len(body))] in seen["headers"]
    assert ["authorization", KEY["Authorization"]] in seen["headers"]


@pytest.mark.parametrize(
    "mode", ["gzip", "cookies", "status:418", "status:599", "status:299", "chunked"]
)
def test_answers_come_back_as_received(mode: str) -> None:
    """Status, headers (in order, repeated ones kept) and the body's bytes are the upstream's,
    the gzip-encoded body not decoded, and the proxy adds no Server or Date of its own."""
    headers = {"X-Echo": mode, "Accept-Encoding": "gzip"}
    with echo_and_proxy() as (_, upstream_url, proxy_url):
        direct = _raw(f"{upstream_url}/somewhere", headers)
        through = _raw(f"{proxy_url}/somewhere", headers)
    assert through == direct
    status, received, body = through
    assert status == int(mode[7:]) if mode.startswith("status:") else status == 200
    assert b"server" not in dict(received) and b"date" not in dict(received)
    assert VIOLATIONS.encode() not in dict(received)
    if mode == "gzip":
        assert body == GZIPPED and (b"content-encoding", b"gzip") in received
    if mode == "cookies":
        assert [h for h in received if h[0] == b"set-cookie"] == TWO_COOKIES
    if mode == "chunked":
        assert body == b'{"parts": ["a", "b"]}'


def _raw(url: str, headers: dict[str, str]) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """The answer's status, raw headers and undecoded body bytes."""
    with httpx.Client() as client, client.stream("GET", url, headers=headers) as answer:
        return answer.status_code, list(answer.headers.raw), b"".join(answer.iter_raw())


def test_hop_by_hop_headers_of_an_answer_are_not_handed_on() -> None:
    with echo_and_proxy() as (_, upstream_url, proxy_url):
        direct = _raw(f"{upstream_url}/somewhere", {"X-Echo": "hop-by-hop"})
        through = _raw(f"{proxy_url}/somewhere", {"X-Echo": "hop-by-hop"})
    assert set(ANSWER_HOP_BY_HOP) <= set(direct[1])  # the upstream sent them
    hop_by_hop = {name for name, _ in ANSWER_HOP_BY_HOP}
    assert through[0] == direct[0] and through[2] == direct[2] == b"{}"
    assert through[1] == [h for h in direct[1] if h[0] not in hop_by_hop]


def test_an_upstream_connection_close_does_not_close_the_clients_connection() -> None:
    """`Connection: close` is the upstream's word on its own connection to the proxy."""

    def answer(head: bytes, body: bytes, connection: socket.socket) -> bool:
        connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
        return False

    ports = []
    with (
        raw_upstream(answer) as upstream_url,
        proxy_in_front(upstream_url) as (proxy_url, _),
        httpx.Client(base_url=proxy_url) as client,
    ):
        for _ in range(5):
            reply = client.get("/api/v1/anything")
            assert (reply.status_code, reply.content) == (200, b"ok")
            assert "connection" not in reply.headers
            ports.append(reply.extensions["network_stream"].get_extra_info("client_addr"))
    assert len(set(ports)) == 1  # the client kept its one connection to the proxy


@pytest.mark.parametrize("mode", ["big", "big-chunked"])
def test_an_answer_past_the_body_limit_streams_back_whole_and_unchecked(mode: str) -> None:
    with echo_and_proxy() as (_, upstream_url, proxy_url):
        direct = _raw(f"{upstream_url}/api/v1/packages", {"X-Echo": mode})
        through = _raw(f"{proxy_url}/api/v1/packages", {"X-Echo": mode, **KEY})
        entries = journal(proxy_url)
    assert len(direct[2]) > LIMIT
    assert through == direct  # every byte, and no X-Contract-Violations
    [entry] = entries
    assert entry["verdict"].startswith(f"not checked: the answer's body is over {LIMIT} bytes")
    assert f"({len(direct[2])} bytes)" in entry["verdict"]


@pytest.mark.parametrize("chunked", [False, True])
def test_a_request_body_past_the_limit_is_413_and_never_forwarded(chunked: bool) -> None:
    body = b"x" * (LIMIT + 1)
    content: Any = iter([body[:LIMIT], body[LIMIT:]]) if chunked else body
    with echo_and_proxy() as (echo, _, proxy_url), httpx.Client(base_url=proxy_url) as client:
        refused = client.post("/api/v1/packages", headers=KEY, content=content)
        after = client.get("/api/v1/packages", headers=KEY)
        entries = journal(proxy_url)
    assert refused.status_code == 413
    assert refused.json() == {"message": "The POST data is too large."}
    assert after.status_code == 200
    assert [seen["method"] for seen in echo.seen] == ["GET"]  # only the one after it
    assert entries[0]["forwarded"] is False and entries[0]["status"] == 413


def test_a_body_at_the_limit_is_forwarded() -> None:
    body = b"y" * LIMIT
    with echo_and_proxy() as (echo, _, proxy_url):
        answer = httpx.post(f"{proxy_url}/api/v1/anything", content=body)
    assert answer.status_code == 200
    assert base64.b64decode(echo.seen[0]["body"]) == body


def test_head_204_and_304_answers_have_no_body_and_keep_the_connection_in_step() -> None:
    with echo_and_proxy() as (echo, upstream_url, proxy_url):
        with httpx.Client(base_url=proxy_url) as client:
            answers = [
                client.head("/api/v1/anything", headers={"X-Echo": "gzip"}),
                client.get("/api/v1/anything", headers={"X-Echo": "204"}),
                client.get("/api/v1/anything", headers={"X-Echo": "304"}),
                client.head("/api/v1/anything", headers={"X-Echo": "big"}),
                client.get("/api/v1/anything", headers={"X-Echo": "gzip"}),
            ]
        methods = [seen["method"] for seen in echo.seen]
        direct_head = httpx.head(f"{upstream_url}/api/v1/anything", headers={"X-Echo": "gzip"})
    head, no_content, not_modified, big_head, after = answers
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == str(len(GZIPPED))
    assert head.headers.raw == direct_head.headers.raw
    assert no_content.status_code == 204 and no_content.content == b""
    assert not_modified.status_code == 304 and not_modified.content == b""
    assert not_modified.headers["etag"] == '"v1"'
    assert big_head.status_code == 200 and big_head.content == b""
    assert big_head.headers["content-length"] == str(BIG)
    assert after.status_code == 200 and after.content == gzip.decompress(GZIPPED)
    assert methods == ["HEAD", "GET", "GET", "HEAD", "GET"]


def test_sequential_requests_reuse_one_upstream_connection() -> None:
    with echo_and_proxy() as (echo, _, proxy_url), httpx.Client(base_url=proxy_url) as client:
        answers = [client.get(f"/api/v1/anything/{n}") for n in range(40)]
    assert [a.status_code for a in answers] == [200] * 40
    assert [a.json()["raw_path"] for a in answers] == [f"/api/v1/anything/{n}" for n in range(40)]
    assert len({seen["port"] for seen in echo.seen}) == 1  # all on the proxy's one connection


@pytest.mark.parametrize("idle_seconds", [0.0, 0.05])
def test_an_upstream_that_closes_idle_connections_does_not_break_the_next_request(
    idle_seconds: float,
) -> None:
    """A server closes a kept-alive connection when it has been idle a while (0: at once, as
    one that ignores keep-alive does); the proxy opens a new one for the next request."""
    connections: list[int] = []

    def answer(head: bytes, body: bytes, connection: socket.socket) -> bool:
        port = connection.getpeername()[1]
        if port not in connections:
            connections.append(port)
        connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        time.sleep(idle_seconds)
        connection.shutdown(socket.SHUT_RDWR)
        return False

    with (
        raw_upstream(answer) as upstream_url,
        proxy_in_front(upstream_url) as (proxy_url, _),
        httpx.Client(base_url=proxy_url) as client,
    ):
        answers = []
        for _ in range(20):
            answers.append(client.get("/api/v1/anything"))
            time.sleep(idle_seconds * 2)
    assert [(a.status_code, a.content) for a in answers] == [(200, b"ok")] * 20, [
        a.text for a in answers
    ]
    assert len(connections) == 20


def test_a_kept_connection_the_upstream_closed_as_the_request_went_is_retried_if_idempotent() -> (
    None
):
    """The race every keep-alive client meets: the upstream gives up an idle connection just as
    the next request goes out on it, and closes it without a byte of answer. A request that
    may be sent twice (RFC 9110 9.2.2) goes again on a new connection; a POST, which the
    upstream may have acted on, is a 502."""
    answered: dict[int, int] = {}
    reached: list[bytes] = []

    def answer(head: bytes, body: bytes, connection: socket.socket) -> bool:
        reached.append(head.split(b" ", 1)[0])
        port = connection.getpeername()[1]
        if answered.get(port):  # its second request: closed without an answer
            return False
        answered[port] = 1
        connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        return True

    with (
        raw_upstream(answer) as upstream_url,
        proxy_in_front(upstream_url) as (proxy_url, _),
        httpx.Client(base_url=proxy_url) as client,
    ):
        first = client.get("/api/v1/anything")
        again = [client.request(method, "/api/v1/anything") for method in ("GET", "PUT", "DELETE")]
        post = client.post("/api/v1/anything")
    assert (first.status_code, first.content) == (200, b"ok")
    assert [(a.status_code, a.content) for a in again] == [(200, b"ok")] * 3
    assert post.status_code == 502, post.text
    assert "could not be reached" in post.json()["message"]
    assert reached == [b"GET", b"GET", b"GET", b"PUT", b"PUT", b"DELETE", b"DELETE", b"POST"]


def test_a_long_answer_reaches_the_client_while_the_upstream_is_still_sending() -> None:
    """Past the body limit the proxy hands on what it has instead of waiting for the rest."""
    release = threading.Event()
    released_in_time: list[bool] = []

    async def upstream(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"a" * 2 * LIMIT, "more_body": True})
        deadline = time.monotonic() + 5
        while not release.is_set() and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        released_in_time.append(release.is_set())
        await send({"type": "http.response.body", "body": b"b" * LIMIT})

    with (
        served(upstream, own_headers=False) as server,
        proxy_in_front(server.url, limits=Limits(max_body_bytes=LIMIT)) as (proxy_url, _),
        httpx.Client() as client,
        client.stream("GET", f"{proxy_url}/api/v1/anything") as answer,
    ):
        body = b""
        for chunk in answer.iter_raw():
            body += chunk
            if len(body) >= LIMIT:
                release.set()
    assert released_in_time == [True]  # the client had the first part before the rest was sent
    assert body == b"a" * 2 * LIMIT + b"b" * LIMIT
