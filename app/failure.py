"""How a ``tradingmcp`` command fails: one line on stderr and an exit status, never a traceback for a failure the
user can act on.

Exit status :data:`EXIT_USAGE` (2): a bad argument or configuration (an unknown option, a malformed ``--tokens``, a
missing certificate). :data:`EXIT_RUNTIME` (1): the command cannot run for a reason outside its arguments (a port in
use, a venue or a server out of reach). The line is ``tradingmcp <command>: error: <what>``, at most
:data:`MAX_LINE_CHARS` characters, with every run of whitespace (newlines included) folded to one space.
"""

from __future__ import annotations

import os
import sys

EXIT_RUNTIME = 1
EXIT_USAGE = 2
MAX_LINE_CHARS = 500
"""Most characters of an error line (a longer message ends with ``…``)."""


class StartupError(Exception):
    """The command cannot start for a reason outside its arguments (exit status :data:`EXIT_RUNTIME`); the message is
    what to print."""


def one_line(text: str, limit: int = MAX_LINE_CHARS) -> str:
    """``text`` on one line (whitespace runs folded to one space), cut to ``limit`` characters."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def fail(command: str, message: str, status: int) -> int:
    """Print ``tradingmcp <command>: error: <message>`` on stderr (one line); returns ``status``."""
    print(f"tradingmcp {command}: error: {one_line(message)}", file=sys.stderr, flush=True)
    return status


def listen_error(host: str, port: int, exc: OSError) -> StartupError:
    """The error for a socket that cannot be bound: ``cannot listen on HOST:PORT: <reason>``."""
    reason = os.strerror(exc.errno) if exc.errno else str(exc)
    where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return StartupError(f"cannot listen on {where}: {reason}")


def cause_text(exc: BaseException) -> str:
    """``Type: message`` of ``exc`` (one line): what a start-up error quotes of the failure under it."""
    text = str(exc)
    return one_line(f"{type(exc).__name__}: {text}" if text else type(exc).__name__)
