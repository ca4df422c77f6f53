"""One smoke test per assumption of `uvicorn_internals.py` (U1, U2)."""

import threading

import httpx
import uvicorn

from patchworks_mock import server, uvicorn_internals
from patchworks_mock.app import create_app

UPDATE = "update src/patchworks_mock/uvicorn_internals.py for this uvicorn release"


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
