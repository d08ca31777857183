"""The bot's asyncio shell: connect, subscribe, feed the core, send its actions as tool calls, reconcile after every
reconnect, and wind down cleanly (cancel own orders, settle fills, final balances) for the report.

Streams: ``orders:<exchange>`` first (so no fill of an order placed later can be missed), then per symbol
``trades:``, ``book_ticker:`` and ``book:<exchange>:<SYMBOL>:<levels>``. An arbitrage's other venue adds its
``orders:<venue>``, the symbol's ``book_ticker:<venue>:<SYMBOL>`` and its rules there (``get_symbol_rules`` with
that ``exchange``); balances and positions are summed over the
venues (:attr:`.config.BotConfig.venues`), and the reconcile asks each order's own venue. A ``signals`` symbol adds
its alerts stream (``[strategy.signals] stream``, once however many symbols share it). Tools:
``get_symbol_rules``, ``get_balances``, ``get_positions``, ``place_order``, ``replace_order``, ``cancel_order``,
``get_open_orders``, ``get_order``, ``get_my_trades``.

Reconcile (after each reconnect of :class:`~tradingmcp.client.session.McpClient`, which re-initializes and re-subscribes
by itself; ``client.reconnects`` counts them): quoting pauses; in-flight calls have failed with ``ConnectionLost``
(never re-sent by the client); then

1. ``get_open_orders`` per symbol: every tracked order still open is updated from it;
2. a placement whose answer was lost is sent again with the SAME client order id — the server returns the existing
   order (``duplicate: true``) if the first one got through, so nothing is placed twice;
3. any other tracked order no longer open is looked up with ``get_order`` (final status and executed quantity); one the
   exchange does not know was never placed;
4. fills missed while disconnected come from ``get_my_trades`` (per order whose executed quantity exceeds the fills
   booked for it; deduplicated by trade id);
5. ``get_positions`` is compared with the bot's own positions (differences are reported, not adopted: the bot's
   ledger comes from its own fills).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any, Protocol

from tradingmcp.client.bot.config import BotConfig
from tradingmcp.client.bot.conflate import Conflator
from tradingmcp.client.bot.core import Action, BotCore
from tradingmcp.client.bot.errors import BotError, ReconcileRecord, ToolCallError
from tradingmcp.client.bot.strategy import SymbolRulesLite
from tradingmcp.client.session import (
    ConnectionLost,
    McpClient,
    McpClientError,
    Notification,
    RequestTimeout,
    RpcError,
    connect,
)
from tradingmcp.transport.mcpnames import STREAM
from tradingmcp.transport.tls import client_ssl_context

log = logging.getLogger("tradingmcp.bot")
__all__ = ["STREAM_METHOD", "BotError", "BotRunner", "ReconcileRecord", "ToolCallError", "View"]
STREAM_METHOD = STREAM


class View(Protocol):
    """What the runner shows progress on (:mod:`.view`)."""

    def update(self, runner: BotRunner) -> None: ...

    def close(self) -> None: ...


class BotRunner:
    """Runs one bot session. ``await runner.start()``, ``await runner.run(duration_s)``, ``await runner.finish()``.

    Args:
        config: the bot's settings.
        view: live view / log lines (None = silent).
        client_options: extra :class:`~tradingmcp.client.session.ClientOptions` fields (e.g. ``backoff_max_s``).
    """

    def __init__(self, config: BotConfig, view: View | None = None, **client_options: Any) -> None:
        self.config = config
        self.core = BotCore(config)
        self.view = view
        self.client: McpClient | None = None
        self.exchange = config.connection.exchange
        self.start_balances: dict[str, Decimal] = {}
        self.end_balances: dict[str, Decimal] = {}
        self.start_positions: dict[str, Decimal] = {}
        self.reconciles: list[ReconcileRecord] = []
        self.started_wall_s = 0.0
        self.ended_wall_s = 0.0
        self.notifications = 0
        self.stop_requested = asyncio.Event()
        self._client_options = client_options
        self._tasks: set[asyncio.Task[None]] = set()
        self._seen_reconnects = 0
        self._reconciling = False
        self._loops: list[asyncio.Task[None]] = []
        self._failure: Exception | None = None
        # the per-loop-turn conflation of pushed messages (the wall clock: the age of alerts)
        self._turns = Conflator(self.core, time.perf_counter_ns, lambda: time.time_ns() // 1_000_000)
        self._turn_end: asyncio.Handle | None = None

    def stream_totals(self) -> dict[str, int]:
        """The client's stream positions summed (:meth:`~tradingmcp.client.core.StreamSeqs.totals`): ``received``,
        ``lost`` (messages of a lossless stream that never came, e.g. a resume the server could not serve),
        ``skipped`` (superseded book/ticker states), ``duplicates``, ``resumes``, ``refused``, ``resets``."""
        if self.client is None:
            return {"received": 0, "lost": 0, "skipped": 0, "duplicates": 0, "resumes": 0, "refused": 0, "resets": 0}
        return self.client.stream_seqs.totals()

    # ---- connection ------------------------------------------------------------------------------------------

    async def _call(self, name: str, args: dict[str, Any], timeout_s: float | None = None) -> dict[str, Any]:
        assert self.client is not None
        result = await self.client.call_tool(name, {"exchange": self.exchange, **args}, timeout_s=timeout_s)
        content: dict[str, Any] = result.get("structuredContent") or {}
        if result.get("isError"):
            err = content.get("error") if isinstance(content.get("error"), dict) else {}
            text = " ".join(c.get("text", "") for c in result.get("content", []) if isinstance(c, dict))
            raise ToolCallError(name, str((err or {}).get("code") or "error"), str((err or {}).get("message") or text))
        return content

    async def start(self) -> None:
        """Connect, load symbol rules and the starting balances/positions, subscribe to the streams.

        Raises:
            BotError: no token, a tool failed. ConnectionError/OSError/HandshakeRejected: cannot connect.
        """
        conn = self.config.connection
        token = conn.resolved_token()
        if not token:
            raise BotError(f"no token: set connection.token or the environment variable {conn.token_env}")
        ssl = client_ssl_context(conn.cafile) if conn.url.startswith("wss://") else None
        self.client = await connect(
            conn.url, token=token, ssl=ssl, timeout_s=conn.call_timeout_s, **self._client_options
        )
        self.started_wall_s = time.time()
        try:
            for sym in self.config.symbols:
                rules = await self._call("get_symbol_rules", {"symbol": sym.symbol})
                self.core.set_rules(sym.symbol, SymbolRulesLite.from_tool(rules))
                base = rules.get("base_asset")
                if base:
                    self.core.ledger.positions[sym.symbol].base_asset = str(base)
                if sym.strategy.kind == "arbitrage":  # each leg is checked against its own venue's rules
                    for venue in sym.strategy.arbitrage.venues:
                        if venue != self.exchange:
                            other = await self._call("get_symbol_rules", {"symbol": sym.symbol, "exchange": venue})
                            self.core.set_rules(sym.symbol, SymbolRulesLite.from_tool(other), venue)
            self.start_balances = await self.balances()
            self.start_positions = await self.server_positions()
            for venue in self.config.venues:
                await self._subscribe(f"orders:{venue}")
            for sym in self.config.symbols:
                for kind in ("trades", "book_ticker"):
                    await self._subscribe(f"{kind}:{self.exchange}:{sym.symbol}")
                await self._subscribe(f"book:{self.exchange}:{sym.symbol}:{conn.book_levels}")
                if sym.strategy.kind == "arbitrage":
                    for venue in sym.strategy.arbitrage.venues:
                        if venue != self.exchange:
                            await self._subscribe(f"book_ticker:{venue}:{sym.symbol}")
            alerts = [s.strategy.signals.stream for s in self.config.symbols if s.strategy.kind == "signals"]
            for stream in dict.fromkeys(alerts):
                try:
                    await self._subscribe(stream)
                except RpcError as exc:  # the server publishes no alerts there
                    hint = f"cannot subscribe to {stream} (is the server's TradingView webhook on?): {exc.message}"
                    raise RpcError(exc.code, hint, exc.data) from exc
        except (ToolCallError, RpcError) as exc:
            await self.client.close()
            raise BotError(f"start-up failed: {exc}") from exc

    async def _subscribe(self, key: str) -> None:
        assert self.client is not None
        result = await self.client.subscribe(key)
        if result.get("isError"):
            raise BotError(f"cannot subscribe to {key}: {result.get('content')}")

    async def balances(self) -> dict[str, Decimal]:
        """Total (free + locked) balance per asset from ``get_balances``, summed over the bot's venues."""
        out: dict[str, Decimal] = {}
        for venue in self.config.venues:
            content = await self._call("get_balances", {"exchange": venue})
            for b in content.get("balances", []):
                out[b["asset"]] = out.get(b["asset"], Decimal(0)) + Decimal(b["total"])
        return out

    async def server_positions(self) -> dict[str, Decimal]:
        """Net position per symbol from ``get_positions``, summed over the bot's venues (empty when the tool fails)."""
        out: dict[str, Decimal] = {}
        for venue in self.config.venues:
            try:
                content = await self._call("get_positions", {"exchange": venue})
            except (ToolCallError, RpcError) as exc:
                log.warning("get_positions on %s failed: %s", venue, exc)
                return {}
            for p in content.get("positions", []):
                out[p["symbol"]] = out.get(p["symbol"], Decimal(0)) + Decimal(str(p["qty"]))
        return out

    # ---- main loop -----------------------------------------------------------------------------------------------

    async def run(self, duration_s: float | None = None, until: Callable[[], bool] | None = None) -> None:
        """Trade until ``duration_s`` passed, ``until()`` is true, :meth:`request_stop` was called, or the link is gone
        for good.

        Stream notifications are handled in the client's frame callback (:meth:`McpClient.on_notification`): a book
        ticker is decided on and the order call is on its way before the next frame is read, with no task hop (the
        tick-to-trade path); the rest of a burst is conflated and decided on at the end of the loop turn (see
        :meth:`handle_notification`). Notifications that arrived before ``run`` are handled first, in order.

        Raises:
            BotError: handling a stream message failed (a bug in the core; quoting stops).
        """
        assert self.client is not None
        loop = asyncio.get_running_loop()
        self._failure = None
        self.client.on_notification(self.handle_notification)
        for note in self.client.drain_notifications():  # no frame is read in between: order is kept
            self.handle_notification(note)
        self._loops = [loop.create_task(self._watch_link(), name="bot-link")]
        if self.view is not None:
            self._loops.append(loop.create_task(self._show(), name="bot-view"))
        deadline = time.monotonic() + duration_s if duration_s is not None else None
        while not self.stop_requested.is_set() and self._failure is None:
            if deadline is not None and time.monotonic() >= deadline:
                break
            if until is not None and until():
                break
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(0.05):
                    await self.stop_requested.wait()
        if self._failure is not None:
            raise BotError(f"the stream consumer failed: {self._failure!r}") from self._failure

    def request_stop(self) -> None:
        self.stop_requested.set()

    def handle_notification(self, note: Notification) -> bool:
        """The client's notification callback (:meth:`run` registers it with :meth:`McpClient.on_notification`): one
        stream message into the core, its actions sent at once. Returns True: every notification is consumed (the bot
        reads nothing else); after a failure nothing more is handled.

        Conflation, per event-loop turn (all the frames one read of the socket holds; :class:`~.conflate.Conflator`):
        a symbol's first book ticker of the turn is decided on at once, in the frame callback (a quiet market pays no
        hop). Every other message of the turn is queued (only the latest state per book or book ticker stream; order
        events and trades all, in order) and at the end of the turn (one loop callback later) applied in arrival
        order, then decided on once per symbol that changed, on its latest tick. So during a burst the bot decides on
        the newest market, not on every stale tick in turn, and no order event is ever dropped or reordered.

        Order events are booked one loop callback later: the server writes an order's events right after the tool
        result, often in the same read, and the call waiting on that result (the ``ack`` of tick-to-trade) resumes
        first. A decision at once applies every message queued before it first, so no decision sees a stale
        position."""
        if note.method != STREAM_METHOD or self._failure is not None:
            return True
        self.notifications += 1
        params = note.params
        try:
            self._turns.on_message(params["stream"], params["data"], time.perf_counter_ns(), self._send_all)
        except Exception as exc:  # stop quoting rather than trade on a state the core could not update
            self._failed(exc, str(params["stream"]))
            return True
        if self._turn_end is None:
            self._turn_end = asyncio.get_running_loop().call_soon(self._end_turn)
        return True

    @property
    def conflated(self) -> int:
        """Book and book-ticker messages superseded within a turn, never decided on (see :meth:`handle_notification`)."""
        return self._turns.conflated

    def _end_turn(self) -> None:
        self._turn_end = None
        if self._failure is not None:
            return
        try:
            self._turns.end_turn(self._send_all)
        except Exception as exc:
            self._failed(exc, "queued at the end of a loop turn")

    def _failed(self, exc: Exception, what: str) -> None:
        self._failure = exc
        self.stop_requested.set()
        log.error("stream message %s failed", what, exc_info=exc)

    def _send_all(self, actions: list[Action]) -> None:
        if actions:
            decided = time.perf_counter_ns()
            for action in actions:
                if action.tick is not None:
                    action.tick.decide_ns = decided
                self._send(action)

    def _send(self, action: Action) -> None:
        """Write the action's tool call now (inside the frame callback: no task start before the order leaves), and
        settle it in a task."""
        try:
            pending = self._start_call(action)
        except ConnectionLost:
            self.core.on_failure(action, "lost")
            return
        task = asyncio.get_running_loop().create_task(self._settle(action, pending))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _start_call(self, action: Action) -> asyncio.Future[dict[str, Any]]:
        assert self.client is not None
        name, args = action.tool_call(self.exchange)
        action.attempts += 1
        action.sent_ns = time.perf_counter_ns()
        return self.client.start_tool_call(name, args)

    async def _execute(self, action: Action) -> None:
        try:
            pending = self._start_call(action)
        except ConnectionLost:
            self.core.on_failure(action, "lost")
            return
        await self._settle(action, pending)

    async def _settle(self, action: Action, pending: asyncio.Future[dict[str, Any]]) -> None:
        try:
            result = await pending
        except ConnectionLost:
            self.core.on_failure(action, "lost")
            return
        except RequestTimeout:
            self.core.on_failure(action, "timeout")
            return
        except RpcError as exc:
            result = {
                "isError": True,
                "structuredContent": {"error": {"code": f"rpc_{exc.code}", "message": exc.message}},
            }
        self.core.on_result(action, result, time.perf_counter_ns())

    async def _watch_link(self) -> None:
        assert self.client is not None
        client = self.client
        while not self.stop_requested.is_set():
            await asyncio.sleep(0.02)
            if not client.connected.is_set():
                self.core.paused = True
                log.warning("link down; quoting paused until the reconnect")
                await client.connected.wait()
            if client.reconnects != self._seen_reconnects:
                self._seen_reconnects = client.reconnects
                await self.reconcile("reconnect")
            elif self.core.busy_actions() and not self._tasks and not self._reconciling:
                await self.reconcile("lost answer")  # e.g. a call timed out while the link stayed up

    async def _show(self) -> None:
        assert self.view is not None
        while True:
            self.view.update(self)
            await asyncio.sleep(0.25)

    # ---- reconcile -----------------------------------------------------------------------------------------------

    async def _settle_tasks(self, timeout_s: float = 5.0) -> None:
        if self._tasks:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout_s):
                    await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def reconcile(self, reason: str) -> ReconcileRecord:
        """Bring the bot's view of its orders, fills and positions in line with the exchange (see module docstring)."""
        core = self.core
        rec = ReconcileRecord(reason, time.time())
        t0 = time.perf_counter()
        self._reconciling = True
        core.paused = True
        try:
            await self._settle_tasks()
            open_by_cid: dict[str, dict[str, Any]] = {}
            for venue in self.config.venues:
                for sym in self.config.symbols:
                    content = await self._call("get_open_orders", {"symbol": sym.symbol, "exchange": venue})
                    for o in content.get("orders", []):
                        open_by_cid[str(o.get("client_order_id"))] = o
            busy = {a.client_order_id: a for a in core.busy_actions()}
            for order in list(core.tracker.live_orders()):
                cid = order.client_order_id
                if cid in open_by_cid:
                    core.tracker.apply(open_by_cid[cid])
                    rec.open_orders += 1
                    continue
                action = busy.get(cid)
                if order.state == "unknown" and action is not None and action.kind == "place":
                    rec.retried += 1
                    before = core.tracker.duplicates
                    await self._execute(action)  # same client order id: never placed twice
                    rec.duplicates += core.tracker.duplicates - before
                    continue
                rec.looked_up += 1
                try:
                    venue = order.exchange or self.exchange
                    args = {"symbol": order.symbol, "client_order_id": cid, "exchange": venue}
                    content = await self._call("get_order", args)
                except ToolCallError:
                    core.tracker.mark_done(cid, "NOT_FOUND")  # the exchange never got it
                    continue
                core.tracker.apply(content.get("order") or {})
            for action in core.busy_actions():
                core.release(action)
            rec.fills_recovered = await self._backfill_fills()
            server = await self.server_positions()
            for sym in self.config.symbols:
                if sym.symbol in server:
                    diff = server[sym.symbol] - self.start_positions.get(sym.symbol, Decimal(0))
                    diff -= core.ledger.position(sym.symbol)
                    if diff:
                        rec.position_diffs[sym.symbol] = str(diff)
        except (ToolCallError, McpClientError) as exc:
            rec.errors.append(f"{type(exc).__name__}: {exc}")
            log.error("reconcile (%s) failed: %s", reason, exc)
        finally:
            core.paused = False
            self._reconciling = False
        rec.duration_ms = (time.perf_counter() - t0) * 1000
        self.reconciles.append(rec)
        log.info("reconciled (%s): %s", reason, rec)
        return rec

    async def _backfill_fills(self) -> int:
        """Fetch fills of orders whose executed quantity exceeds what the ledger booked for them; returns how many."""
        core, recovered = self.core, 0
        for order in list(core.tracker.orders.values()):
            if order.order_id is None or order.executed_qty <= 0:
                continue
            booked = core.ledger.booked_by_order.get((order.symbol, order.order_id), Decimal(0))
            if booked >= order.executed_qty:
                continue
            venue = order.exchange or self.exchange
            content = await self._call(
                "get_my_trades", {"symbol": order.symbol, "order_id": order.order_id, "limit": 500, "exchange": venue}
            )
            for fill in content.get("trades", []):
                if fill.get("order_id") == order.order_id and core.book_fill(fill, order):
                    recovered += 1
        return recovered

    # ---- wind down -----------------------------------------------------------------------------------------------

    async def finish(self, settle_s: float = 5.0) -> None:
        """Stop quoting, cancel the bot's open orders, wait for their final events, reconcile, read final balances."""
        core = self.core
        core.stopping = True
        self.stop_requested.set()
        deadline = time.monotonic() + settle_s
        try:
            while time.monotonic() < deadline:
                for action in core.cancel_all():
                    self._send(action)
                await self._settle_tasks(max(0.1, deadline - time.monotonic()))
                if not core.tracker.live_orders() and not core.busy_actions():
                    break
                await asyncio.sleep(0.02)
            await self.reconcile("final")
            for action in core.cancel_all():  # anything the reconcile found still open
                self._send(action)
            await self._settle_tasks()
            self.end_balances = await self.balances()
            last_ms = max((m.time_ms for m in core.markets.values()), default=0)
            if last_ms > 0:
                core.sample(last_ms)  # the final equity point, after every fill
        finally:
            self.ended_wall_s = time.time()
            if self._turn_end is not None:
                self._turn_end.cancel()
                self._turn_end = None
            for task in self._loops:
                task.cancel()
            await asyncio.gather(*self._loops, return_exceptions=True)
            if self.view is not None:
                self.view.close()
            if self.client is not None:
                self.client.on_notification(None)
                await self.client.close()

    def balance_pnl(self) -> Decimal | None:
        """P&L from the balances: Δquote + Σ Δbase × mark (quote asset); None before the end balances are read."""
        if not self.end_balances:
            return None
        quote = self.config.quote_asset
        marks = self.core.marks()

        def delta(asset: str) -> Decimal:
            return self.end_balances.get(asset, Decimal(0)) - self.start_balances.get(asset, Decimal(0))

        total = delta(quote)
        for symbol, pos in self.core.ledger.positions.items():
            mark = marks.get(symbol)
            if mark is not None:
                total += delta(pos.base_asset) * mark
        return total
