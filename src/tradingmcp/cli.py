"""The ``tradingmcp`` command line: ``serve``, ``bridge``, ``bench``, ``certs``, ``sim``, ``bot``, ``demo``, ``audit``."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

Command = Callable[[argparse.Namespace], int]


def _cmd_certs(args: argparse.Namespace) -> int:
    from tradingmcp.transport.tls import write_dev_certs

    written = write_dev_certs(args.dir, hostnames=args.host)
    for path in written:
        print(path)
    return 0


def _cmd_serve(args: argparse.Namespace) -> int:
    from tradingmcp.serve import ServeOptions, run_serve

    opts = ServeOptions(
        host=args.host,
        port=args.port,
        certfile=args.certfile,
        client_cafile=args.client_ca,
        tls=args.tls,
        tokens=args.tokens,
        insecure_no_auth=args.insecure_no_auth,
        backend=args.backend,
    )
    return _run(run_serve(opts))


def _cmd_bridge(args: argparse.Namespace) -> int:
    from tradingmcp.client.bridge import run_bridge
    from tradingmcp.transport.tls import client_ssl_context

    ssl = client_ssl_context(args.cafile) if args.url.startswith("wss://") else None
    token = args.token or os.environ.get("TRADINGMCP_TOKEN")
    try:
        return _run(run_bridge(args.url, token=token, ssl=ssl, backend=args.backend))
    except (ConnectionError, OSError, TimeoutError) as exc:  # HandshakeRejected is a ConnectionError
        print(f"error: cannot connect to {args.url}: {exc}", file=sys.stderr)
        return 2


def _run(coro: Coroutine[Any, Any, int]) -> int:
    import uvloop

    try:
        return uvloop.run(coro)
    except KeyboardInterrupt:
        return 130


def build_parser() -> argparse.ArgumentParser:
    """The argument parser; each subcommand sets ``func`` to its handler."""
    parser = argparse.ArgumentParser(prog="tradingmcp", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("certs", help="create a local dev CA and a localhost server certificate in certs/")
    p.add_argument("--dir", default="certs", help="output folder (default: certs)")
    p.add_argument("--host", action="append", default=None, help="extra host name for the server certificate")
    p.set_defaults(func=_cmd_certs)

    p = sub.add_parser("serve", help="run the MCP server over WebSocket (wss unless bound to loopback)")
    p.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8765, help="port (default 8765; 0 = ephemeral)")
    p.add_argument("--tls", action="store_true", help="use wss even on loopback")
    p.add_argument("--certfile", default=None, help="server key+chain PEM (default certs/server.pem when TLS is on)")
    p.add_argument("--client-ca", default=None, help="require client certificates signed by this CA (mutual TLS)")
    p.add_argument("--tokens", default=None, help="name:token:scopes;... (default: $TRADINGMCP_TOKENS)")
    p.add_argument("--insecure-no-auth", action="store_true", help="no tokens (allowed on loopback only)")
    p.add_argument("--backend", choices=["picows", "websockets"], default="picows")
    p.set_defaults(func=_cmd_serve)

    p = sub.add_parser("bridge", help="stdio <-> wss bridge for stdio-only MCP hosts")
    p.add_argument("url", help="server URL, e.g. wss://127.0.0.1:8765/mcp")
    p.add_argument("--token", default=None, help="bearer token (default: $TRADINGMCP_TOKEN)")
    p.add_argument("--cafile", default=None, help="CA to verify the server with (e.g. certs/ca.pem)")
    p.add_argument("--backend", choices=["picows", "websockets"], default="picows")
    p.set_defaults(func=_cmd_bridge)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``tradingmcp`` console script. Returns the process exit code."""
    args = build_parser().parse_args(argv)
    func: Command = args.func
    return func(args)


if __name__ == "__main__":
    sys.exit(main())
