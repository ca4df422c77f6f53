"""Every use of uvicorn beyond its documented `Config` and `Server.run(sockets=...)`, in one
place, with what each assumes of the pinned version (uvicorn 0.x, below 1);
`tests/test_uvicorn_internals.py` fails naming the assumption when an upgrade breaks one.

U1. `Server.started` turns True once the server listens on its sockets.
U2. Setting `Server.should_exit = True` makes `Server.run` return after a graceful shutdown,
    from any thread.
"""

from __future__ import annotations

import uvicorn


def has_started(server: uvicorn.Server) -> bool:
    """Whether `server` listens yet (U1)."""
    return bool(server.started)


def ask_to_stop(server: uvicorn.Server) -> None:
    """Make `server.run()` return, gracefully, from another thread (U2)."""
    server.should_exit = True
