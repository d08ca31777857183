"""``tradingmcp bench conflation``: how long the bot takes to decide on the newest market after a burst, per message
versus conflated per loop turn, in one process with no sockets (so a busy machine disturbs it far less than
``bench ticktotrade``).

The recorded BTCUSDT and ETHUSDT book tickers and trades (merged in recording order, as the bot receives them) are cut
into bursts of ``k`` consecutive messages: what one read of the bot's socket holds when it is ``k`` messages behind.
Each burst is fed to a fresh :class:`~tradingmcp.client.bot.core.BotCore` two ways:

* ``per_message``: :meth:`BotCore.on_stream <tradingmcp.client.bot.core.BotCore.on_stream>` on every message in turn
  (the bot before conflation: a decision on each book ticker);
* ``conflated``: :class:`~tradingmcp.client.bot.conflate.Conflator` (what the runner runs): the burst's first book
  ticker decided at once, the rest queued and decided once per symbol at the end of the turn.

Measured per burst (µs, ``time.perf_counter_ns``): ``newest`` = from the burst's first message to the decision on its
newest market (the end of the burst's work: the newest tick's decision is the last); reported p50/p99 over bursts
and the decisions made. The core's actions are answered at once (accepted orders) between bursts,
outside the timed spans, so the slots free up as they would with a fast exchange.
"""

from __future__ import annotations

import argparse
import gc
import gzip
import heapq
import statistics
import sys
import time
import traceback
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson

from tradingmcp.client.bot.actions import Action
from tradingmcp.client.bot.config import BotConfig, RiskConfig, SymbolConfig
from tradingmcp.client.bot.conflate import Conflator
from tradingmcp.client.bot.core import BotCore
from tradingmcp.client.bot.strategy import SymbolRulesLite
from tradingmcp.sim.data import binance_recordings

SYMBOLS = {
    "BTCUSDT": (SymbolConfig("BTCUSDT", Decimal("0.0002"), Decimal("0.002")), ("0.01", "0.00001")),
    "ETHUSDT": (SymbolConfig("ETHUSDT", Decimal("0.004"), Decimal("0.04")), ("0.01", "0.0001")),
}
"""The bot's symbols as ``bench ticktotrade`` quotes them, and their tick and step sizes on the simulator."""
MODES = ("per_message", "conflated")


@dataclass(frozen=True)
class ConflationConfig:
    """``bursts``: burst sizes (messages); ``messages``: recorded messages replayed per size and mode; data root and
    output folder."""

    bursts: tuple[int, ...] = (1, 5, 20, 100)
    messages: int = 40_000
    data_dir: Path | None = None
    out_dir: Path = Path("bench-results")


def recorded(data_dir: Path | None, limit: int) -> list[tuple[str, dict[str, Any]]]:
    """The first ``limit`` pushed messages (``(stream key, data)`` in the bot's shapes: ``book_ticker:binance:SYM``,
    ``trades:binance:SYM``) of the BTCUSDT and ETHUSDT recordings, merged by their recorded arrival time."""
    merged = heapq.merge(*(_messages(data_dir, symbol) for symbol in SYMBOLS), key=lambda m: m[0])
    return [(key, data) for _, key, data in (next(merged, None) or (0, "", {}) for _ in range(limit)) if key]


def _messages(data_dir: Path | None, symbol: str) -> Iterator[tuple[int, str, dict[str, Any]]]:
    last_ms = 0
    for path in binance_recordings(symbol, data_dir):
        with gzip.open(path, "rb") as fh:
            for line in fh:
                ns, _, raw = line.partition(b" ")
                frame = orjson.loads(raw)
                stream, d = frame.get("stream", ""), frame.get("data", {})
                if stream.endswith("@bookTicker"):
                    data = {"symbol": symbol, "bid": d["b"], "bid_qty": d["B"], "ask": d["a"], "ask_qty": d["A"],
                            "update_id": d["u"], "time_ms": last_ms}  # fmt: skip
                    yield int(ns), f"book_ticker:binance:{symbol}", data
                elif stream.endswith("@trade"):
                    last_ms = d["T"]
                    data = {"symbol": symbol, "id": d["t"], "price": d["p"], "qty": d["q"], "time_ms": d["T"],
                            "taker_side": "SELL" if d["m"] else "BUY"}  # fmt: skip
                    yield int(ns), f"trades:binance:{symbol}", data


def _core() -> BotCore:
    risk = RiskConfig(max_orders_per_s=1e9, order_burst=10**9)  # the decision path, not the bot's order rate
    core = BotCore(BotConfig(symbols=tuple(cfg for cfg, _ in SYMBOLS.values()), risk=risk))
    for symbol, (_, (tick, step)) in SYMBOLS.items():
        core.rules[symbol] = SymbolRulesLite(Decimal(tick), Decimal(step), Decimal(step), Decimal("5"))
    return core


