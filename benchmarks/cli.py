"""``tradingmcp bench``: the latency benchmark suite (round trips, pipelined throughput, fan-out, idle memory);
``tradingmcp bench ticktotrade`` measures the reference bot's tick-to-trade path (:mod:`.ticktotrade`);
``tradingmcp bench coldpath`` measures how much slower the first call after an idle gap is (:mod:`.coldpath`);
``tradingmcp bench conflation`` measures the bot deciding on the newest market after a burst (:mod:`.conflation`);
``tradingmcp bench fanout --bus`` measures fan-out through the NATS bus with 1, 2, 4 gateways (:mod:`.busfanout`);
``tradingmcp bench backtest`` measures market events replayed per second by ``tradingmcp backtest`` (:mod:`.backtest`).

Prints the tables, writes ``<out>/<timestamp>.json`` (machine info, config, percentiles, CDFs) and
``<out>/<timestamp>.png`` (latency CCDF per scenario, fan-out deliveries/s). Targets are reported, not asserted: the
exit code is 0 when the run completed, 1 when a step failed (every server process is killed either way).
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from tradingmcp.benchmarks import config as C
from tradingmcp.benchmarks.config import BenchConfig


def _ints(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None
    if any(v <= 0 for v in values):
        raise argparse.ArgumentTypeError("counts must be positive")
    return values


def _placements(text: str) -> tuple[str, ...]:
    from tradingmcp.benchmarks.placement import PLACEMENTS

    names = tuple(n.strip() for n in text.split(",") if n.strip())
    unknown = [n for n in names if n not in PLACEMENTS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"unknown placement {unknown}; choose from {', '.join(PLACEMENTS)}")
    return names


def _scenarios(text: str) -> tuple[str, ...]:
    names = tuple(x.strip() for x in text.split(",") if x.strip())
    unknown = [n for n in names if n not in C.ROUNDTRIP_SCENARIOS]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown scenario(s) {unknown}; choose from {list(C.ROUNDTRIP_SCENARIOS)}")
    return tuple(n for n in C.ROUNDTRIP_SCENARIOS if n in names)  # table order; the floor first


def build_parser() -> argparse.ArgumentParser:
    d = BenchConfig()
    p = argparse.ArgumentParser(prog="tradingmcp bench", description=__doc__, allow_abbrev=False)
    p.add_argument("--calls", type=int, default=d.calls, help=f"measured calls per scenario (default {d.calls})")
    p.add_argument("--sdk-calls", type=int, default=None, help="calls for the SDK scenarios (default min(2000, calls))")
    p.add_argument("--warmup", type=int, default=None, help="warm-up calls per scenario (default min(1000, calls/10))")
    p.add_argument("--rounds", type=int, default=d.rounds, help=f"interleaved rounds (default {d.rounds})")
    p.add_argument(
        "--scenarios",
        type=_scenarios,
        default=d.scenarios,
        help="comma-separated round-trip scenarios (default all): " + ",".join(C.ROUNDTRIP_SCENARIOS),
    )
    p.add_argument("--no-sdk", action="store_true", help="skip the official-SDK scenarios")
    p.add_argument(
        "--placement",
        type=_placements,
        default=d.placements,
        help="comma-separated CPU placements of the round trips, one full set each (default split,same,spin): "
        "split = client and servers on different CPUs, same = one CPU, spin = split with both ends busy-polling, os = not pinned",
    )
    p.add_argument("--pipeline-calls", type=int, default=None, help="calls per throughput measurement (default calls)")
    p.add_argument("--inflight", type=int, default=d.pipeline_inflight, help="requests in flight on one connection")
    p.add_argument("--conns", type=int, default=d.conns, help="connections for the multi-connection throughput")
    p.add_argument("--conn-inflight", type=int, default=d.conn_inflight, help="requests in flight per connection there")
    p.add_argument(
        "--fanout", type=_ints, default=d.fanout_subscribers, help="subscriber counts N (default 1,10,100,1000)"
    )
    p.add_argument("--no-fanout", action="store_true", help="skip the fan-out measurement")
    p.add_argument("--fanout-seconds", type=float, default=d.fanout_seconds, help="publishing window per phase (s)")
    p.add_argument("--fanout-rounds", type=int, default=d.fanout_rounds, help="alternating saturated windows")
    p.add_argument("--fanout-procs", type=int, default=d.fanout_client_procs, help="client processes for subscribers")
    p.add_argument("--idle-conns", type=int, default=d.idle_conns, help="idle connections for memory (0 skips)")
    p.add_argument("--cpu-calls", type=int, default=d.cpu_calls, help="calls per same-process row (0 skips)")
    p.add_argument("--out", type=Path, default=d.out_dir, help="output folder (default bench-results)")
    p.add_argument("--no-plot", action="store_true", help="do not write the PNG")
    return p


def config_from_args(args: argparse.Namespace) -> BenchConfig:
    """The :class:`BenchConfig` for parsed CLI arguments.

    Raises:
        ValueError: a count is not positive.
    """
    if args.calls <= 0 or args.rounds <= 0:
        raise ValueError("--calls and --rounds must be positive")
    scenarios = tuple(s for s in args.scenarios if not (args.no_sdk and s in C.SDK_SCENARIOS))
    return BenchConfig(
        calls=args.calls,
        sdk_calls=args.sdk_calls if args.sdk_calls is not None else min(2_000, args.calls),
        warmup_calls=args.warmup if args.warmup is not None else min(1_000, max(10, args.calls // 10)),
        rounds=args.rounds,
        scenarios=scenarios,
        placements=args.placement,
        pipeline_calls=args.pipeline_calls if args.pipeline_calls is not None else args.calls,
        pipeline_inflight=args.inflight,
        conns=args.conns,
        conn_inflight=args.conn_inflight,
        fanout_subscribers=() if args.no_fanout else args.fanout,
        fanout_seconds=args.fanout_seconds,
        fanout_rounds=max(1, args.fanout_rounds),
        fanout_client_procs=max(1, args.fanout_procs),
        idle_conns=max(0, args.idle_conns),
        cpu_calls=max(0, args.cpu_calls),
        out_dir=args.out,
    )


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; returns the exit code (0 done, 1 a step failed, 2 bad arguments)."""
    import uvloop

    from tradingmcp.benchmarks.procs import BenchError, kill_all, raise_fd_limit
    from tradingmcp.benchmarks.report import print_report, write_json, write_plot
    from tradingmcp.benchmarks.run import run

    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "ticktotrade":  # the tick-to-trade scenario has its own options
        from tradingmcp.benchmarks.ticktotrade import main as ticktotrade_main

        return ticktotrade_main(argv[1:])
    if argv and argv[0] == "coldpath":  # the idle-gap (cold path) scenario has its own options
        from tradingmcp.benchmarks.coldpath import main as coldpath_main

        return coldpath_main(argv[1:])
    if argv and argv[0] == "conflation":  # the bot's burst handling, in one process
        from tradingmcp.benchmarks.conflation import main as conflation_main

        return conflation_main(argv[1:])
    if argv and argv[0] == "fanout":  # fan-out through the NATS bus next to the single process
        from tradingmcp.benchmarks.busfanout import main as busfanout_main

        return busfanout_main(argv[1:])
    if argv and argv[0] == "backtest":  # events/s of the backtest replay
        from tradingmcp.benchmarks.backtest import main as backtest_main

        return backtest_main(argv[1:])
    if argv and argv[0] == "readme":  # benchmarks/README.md's figures from result JSON
        from tradingmcp.benchmarks.readme import main as readme_main

        return readme_main(argv[1:])
    args = build_parser().parse_args(argv)
    try:
        cfg = config_from_args(args)
    except ValueError as exc:
        print(f"tradingmcp bench: {exc}", file=sys.stderr)
        return 2
    raise_fd_limit()
    stamp = time.strftime("%Y%m%dT%H%M%S")
    doc: dict[str, Any] = {"started": stamp}
    failed: str | None = None
    try:
        uvloop.run(run(cfg, doc))
    except (BenchError, TimeoutError, OSError, AssertionError) as exc:
        failed = f"{type(exc).__name__}: {exc}"
    except Exception as exc:  # an unexpected failure: keep the traceback, still write what was measured
        traceback.print_exc()
        failed = f"{type(exc).__name__}: {exc}"
    except KeyboardInterrupt:
        failed = "interrupted"
    finally:
        kill_all()
    if failed is not None:
        doc["error"] = failed
        print(f"tradingmcp bench: failed: {failed}", file=sys.stderr)
    print_report(doc)
    json_path = write_json(doc, cfg.out_dir / f"{stamp}.json")
    print(f"results: {json_path}")
    if not args.no_plot and doc.get("roundtrip"):
        print(f"plot: {write_plot(doc, cfg.out_dir / f'{stamp}.png')}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
