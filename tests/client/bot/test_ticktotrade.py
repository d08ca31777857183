"""The tick-to-trade benchmark: a short real run (simulator, server and bot in three processes) joins order actions to
their simulator and server stamps, and the hop percentiles add up to the end-to-end span."""

from __future__ import annotations

from pathlib import Path

from tradingmcp import perf
from tradingmcp.benchmarks.ticktotrade import HOPS, ORDER_HOPS, TickToTradeConfig, run, summarize


def test_summarize_shares() -> None:
    rows = [{"t0": 0, "t1": 1000, "t2": 2000, "t3": 3000, "t4": 7000, "t5": 10_000} for _ in range(5)]
    out = summarize(rows, [4.0])
    assert out["end_to_end"]["p50"] == 10.0 and out["hops"]["order_out"]["p50"] == 4.0
    assert abs(sum(out["share_of_median"].values()) - 1.0) < 1e-9
    assert out["share_of_median"]["order_out"] == 0.4


def test_order_round_trip_split_adds_up() -> None:
    row = {"t0": 0, "t1": 1000, "t2": 2000, "t3": 3000, "tool_in": 3300, "adapter_in": 3400, "engine_in": 3900,
           "t4": 4000, "adapter_out": 4500, "tool_out": 4600, "t5": 5000}  # fmt: skip
    out = summarize([row, {k: v for k, v in row.items() if k in ("t0", "t1", "t2", "t3", "t4", "t5")}], [])
    hops = out["order_hops"]
    assert hops["bot_to_server"]["n"] == 1  # only the row with every stamp is split
    assert sum(hops[name]["p50"] for name, _, _ in ORDER_HOPS) == (row["t5"] - row["t3"]) / 1000
    assert hops["matching"]["p50"] == 0.1 and hops["server_pre_exchange"]["p50"] == 0.1


async def test_ticktotrade_run(data_dir: Path, tmp_path: Path) -> None:
    doc = await run(
        TickToTradeConfig(duration_s=3.0, speed=5.0, symbols=("BTCUSDT",), data_dir=data_dir, out_dir=tmp_path)
    )
    result = doc["result"]
    assert result["samples"] > 0, doc
    for name, _, _ in HOPS:
        assert result["hops"][name]["p50"] >= 0
    assert result["end_to_end"]["p50"] >= result["bot_tick_to_ack"]["p50"] > 0
    split = result["order_hops"]
    assert split["matching"]["n"] > 0 and all(split[name]["p50"] >= 0 for name, _, _ in ORDER_HOPS)
    assert doc["config"]["layout"].startswith("simulator, server and bot in three")
    assert doc["intent_journal"]["synchronous"] == "FULL"  # the default: each intent synced before its order leaves
    assert doc["config"]["busy_poll"] is False and doc["busy_poll_spins"] == {
        "server": 0,
        "bot": 0,
        "server_warm_runs": 0,
        "server_held": 0,
        "bot_held": 0,
    }
    sent = doc["adapter"]["ws_api_requests"]  # the orders went over the WS API, not REST
    assert sent.get("order.place", 0) + sent.get("order.cancelReplace", 0) >= result["samples"]
    stream = doc["bot_stream"]  # what the bot took, and how much of it a burst superseded
    assert stream["notifications"] > result["samples"] and 0 <= stream["conflated"] < stream["notifications"]
    assert 0 <= doc["startup_excluded"] < doc["actions"]  # the start-up's buffered ticks, left out of the joins
    # every other action is joined to the update it was decided on, a book ticker or a book diff (the two kinds share
    # the venue's update ids: joined on the id alone, a decision on a diff would pair with an older book ticker)
    assert result["samples"] + doc["startup_excluded"] == doc["actions"], doc
    by_tick = doc["joined_by_tick"]
    assert set(by_tick) <= {"book", "book_ticker"} and sum(by_tick.values()) == result["samples"], by_tick
    assert result["hops"]["exchange_feed"]["p50"] > 0 and result["hops"]["mcp_push"]["p50"] > 0
    assert doc["priority"] == {"server": None, "bot": None}  # no low-latency mode, no claim


async def test_ticktotrade_embedded_layout_busy_polling(data_dir: Path, tmp_path: Path) -> None:
    """The simulator on the server's loop (as ``serve`` runs it), the server and the bot busy-polling: the same joins,
    fewer processes, and both loops really spun (a loop held while its core is contended sleeps in epoll meanwhile)."""
    doc = await run(
        TickToTradeConfig(
            duration_s=2.0,
            speed=5.0,
            symbols=("BTCUSDT",),
            data_dir=data_dir,
            out_dir=tmp_path,
            layout="embedded",
            busy_poll=True,
            intent_durability="process",
        )
    )
    assert doc["result"]["samples"] > 0, doc
    assert "server's event loop" in doc["config"]["layout"] and doc["config"]["busy_poll"] is True
    # intents journaled without the sync wait (one durable commit per order, or fewer when grouped)
    assert doc["intent_journal"]["synchronous"] == "NORMAL" and doc["intent_journal"]["durable_commits"] > 0
    assert doc["result"]["order_hops"]["to_exchange"]["n"] > 0
    # a spinning loop runs an iteration every few µs; a sleeping one would have run only a few thousand in 2 s
    spins = doc["busy_poll_spins"]
    assert spins["server"] > 20_000 and spins["bot"] > 20_000, spins
    # the order path was re-run (every 1 ms of spinning) once an order went out
    assert spins["server_warm_runs"] > 0, spins
    for who in ("server", "bot"):  # each process's low-latency mode claimed its priority (or said why it could not)
        claimed = doc["priority"][who]
        assert claimed["nice"] == perf.priority.NICE and claimed["applied"] != bool(claimed["refused"]), claimed
        sched = doc["sched"][who]  # and how long it was runnable without a CPU is known
        if sched["available"]:
            assert sched["cpu_ms"] > 0 and 0.0 <= sched["wait_share"] <= 1.0, sched