def _answer(core: BotCore, action: Action, now_ns: int) -> None:
    """The exchange accepted ``action`` (cancelled the old order of a replace)."""
    order = {"client_order_id": action.client_order_id, "order_id": 1, "symbol": action.symbol, "side": action.side,
             "status": "CANCELED" if action.kind == "cancel" else "NEW", "price": str(action.price),
             "orig_qty": str(action.qty), "executed_qty": "0"}  # fmt: skip
    content: dict[str, Any] = {"order": order}
    if action.kind == "replace":
        content["cancelled"] = {
            "client_order_id": action.old_client_order_id,
            "status": "CANCELED",
            "executed_qty": "0",
        }
    core.on_result(action, {"structuredContent": content}, now_ns)


def measure(messages: list[tuple[str, dict[str, Any]]], burst: int, mode: str) -> dict[str, Any]:
    """One burst size and mode over ``messages``: ``{bursts, newest_us: {p50, p99}, decisions}``."""
    core = _core()
    clock = time.perf_counter_ns
    turns = Conflator(core, clock)
    spans: list[float] = []
    gc.collect()
    for start in range(0, len(messages) - burst + 1, burst):
        sent: list[Action] = []
        t0 = clock()
        if mode == "per_message":
            for key, data in messages[start : start + burst]:
                sent += core.on_stream(key, data, clock())
        else:
            for key, data in messages[start : start + burst]:
                turns.on_message(key, data, clock(), sent.extend)
            turns.end_turn(sent.extend)
        spans.append((clock() - t0) / 1000)
        for action in sent:
            _answer(core, action, clock())
    spans.sort()
    n = len(spans)
    return {
        "bursts": n,
        "newest_us": {"p50": round(statistics.median(spans), 1), "p99": round(spans[max(0, int(n * 0.99) - 1)], 1)},
        "decisions": core.decisions,
    }


def run(cfg: ConflationConfig) -> dict[str, Any]:
    """Every burst size in both modes (alternating, so machine drift hits both alike); the result document."""
    messages = recorded(cfg.data_dir, cfg.messages)
    results: dict[str, dict[str, Any]] = {}
    for burst in cfg.bursts:
        results[str(burst)] = {mode: measure(messages, burst, mode) for mode in MODES}
    return {"config": {**asdict(cfg), "data_dir": str(cfg.data_dir), "out_dir": str(cfg.out_dir)}, "results": results}


def print_table(doc: dict[str, Any]) -> None:
    print("decide on the newest market after a burst (µs from the burst's first message; one process, no sockets)")
    print(f"  {'burst':>5s}  {'mode':12s} {'p50':>9s} {'p99':>9s} {'decisions':>10s}")
    for burst, modes in doc["results"].items():
        for mode, r in modes.items():
            print(f"  {burst:>5s}  {mode:12s} {r['newest_us']['p50']:9.1f} {r['newest_us']['p99']:9.1f} "
                  f"{r['decisions']:10d}")  # fmt: skip


def _sizes(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated burst sizes, got {text!r}") from None
    if not sizes or any(s < 1 for s in sizes):
        raise argparse.ArgumentTypeError("burst sizes must be whole numbers >= 1")
    return sizes


def main(argv: list[str] | None = None) -> int:
    """``tradingmcp bench conflation [--bursts 1,5,20,100] [--messages N] [--data DIR] [--out DIR]``.

    Returns:
        0 when the run completed (table printed, JSON written), 1 when it failed.
    """
    d = ConflationConfig()
    p = argparse.ArgumentParser(prog="tradingmcp bench conflation", description=__doc__, allow_abbrev=False)
    p.add_argument("--bursts", type=_sizes, default=d.bursts, help="burst sizes (default 1,5,20,100)")
    p.add_argument("--messages", type=int, default=d.messages, help=f"recorded messages (default {d.messages})")
    p.add_argument("--data", type=Path, default=None, help="data root (default ../shared/data)")
    p.add_argument("--out", type=Path, default=d.out_dir, help="output folder (default bench-results)")
    args = p.parse_args(argv)
    if args.messages < max(args.bursts):
        p.error("--messages must be at least the largest burst")
    cfg = ConflationConfig(bursts=args.bursts, messages=args.messages, data_dir=args.data, out_dir=args.out)
    try:
        doc = run(cfg)
    except Exception as exc:  # report the failure as an exit code, with its traceback
        traceback.print_exc()
        print(f"tradingmcp bench conflation: failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print_table(doc)
    cfg.out_dir.mkdir(parents=True, exist_ok=True)
    path = cfg.out_dir / f"conflation-{time.strftime('%Y%m%dT%H%M%S')}.json"
    path.write_bytes(orjson.dumps(doc, option=orjson.OPT_INDENT_2))
    print(f"results: {path}")
    return 0
