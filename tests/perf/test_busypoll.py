"""Busy polling (``--busy-poll``): the loop keeps iterating while on, sleeps again when stopped, real sockets, timers
and MCP calls work unchanged while it spins, and it runs its warmers (dropping one that fails)."""

from __future__ import annotations

import asyncio
import time

from tests.wire_helpers import Probe, make_app, running, wait_until
from tradingmcp.client.session import connect
from tradingmcp.perf.busypoll import BusyPoll
from tradingmcp.transport import ws


async def test_spins_while_on_and_stops_when_off() -> None:
    loop = asyncio.get_running_loop()
    poller = BusyPoll(loop)
    assert not poller.running
    with poller:
        assert poller.start() is poller  # idempotent: still one spinning callback
        await asyncio.sleep(0.05)
        spun = poller.spins
        assert poller.running
    # a blocked loop would run a handful of iterations in 50 ms; a spinning one runs one every few µs
    assert spun > 1_000, spun
    assert not poller.running
    after_stop = poller.spins
    await asyncio.sleep(0.02)
    assert poller.spins == after_stop  # stopped means no callback left behind
    poller.stop()  # idempotent


async def test_a_hold_pauses_the_spin_while_the_loop_serves_on() -> None:
    holding = True
    served: list[int] = []

    def hold() -> bool:
        return holding

    with BusyPoll(asyncio.get_running_loop(), hold=hold, hold_check_s=0.001) as poller:
        for i in range(3):  # the held loop still runs everything else
            await asyncio.sleep(0.01)
            served.append(i)
        assert poller.spins == 0 and poller.held > 0 and served == [0, 1, 2]
        holding = False
        await asyncio.sleep(0.05)
        assert poller.spins > 0 and poller.running
    assert not poller.running


async def test_timers_fire_on_time_while_spinning() -> None:
    poller = BusyPoll(asyncio.get_running_loop()).start()
    try:
        t0 = time.monotonic()
        await asyncio.sleep(0.03)
        assert 0.029 <= time.monotonic() - t0 < 1.0  # libuv's clock is ms-granular: allow its rounding
    finally:
        poller.stop()


async def test_mcp_calls_over_real_sockets_while_spinning() -> None:
    probe = Probe()
    poller = BusyPoll(asyncio.get_running_loop()).start()
    try:
        async with running(make_app(probe), "picows") as srv:
            client = await connect(srv.url, backend="picows", reconnect=False, wire=ws.WireOptions())
            try:
                for i in range(50):
                    result = await client.call_tool("echo", {"x": f"m{i}"})
                    assert result["structuredContent"] == {"x": f"m{i}"}
            finally:
                await client.close()
        assert probe.calls["echo"] == 50 and poller.spins > 0
    finally:
        poller.stop()


async def test_runs_warmers_and_drops_a_failing_one() -> None:
    ran: list[int] = []

    def good() -> None:
        ran.append(1)

    def bad() -> None:
        raise RuntimeError("boom")

    with BusyPoll(asyncio.get_running_loop(), [bad, good], warm_every_s=0.001) as poller:
        # about one run per ms while spinning; a loaded machine gives fewer, so wait for them rather than count
        await wait_until(lambda: poller.warm_runs >= 10, 30.0)
    assert poller.warm_runs >= 10 and len(ran) == poller.warm_runs
    assert poller.warmers == [good]  # the failing warmer was logged and dropped after its first failure
