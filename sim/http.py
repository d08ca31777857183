"""Start an aiohttp application on a bound socket: what the simulator's Binance REST face and its MEXC face share."""

from __future__ import annotations

import socket

from aiohttp import web

__all__ = ["start_http"]


async def start_http(app: web.Application, host: str, port: int) -> tuple[web.AppRunner, int]:
    """Serve ``app`` on ``host:port`` (0 picks a free port; ``SO_REUSEADDR`` so a restart can rebind at once).

    Returns:
        The runner (``await runner.cleanup()`` stops it) and the bound port.

    Raises:
        OSError: the port is in use or not bindable.
    """
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        await runner.cleanup()
        raise
    await web.SockSite(runner, sock).start()
    return runner, sock.getsockname()[1]
