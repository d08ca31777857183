"""The ``tradingmcp`` command line: ``serve``, ``bridge``, ``bench``, ``certs``, ``sim``, ``bot``, ``demo``, ``audit``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

Command = Callable[[argparse.Namespace], int]


def _cmd_certs(args: argparse.Namespace) -> int:
    from tradingmcp.transport.tls import write_dev_certs

    written = write_dev_certs(args.dir, hostnames=args.host)
    for path in written:
        print(path)
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser; each subcommand sets ``func`` to its handler."""
    parser = argparse.ArgumentParser(prog="tradingmcp", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("certs", help="create a local dev CA and a localhost server certificate in certs/")
    p.add_argument("--dir", default="certs", help="output folder (default: certs)")
    p.add_argument("--host", action="append", default=None, help="extra host name for the server certificate")
    p.set_defaults(func=_cmd_certs)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``tradingmcp`` console script. Returns the process exit code."""
    args = build_parser().parse_args(argv)
    func: Command = args.func
    return func(args)


if __name__ == "__main__":
    sys.exit(main())
