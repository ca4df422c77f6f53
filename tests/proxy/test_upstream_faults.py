"""An upstream that is down, too slow, breaks off its answer or offers a certificate that is
not trusted: a 502 or 504 in the API's shape and a log line, never a traceback, and the proxy
keeps serving."""

from __future__ import annotations

import logging
import socket
import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import trustme
from starlette.types import Receive, Scope, Send

from patchworks_mock.app import create_app
from patchworks_mock.instance import Limits
from patchworks_mock.proxy.upstream import tls_context
from tests.proxy.support import (
    KEY,
    free_port,
    journal,
    mock_and_proxy,
    proxy_in_front,
    raw_upstream,
    served,
)

PACKAGES = "/api/v1/packages"
OK = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok"


@pytest.fixture
def logged(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Every log record of the test: the proxy's lines, and uvicorn's (where an exception in
    the app would be logged with its traceback; its loggers do not propagate to the root)."""
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.INFO, logger="patchworks_mock.proxy")
    yield caplog


def watch_uvicorn(caplog: pytest.LogCaptureFixture) -> None:
    """Catch uvicorn's records too; called once every server has started (a server's start
    configures uvicorn's loggers anew, handlers and all)."""
    uvicorn = logging.getLogger("uvicorn")
    if caplog.handler not in uvicorn.handlers:
        uvicorn.addHandler(caplog.handler)


def assert_no_traceback(caplog: pytest.LogCaptureFixture) -> None:
    logging.getLogger("uvicorn").removeHandler(caplog.handler)
    assert [r for r in caplog.records if r.exc_info] == []
    assert "Traceback" not in caplog.text


def proxy_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "patchworks_mock.proxy"]


def assert_api_error(answer: httpx.Response, status: int, start: str) -> str:
    """`answer` is `status` with the API's error shape, its message starting with `start`."""
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/json")
    body = answer.json()
    assert list(body) == ["message"], body
    message: str = body["message"]
    assert message.startswith(start), message
    return message


def test_an_upstream_not_listening_is_a_502_and_the_proxy_serves_it_once_it_is_there(
    logged: pytest.LogCaptureFixture,
) -> None:
    port = free_port()
    upstream = f"http://127.0.0.1:{port}"
    with proxy_in_front(upstream) as (proxy_url, _), httpx.Client(base_url=proxy_url) as client:
        watch_uvicorn(logged)
        down = client.get(PACKAGES, headers=KEY)
        with raw_upstream(lambda head, body, connection: connection.sendall(OK) or True, port):
            up = client.get(PACKAGES, headers=KEY)
        entries = journal(proxy_url)
    message = assert_api_error(down, 502, f"The upstream server {upstream} could not be reached: ")
    assert "refused" in message.lower() or "connect call failed" in message.lower(), message
    assert (up.status_code, up.content) == (200, b"ok")
    assert entries[0]["forwarded"] is False
    assert entries[0]["verdict"] == f"no answer from the upstream: {message}"
    lines = proxy_lines(logged)
    assert len(lines) == 2 and f'"GET {PACKAGES}" 502 ' in lines[0]
    assert_no_traceback(logged)


def test_an_upstream_slower_than_the_timeout_is_a_504_and_the_next_request_is_served(
    logged: pytest.LogCaptureFixture,
) -> None:
    with (
        mock_and_proxy(timeout=0.5) as (_, proxy_url, _app),
        httpx.Client(base_url=proxy_url, headers=KEY, timeout=10) as client,
    ):
        watch_uvicorn(logged)
        started = time.monotonic()
        slow = client.get(PACKAGES, headers={"Prefer": "delay=2000"})
        waited = time.monotonic() - started
        fast = client.get(PACKAGES)
        entries = journal(proxy_url)
    assert_api_error(slow, 504, "The upstream server http://127.0.0.1:")
    assert slow.json()["message"].endswith("did not answer within 0.5 s.")
    assert 0.4 < waited < 1.8, waited
    assert fast.status_code == 200
    assert [e["status"] for e in entries] == [504, 200]
    assert entries[0]["verdict"].startswith("no answer from the upstream")
    assert_no_traceback(logged)


