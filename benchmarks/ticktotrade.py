"""``tradingmcp bench ticktotrade``: tick-to-trade latency of the reference bot through the whole stack, on loopback.

Three programs, as deployed against a remote exchange (``--layout separate``, the default): the exchange simulator
(replaying the real recording, paced) runs in its own process, the bot in another, and the MCP server (wss by
default) with its Binance adapter in this one — every hop crosses a real socket between processes. ``--layout
embedded`` puts the simulator on the server's event loop, as ``tradingmcp serve`` runs it without credentials (the
adapter still talks to it over loopback sockets). ``--busy-poll`` makes the server's and the bot's event loops spin
and keep their order and decision paths warm (:mod:`tradingmcp.perf`) instead of sleeping between events. For every order action the bot takes on a
market update (a book ticker, or an order-book diff), five instants are stamped with ``time.perf_counter_ns``
(CLOCK_MONOTONIC on Linux: one clock shared by every process of the machine), sent back to this process over pipes at
the end, and joined on the update that triggered the decision (its kind, symbol and update id: a book ticker's ``u``
or a diff's final ``u``, which the server's book carries as ``last_update_id``; both kinds draw on the venue's one
sequence of order-book update ids, so the id alone would join a decision on a diff to an older book ticker) and the
order's client id:

==========  ==================================================================================================
t0 emit     the simulator publishes the recorded ``bookTicker`` or ``depthUpdate`` frame (instrumented
            ``SymbolMarket`` emit)
t1 server   the server publishes it on ``book_ticker:<exchange>:<SYMBOL>`` or ``book:<exchange>:<SYMBOL>``
            (instrumented ``StreamHub.publish``)
t2 bot      the bot takes the notification from its client
t3 decide   the bot's core returned the order action
t4 exchange the simulator's matching engine accepted the order (instrumented ``new_order``/``cancel_replace``)
t5 ack      the tool result is back in the bot
==========  ==================================================================================================

Order actions on an update the server published before the bot began trading (``runner.run``; until then its
first streams' ticks wait in the client's buffer while it subscribes to the others) are left out
(``startup_excluded``): they measure the start-up, not the path.

Hops: exchange feed (t0→t1: simulator stream → python-binance → adapter → bridge), MCP push (t1→t2), decision
(t2→t3), order out (t3→t4: bot → MCP → trading tool checks → adapter (WS API, REST fallback) → simulator), ack back
(t4→t5). Reported: p50/p90/p99 per hop and end to end (t0→t5), and each hop's share of the end-to-end median.

The order round trip (t3→t5) is also split finer with four more instants: the tool starting in the server and its
answer written (its ``tools/call`` observer record: ``started_ns``, plus ``latency_us``), the adapter's
``place_order``/``cancel_replace`` entered and returned (here), and the simulator's matching engine entered (its
process): bot→server, server before the exchange, to the exchange (signing, WebSocket API frame, the simulator's
parsing and signature check), matching, back from the exchange, server after the exchange, server→bot. The
instrumentation wraps instance attributes of the simulator (in its process), the adapter and the stream hub (here); no
product code changes.

Each run also says how long the server's process (from the bot's start to its samples) and the bot's (while trading)
were runnable without a CPU (:mod:`.schedstat`: the scheduler's run-queue time, preemptions), and the load average: a
hop's tail in a run whose processes waited for the machine measures the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import sys
import tempfile
import time
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, replace
from decimal import Decimal
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import orjson

from tradingmcp import perf
from tradingmcp.app.stack import sim_binance_config
from tradingmcp.benchmarks import schedstat
from tradingmcp.client.bot.config import BotConfig, ConnectionConfig, ReportConfig, RiskConfig, SymbolConfig
from tradingmcp.client.bot.runner import BotRunner
from tradingmcp.server.audit import AuditConfig
from tradingmcp.server.exchanges.binance.adapter import BinanceAdapter
from tradingmcp.server.exchanges.models import OrderRequest
from tradingmcp.server.mcp.registry import McpApp, ToolCallRecord
from tradingmcp.server.mcp.streams import StreamHub
from tradingmcp.server.tools.builtin import register_builtin_tools
from tradingmcp.server.tools.toolset import ToolsetConfig, build_toolset
from tradingmcp.server.trading import SafetyConfig
from tradingmcp.server.trading.safety import INTENT_DURABILITY
from tradingmcp.server.venues import Venue, Venues
from tradingmcp.server.wsserver import McpServer, ServerConfig
from tradingmcp.sim.app import SimConfig, Simulator
from tradingmcp.transport.auth import TokenStore, new_token
from tradingmcp.transport.tls import server_ssl_context, write_dev_certs

HOPS = (
    ("exchange_feed", "t0", "t1"),
    ("mcp_push", "t1", "t2"),
    ("decision", "t2", "t3"),
    ("order_out", "t3", "t4"),
    ("ack_back", "t4", "t5"),
)
ORDER_HOPS = (
    ("bot_to_server", "t3", "tool_in"),
    ("server_pre_exchange", "tool_in", "adapter_in"),
    ("to_exchange", "adapter_in", "engine_in"),
    ("matching", "engine_in", "t4"),
    ("from_exchange", "t4", "adapter_out"),
    ("server_post_exchange", "adapter_out", "tool_out"),
    ("server_to_bot", "tool_out", "t5"),
)
"""The order round trip (t3→t5) split at the server's tool and adapter boundaries and the simulator's engine entry."""


@dataclass(frozen=True)
class TickToTradeConfig:
    """``duration_s`` of trading at replay ``speed`` (× real time), ``tls`` (wss) or ws, data root, output folder,
    ``layout`` (a key of :data:`LAYOUTS`), ``busy_poll`` (the server's and the bot's loops spin instead of sleeping,
    warming their paths: :mod:`tradingmcp.perf`; a core each), ``intent_durability`` (the server's ``[safety]``
    setting: ``machine`` syncs each intent to disk before the order leaves, ``process`` does not wait for the sync)."""

    duration_s: float = 20.0
    speed: float = 2.0
    tls: bool = True
    symbols: tuple[str, ...] = ("BTCUSDT", "ETHUSDT")
    data_dir: Path | None = None
    out_dir: Path = Path("bench-results")
    layout: str = "separate"
    busy_poll: bool = False
    intent_durability: str = "machine"


LAYOUTS = {
    "separate": "simulator, server and bot in three processes",
    "embedded": "simulator on the server's event loop (as `serve` runs it), bot in its own process",
}
"""``--layout`` choices and how each is described in the results."""


TickKey = tuple[str, str, int | None]
"""A market update as the bot's decisions name it: (tick kind ``book_ticker`` | ``book``, symbol, update id)."""


