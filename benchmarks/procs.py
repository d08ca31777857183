"""Child processes of a benchmark run: spawn, a small command channel, and a guaranteed kill.

Every server (and fan-out client) runs in its own ``multiprocessing`` *spawn* process with a duplex pipe. The child
runs :func:`child_main`: it builds its service, answers ``("ready", info)``, then serves commands ``(name, *args)``
with ``("ok", value)`` or ``("error", text)`` (every child also takes ``("busy_poll", on)``: its loop spins while on,
answered with the spin count) until ``stop`` or until the pipe closes (the parent died), so an orphan
never outlives its parent for long. The parent side is :class:`Child`; :func:`kill_all` ends every live child
(terminate, then kill) and is called in a ``finally`` by the CLI, so servers die even when the run fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import multiprocessing.connection
import os
import resource
import time
from collections.abc import Awaitable, Callable
from multiprocessing.process import BaseProcess
from typing import Any

from tradingmcp.perf.busypoll import BusyPoll

Handler = Callable[..., Awaitable[Any]]
ServiceFactory = Callable[..., Awaitable[tuple[Any, dict[str, Handler]]]]

_LIVE: set[Child] = set()


class BenchError(RuntimeError):
    """A benchmark step failed: a child did not start, answered an error, died, or timed out."""


def raise_fd_limit() -> None:
    """Lift the soft open-files limit to the hard one (1,000 connections need 1,000+ descriptors)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def rss_bytes(pid: int | None = None) -> int:
    """Resident set size of ``pid`` (this process when None) in bytes, from ``/proc/<pid>/statm``."""
    path = f"/proc/{pid or 'self'}/statm"
    with open(path, encoding="ascii") as f:
        resident_pages = int(f.read().split()[1])
    return resident_pages * os.sysconf("SC_PAGE_SIZE")


class Child:
    """Parent-side handle of one child process.

    Args:
        name: label in errors and reports.
        target: ``module:function`` path of an ``async def factory(*args) -> (info, handlers)`` in the child.
        args: picklable arguments for the factory.
    """

    def __init__(self, name: str, target: str, *args: Any) -> None:
        self.name = name
        ctx = multiprocessing.get_context("spawn")
        self._conn, child_conn = ctx.Pipe(duplex=True)
        self.process: BaseProcess = ctx.Process(
            target=child_main, args=(target, args, child_conn), name=f"bench-{name}", daemon=True
        )
        self._child_conn = child_conn
        self.info: Any = None

    @property
    def pid(self) -> int:
        pid = self.process.pid
        if pid is None:
            raise BenchError(f"{self.name}: not started")
        return pid

    async def start(self, timeout_s: float, cpus: set[int] | None = None) -> Any:
        """Start the process (on ``cpus`` when given) and wait for its ``ready`` message; returns the child's info
        (e.g. its port).

        Raises:
            BenchError: the child failed to start or did not answer within ``timeout_s``.
        """
        _LIVE.add(self)
        self.process.start()
        if cpus is not None:
            os.sched_setaffinity(self.pid, cpus)
        self._child_conn.close()
        status, value = await self._receive(timeout_s)
        if status != "ready":
            raise BenchError(f"{self.name} failed to start: {value}")
        self.info = value
        return value

    async def request(self, name: str, *args: Any, timeout_s: float = 60.0) -> Any:
        """Send command ``name`` and wait for its answer.

        Raises:
            BenchError: the child answered an error, died, or did not answer within ``timeout_s``.
        """
        try:
            self._conn.send((name, *args))
        except (BrokenPipeError, OSError) as exc:
            raise BenchError(f"{self.name}: child is gone ({exc})") from None
        status, value = await self._receive(timeout_s)
        if status != "ok":
            raise BenchError(f"{self.name}: {name} failed: {value}")
        return value

    async def _receive(self, timeout_s: float) -> tuple[str, Any]:
        loop = asyncio.get_running_loop()
        fd = self._conn.fileno()
        ready = loop.create_future()

        def on_readable() -> None:
            if not ready.done():
                ready.set_result(None)

        loop.add_reader(fd, on_readable)
        os.set_blocking(fd, True)  # uvloop makes it non-blocking; a large answer must be read whole
        try:
            async with asyncio.timeout(timeout_s):
                await ready
        except TimeoutError:
            raise BenchError(f"{self.name}: no answer within {timeout_s} s") from None
        finally:
            loop.remove_reader(fd)
        try:
            msg = self._conn.recv()
        except (EOFError, OSError):
            self.process.join(1.0)
            raise BenchError(f"{self.name}: child died (exit code {self.process.exitcode})") from None
        status, value = msg
        return str(status), value

    def kill(self, grace_s: float = 2.0) -> None:
        """Ask the child to stop, then terminate and finally kill it. Idempotent; never raises."""
        _LIVE.discard(self)
        proc = self.process
        if proc.pid is None:
            return
        if proc.is_alive():
            with contextlib.suppress(OSError, ValueError):
                self._conn.send(("stop",))
            proc.join(grace_s)
        if proc.is_alive():
            proc.terminate()
            proc.join(1.0)
        if proc.is_alive():
            proc.kill()
            proc.join(1.0)
        with contextlib.suppress(OSError):
            self._conn.close()


