"""`patchworks-mock`: serve the mock (and, as they arrive, check servers and make fixtures)."""

from __future__ import annotations

import argparse
import os
import socket
import sys
from collections.abc import Sequence

from patchworks_mock import fixtures, paths
from patchworks_mock.mock import DEVELOPMENT_KEY

API_KEY_VARIABLE = "PATCHWORKS_MOCK_API_KEY"
USAGE_ERROR = 2


def _fail(message: str) -> int:
    print(f"patchworks-mock: error: {message}", file=sys.stderr)
    return USAGE_ERROR


def _bind(host: str, port: int) -> socket.socket:
    """Bind before starting the server, so that a taken port is one clear line, not a trace."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise OSError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.listen(2048)
    return sock


def serve(args: argparse.Namespace) -> int:
    import uvicorn

    from patchworks_mock.app import create_app

    keys = args.api_key or (
        [os.environ[API_KEY_VARIABLE]] if os.environ.get(API_KEY_VARIABLE) else []
    )
    try:
        document = fixtures.read(args.fixtures)
        app = create_app(
            document,
            source=args.fixtures,
            api_keys=keys,
            validate_responses=args.validate_responses,
            state_file=args.state_file,
        )
    except fixtures.FixtureError as exc:
        return _fail(str(exc))
    except OSError as exc:
        return _fail(f"cannot write the state file {args.state_file}: {exc.strerror or exc}")
    try:
        sock = _bind(args.host, args.port)
    except OSError as exc:
        return _fail(str(exc))
    host, port = sock.getsockname()[:2]
    shown_host = f"[{host}]" if ":" in host else host
    base = f"http://{shown_host}:{port}"
    store = app.state.store
    print(f"patchworks-mock serving {args.fixtures}", flush=True)
    if args.state_file:
        print(f"  state kept in {args.state_file} (loaded from there if it existed)")
    print(
        f"  {len(store.packages)} packages, {len(store.flow_versions)} flow versions, "
        f"{len(store.virtual_environments)} virtual environments"
    )
    print(f"  API:        {base}/api/v1/packages")
    print(f"  Swagger UI: {base}/ui/")
    print(f"  Admin:      {base}/__mock__/ui/")
    if keys:
        print(f"  API keys:   {len(keys)} given (send one as 'Authorization: <key>')")
    else:
        print(f"  API key:    {DEVELOPMENT_KEY}  (send it as 'Authorization: {DEVELOPMENT_KEY}')")
    print("Press Ctrl-C to stop.", flush=True)
    config = uvicorn.Config(app, log_level=args.log_level, access_log=True, lifespan="on")
    server = uvicorn.Server(config)
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()
    print("patchworks-mock stopped.", flush=True)
    return 0


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="patchworks-mock",
        description="A stateful mock of the Patchworks Packages API.",
    )
    commands = root.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = commands.add_parser(
        "serve",
        help="serve the mock over HTTP",
        description="Serve the Packages API from in-memory state loaded from a fixture file.",
    )
    run.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: %(default)s)"
    )
    run.add_argument(
        "--port",
        type=int,
        default=8000,
        help="port to listen on; 0 picks a free one (default: %(default)s)",
    )
    run.add_argument(
        "--fixtures",
        default=str(paths.DEFAULT_FIXTURES),
        metavar="PATH",
        help="fixture document to load (default: the bundled fixtures/default.json)",
    )
    run.add_argument(
        "--api-key",
        action="append",
        metavar="KEY",
        help=f"an API key to accept; repeat for more (default: ${API_KEY_VARIABLE}, "
        f"else '{DEVELOPMENT_KEY}')",
    )
    run.add_argument(
        "--state-file",
        metavar="PATH",
        help="keep the state in this file: loaded at start if it exists (instead of --fixtures), "
        "and every acknowledged write is saved there before it is answered",
    )
    run.add_argument(
        "--validate-responses",
        action="store_true",
        help="check every response against the spec too (slower; for debugging the mock)",
    )
    run.add_argument(
        "--log-level",
        default="info",
        choices=["critical", "error", "warning", "info", "debug"],
        help="server log level; 'info' logs one line per request (default: %(default)s)",
    )
    run.set_defaults(handler=serve)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if getattr(args, "port", 0) is not None and not 0 <= getattr(args, "port", 0) <= 65535:
        return _fail(f"--port must be between 0 and 65535, not {args.port}")
    return args.handler(args)