class Stamps:
    """The instrumentation: emit/publish times by :data:`TickKey`, exchange acceptance and server tool time by
    client order id."""

    def __init__(self) -> None:
        self.emit: dict[TickKey, int] = {}
        self.publish: dict[TickKey, int] = {}
        self.accepted: dict[str, int] = {}
        self.engine_in: dict[str, int] = {}
        self.tool_us: dict[str, float] = {}
        self.tool_span: dict[str, tuple[int, int]] = {}
        self.adapter_span: dict[str, tuple[int, int]] = {}

    def instrument_sim(self, sim: Simulator) -> None:
        perf = time.perf_counter_ns
        for symbol, market in sim.markets.items():
            emit = market._emit

            def stamped(
                stream: str, data: dict[str, Any], _emit: Callable[..., object] = emit, _s: str = symbol
            ) -> object:
                if stream.endswith("@bookTicker"):
                    self.emit[("book_ticker", _s, data["u"])] = perf()
                elif data.get("e") == "depthUpdate":
                    self.emit[("book", _s, data["u"])] = perf()
                return _emit(stream, data)

            market._emit = stamped
        engine = sim.engine

        def wrap(fn: Callable[..., dict[str, Any]], key: str) -> Callable[..., dict[str, Any]]:
            def stamped(api_key: str, params: Any, **kw: Any) -> dict[str, Any]:
                cid = params.get(key)
                if cid:
                    self.engine_in[str(cid)] = perf()
                out = fn(api_key, params, **kw)
                if cid:
                    self.accepted[str(cid)] = perf()
                return out

            return stamped

        engine.new_order = wrap(engine.new_order, "newClientOrderId")  # type: ignore[method-assign]
        engine.cancel_replace = wrap(engine.cancel_replace, "newClientOrderId")  # type: ignore[method-assign]

    def exchange_side(self) -> dict[str, Any]:
        """The simulator's stamps as plain data: ``{"emit": [[kind, symbol, u, ns]], "accepted": {cid: ns},
        "engine_in": {cid: ns}}`` (what :func:`run` joins on)."""
        emit = [[kind, sym, u, ns] for (kind, sym, u), ns in self.emit.items()]
        return {"emit": emit, "accepted": self.accepted, "engine_in": self.engine_in}

    def instrument_hub(self, hub: StreamHub) -> None:
        perf, publish = time.perf_counter_ns, hub.publish

        def stamped(key: str, data: Any, conflate: bool = True) -> Any:
            if isinstance(data, dict):
                if key.startswith("book_ticker:"):
                    self.publish[("book_ticker", data["symbol"], data.get("update_id"))] = perf()
                elif key.startswith("book:"):
                    self.publish[("book", data["symbol"], data.get("last_update_id"))] = perf()
            return publish(key, data, conflate=conflate)

        hub.publish = stamped  # type: ignore[method-assign]

    def instrument_adapter(self, adapter: BinanceAdapter) -> None:
        """Stamp the adapter's order calls (entered, returned) by the new order's client id."""
        perf = time.perf_counter_ns

        def wrap(fn: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
            async def stamped(request: OrderRequest, *args: Any, **kw: Any) -> Any:
                start = perf()
                try:
                    return await fn(request, *args, **kw)
                finally:
                    if request.client_order_id:
                        self.adapter_span[request.client_order_id] = (start, perf())

            return stamped

        adapter.place_order = wrap(adapter.place_order)  # type: ignore[method-assign,assignment]
        adapter.cancel_replace = wrap(adapter.cancel_replace)  # type: ignore[method-assign,assignment]

    def observe(self, record: ToolCallRecord) -> None:
        cid = record.arguments.get("new_client_order_id") or record.arguments.get("client_order_id")
        if record.tool in ("place_order", "replace_order") and cid:
            self.tool_us[str(cid)] = record.latency_us
            self.tool_span[str(cid)] = (record.started_ns, record.started_ns + int(record.latency_us * 1000))


def _pcts(values: list[float]) -> dict[str, float]:
    s = sorted(values)
    if not s:
        return {}

    def at(p: float) -> float:
        return round(s[max(0, min(len(s) - 1, int(p / 100 * len(s) + 0.999999) - 1))], 1)

    return {"n": len(s), "p50": at(50), "p90": at(90), "p99": at(99), "max": round(s[-1], 1)}


def summarize(rows: list[dict[str, int]], tool_us: list[float]) -> dict[str, Any]:
    """Percentiles (µs) per hop and end to end, and each hop's share of the end-to-end median."""
    out: dict[str, Any] = {"samples": len(rows), "hops": {}}
    for name, a, b in HOPS:
        out["hops"][name] = _pcts([(r[b] - r[a]) / 1000 for r in rows])
    split = [r for r in rows if "tool_in" in r]
    out["order_hops"] = {name: _pcts([(r[b] - r[a]) / 1000 for r in split]) for name, a, b in ORDER_HOPS}
    out["end_to_end"] = _pcts([(r["t5"] - r["t0"]) / 1000 for r in rows])
    out["bot_tick_to_ack"] = _pcts([(r["t5"] - r["t2"]) / 1000 for r in rows])
    out["server_tool_time"] = _pcts(tool_us)
    total = sum(out["hops"][n].get("p50", 0.0) for n, _, _ in HOPS) or 1.0
    out["share_of_median"] = {n: round(out["hops"][n].get("p50", 0.0) / total, 3) for n, _, _ in HOPS}
    return out


STARTUP_TIMEOUT_S = 60.0
"""Longest wait for a child process to start (imports, data loading) or to hand back its stamps (s)."""


def _child(conn: Connection, body: Callable[[Connection], Any]) -> None:
    """Run ``body(conn)`` on uvloop in a child process; a failure is sent back as ``("error", traceback)``."""
    import uvloop

    try:
        uvloop.run(body(conn))
    except BaseException:
        conn.send(("error", traceback.format_exc()))
    finally:
        conn.close()


def sim_process(conn: Connection, config: SimConfig) -> None:
    """The exchange program: the simulator with the emit/accept stamps. Sends ``("urls", {rest, stream, ws_api})``,
    waits for any message, then sends ``("stamps", {"emit": [[kind, symbol, u, ns]], "accepted": {cid: ns}})``."""

    async def body(conn: Connection) -> None:
        sim = Simulator(config)
        stamps = Stamps()
        stamps.instrument_sim(sim)
        await sim.start()
        try:
            conn.send(("urls", {"rest": sim.rest_url, "stream": sim.stream_url, "ws_api": sim.ws_api_url}))
            await asyncio.get_running_loop().run_in_executor(None, conn.recv)
        finally:
            await sim.stop()
        conn.send(("stamps", stamps.exchange_side()))

    _child(conn, body)


class SimProcess:
    """The simulator in its own process (``layout="separate"``, the three-program deployment)."""

    def __init__(self, config: SimConfig) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(target=sim_process, args=(child, config), name="t2t-simulator")
        self._proc.start()
        child.close()

    async def start(self) -> dict[str, str]:
        urls: dict[str, str] = await _receive(self._conn, "urls", STARTUP_TIMEOUT_S)
        return urls

    async def stop(self) -> dict[str, Any]:
        self._conn.send("stop")
        stamps: dict[str, Any] = await _receive(self._conn, "stamps", STARTUP_TIMEOUT_S)
        return stamps

    def end(self) -> None:
        self._proc.join(timeout=10)
        if self._proc.is_alive():
            self._proc.kill()


class SimEmbedded:
    """The simulator on the server's event loop (``layout="embedded"``: what ``tradingmcp serve`` and ``make demo``
    run without exchange credentials); the adapter still reaches it over real loopback sockets."""

    def __init__(self, config: SimConfig) -> None:
        self._sim = Simulator(config)
        self._stamps = Stamps()
        self._stamps.instrument_sim(self._sim)

    async def start(self) -> dict[str, str]:
        sim = self._sim
        await sim.start()
        return {"rest": sim.rest_url, "stream": sim.stream_url, "ws_api": sim.ws_api_url}

    async def stop(self) -> dict[str, Any]:
        await self._sim.stop()
        return self._stamps.exchange_side()

    def end(self) -> None:
        pass


def bot_process(conn: Connection, config: BotConfig, duration_s: float, spin: bool = False) -> None:
    """The bot program: trades ``duration_s`` (its loop busy-polling when ``spin``) then sends
    ``("samples", {"samples": [LatencySample as dict], "spins": busy-poll iterations, "held": checks that found the spin
    held, "conflated": market states
    superseded within a loop turn, "notifications": stream messages taken, "run_ns": when trading began, "sched":
    its threads' CPU and run-queue time while trading (:func:`.schedstat.window`)})``."""

    async def body(conn: Connection) -> None:
        runner = BotRunner(config)
        tuning = perf.attach_bot(runner.core) if spin else None
        await runner.start()
        run_ns = time.perf_counter_ns()  # ticks published before this waited for the subscriptions, not the bot
        sched_before = schedstat.snapshot()
        try:
            await runner.run(duration_s)
            sched = schedstat.window(sched_before, schedstat.snapshot(), time.perf_counter_ns() - run_ns)
        finally:
            await runner.finish()
            if tuning is not None:
                tuning.stop()
        samples = [asdict(s) for s in runner.core.latencies]
        conn.send(
            (
                "samples",
                {
                    "samples": samples,
                    "spins": tuning.spins if tuning else 0,
                    "held": tuning.poller.held if tuning else 0,
                    "conflated": getattr(runner, "conflated", None),
                    "notifications": runner.notifications,
                    "run_ns": run_ns,
                    "sched": sched,
                    "priority": _claimed(tuning),
                },
            )
        )

    _child(conn, body)


def _claimed(tuning: perf.Tuning | None) -> dict[str, Any] | None:
    """The scheduling priority a process's low-latency mode claimed: ``{"nice", "applied", "refused"}`` (None: no
    low-latency mode)."""
    claim = tuning.priority if tuning is not None else None
    if claim is None:
        return None
    return {"nice": claim.nice, "applied": claim.applied, "refused": list(claim.refused)}


async def _receive(conn: Connection, kind: str, timeout_s: float) -> Any:
    """The next ``(kind, payload)`` message of a child; raises RuntimeError on its error or silence."""

    def wait() -> Any:
        try:
            if conn.poll(timeout_s):
                return conn.recv()
        except EOFError:  # the child exited (the parent closed its own copy of the child's end)
            raise RuntimeError(f"the child process exited before sending {kind!r}") from None
        raise RuntimeError(f"no {kind!r} from the child process within {timeout_s:.0f} s")

    got, payload = await asyncio.get_running_loop().run_in_executor(None, wait)
    if got != kind:
        raise RuntimeError(f"child process failed:\n{payload}")
    return payload


async def run(cfg: TickToTradeConfig) -> dict[str, Any]:
    """Run the measurement (simulator and bot in child processes, the server here); returns the result document."""
    work = Path(tempfile.mkdtemp(prefix="tradingmcp-t2t-"))
    write_dev_certs(work / "certs")
    token = new_token()
    ctx = multiprocessing.get_context("spawn")
    sim_config = SimConfig(speed=cfg.speed, loop=False, data_dir=cfg.data_dir, symbols=cfg.symbols)
    exchange: SimProcess | SimEmbedded = SimEmbedded(sim_config) if cfg.layout == "embedded" else SimProcess(sim_config)
    bot_proc: Any = None
    stamps = Stamps()
    try:
        urls = await exchange.start()
        app, hub = McpApp(), StreamHub()
        register_builtin_tools(app, hub)
        stamps.instrument_hub(hub)
        app.observers.append(stamps.observe)
        adapter = BinanceAdapter(sim_binance_config(urls["rest"], urls["stream"], urls["ws_api"]))
        stamps.instrument_adapter(adapter)
        venues = Venues([Venue("binance", adapter, "sim", None)])
        safety = SafetyConfig(intent_durability=cfg.intent_durability)
        toolset = build_toolset(
            app, hub, venues, ToolsetConfig(safety=safety, audit=AuditConfig(data_dir=work / "audit"))
        )
        server = McpServer(
            app,
            ServerConfig(
                port=0,
                ssl=server_ssl_context(work / "certs" / "server.pem") if cfg.tls else None,
                tokens=TokenStore({token: ("bench-bot", ["read", "trade"])}),
            ),
            streams=hub,
        )
        sizes = {"BTCUSDT": (Decimal("0.0002"), Decimal("0.002")), "ETHUSDT": (Decimal("0.004"), Decimal("0.04"))}
        try:
            await adapter.start()
            for venue in venues:
                await venue.user.start()
            await toolset.start()
            await server.start()
            bot_cfg = BotConfig(
                connection=ConnectionConfig(url=server.url, token=token, cafile=str(work / "certs" / "ca.pem")),
                symbols=tuple(SymbolConfig(s, *sizes.get(s, (Decimal("0.01"), Decimal("0.1")))) for s in cfg.symbols),
                # inside the venue's ORDERS limit (100 per 10 s, 90 % of it used by the adapter's limiter): a faster
                # bot would measure the limiter's queue, not the path
                risk=RiskConfig(reject_cooldown_ms=100, max_orders_per_s=8.0, order_burst=5),
                report=ReportConfig(out_dir=work / "report"),
            )
            bot_conn, bot_child = ctx.Pipe()
            bot_proc = ctx.Process(
                target=bot_process, args=(bot_child, bot_cfg, cfg.duration_s, cfg.busy_poll), name="t2t-bot"
            )
            bot_proc.start()
            bot_child.close()
            tuning = perf.attach_server(toolset.desk) if cfg.busy_poll else None
            sched_before, sched_ns = schedstat.snapshot(), time.perf_counter_ns()
            try:
                from_bot = await _receive(bot_conn, "samples", STARTUP_TIMEOUT_S + cfg.duration_s)
            finally:
                if tuning is not None:
                    tuning.stop()
            server_sched = schedstat.window(sched_before, schedstat.snapshot(), time.perf_counter_ns() - sched_ns)
            raw_samples = from_bot["samples"]
            bot_stream = (from_bot.get("notifications", 0), from_bot.get("conflated", 0))
            run_ns: int = from_bot.get("run_ns", 0)
            priority = {"server": _claimed(tuning), "bot": from_bot.get("priority")}
            spins = {
                "server": tuning.spins if tuning else 0,
                "bot": from_bot["spins"],
                "server_warm_runs": tuning.warm_runs if tuning else 0,
                "server_held": tuning.poller.held if tuning else 0,
                "bot_held": from_bot.get("held", 0),
            }
            exchange_side = {
                "ws_api_requests": dict(adapter.ws.requests),
                "rate_limit_wait_ms": adapter.limiter.waited_ms,
            }
            journal = toolset.desk.journal if toolset.desk is not None else None
            intents = None
            if journal is not None:  # the commits counted before durability() adds its own
                commits = journal.writer.durable_commits
                intents = {"synchronous": journal.durability()[1], "durable_commits": commits}
        finally:
            await server.stop()
            await toolset.close()
            for venue in venues:
                await venue.user.close()
            await adapter.close()
        sim_stamps = await exchange.stop()
    finally:
        if bot_proc is not None:
            bot_proc.join(timeout=10)
            if bot_proc.is_alive():
                bot_proc.kill()
        exchange.end()
    emit = {(kind, sym, u): ns for kind, sym, u, ns in sim_stamps["emit"]}
    accepted: dict[str, int] = sim_stamps["accepted"]
    engine_in: dict[str, int] = sim_stamps["engine_in"]
    joined: list[dict[str, int]] = []
    tool_us: list[float] = []
    samples = [s for s in raw_samples if s["kind"] in ("place", "replace")]
    startup = 0
    ticks: dict[str, int] = {}
    for s in samples:  # joined on the update decided on and the order's client id
        key = (s["tick_kind"], s["symbol"], s["update_id"])
        cid = s["client_order_id"]
        if key in stamps.publish and stamps.publish[key] < run_ns:
            startup += 1  # published while the bot was still subscribing: buffered, not a tick-to-trade
            continue
        if key in emit and key in stamps.publish and cid in accepted:
            row = {"t0": emit[key], "t1": stamps.publish[key], "t2": s["recv_ns"], "t3": s["decide_ns"],
                   "t4": accepted[cid], "t5": s["ack_ns"]}  # fmt: skip
            if cid in stamps.tool_span and cid in stamps.adapter_span and cid in engine_in:
                row["tool_in"], row["tool_out"] = stamps.tool_span[cid]
                row["adapter_in"], row["adapter_out"] = stamps.adapter_span[cid]
                row["engine_in"] = engine_in[cid]
            joined.append(row)
            ticks[key[0]] = ticks.get(key[0], 0) + 1
            if cid in stamps.tool_us:
                tool_us.append(stamps.tool_us[cid])
    return {
        "config": {
            "duration_s": cfg.duration_s,
            "speed": cfg.speed,
            "tls": cfg.tls,
            "symbols": list(cfg.symbols),
            "layout": LAYOUTS[cfg.layout],
            "busy_poll": cfg.busy_poll,
            "intent_durability": cfg.intent_durability,
        },
        "busy_poll_spins": spins,
        "bot_stream": {"notifications": bot_stream[0], "conflated": bot_stream[1]},
        "startup_excluded": startup,
        "priority": priority,
        "sched": {"server": server_sched, "bot": from_bot.get("sched", {"available": False})},
        "load_average": schedstat.load_average(),
        "actions": len(samples),
        "joined_by_tick": ticks,
        "adapter": exchange_side,
        "intent_journal": intents,
        "result": summarize(joined, tool_us),
        "bot_report_dir": str(work / "report"),
    }


def print_table(doc: dict[str, Any]) -> None:
    r = doc["result"]
    c = doc["config"]
    by_tick = ", ".join(f"{n} on {k.replace('_', ' ')}s" for k, n in sorted(doc.get("joined_by_tick", {}).items()))
    print(f"tick-to-trade ({'wss' if c['tls'] else 'ws'}, replay {c['speed']}x, {r['samples']} order actions joined "
          f"of {doc['actions']} ({by_tick}); {c['layout']}{'; busy polling' if c.get('busy_poll') else ''}; "
          f"intents durable against a {c.get('intent_durability', 'machine')} crash)")  # fmt: skip
    print(f"  {'hop':16s} {'p50 µs':>10s} {'p90 µs':>10s} {'p99 µs':>10s}  share of p50")
    for name, _, _ in HOPS:
        h = r["hops"][name]
        print(f"  {name:16s} {h.get('p50', 0):10.1f} {h.get('p90', 0):10.1f} {h.get('p99', 0):10.1f}  "
              f"{r['share_of_median'][name]:6.1%}")  # fmt: skip
    print("  order round trip (t3→t5) split:")
    for name, _, _ in ORDER_HOPS:
        h = r["order_hops"][name]
        print(f"    {name:20s} {h.get('p50', 0):8.1f} {h.get('p90', 0):10.1f} {h.get('p99', 0):10.1f}")
    for label, key in (("end to end", "end_to_end"), ("bot tick→ack", "bot_tick_to_ack"),
                       ("server tool time", "server_tool_time")):  # fmt: skip
        h = r[key]
        print(f"  {label:16s} {h.get('p50', 0):10.1f} {h.get('p90', 0):10.1f} {h.get('p99', 0):10.1f}")
    a = doc.get("adapter", {})
    print(f"  adapter: WS API requests {a.get('ws_api_requests')}, rate-limit waits {a.get('rate_limit_wait_ms')} ms")
    b = doc.get("bot_stream", {})
    for who, w in doc.get("sched", {}).items():
        if w.get("available"):
            print(f"  {who} process: {w['cpu_ms']:.0f} ms on a CPU, {w['wait_ms']:.0f} ms runnable without one "
                  f"({w['wait_share']:.0%}) in {w['wall_ms']:.0f} ms, {w['involuntary']} preemptions")  # fmt: skip
    if doc.get("load_average"):
        print(f"  load average at the end: {' '.join(f'{x:.2f}' for x in doc['load_average'])}")
    print(f"  bot: {b.get('notifications')} stream messages, {b.get('conflated')} market states conflated; "
          f"{doc.get('startup_excluded')} order actions on ticks published before it began trading left out")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    """``tradingmcp bench ticktotrade [--duration S] [--speed X] [--no-tls] [--layout L] [--busy-poll] [--intent-durability D] [--out DIR]``."""
    import uvloop

    d = TickToTradeConfig()
    p = argparse.ArgumentParser(prog="tradingmcp bench ticktotrade", description=__doc__, allow_abbrev=False)
    p.add_argument("--duration", type=float, default=d.duration_s, help=f"seconds of trading (default {d.duration_s})")
    p.add_argument("--speed", type=float, default=d.speed, help=f"replay speed (default {d.speed})")
    p.add_argument("--no-tls", action="store_true", help="ws instead of wss between bot and server")
    p.add_argument("--symbol", action="append", default=None, help="symbols (default BTCUSDT and ETHUSDT)")
    p.add_argument("--data", default=None, help="data root (default ../shared/data)")
    p.add_argument("--out", type=Path, default=d.out_dir, help="output folder (default bench-results)")
    p.add_argument(
        "--layout",
        choices=sorted(LAYOUTS),
        default=d.layout,
        help="separate: simulator, server and bot in three processes (default); embedded: the simulator on the "
        "server's event loop, as `tradingmcp serve` runs it without credentials",
    )
    p.add_argument(
        "--busy-poll",
        action="store_true",
        help="the server's and the bot's event loops spin instead of sleeping in epoll (a core each)",
    )
    p.add_argument(
        "--intent-durability",
        choices=INTENT_DURABILITY,
        default=d.intent_durability,
        help="machine: each intent synced to disk before its order leaves (default); process: not waited for",
    )
    args = p.parse_args(argv)
    cfg = replace(
        d,
        duration_s=args.duration,
        speed=args.speed,
        tls=not args.no_tls,
        symbols=tuple(s.upper() for s in args.symbol) if args.symbol else d.symbols,
        data_dir=Path(args.data) if args.data else None,
        out_dir=args.out,
        layout=args.layout,
        busy_poll=args.busy_poll,
        intent_durability=args.intent_durability,
    )
    doc = uvloop.run(run(cfg))
    print_table(doc)
    cfg.out_dir.mkdir(parents=True, exist_ok=True)
    path = cfg.out_dir / f"ticktotrade-{time.strftime('%Y%m%dT%H%M%S')}.json"
    path.write_bytes(orjson.dumps(doc, option=orjson.OPT_INDENT_2))
    print(f"results: {path}")
    return 0 if doc["result"]["samples"] else 1


if __name__ == "__main__":
    sys.exit(main())