def kill_all() -> None:
    """Kill every child still alive (the CLI's ``finally``)."""
    for child in list(_LIVE):
        child.kill(grace_s=0.5)


def _resolve(target: str) -> ServiceFactory:
    import importlib

    module, _, attr = target.partition(":")
    fn: ServiceFactory = getattr(importlib.import_module(module), attr)
    return fn


def child_main(target: str, args: tuple[Any, ...], conn: multiprocessing.connection.Connection) -> None:
    """Entry point of a child process: uvloop, the service, then the command loop."""
    import uvloop

    raise_fd_limit()
    with contextlib.suppress(KeyboardInterrupt):
        uvloop.run(_child(target, args, conn))


async def _child(target: str, args: tuple[Any, ...], conn: multiprocessing.connection.Connection) -> None:
    try:
        info, handlers = await _resolve(target)(*args)
    except Exception as exc:
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
        return
    conn.send(("ready", info))
    loop = asyncio.get_running_loop()
    inbox: asyncio.Queue[tuple[Any, ...] | None] = asyncio.Queue()

    def on_readable() -> None:
        try:
            inbox.put_nowait(conn.recv())
        except (EOFError, OSError):
            loop.remove_reader(conn.fileno())
            inbox.put_nowait(None)

    loop.add_reader(conn.fileno(), on_readable)
    os.set_blocking(conn.fileno(), True)  # uvloop makes it non-blocking; a large answer must be written whole
    spinner: BusyPoll | None = None
    try:
        while True:
            cmd = await inbox.get()
            if cmd is None or cmd[0] == "stop":
                break
            if cmd[0] == "busy_poll":  # every child: spin while measured (placement "spin")
                spinner = spinner or BusyPoll(loop)
                (spinner.start if cmd[1] else spinner.stop)()
                conn.send(("ok", spinner.spins))
                continue
            handler = handlers.get(cmd[0])
            if handler is None:
                conn.send(("error", f"unknown command {cmd[0]!r}"))
                continue
            started = time.monotonic()
            try:
                value = await handler(*cmd[1:])
            except Exception as exc:
                conn.send(("error", f"{type(exc).__name__}: {exc} (after {time.monotonic() - started:.3f} s)"))
                continue
            conn.send(("ok", value))
    finally:
        if spinner is not None:
            spinner.stop()
        with contextlib.suppress(OSError, ValueError):
            loop.remove_reader(conn.fileno())
        closer = handlers.get("close")
        if closer is not None:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(5.0):
                    await closer()
