"""``tradingmcp bench backtest``: market events replayed per second by ``tradingmcp backtest`` on one core.

Each run reads the recording (its parsed events from the cache of :mod:`tradingmcp.research.backtest.data`, filled by
one unmeasured read first), then replays them through the simulator's book and matching
engine and the reference bot's core (:class:`tradingmcp.research.backtest.engine.Backtest`, the same as the CLI, without
writing the report). Per run it times the read and the replay with ``time.perf_counter`` (wall) and
``time.process_time`` (CPU time of this process: on a machine shared with other work the CPU figure is what one core
does, the wall figure what this run got); the figures are the median over ``--runs`` runs of

- ``replay``: market events / replay time (the events already in memory, as for every point of a grid after the first);
- ``end to end``: market events / (read + replay);
- ``end to end, not cached``: market events / (read with the cache off, gzip JSON lines → events, once + replay).

A market event is one recorded depth diff, book ticker or trade (snapshots count too). The run is single-threaded;
nothing else is measured, nothing is asserted (targets live in benchmarks/README.md).
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import sys
import time
from typing import Any

import orjson


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="tradingmcp bench backtest", description=__doc__, allow_abbrev=False)
    p.add_argument("--symbols", default="BTCUSDT", help="comma-separated symbols of the recording (default BTCUSDT)")
    p.add_argument("--runs", type=int, default=5, help="measured runs; the median is reported (default 5)")
    p.add_argument("--max-events", type=int, default=None, help="replay only the first N events (default: all)")
    p.add_argument("--data", default=None, help="data root (default $TRADINGMCP_DATA or ../shared/data)")
    p.add_argument("--config", default="bot.example.toml", help="bot TOML (default bot.example.toml; '' = defaults)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    return p


def measure(
    symbols: list[str], runs: int, max_events: int | None, data: str | None, config: str | None
) -> dict[str, Any]:
    """Run the benchmark; returns ``{events, runs: [{read_s, replay_s}], replay_events_per_s,
    end_to_end_events_per_s, uncached_read: {read_s}, end_to_end_uncached_events_per_s, fills, compiled}`` (medians
    over the runs; ``*_cpu_s`` alike in CPU time; ``compiled``: the build dir of ``TRADINGMCP_COMPILED``, or None when
    the modules ran interpreted, see :mod:`tradingmcp.compiled`)."""
    from tradingmcp.research.backtest.context import paused_gc
    from tradingmcp.research.backtest.data import load_market_data
    from tradingmcp.research.backtest.engine import Backtest
    from tradingmcp.research.backtest.run import build_config, load_doc

    market = load_market_data(symbols, data)
    cfg = build_config(load_doc(config or None), "market_making", symbols, {})
    with paused_gc():
        for _ in itertools.islice(market.events(), max_events):  # fills the cache (unmeasured)
            pass
        saved = os.environ.get("TRADINGMCP_CACHE_DIR")
        os.environ["TRADINGMCP_CACHE_DIR"] = ""  # off: parse the gzip JSON lines
        try:
            t0, c0 = time.perf_counter(), time.process_time()
            for _ in itertools.islice(market.events(), max_events):
                pass
            cold = {"read_s": time.perf_counter() - t0, "read_cpu_s": time.process_time() - c0}
        finally:
            if saved is None:
                del os.environ["TRADINGMCP_CACHE_DIR"]
            else:
                os.environ["TRADINGMCP_CACHE_DIR"] = saved
    rows: list[dict[str, float]] = []
    events = fills = 0
    for _ in range(runs):
        t0, c0 = time.perf_counter(), time.process_time()
        with paused_gc():  # as Backtest.run does while the CLI reads the events lazily
            evs = list(itertools.islice(market.events(), max_events))
        t1, c1 = time.perf_counter(), time.process_time()
        result = Backtest(cfg, market.exchange_info).run(evs)
        t2, c2 = time.perf_counter(), time.process_time()
        events, fills = result.market_events, len(result.core.ledger.fills)
        rows.append({"read_s": t1 - t0, "replay_s": t2 - t1, "read_cpu_s": c1 - c0, "replay_cpu_s": c2 - c1})

    def rate(*cols: str) -> int:
        return round(statistics.median(events / max(sum(r[c] for c in cols), 1e-9) for r in rows))

    def rate_cold(read: str, replay: str) -> int:
        return round(statistics.median(events / max(cold[read] + r[replay], 1e-9) for r in rows))

    return {
        "symbols": symbols,
        "events": events,
        "fills": fills,
        "compiled": os.environ.get("TRADINGMCP_COMPILED") or None,
        "runs": rows,
        "replay_events_per_s": rate("replay_s"),
        "end_to_end_events_per_s": rate("read_s", "replay_s"),
        "replay_events_per_cpu_s": rate("replay_cpu_s"),
        "end_to_end_events_per_cpu_s": rate("read_cpu_s", "replay_cpu_s"),
        "uncached_read": cold,
        "end_to_end_uncached_events_per_s": rate_cold("read_s", "replay_s"),
        "end_to_end_uncached_events_per_cpu_s": rate_cold("read_cpu_s", "replay_cpu_s"),
    }


def main(argv: list[str] | None = None) -> int:
    """Run ``tradingmcp bench backtest``; returns the exit status (2 for bad arguments)."""
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    if args.runs < 1 or (args.max_events is not None and args.max_events < 1):
        print("tradingmcp bench backtest: --runs and --max-events must be ≥ 1", file=sys.stderr)
        return 2
    symbols = [s.strip().upper() for s in args.symbols.split(",") if s.strip()]
    doc = measure(symbols, args.runs, args.max_events, args.data, args.config)
    if args.json:
        print(orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode())
        return 0
    print(f"backtest replay of {','.join(symbols)}: {doc['events']:,} market events, {doc['fills']} fills, "
          f"median of {args.runs} runs" + (f", compiled ({doc['compiled']})" if doc["compiled"] else ""))  # fmt: skip
    print(f"  {'':28} {'per wall s':>12} {'per CPU s':>12}")
    rows = (
        ("replay (events in memory)", "replay"),
        ("end to end (read + replay)", "end_to_end"),
        ("end to end, not cached", "end_to_end_uncached"),
    )
    for label, key in rows:
        print(f"  {label:28} {doc[key + '_events_per_s']:>12,} {doc[key + '_events_per_cpu_s']:>12,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