def test_an_answer_that_stalls_halfway_is_a_504(logged: pytest.LogCaptureFixture) -> None:
    def answer(head: bytes, body: bytes, connection: socket.socket) -> bool:
        connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf ")
        time.sleep(2)
        return False

    with (
        raw_upstream(answer) as upstream_url,
        proxy_in_front(upstream_url, timeout=0.5) as (proxy_url, _),
    ):
        watch_uvicorn(logged)
        started = time.monotonic()
        stalled = httpx.get(f"{proxy_url}{PACKAGES}", headers=KEY, timeout=10)
        waited = time.monotonic() - started
    assert_api_error(stalled, 504, f"The upstream server {upstream_url} did not answer within")
    assert waited < 1.8, waited
    assert_no_traceback(logged)


HALF_ANSWERS = {
    # what the upstream sends before it closes the connection: the 502's reason
    "closed at once": (b"", "could not be reached: the connection was closed before an answer"),
    "half a head": (b"HTTP/1.1 200 OK\r\nContent-Le", "sent a broken answer: the connection"),
    "half a body": (
        b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + b"x" * 10,
        "sent a broken answer: peer closed connection without sending complete message body",
    ),
    "half a chunk": (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
        "sent a broken answer: peer closed connection without sending complete message body",
    ),
    "not HTTP": (b"SSH-2.0-OpenSSH_9.6\r\n\r\n", "sent a broken answer: illegal status line"),
    "a bad status line": (b"HTTP/1.1 OK\r\n\r\n", "sent a broken answer: illegal status line"),
}


@pytest.mark.parametrize(("sent", "reason"), HALF_ANSWERS.values(), ids=HALF_ANSWERS.keys())
def test_an_upstream_that_breaks_off_its_answer_is_a_502(
    sent: bytes, reason: str, logged: pytest.LogCaptureFixture
) -> None:
    def answer(head: bytes, body: bytes, connection: socket.socket) -> bool:
        connection.sendall(sent)
        return False  # and close

    with (
        raw_upstream(answer) as upstream_url,
        proxy_in_front(upstream_url) as (proxy_url, _),
        httpx.Client(base_url=proxy_url, headers=KEY, timeout=10) as client,
    ):
        watch_uvicorn(logged)
        broken = client.get(PACKAGES)
        health = client.get("/__mock__/health")
    assert_api_error(broken, 502, f"The upstream server {upstream_url} {reason}")
    assert health.status_code == 200  # the proxy keeps serving
    assert any(" 502 " in line for line in proxy_lines(logged))
    assert_no_traceback(logged)


@pytest.mark.parametrize("framing", [b"Content-Length: 100000", b"Transfer-Encoding: chunked"])
def test_an_answer_past_the_body_limit_that_breaks_off_ends_the_clients_answer_short(
    framing: bytes, logged: pytest.LogCaptureFixture
) -> None:
    """Its head has gone to the client already: all the proxy can do is end the answer
    short (the client sees a broken answer), and say so in its log and journal."""
    head = b"HTTP/1.1 200 OK\r\n" + framing + b"\r\n\r\n"
    part = b"x" * 5000
    sent = part if b"Content-Length" in framing else b"%x\r\n%s\r\n" % (len(part), part)

    def answer(_head: bytes, body: bytes, connection: socket.socket) -> bool:
        connection.sendall(head + sent)
        return False

    with (
        raw_upstream(answer) as upstream_url,
        proxy_in_front(upstream_url, limits=Limits(max_body_bytes=1000)) as (proxy_url, _),
    ):
        watch_uvicorn(logged)
        with pytest.raises(httpx.RemoteProtocolError):
            httpx.get(f"{proxy_url}{PACKAGES}", headers=KEY, timeout=10)
        health = httpx.get(f"{proxy_url}/__mock__/health", headers=KEY)
        entries = journal(proxy_url)
    assert health.status_code == 200
    assert_no_traceback(logged)
    assert [e["status"] for e in entries] == [200]
    assert "the upstream broke off after 5000 bytes" in entries[0]["verdict"]


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A CA made for these tests, and a certificate it signed for 127.0.0.1 and one for
    another name: the files' paths."""
    folder = tmp_path_factory.mktemp("tls")
    ca = trustme.CA()
    files = {"ca": folder / "ca.pem"}
    ca.cert_pem.write_to_path(str(files["ca"]))
    for name, hosts in (("loopback", ["127.0.0.1", "localhost"]), ("other", ["other.test"])):
        issued = ca.issue_cert(*hosts)
        files[f"{name}.crt"], files[f"{name}.key"] = folder / f"{name}.crt", folder / f"{name}.key"
        issued.cert_chain_pems[0].write_to_path(str(files[f"{name}.crt"]))
        issued.private_key_pem.write_to_path(str(files[f"{name}.key"]))
    return {name: str(path) for name, path in files.items()}


