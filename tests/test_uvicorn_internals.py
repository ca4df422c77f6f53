"""One smoke test per assumption of `uvicorn_internals.py` (U1..U7)."""

import inspect
import socket
import threading

import httpx
import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from patchworks_mock import server, uvicorn_internals
from patchworks_mock.app import create_app
from patchworks_mock.instance import Limits

UPDATE = "update src/patchworks_mock/uvicorn_internals.py for this uvicorn release"
KEY = b"Authorization: patchworks-mock-key\r\n"
KEY_HEADER = {"Authorization": "patchworks-mock-key"}


def test_u1_u2_a_server_says_it_started_and_stops_when_asked():
    sock = server.bind("127.0.0.1", 0)
    running = uvicorn.Server(uvicorn.Config(create_app(), log_level="warning", lifespan="on"))
    assert not uvicorn_internals.has_started(running)
    thread = threading.Thread(target=running.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        for _ in range(3000):
            if uvicorn_internals.has_started(running):
                break
            thread.join(0.01)
        assert uvicorn_internals.has_started(running), f"U1: Server.started never set; {UPDATE}"
        health = httpx.get(server.base_url(sock) + "/__mock__/health", timeout=5)
        assert health.status_code == 401  # listening, and refusing without a key
    finally:
        uvicorn_internals.ask_to_stop(running)
        thread.join(10)
        sock.close()
    assert not thread.is_alive(), f"U2: should_exit no longer stops the server; {UPDATE}"


def test_u4_the_httptools_protocol_has_the_hooks_the_timeout_uses():
    for hook in ("connection_made", "on_headers_complete", "on_response_complete"):
        assert callable(getattr(HttpToolsProtocol, hook, None)), f"U4: no {hook}; {UPDATE}"
    assert callable(getattr(HttpToolsProtocol, "connection_lost", None)), f"U4: {UPDATE}"


def test_u5_uvicorn_has_no_header_timeout_of_its_own():
    options = inspect.signature(uvicorn.Config).parameters
    own = [name for name in options if "header" in name and "timeout" in name]
    assert own == [], f"U5: uvicorn has {own} now; use it; {UPDATE}"


def _connect(url: str) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=10)
    return sock


def _read_until_closed(sock: socket.socket, limit: int = 100_000) -> bytes:
    """Everything the server sends until it closes (the socket timeout bounds the wait)."""
    received = b""
    while len(received) < limit:
        chunk = sock.recv(4096)
        if not chunk:
            return received
        received += chunk
    raise AssertionError("more than expected")


def test_u3_u4_an_incomplete_head_is_closed_after_the_header_timeout():
    app = create_app()
    background = server.BackgroundServer(app, header_timeout=0.3).start()
    try:
        with _connect(background.url) as silent, _connect(background.url) as partial:
            partial.sendall(b"GET /api/v1/packa")
            # Closed by the server (the recv timeout of 10 s would raise instead).
            assert _read_until_closed(partial) == b"", f"U3/U4: head never timed out; {UPDATE}"
            assert _read_until_closed(silent) == b"", f"U3/U4: {UPDATE}"
        with _connect(background.url) as sock:  # after an answer, the next head is timed too
            sock.sendall(b"GET /__mock__/health HTTP/1.1\r\nHost: x\r\n" + KEY + b"\r\n")
            sock.sendall(b"GET /__mock__/hea")
            answer = _read_until_closed(sock)
            assert answer.startswith(b"HTTP/1.1 200") and answer.endswith(b'{"status":"ok"}')
    finally:
        background.stop()


def test_u4_a_slow_answer_is_not_cut_by_the_header_timeout():
    background = server.BackgroundServer(create_app(), header_timeout=0.2).start()
    try:
        response = httpx.get(
            background.url + "/api/v1/packages?per_page=1",
            headers={"Authorization": "patchworks-mock-key", "Prefer": "delay=600"},
            timeout=10,
        )
        assert response.status_code == 200, f"U4: a slow answer was cut; {UPDATE}"
    finally:
        background.stop()


def test_u6_u7_a_head_past_the_limits_is_refused_while_it_arrives():
    app = create_app(limits=Limits(max_header_bytes=2048, max_target_bytes=1024))
    background = server.BackgroundServer(app).start()
    try:
        with _connect(background.url) as sock:  # the head never ends: no blank line
            sock.sendall(b"GET /api/v1/packages HTTP/1.1\r\nHost: x\r\n" + KEY)
            sock.sendall(b"X-Pad: " + b"p" * 3000 + b"\r\nX-Next: 1")  # X-Pad ends (U6)
            answer = _read_until_closed(sock)
        assert answer.startswith(b"HTTP/1.1 431 "), f"U6/U7: {answer[:80]!r}; {UPDATE}"
        assert answer.endswith(b'{"message":"Request Header Fields Too Large"}')
        with _connect(background.url) as sock:  # one header line that never ends
            sock.sendall(b"GET /api/v1/packages HTTP/1.1\r\nX-Pad: " + b"p" * 8000)
            answer = _read_until_closed(sock)
        assert answer.startswith(b"HTTP/1.1 431 "), f"U6: {answer[:80]!r}; {UPDATE}"
        with _connect(background.url) as sock:
            sock.sendall(b"GET /api/v1/packages?q=" + b"a" * 2000)
            answer = _read_until_closed(sock)
        assert answer.startswith(b"HTTP/1.1 414 "), f"U6/U7: {answer[:80]!r}; {UPDATE}"
        assert answer.endswith(b'{"message":"URI Too Long"}')
        assert len(app.state.journal.entries) == 0
        fine = httpx.get(background.url + "/api/v1/packages?per_page=1", headers=KEY_HEADER)
        assert fine.status_code == 200
    finally:
        background.stop()
