"""The ``Simulator``: a Binance-Spot-compatible exchange on loopback, replaying the real recorded market.

Two ports, as Binance uses separate hosts: aiohttp answers REST (``/api/v3/*``, and the wallet and futures-listing
paths general-purpose clients ask for, :mod:`tradingmcp.sim.wallet`) on ``port``; our WebSocket transport
(:mod:`tradingmcp.transport.ws`, picows) answers market streams (``/ws/...``, ``/stream?streams=...``) and the WS API
(``/ws-api/v3``) on ``ws_port``. The replay reads the recording (or a seeded synthetic market when none exists),
feeds each symbol's :class:`SymbolMarket` (book, trades, derived streams) and the :class:`MatchingEngine`, and
publishes frames. Pacing: ``speed`` × real time (``inf`` = as fast as possible; ``0`` = manual: only
:meth:`Simulator.step` advances it). After every replayed event the replay yields one loop turn, so a peer on the
same loop (the embedded ``serve``) reads each frame before the rest of a burst is replayed.

Clocks: ``/api/v3/time`` and the signed-request timestamp rule use the wall clock. The market clock (event times
``E``/``T``, order ``transactTime``) is the recorded exchange time shifted by ``time_offset_ms`` (default: so the first
event maps onto the wall clock at start), advancing with the replay (see :mod:`tradingmcp.sim.replay`).

Prices: as recorded, or moved by ``price_offset_bps`` (:class:`~tradingmcp.sim.replay.PriceOffset`, applied to every
replayed book, book ticker and trade, so the engine fills at the moved prices too).

This is a SIMULATED exchange for tests and demos; the dev key ``sim-key``/``sim-secret`` is for it only.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

from aiohttp import web

from tradingmcp.sim.book import BookGapError
from tradingmcp.sim.config import SimConfig, resolve_data
from tradingmcp.sim.core import Event
from tradingmcp.sim.data import binance_recordings
from tradingmcp.sim.exchange_info import ExchangeInfo
from tradingmcp.sim.http import start_http
from tradingmcp.sim.market import SymbolMarket
from tradingmcp.sim.matching import MatchingEngine
from tradingmcp.sim.replay import (
    EventKind,
    IdShift,
    MarketEvent,
    PassTracker,
    PriceOffset,
    ReplayClock,
    chain_passes,
    merge_events,
    pace_delay_s,
    read_recording,
    shift_event,
)
from tradingmcp.sim.rest import SimState, make_rest_app
from tradingmcp.sim.streams import ALL_MINI_TICKERS, StreamHub, is_stream_path
from tradingmcp.sim.synthetic import synthetic_market
from tradingmcp.sim.wallet import add_wallet_routes
from tradingmcp.sim.weights import RateLimiter
from tradingmcp.sim.wsapi import WS_API_PATH, UserStreamRouter
from tradingmcp.transport import ws

__all__ = ["SimConfig", "Simulator"]

log = logging.getLogger(__name__)

_CLOSE_WAIT_S = 1.0
"""How long :meth:`Simulator.stop` waits for closed WebSocket connections to finish (s)."""


class Simulator:
    """A running simulated Binance Spot exchange (see the module docstring).

    Args:
        config: settings; ``SimConfig()`` replays the real recording at real time on an ephemeral port.

    Attributes:
        engine: the matching engine (accounts, orders).
        markets: per-symbol replayed market state.
        hub: market stream subscriptions.
        router: WS API sessions and their user data subscriptions.
        replay_done: set when a non-looping replay has played its last event.
        events_replayed: events processed so far (warm-up included).
        synthetic: True when replaying the synthetic market.
    """

    def __init__(self, config: SimConfig | None = None) -> None:
        self.config = config = config or SimConfig()
        self.data_dir = resolve_data(config)
        self.synthetic = self.data_dir is None
        info_path = self.data_dir / "binance" / "rest" / "exchangeInfo.json" if self.data_dir else None
        self.exchange_info = ExchangeInfo.load_or_builtin(info_path) if info_path else ExchangeInfo.builtin()
        for symbol in config.symbols:
            self.exchange_info.symbol(symbol)  # -1121 BinanceError for an unlisted symbol
        self.hub = StreamHub(config.symbols, config.streams)
        self.market_taps: list[Callable[[str, dict[str, Any]], None]] = []
        """Called with ``(stream, payload)`` for every replayed market frame (other protocol faces, e.g. MEXC)."""
        self.event_taps: list[Callable[[list[tuple[str, dict[str, Any]]]], None]] = []
        """Called with the engine's drained ``(api_key, event)`` user events (other protocol faces)."""
        self.markets = {s: SymbolMarket(s, self._emit, self.hub.wants) for s in config.symbols}
        self.price_offset: PriceOffset | None = None
        if config.price_offset_bps:
            ticks = {s: self._tick(s) for s in config.symbols}
            self.price_offset = PriceOffset(config.price_offset_bps, ticks)
        self.clock = ReplayClock(config.speed, 0)  # set from the first replayed event (see _init_shift)
        self.engine = MatchingEngine(
            self.exchange_info,
            {s: m.book for s, m in self.markets.items()},
            clock_ms=self.market_ms,
            maker_fee=Decimal(config.maker_fee),
            taker_fee=Decimal(config.taker_fee),
        )
        for key in config.api_keys:
            self.engine.add_account(key, {a: Decimal(v) for a, v in config.balances.items()})
        self.state = SimState(
            exchange_info=self.exchange_info,
            markets=self.markets,
            engine=self.engine,
            limiter=RateLimiter(config.limits),
            api_keys=dict(config.api_keys),
            server_ms=lambda: int(time.time() * 1000),
            market_ms=self.market_ms,
            on_engine_events=self.dispatch_engine_events,
        )
        self.router = UserStreamRouter(self.state, config.ws_queue_bytes)
        self._held_positions: list[Event] = []
        self.replay_done = asyncio.Event()
        self.events_replayed = 0
        self._events: Iterator[tuple[int, MarketEvent]] = self._open_events()
        self._pass = 0
        self._tracker = PassTracker()
        self._shift: IdShift | None = None
        self._runner: web.AppRunner | None = None
        self._task: asyncio.Task[None] | None = None
        self._ws_server: ws.WsServer | None = None
        self._port = 0
        self._ws_port = 0

    def _tick(self, symbol: str) -> Decimal:
        price_filter = self.exchange_info.symbol(symbol).price_filter
        return price_filter.tick_size if price_filter is not None else Decimal("0.01")

    # ---- clocks and urls ---------------------------------------------------------------------------------------

    def market_ms(self) -> int:
        """The simulated exchange clock (epoch ms)."""
        return self.clock.now_ms(time.monotonic())

    @property
    def pass_index(self) -> int:
        """Which pass of a looping replay is playing (0 for the first)."""
        return self._pass

    @property
    def port(self) -> int:
        """The bound REST port (after :meth:`start`)."""
        return self._port

    @property
    def ws_port(self) -> int:
        """The bound port of the market streams and the WS API (after :meth:`start`)."""
        return self._ws_port

    @property
    def rest_url(self) -> str:
        """REST base, e.g. ``http://127.0.0.1:PORT/api`` (python-binance ``API_URL``)."""
        return f"http://{self.config.host}:{self._port}/api"

    @property
    def stream_url(self) -> str:
        """Stream base ending in ``/`` (python-binance ``STREAM_URL`` appends ``ws/<stream>``)."""
        return f"ws://{self.config.host}:{self._ws_port}/"

    @property
    def ws_api_url(self) -> str:
        """WS API endpoint ``ws://127.0.0.1:WS_PORT/ws-api/v3`` (python-binance ``WS_API_URL``)."""
        return f"ws://{self.config.host}:{self._ws_port}{WS_API_PATH}"

    # ---- lifecycle ---------------------------------------------------------------------------------------------

    def _accept(self, request: ws.UpgradeRequest) -> ws.Accept | ws.HttpResponse:
        """Route an upgrade on ``ws_port`` by path: the WS API, the market streams, else 404."""
        path = request.path.partition("?")[0]
        if path == WS_API_PATH:
            return self.router.accept(request)
        if is_stream_path(path):
            return self.hub.accept(request)
        return ws.HttpResponse(404, b"not found")

    async def start(self) -> None:
        """Bind the ports, load the first snapshot of every symbol, and start the paced replay (unless speed is 0).

        Raises:
            OSError: a port is in use.
        """
        self._warm_up()  # books hold their snapshots before the first request can arrive
        app = web.Application()
        app.add_subapp("/api", make_rest_app(self.state))
        add_wallet_routes(app, self.state)
        self._runner, self._port = await start_http(app, self.config.host, self.config.port)
        config = self.config
        ws_port = config.ws_port if config.ws_port is not None else (config.port + 1 if config.port else 0)
        ping_s = config.streams.ping_interval_s
        options = ws.WireOptions(max_message_bytes=4 << 20, ping_interval_s=ping_s, ping_timeout_s=ping_s / 2)
        self._ws_server = await ws.serve(self._accept, config.host, ws_port, backend=config.ws_backend, options=options)
        self._ws_port = self._ws_server.port
        if self.config.speed > 0:
            self._task = asyncio.create_task(self._run_replay(), name="sim-replay")

    async def stop(self) -> None:
        """Stop the replay, send ``serverShutdown`` to stream clients and close everything."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        if self._ws_server is not None:
            await self._ws_server.close()
            self._ws_server = None
        self.hub.close_all(self.market_ms())
        self.router.close_all()
        # bounded: the closes flush first, and a peer that stopped reading may never let them finish
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(_CLOSE_WAIT_S):
                await self.hub.idle.wait()
                await self.router.idle.wait()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Simulator:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def run_until_replay_done(self) -> None:
        """Wait until a non-looping replay has played every event (wrap in ``asyncio.timeout``)."""
        await self.replay_done.wait()

    # ---- replay ------------------------------------------------------------------------------------------------

    def _open_events(self) -> Iterator[tuple[int, MarketEvent]]:
        config, root = self.config, self.data_dir
        if root is None:
            return chain_passes(
                lambda: synthetic_market(config.symbols, config.seed, config.synthetic_duration_s), config.loop
            )
        return chain_passes(
            lambda: merge_events([read_recording(s, binance_recordings(s, root)) for s in config.symbols]), config.loop
        )

    def _init_shift(self) -> None:
        """Fix the time shift from the first event that carries an exchange time (peeking ahead)."""
        peeked: list[tuple[int, MarketEvent]] = []
        first_ms: int | None = None
        for item in self._events:
            peeked.append(item)
            first_ms = item[1].exchange_ms
            if first_ms is not None:
                break
        self._events = itertools.chain(peeked, self._events)
        offset = self.config.time_offset_ms
        if offset is None:
            offset = int(time.time() * 1000) - (first_ms or 0)
        self._shift = IdShift(offset, {}, {})
        if first_ms is not None:
            self.clock.on_event(first_ms + offset, time.monotonic())

    def _warm_up(self) -> None:
        """Replay until every symbol's book holds its snapshot (no subscribers yet, so nothing is sent)."""
        if self._shift is None:
            self._init_shift()
        while not all(m.snapshot_loaded for m in self.markets.values()):
            if not self._advance():
                break

    def _advance(self) -> bool:
        """Process the next event; False at the end of the replay."""
        item = next(self._events, None)
        if item is None:
            for market in self.markets.values():
                market.end_of_batch()
            self.replay_done.set()
            return False
        self._process(*item)
        return True

    def step(self, n_events: int = 1) -> int:
        """Manual mode (``speed == 0``): replay the next ``n_events`` events now; returns how many were replayed.

        Raises:
            RuntimeError: when a paced replay is running.
        """
        if self._task is not None:
            raise RuntimeError("step() is for manual mode (speed=0); a paced replay is running")
        if self._shift is None:
            self._init_shift()
        done = 0
        while done < n_events and self._advance():
            done += 1
        return done

    def _process(self, pass_index: int, event: MarketEvent) -> None:
        assert self._shift is not None
        if pass_index != self._pass:
            self._shift = self._tracker.advance(self._shift)
            self._tracker = PassTracker()
            self._pass = pass_index
            for market in self.markets.values():
                market.end_of_batch()
                market.reset_book()
        self._tracker.see(event)
        data = shift_event(event, self._shift)
        if self.price_offset is not None:
            self.price_offset.apply(event.kind, event.symbol, data)
        market = self.markets[event.symbol]
        kind = event.kind
        try:
            if kind is EventKind.DEPTH:
                if market.on_depth(data):
                    self.engine.on_book_update(event.symbol)
            elif kind is EventKind.BOOK_TICKER:
                market.on_book_ticker(data)
            elif kind is EventKind.TRADE:
                price, qty = market.on_trade(data)
                self.engine.on_trade(event.symbol, price, qty, data["T"], data["m"])
            else:
                market.on_snapshot(data)
                self.engine.on_book_update(event.symbol)
        except BookGapError as exc:
            log.error("replay book gap, waiting for the next snapshot: %s", exc)
            market.reset_book()
        except Exception:  # an engine bug must not stop the market
            log.exception("error while replaying %s %s", event.symbol, kind.value)
        ms = data.get("T" if kind is EventKind.TRADE else "E")
        if isinstance(ms, int):
            self.clock.on_event(ms, time.monotonic())
        self.events_replayed += 1
        self.dispatch_engine_events()

    def _emit(self, stream: str, payload: dict[str, Any]) -> int:
        """Publish a market frame to the stream hub and show it to every ``market_taps`` entry; a symbol's
        ``@miniTicker`` also goes to ``!miniTicker@arr`` subscribers, as a one-element array (Binance sends the symbols
        that changed in the last second in one array; the simulator sends each symbol's own)."""
        sent = self.hub.publish(stream, payload)
        if stream.endswith("@miniTicker") and self.hub.wants(ALL_MINI_TICKERS):
            sent += self.hub.publish(ALL_MINI_TICKERS, [payload])
        for tap in self.market_taps:
            tap(stream, payload)
        return sent

    def dispatch_engine_events(self) -> None:
        """Route the engine's queued user events to WS API subscribers (and ``event_taps``)."""
        events = self.engine.drain_events()
        if events and self.state.faults.hold_positions:
            held = [e for e in events if e[1].get("e") == "outboundAccountPosition"]
            self._held_positions.extend(held)
            events = [e for e in events if e[1].get("e") != "outboundAccountPosition"]
        if events:
            self.router.dispatch(events)
            for tap in self.event_taps:
                tap(events)

    def release_positions(self) -> int:
        """End the ``hold_positions`` fault: send the held ``outboundAccountPosition`` events, oldest first; returns
        how many."""
        self.state.faults.hold_positions = False
        held, self._held_positions = self._held_positions, []
        if held:
            self.router.dispatch(held)
            for tap in self.event_taps:
                tap(held)
        return len(held)

    async def _run_replay(self) -> None:
        speed = self.config.speed
        start_wall = time.monotonic()
        base_ns: int | None = None
        ns_offset = 0
        last_ns = 0
        last_pass = self._pass
        try:
            for pass_index, event in self._events:
                if pass_index != last_pass:
                    ns_offset = last_ns + 1_000_000_000 - event.local_ns
                    last_pass = pass_index
                ns = event.local_ns + ns_offset
                if base_ns is None:
                    base_ns = ns
                last_ns = ns
                delay = pace_delay_s(ns, base_ns, start_wall, time.monotonic(), speed)
                if delay > 0.002:
                    await asyncio.sleep(delay)
                self._process(pass_index, event)
                # one loop turn after every event: what it sent is read by a peer sharing this loop (the embedded
                # `serve`) before the rest of a burst is replayed, as a separate exchange would let it be
                await asyncio.sleep(0)
        except Exception:
            log.exception("replay failed")
            raise
        finally:
            for market in self.markets.values():
                market.end_of_batch()
            self.replay_done.set()