def _through_https(
    certificates: dict[str, str],
    served_as: str,
    trust: ssl.SSLContext,
    caplog: pytest.LogCaptureFixture,
) -> tuple[str, httpx.Response, httpx.Response]:
    """A mock served over HTTPS with the `served_as` certificate, and a proxy in front that
    verifies it with `trust`: (the mock's URL, a request's answer, then the proxy's health)."""
    tls = (certificates[f"{served_as}.crt"], certificates[f"{served_as}.key"])
    with (
        served(create_app(), tls=tls) as upstream,
        proxy_in_front(upstream.url, tls=trust) as (proxy_url, _),
        httpx.Client(base_url=proxy_url, headers=KEY, timeout=10) as client,
    ):
        watch_uvicorn(caplog)
        return upstream.url, client.get(PACKAGES), client.get("/__mock__/health")


@pytest.mark.parametrize(
    "trust",
    [lambda files: tls_context(files["ca"], False), lambda files: tls_context(None, True)],
    ids=["the CA file", "--insecure"],
)
def test_an_https_upstream_trusted_by_its_ca_or_not_verified_is_served(
    trust, certificates: dict[str, str], logged: pytest.LogCaptureFixture
) -> None:
    url, answer, _ = _through_https(certificates, "loopback", trust(certificates), logged)
    assert url.startswith("https://127.0.0.1:")
    assert answer.status_code == 200, answer.text
    assert answer.json()["meta"]["total"] == 5
    assert "x-contract-violations" not in answer.headers
    assert_no_traceback(logged)


@pytest.mark.parametrize(
    ("served_as", "trust", "reason"),
    [
        ("loopback", lambda files: tls_context(None, False), "certificate"),
        ("other", lambda files: tls_context(files["ca"], False), "127.0.0.1"),
    ],
    ids=["not signed by a system CA", "for another host name"],
)
def test_an_https_upstream_whose_certificate_is_not_trusted_is_a_502(
    served_as: str,
    trust,
    reason: str,
    certificates: dict[str, str],
    logged: pytest.LogCaptureFixture,
) -> None:
    url, answer, health = _through_https(certificates, served_as, trust(certificates), logged)
    message = assert_api_error(answer, 502, f"The upstream server {url} could not be reached: ")
    assert "its certificate is not trusted (" in message and reason in message, message
    assert health.status_code == 200  # the proxy keeps serving
    assert any(" 502 " in line for line in proxy_lines(logged))
    assert_no_traceback(logged)


def test_tls_context_refuses_a_ca_file_that_is_not_a_certificate(tmp_path: Path) -> None:
    not_pem = tmp_path / "ca.pem"
    not_pem.write_text("not a certificate\n")
    with pytest.raises(ssl.SSLError):
        tls_context(str(not_pem), False)
    with pytest.raises(OSError):
        tls_context(str(tmp_path / "missing.pem"), False)


def test_the_timeout_is_the_upstreams_a_slow_client_of_a_long_answer_is_not_cut_off(
    logged: pytest.LogCaptureFixture,
) -> None:
    """The timeout bounds the wait for the upstream; time the proxy spends waiting for the
    client to take a long answer is not the upstream's."""
    size, chunk = 32 * 1024 * 1024, b"z" * 1024 * 1024  # more than the sockets' buffers hold

    async def upstream(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        headers = [(b"content-length", b"%d" % size)]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        for _ in range(size // len(chunk) - 1):
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": chunk})

    with (
        served(upstream, own_headers=False) as server,
        proxy_in_front(server.url, timeout=0.5, limits=Limits(max_body_bytes=1000)) as (url, _),
        httpx.Client(timeout=10) as client,
    ):
        watch_uvicorn(logged)
        received = 0
        with client.stream("GET", f"{url}/api/v1/anything") as answer:
            for part in answer.iter_raw():
                if received == 0:
                    time.sleep(1.5)  # the client is busy: the proxy cannot hand on more
                received += len(part)
        [entry] = journal(url)
    assert answer.status_code == 200
    assert received == size
    assert "broke off" not in entry["verdict"], entry
    assert_no_traceback(logged)
