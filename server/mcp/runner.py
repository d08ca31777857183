"""The asyncio shell of the session core: :class:`TaskRunner` (the :class:`~tradingmcp.server.mcp.protocol.Shell` of a
session's async tool calls, shared by every transport) and :func:`loop_call_later` (the resource hub's timer).

The session core decides (start a :class:`~tradingmcp.server.mcp.toolcall.ToolRun`, cancel one); the runner creates
the task, keeps it until it ends, applies the run's deadline and reports the end back into the core, which encodes
the answer and sends it to the run's route. One runner serves one session whatever carries its messages: a WebSocket
connection (:mod:`tradingmcp.server.wsserver`) or an HTTP shell that answers each POST through a sink of its own
(the run's ``sink``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from tradingmcp.server.mcp.toolcall import ToolRun


def loop_call_later(delay_s: float, fn: Callable[[], None]) -> None:
    """Call ``fn()`` once after ``delay_s`` seconds on the running loop (:data:`~tradingmcp.server.mcp.resources.
    CallLater`)."""
    asyncio.get_running_loop().call_later(delay_s, fn)


class TaskRunner:
    """Runs each started :class:`ToolRun` as one asyncio task on the running loop.

    ``tasks`` holds every task until it has ended (a cancelled run stays there until its tool has unwound), so the
    loop never drops a running call.
    """

    __slots__ = ("tasks",)

    def __init__(self) -> None:
        self.tasks: dict[ToolRun, asyncio.Task[None]] = {}

    def __repr__(self) -> str:
        return f"TaskRunner(tasks={len(self.tasks)})"

    def start(self, run: ToolRun) -> None:
        """Create ``run``'s task on the running loop.

        Raises:
            RuntimeError: no running event loop.
        """
        self.tasks[run] = asyncio.get_running_loop().create_task(self._drive(run))

    def cancel(self, run: ToolRun) -> None:
        """Cancel ``run``'s task (its tool sees ``CancelledError``); nothing when it already ended."""
        task = self.tasks.get(run)
        if task is not None:
            task.cancel()

    async def _drive(self, run: ToolRun) -> None:
        try:
            deadline_s = run.deadline_s
            if deadline_s is None:
                value: Any = await run.work()
            else:
                timeout = asyncio.timeout(deadline_s)
                try:
                    async with timeout:
                        value = await run.work()
                except TimeoutError:
                    if not timeout.expired():
                        raise  # the tool's own TimeoutError
                    run.expired()
                    return
        except asyncio.CancelledError:
            run.cancelled()  # never answered; the task ends quietly
            return
        except Exception as exc:
            run.raised(exc)
            return
        finally:
            self.tasks.pop(run, None)
        run.returned(value)
