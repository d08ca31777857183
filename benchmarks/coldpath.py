"""``tradingmcp bench coldpath``: how much slower the first call after an idle gap is than a back-to-back call.

Why: a trading bot's orders are rare (a few a second), so each runs a path that has been idle for tens of ms, and such
code runs several times slower the first time (its caches are cold; spinning the CPU before the call does not help,
calling the same path does).
This measures the penalty path by path in ONE process on ONE uvloop loop over real loopback sockets (as :mod:`.cpu`),
so no cross-process wake-up is part of it.

Rows (paths), each call a full round trip: ``tcp-floor`` (uvloop echo of our ``tools/call`` request bytes),
``picows-echo`` (picows text-frame echo of them), ``mcp-ws-picows`` (our MCP client calling our server's ``echo``
tool), ``binance-place-order`` (:meth:`BinanceAdapter.place_order`, LIMIT_MAKER BUY 0.0002 BTCUSDT at 30000, far
below the market, against the embedded simulator replaying the real recording at 1x; cancelled by client order id
outside the timed region; order rate limits lifted in the simulator and the adapter, as Binance's 100 orders / 10 s
would forbid keeping a path warm with orders).

Columns (conditions), each the median µs of ``samples`` measured calls: ``back_to_back`` (right after the previous
call of the same path); ``after_<g>ms`` (the first call after ``asyncio.sleep(g ms)``); ``kept_warm_<g>ms`` (a
``warm_gap_ms`` gap during which the path is called every ``warm_every_ms``, unmeasured, then the measured call
``warm_every_ms`` after the last warm call); ``cold_factor`` = the largest ``after_`` / ``back_to_back``;
``warm_factor`` = ``kept_warm`` / ``back_to_back``.

Reading it: a ``cold_factor`` well above 1 is what a path idle like the bot's pays on every call; a ``warm_factor``
near 1 means keeping the path busy recovers it. Samples are interleaved (sample → condition → row) so machine drift
hits every cell alike.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import time
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson

from tradingmcp.benchmarks import config as C
from tradingmcp.benchmarks import report, roundtrip, servers

TCP_FLOOR, PICOWS_ECHO, MCP_ECHO, PLACE_ORDER = C.TCP_FLOOR, C.PICOWS_ECHO, C.MCP_WS_PICOWS, "binance-place-order"
ROWS: tuple[str, ...] = (TCP_FLOOR, PICOWS_ECHO, MCP_ECHO, PLACE_ORDER)
SYMBOL = "BTCUSDT"
_NO_LIMIT = 1_000_000_000
_CALL_TIMEOUT_S = 10.0  # bound on one measurement (gap, warm calls, the call, its clean-up) and each setup step


@dataclass(frozen=True)
class ColdPathConfig:
    """What to measure.

    Attributes:
        samples: measured calls per cell (row × condition).
        gaps_ms: idle gaps before the measured call (ms); 0 is ``back_to_back`` and is always measured.
        warm_gap_ms: length of the kept-warm gap (ms).
        warm_every_ms: period of the unmeasured calls during the kept-warm gap (ms).
        warmup_calls: unmeasured calls per row before the first sample (first-use costs out of the way).
        payload_chars: length of the echoed text.
        data_dir: data root for the simulator (None → :func:`tradingmcp.sim.data.data_root`).
        out_dir: folder of ``coldpath-<timestamp>.json``.
        rows: paths to measure, a subset of :data:`ROWS`.
    """

    samples: int = 40
    gaps_ms: tuple[float, ...] = (0, 1, 10, 100)
    warm_gap_ms: float = 100.0
    warm_every_ms: float = 5.0
    warmup_calls: int = 50
    payload_chars: int = 16
    data_dir: Path | None = None
    out_dir: Path = Path("bench-results")
    rows: tuple[str, ...] = field(default=ROWS)


@dataclass
class _Probe:
    """One path: ``call`` is timed; ``settle`` undoes its effects (cancels orders) outside the timed region."""

    call: Callable[[], Awaitable[None]]
    settle: Callable[[], Awaitable[None]] | None = None


def conditions(cfg: ColdPathConfig) -> list[tuple[str, float, float | None]]:
    """``[(column, gap_s, warm_every_s or None)]`` in table order: ``back_to_back``, ``after_<g>ms``...,
    ``kept_warm_<g>ms``."""
    gaps = sorted({0.0, *(float(g) for g in cfg.gaps_ms)})
    out: list[tuple[str, float, float | None]] = [
        ("back_to_back" if g == 0 else f"after_{g:g}ms", g / 1000, None) for g in gaps
    ]
    return [*out, (f"kept_warm_{cfg.warm_gap_ms:g}ms", cfg.warm_gap_ms / 1000, cfg.warm_every_ms / 1000)]


async def _echo_probes(cfg: ColdPathConfig, stack: contextlib.AsyncExitStack) -> dict[str, _Probe]:
    payload = "x" * cfg.payload_chars
    makers = {TCP_FLOOR: servers.tcp_echo, PICOWS_ECHO: servers.picows_echo}
    probes: dict[str, _Probe] = {}
    for name in (TCP_FLOOR, PICOWS_ECHO, MCP_ECHO):
        if name not in cfg.rows:
            continue
        async with asyncio.timeout(_CALL_TIMEOUT_S):
            info, handlers = await (servers.mcp_echo("picows", None) if name == MCP_ECHO else makers[name]())
            stack.push_async_callback(handlers["close"])
            rt = await roundtrip.dial(name, info, payload, None)
            stack.push_async_callback(rt.close)
        probes[name] = _Probe(rt.call)
    return probes


async def _order_probe(cfg: ColdPathConfig, stack: contextlib.AsyncExitStack) -> _Probe:
    """The adapter against an embedded simulator; orders are cancelled (by client order id) in ``settle``."""
    from tradingmcp.app.stack import sim_binance_config
    from tradingmcp.server.exchanges.binance.adapter import BinanceAdapter
    from tradingmcp.server.exchanges.models import OrderRequest, OrderType, Side
    from tradingmcp.sim.app import SimConfig, Simulator
    from tradingmcp.sim.weights import RateLimitConfig

    limits = RateLimitConfig(weight_limit_1m=_NO_LIMIT, orders_limit_10s=_NO_LIMIT, orders_limit_1d=_NO_LIMIT)
    sim = Simulator(SimConfig(speed=1.0, loop=False, symbols=(SYMBOL,), data_dir=cfg.data_dir, limits=limits))
    async with asyncio.timeout(_CALL_TIMEOUT_S):
        await sim.start()
    stack.push_async_callback(sim.stop)
    adapter = BinanceAdapter(sim_binance_config(sim.rest_url, sim.stream_url, sim.ws_api_url))
    stack.push_async_callback(adapter.close)
    async with asyncio.timeout(_CALL_TIMEOUT_S):
        await adapter.start()
    # exchangeInfo carries Binance's 100 orders / 10 s; lift it in the adapter too (benchmark only)
    adapter.limiter.core.configure(
        [
            {"rateLimitType": kind, "interval": interval, "intervalNum": num, "limit": _NO_LIMIT}
            for kind, interval, num in (("REQUEST_WEIGHT", "MINUTE", 1), ("ORDERS", "SECOND", 10), ("ORDERS", "DAY", 1))
        ]
    )
    request = OrderRequest(
        symbol=SYMBOL, side=Side.BUY, type=OrderType.LIMIT_MAKER, quantity=Decimal("0.0002"), price=Decimal("30000")
    )
    placed: list[str] = []

    async def call() -> None:
        placed.append((await adapter.place_order(request)).client_order_id)

    async def settle() -> None:
        while placed:
            await adapter.cancel_order(SYMBOL, client_order_id=placed.pop())

    return _Probe(call, settle)


async def _measure_us(probe: _Probe, gap_s: float, warm_every_s: float | None) -> float:
    """One sample: idle (or kept warm) for ``gap_s``, then the timed call (µs); its effects undone afterwards."""
    async with asyncio.timeout(_CALL_TIMEOUT_S):
        if warm_every_s is not None:
            for _ in range(max(1, round(gap_s / warm_every_s) - 1)):
                await asyncio.sleep(warm_every_s)
                await probe.call()
            await asyncio.sleep(warm_every_s)
        elif gap_s > 0:
            await asyncio.sleep(gap_s)
        else:
            await probe.call()  # the previous call, right before
        start = time.perf_counter_ns()
        await probe.call()
        elapsed_us = (time.perf_counter_ns() - start) / 1000
        if probe.settle is not None:
            await probe.settle()
    return elapsed_us


async def run_coldpath(cfg: ColdPathConfig) -> dict[str, Any]:
    """Measure every row of ``cfg.rows`` under every condition of :func:`conditions` (call it on uvloop).

    Returns:
        ``{"machine", "config", "columns", "rows": [{"path", "<column>_us" (median µs) per column, "cold_factor",
        "warm_factor", "samples_us": {column: [µs]}}]}`` in :data:`ROWS` order.

    Raises:
        ValueError: an unknown row or a non-positive count.
        TimeoutError: a setup step or a measurement took longer than 10 s.
        OSError: a loopback server could not be reached; DataNotFoundError: no recording.
    """
    unknown = [r for r in cfg.rows if r not in ROWS]
    if unknown or not cfg.rows or cfg.samples <= 0 or cfg.warm_every_ms <= 0:
        raise ValueError(f"bad config: rows {list(cfg.rows)} (choose from {list(ROWS)}), samples {cfg.samples}")
    rows = [r for r in ROWS if r in cfg.rows]
    conds = conditions(cfg)
    cols = [c[0] for c in conds]
    machine = report.machine_info()
    samples: dict[str, dict[str, list[float]]] = {r: {c: [] for c in cols} for r in rows}
    async with contextlib.AsyncExitStack() as stack:
        probes = await _echo_probes(cfg, stack)
        if PLACE_ORDER in rows:
            probes[PLACE_ORDER] = await _order_probe(cfg, stack)
        for name in rows:
            for _ in range(cfg.warmup_calls):
                await _measure_us(probes[name], 0.0, None)
        for _ in range(cfg.samples):
            for column, gap_s, warm_every_s in conds:
                for name in rows:
                    samples[name][column].append(await _measure_us(probes[name], gap_s, warm_every_s))
    out: list[dict[str, Any]] = []
    for name in rows:
        med = {c: statistics.median(samples[name][c]) for c in cols}
        row: dict[str, Any] = {"path": name, **{f"{c}_us": round(med[c], 1) for c in cols}}
        row["cold_factor"] = round(med[cols[-2]] / med[cols[0]], 2)
        row["warm_factor"] = round(med[cols[-1]] / med[cols[0]], 2)
        row["samples_us"] = {c: [round(v, 1) for v in samples[name][c]] for c in cols}
        out.append(row)
    config = {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(cfg).items()}
    return {"machine": machine, "config": config, "columns": cols, "rows": out}


def print_table(doc: dict[str, Any]) -> None:
    """Print the median table (µs) with the two factors."""
    cols: list[str] = doc["columns"]
    c = doc["config"]
    print(f"cold path: median µs per call, {c['samples']} samples per cell, one process on uvloop")
    widths = [max(len(col), 9) for col in cols]
    head = f"{'path':<21}" + "".join(f"{col:>{w + 2}}" for col, w in zip(cols, widths, strict=True))
    print(head + f"{'cold_factor':>13}{'warm_factor':>13}")
    for row in doc["rows"]:
        cells = "".join(f"{row[f'{col}_us']:>{w + 2},.1f}" for col, w in zip(cols, widths, strict=True))
        print(f"{row['path']:<21}{cells}{row['cold_factor']:>12.2f}x{row['warm_factor']:>12.2f}x")


def _floats(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(x) for x in text.split(",") if x.strip())
    except ValueError:
        values = ()
    if not values or min(values) < 0:
        raise argparse.ArgumentTypeError(f"expected comma-separated gaps >= 0 ms, got {text!r}")
    return values


def _rows(text: str) -> tuple[str, ...]:
    names = {x.strip() for x in text.split(",") if x.strip()}
    if not names or not names <= set(ROWS):
        raise argparse.ArgumentTypeError(f"expected a comma-separated subset of {list(ROWS)}, got {text!r}")
    return tuple(n for n in ROWS if n in names)


def main(argv: list[str] | None = None) -> int:
    """``tradingmcp bench coldpath [--samples N] [--gaps MS,...] [--rows ...] [--data DIR] [--out DIR]``.

    Returns:
        0 when the run completed (table printed, JSON written), 1 when a step failed.
    """
    import uvloop

    d = ColdPathConfig()
    p = argparse.ArgumentParser(prog="tradingmcp bench coldpath", description=__doc__, allow_abbrev=False)
    p.add_argument("--samples", type=int, default=d.samples, help=f"measured calls per cell (default {d.samples})")
    p.add_argument("--gaps", type=_floats, default=d.gaps_ms, help="idle gaps in ms (default 0,1,10,100)")
    p.add_argument("--warm-gap-ms", type=float, default=d.warm_gap_ms, help="kept-warm gap (ms, default 100)")
    p.add_argument("--warm-every-ms", type=float, default=d.warm_every_ms, help="kept-warm call period (ms, default 5)")
    p.add_argument("--warmup", type=int, default=d.warmup_calls, help="unmeasured calls per row first (default 50)")
    p.add_argument("--rows", type=_rows, default=d.rows, help="comma-separated rows (default all): " + ",".join(ROWS))
    p.add_argument("--data", type=Path, default=None, help="data root (default ../shared/data)")
    p.add_argument("--out", type=Path, default=d.out_dir, help="output folder (default bench-results)")
    args = p.parse_args(argv)
    cfg = ColdPathConfig(
        samples=args.samples,
        gaps_ms=args.gaps,
        warm_gap_ms=args.warm_gap_ms,
        warm_every_ms=args.warm_every_ms,
        warmup_calls=max(0, args.warmup),
        data_dir=args.data,
        out_dir=args.out,
        rows=args.rows,
    )
    try:
        doc = uvloop.run(run_coldpath(cfg))
    except Exception as exc:  # report the failure as an exit code, with its traceback
        traceback.print_exc()
        print(f"tradingmcp bench coldpath: failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print_table(doc)
    cfg.out_dir.mkdir(parents=True, exist_ok=True)
    path = cfg.out_dir / f"coldpath-{time.strftime('%Y%m%dT%H%M%S')}.json"
    path.write_bytes(orjson.dumps(doc, option=orjson.OPT_INDENT_2))
    print(f"results: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
