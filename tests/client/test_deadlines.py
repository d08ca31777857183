"""Default-timeout deadlines with no per-request entry (``client.deadlines.SendSweep``) and the client around them:
every overdue request fails, never before its deadline, at most one slice late; answered ones never do; requests with
their own timeout keep theirs."""

from __future__ import annotations

import asyncio
import math
import time

import pytest

from tests.wire_helpers import TIMEOUT_S, Probe, make_app, running, wait_until
from tradingmcp.client.deadlines import SLACK_S, SendSweep
from tradingmcp.client.session import RequestTimeout, connect
from tradingmcp.transport import ws

LATE_S = 0.25
"""Tolerance for a timer firing late on 2 noisy cores (the sweep itself adds at most one slice)."""


class Sender:
    """The client's side of the sweep: pending ids in send order, each with its send time; expired ones recorded."""

    def __init__(self, timeout_s: float) -> None:
        self.loop = asyncio.get_running_loop()
        self.pending: dict[int, float] = {}
        self.expired: dict[int, float] = {}
        self.sweep = SendSweep(timeout_s, self.expire_below)
        self.next_id = 0

    def expire_below(self, limit: int | None) -> None:
        for rid in list(self.pending):
            if limit is not None and rid >= limit:
                break
            del self.pending[rid]
            self.expired[rid] = self.loop.time()

    def send(self) -> int:
        self.next_id = rid = self.next_id + 1
        now = self.loop.time()
        self.pending[rid] = now
        if now >= self.sweep.next_mark_at:
            self.sweep.mark(self.loop, now, rid, next(iter(self.pending)))
        return rid


async def test_sweep_expires_every_overdue_request_on_time_and_spares_answered_ones() -> None:
    timeout_s = 0.08
    s = Sender(timeout_s)
    sent: dict[int, float] = {}
    answered: set[int] = set()
    for i in range(60):  # several requests per loop iteration, spread over many slices
        for _ in range(3):
            rid = s.send()
            sent[rid] = s.pending[rid]
        if i % 4 == 0:  # answer one now and then: it must never expire
            answered.add(rid)
            del s.pending[rid]
        await asyncio.sleep(0.0004 * (i % 5))
    await wait_until(lambda: not s.pending)
    assert set(s.expired) == set(sent) - answered
    assert not answered & set(s.expired)
    for rid, at in s.expired.items():
        assert at >= sent[rid] + timeout_s - SLACK_S, rid  # never early
        assert at <= sent[rid] + timeout_s + s.sweep.grain_s + LATE_S, rid
    assert list(s.expired) == sorted(s.expired)  # in send order
    assert len(s.sweep) == 0
    s.sweep.close()


async def test_sweep_keeps_few_marks_while_requests_are_answered() -> None:
    s = Sender(10.0)
    base = s.loop.time()
    for i in range(20_000):  # one request per slice, each answered before the next is sent
        rid = s.next_id = s.next_id + 1
        s.pending = {rid: base}
        s.sweep.mark(s.loop, base + i * s.sweep.grain_s, rid, rid)
        assert len(s.sweep) <= 2
    s.sweep.close()
    assert len(s.sweep) == 0


async def test_sweep_with_no_timeout_never_marks() -> None:
    s = Sender(math.inf)
    for _ in range(100):
        s.send()
    assert len(s.sweep) == 0 and s.sweep.next_mark_at == math.inf


@pytest.mark.parametrize("backend", ws.BACKENDS)
async def test_default_timeout_fails_the_call_on_time_and_cancels_it_on_the_server(backend: ws.Backend) -> None:
    probe = Probe()
    timeout_s = 0.3
    async with running(make_app(probe), backend) as srv:
        client = await connect(srv.url, reconnect=False, backend=backend, timeout_s=timeout_s)
        try:
            assert await client.call_tool("echo", {"x": 1}) is not None  # a mark for an answered call
            own = asyncio.create_task(client.call_tool("block", {}, timeout_s=TIMEOUT_S))  # its own deadline
            async with asyncio.timeout(TIMEOUT_S):
                await probe.started.wait()
            started = time.monotonic()
            with pytest.raises(RequestTimeout):
                async with asyncio.timeout(TIMEOUT_S):
                    await client.call_tool("block", {})  # default timeout: the sweep
            elapsed = time.monotonic() - started
            assert timeout_s - SLACK_S <= elapsed <= timeout_s + client.send_sweep.grain_s + LATE_S
            async with asyncio.timeout(TIMEOUT_S):
                await probe.cancelled.wait()  # the server was told to cancel it
            assert not own.done()  # a request with its own timeout is not swept
            assert client.in_flight == 1  # only the call with its own deadline
            assert await client.request("ping") == {}
            own.cancel()
            with pytest.raises(asyncio.CancelledError):
                await own
            assert client.in_flight == 0
        finally:
            await client.close()


async def test_requests_in_flight_at_the_deadline_all_fail_and_later_ones_succeed() -> None:
    probe = Probe()
    async with running(make_app(probe), "picows") as srv:
        client = await connect(srv.url, reconnect=False, timeout_s=0.2)
        try:
            calls = [asyncio.create_task(client.call_tool("block", {})) for _ in range(5)]
            async with asyncio.timeout(TIMEOUT_S):
                results = await asyncio.gather(*calls, return_exceptions=True)
            assert all(isinstance(r, RequestTimeout) for r in results), results
            assert "no answer within 0.2 s" in str(results[0])
            assert client.in_flight == 0
            for _ in range(3):
                assert await client.call_tool("echo", {"x": 2}) is not None
        finally:
            await client.close()
