"""Round-trip latency (interleaved rounds) and pipelined throughput, measured from the benchmark process.

Interleaving: after a warm-up, round ``r`` runs ``calls / rounds`` sequential calls of every scenario, the scenario
order rotated by ``r``, so a burst of machine noise lands on all scenarios alike instead of on one.
Latency is ``time.perf_counter_ns()`` around ``await rt.call()`` (client send → answer handled).
"""

from __future__ import annotations

import asyncio
import time
from array import array
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from tradingmcp.benchmarks.config import BenchConfig
from tradingmcp.benchmarks.roundtrip import RoundTrip
from tradingmcp.benchmarks.stats import new_samples

Around = Callable[[str, bool], Awaitable[None]]
"""Called with ``(scenario, True)`` before each stretch of a scenario's calls and ``(scenario, False)`` after it
(placement ``spin``: the scenario's server spins only then)."""


async def no_around(scenario: str, on: bool) -> None:
    """The default :data:`Around`: nothing around a stretch of calls."""
    return None


def split_calls(total: int, rounds: int, r: int) -> int:
    """Calls of round ``r`` (0-based) when ``total`` calls are split over ``rounds``; the first rounds take the rest."""
    base, extra = divmod(total, rounds)
    return base + (1 if r < extra else 0)


def rotation(names: Sequence[str], r: int) -> list[str]:
    """``names`` rotated left by ``r`` (the scenario order of round ``r``)."""
    if not names:
        return []
    k = r % len(names)
    return [*names[k:], *names[:k]]


async def _timed(rt: RoundTrip, n: int, out: array[int]) -> None:
    clock = time.perf_counter_ns
    call = rt.call
    append = out.append
    for _ in range(n):
        t0 = clock()
        await call()
        append(clock() - t0)


async def warm_up(rts: dict[str, RoundTrip], cfg: BenchConfig, around: Around = no_around) -> None:
    """Unmeasured calls per scenario, then one checked echo where the client can check it.

    Raises:
        TimeoutError: a scenario took longer than ``cfg.round_timeout_s``.
        AssertionError: an echo came back wrong.
    """
    for name, rt in rts.items():
        await around(name, True)
        try:
            async with asyncio.timeout(cfg.round_timeout_s):
                for _ in range(cfg.warmup_for(name)):
                    await rt.call()
                check = getattr(rt, "check", None)
                if check is not None:
                    await check()
        finally:
            await around(name, False)


async def interleaved(rts: dict[str, RoundTrip], cfg: BenchConfig, around: Around = no_around) -> dict[str, array[int]]:
    """Measured sequential round trips per scenario (ns samples), over ``cfg.rounds`` rotated rounds.

    Raises:
        TimeoutError: one scenario's share of a round took longer than ``cfg.round_timeout_s``.
    """
    samples = {name: new_samples() for name in rts}
    names = list(rts)
    for r in range(cfg.rounds):
        for name in rotation(names, r):
            n = split_calls(cfg.calls_for(name), cfg.rounds, r)
            await around(name, True)
            try:
                async with asyncio.timeout(cfg.round_timeout_s):
                    await _timed(rts[name], n, samples[name])
            finally:
                await around(name, False)
    return samples


@dataclass(frozen=True, slots=True)
class Throughput:
    """Calls/s with ``connections`` × ``inflight`` requests outstanding."""

    scenario: str
    connections: int
    inflight: int
    calls: int
    elapsed_s: float

    @property
    def calls_per_s(self) -> float:
        return self.calls / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "connections": self.connections,
            "inflight_per_connection": self.inflight,
            "calls": self.calls,
            "elapsed_s": round(self.elapsed_s, 4),
            "calls_per_s": round(self.calls_per_s, 1),
        }


async def pipelined(name: str, rts: Sequence[RoundTrip], inflight: int, total: int, timeout_s: float) -> Throughput:
    """Keep ``inflight`` requests outstanding on each of ``rts`` until ``total`` calls are done; calls/s.

    Raises:
        ValueError: a client cannot have several requests in flight.
        TimeoutError: not done within ``timeout_s``.
    """
    if inflight > 1 and not all(rt.concurrent for rt in rts):
        raise ValueError(f"{name}: client does not support requests in flight concurrently")
    workers = len(rts) * inflight
    per_worker = max(1, total // workers)

    async def worker(rt: RoundTrip) -> None:
        call = rt.call
        for _ in range(per_worker):
            await call()

    # a short warm-up so connection setup and first-call costs stay out of the window
    await asyncio.gather(*(rt.call() for rt in rts for _ in range(inflight)))
    started = time.perf_counter()
    async with asyncio.timeout(timeout_s):
        await asyncio.gather(*(worker(rt) for rt in rts for _ in range(inflight)))
    elapsed = time.perf_counter() - started
    return Throughput(name, len(rts), inflight, per_worker * workers, elapsed)
