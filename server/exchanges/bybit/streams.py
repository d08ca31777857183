"""Bybit V5 JSON WebSocket streams on our own transport (:mod:`tradingmcp.transport.ws`): one op connection
(:class:`BybitSocket`, also used by ``userdata``) and the public market streams (:class:`MarketStreams`) with local
books, reconnect → resubscribe, and resubscribe-to-resync after a book gap.

Follows https://bybit-exchange.github.io/docs/v5/ws/connect: ops ``subscribe``/``unsubscribe``/``auth``/``ping`` are
answered with ``{"success", "ret_msg", "op", "req_id", "conn_id"}`` (matched here by ``req_id``, else to the oldest
request of the same op); at most 10 topics per
spot subscribe request; the client pings every 20 s (``{"op": "ping"}``) and counts a connection silent for two ping
periods plus the answer timeout as dead. Data messages carry ``topic``.

Topics (https://bybit-exchange.github.io/docs/v5/websocket/public/): TRADE and AGG_TRADE → ``publicTrade.{S}`` (Bybit
has no aggregate trades); DEPTH → ``orderbook.{book_depth}.{S}`` (snapshot + deltas, :mod:`.book`); BOOK_TICKER →
``orderbook.1.{S}`` (best-level snapshots; the spot ``tickers`` topic has no bid/ask); KLINE → ``kline.{interval}.{S}``;
TICKER_24H → ``tickers.{S}``.

Failure handling (never silent; each case puts a ``StreamStatus`` in the event queue): a dropped connection →
``reconnecting``, books reset, reopened with growing pauses and every topic subscribed again (``connected``; each book
syncs from the snapshot that follows); a book gap → ``book_gap``, the topic is subscribed again for a fresh snapshot
→ ``resynced``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from tradingmcp.server.exchanges.bybit import parse
from tradingmcp.server.exchanges.bybit.book import LocalBook
from tradingmcp.server.exchanges.bybit.config import BybitConfig
from tradingmcp.server.exchanges.bybit.errors import bybit_error
from tradingmcp.server.exchanges.errors import BadParameter, ExchangeError, ExchangeUnavailable
from tradingmcp.server.exchanges.eventqueue import EventQueue
from tradingmcp.server.exchanges.models import DepthUpdate, MarketEvent, StreamKind, StreamSpec, StreamStatus
from tradingmcp.server.exchanges.tasks import cancel_and_wait
from tradingmcp.transport import ws

log = logging.getLogger(__name__)

MAX_ARGS = 10
"""Topics per spot subscribe request."""
MAX_FRAME_BYTES = 2**22


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def topic_for(spec: StreamSpec, book_depth: int = 50) -> str:
    """The Bybit topic carrying ``spec`` (see the module docstring).

    Raises:
        BadParameter: a KLINE spec without a Bybit interval.
    """
    sym = spec.symbol.upper()
    if spec.kind in (StreamKind.TRADE, StreamKind.AGG_TRADE):
        return f"publicTrade.{sym}"
    if spec.kind is StreamKind.DEPTH:
        return f"orderbook.{book_depth}.{sym}"
    if spec.kind is StreamKind.BOOK_TICKER:
        return f"orderbook.1.{sym}"
    if spec.kind is StreamKind.TICKER_24H:
        return f"tickers.{sym}"
    try:
        return f"kline.{parse.bybit_interval(spec.interval or '')}.{sym}"
    except ValueError as exc:
        raise bybit_error(BadParameter, None, str(exc)) from None


class BybitSocket:
    """One Bybit WebSocket connection speaking ops; data messages go to ``on_message`` (in the frame callback).

    Args:
        url: the public or private endpoint.
        on_message: called with each decoded data message (one with ``topic``).
        ping_interval_s: seconds between pings.
        ack_timeout_s: seconds to wait for an op's answer; also bounds the close.
        open_timeout_s: seconds for the TCP/TLS connect and handshake.

    Attributes:
        latency_s: round trip of the last ping (None before the first).
        closed: set once the connection is gone.
    """

    def __init__(
        self,
        url: str,
        on_message: Callable[[dict[str, Any]], None],
        *,
        ping_interval_s: float = 20.0,
        ack_timeout_s: float = 5.0,
        open_timeout_s: float = 10.0,
    ) -> None:
        self.url = url
        self.on_message = on_message
        self.ping_interval_s = ping_interval_s
        self.ack_timeout_s = ack_timeout_s
        self.open_timeout_s = open_timeout_s
        self.dead_after_s = 2 * ping_interval_s + ack_timeout_s
        self.latency_s: float | None = None
        self.closed = asyncio.Event()
        self.close_reason = ""
        self._conn: ws.Connection | None = None
        self._pending: dict[str, tuple[str, asyncio.Future[dict[str, Any]]]] = {}
        self._ids = itertools.count(1)
        self._tasks: list[asyncio.Task[None]] = []
        self._last_frame_at = 0.0
        self._ping_sent_at = 0.0

    @property
    def is_open(self) -> bool:
        """True while the connection is up."""
        return self._conn is not None and not self._conn.closed and not self.closed.is_set()

    async def open(self) -> None:
        """Connect and start the keepalive.

        Raises:
            ExchangeUnavailable: refused, rejected or timed out.
        """
        options = ws.WireOptions(max_message_bytes=MAX_FRAME_BYTES, ping_interval_s=0,
                                 ping_timeout_s=self.ack_timeout_s, open_timeout_s=self.open_timeout_s)  # fmt: skip
        try:
            async with asyncio.timeout(self.open_timeout_s):
                self._conn = await ws.connect(self.url, _Handler(self), subprotocols=(), options=options)
        except (ConnectionError, OSError, TimeoutError) as exc:
            raise bybit_error(
                ExchangeUnavailable, None, f"cannot open {self.url}: {type(exc).__name__}: {exc}"
            ) from exc
        self._last_frame_at = time.monotonic()
        self._tasks = [asyncio.create_task(self._keepalive())]

    async def close(self) -> None:
        """Close the connection; idempotent."""
        await cancel_and_wait(self._tasks)
        self._tasks = []
        conn, self._conn = self._conn, None
        if conn is not None and not conn.closed:
            conn.close()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.ack_timeout_s):
                    await self.closed.wait()
        self._gone("closed by us")

    async def op(
        self, op: str, args: list[Any] | None = None, *, id_key: str = "req_id", extra: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Send one op and return Bybit's answer (matched by the request id).

        Args:
            op: ``subscribe``, ``auth``, ``ping``, ``order.create``...
            args: the op's ``args``.
            id_key: the request id's field: ``req_id`` on the streams, ``reqId`` on the order entry stream.
            extra: more fields of the request (the order entry ``header``).

        Raises:
            ExchangeUnavailable: not open, gone meanwhile (the op's outcome is unknown), or no answer in time.
        """
        conn = self._conn
        if conn is None or conn.closed or self.closed.is_set():
            raise bybit_error(ExchangeUnavailable, None, "stream is not open")
        req_id = str(next(self._ids))
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[req_id] = (op, fut)
        body: dict[str, Any] = {id_key: req_id, **(extra or {}), "op": op}
        if args is not None:
            body["args"] = args
        conn.send_text(json.dumps(body, separators=(",", ":")).encode())
        try:
            async with asyncio.timeout(self.ack_timeout_s):
                return await fut
        except TimeoutError:
            raise bybit_error(ExchangeUnavailable, None, f"no answer to {op} within {self.ack_timeout_s} s") from None
        finally:
            self._pending.pop(req_id, None)

    async def _keepalive(self) -> None:
        while True:
            await asyncio.sleep(self.ping_interval_s)
            silent = time.monotonic() - self._last_frame_at
            if silent > self.dead_after_s:
                self._gone(f"no frame for {silent:.1f} s: connection dead")
                if self._conn is not None:
                    self._conn.close()
                return
            self._ping_sent_at = time.monotonic()
            with contextlib.suppress(ExchangeUnavailable):
                await self.op("ping")
                self.latency_s = time.monotonic() - self._ping_sent_at

    def _on_text(self, data: ws.TextData) -> None:
        self._last_frame_at = time.monotonic()
        try:
            msg = json.loads(bytes(data) if isinstance(data, memoryview | bytearray) else data)
        except ValueError:
            return
        if not isinstance(msg, dict):
            return
        if "topic" in msg:
            try:
                self.on_message(msg)
            except Exception:  # a bad message must not kill the connection
                log.exception("unreadable Bybit message on %s", msg.get("topic"))
            return
        found = self._pending.get(str(msg.get("req_id", msg.get("reqId"))))
        if found is None:  # an answer without our req_id: the oldest request of its op ("pong" answers "ping")
            op = "ping" if msg.get("op") == "pong" else msg.get("op")
            found = next((p for p in self._pending.values() if p[0] == op and not p[1].done()), None)
        if found is not None and not found[1].done():
            found[1].set_result(msg)

    def _gone(self, reason: str) -> None:
        if not self.closed.is_set():
            self.close_reason = reason
            self.closed.set()
        for _, fut in self._pending.values():
            if not fut.done():
                fut.set_exception(bybit_error(ExchangeUnavailable, None, f"stream closed ({reason})"))


class _Handler:
    def __init__(self, owner: BybitSocket) -> None:
        self.owner = owner

    def on_open(self, conn: ws.Connection) -> None:
        pass

    def on_text(self, data: ws.TextData) -> None:
        self.owner._on_text(data)

    def on_close(self, code: int, reason: str) -> None:
        self.owner._gone(f"closed by the server (code {code} {reason})".rstrip())

    def on_writable(self) -> None:
        pass


async def subscribe_all(sock: BybitSocket, topics: Sequence[str]) -> None:
    """Subscribe ``topics`` in requests of :data:`MAX_ARGS`.

    Raises:
        BadParameter: Bybit refused a request (its ``ret_msg`` names why).
        ExchangeUnavailable: no answer or the connection is gone.
    """
    for i in range(0, len(topics), MAX_ARGS):
        batch = list(topics[i : i + MAX_ARGS])
        answer = await sock.op("subscribe", batch)
        if not answer.get("success"):
            raise bybit_error(BadParameter, None, f"Bybit refused {batch}: {answer.get('ret_msg')}")


class MarketStreams:
    """Every public subscription of one adapter on one connection (see the module docstring).

    Args:
        config: URLs and stream settings.
        events: where market events and ``StreamStatus`` notices go.

    Attributes:
        wanted: topic → the specs that asked for it.
        books: symbol → local book of every DEPTH-subscribed symbol.
        reconnects: connections lost so far.
    """

    def __init__(self, config: BybitConfig, events: EventQueue[MarketEvent]) -> None:
        self.config = config
        self.events = events
        self.wanted: dict[str, set[StreamSpec]] = {}
        self.books: dict[str, LocalBook] = {}
        self.reconnects = 0
        self.resyncs = 0
        self._sock: BybitSocket | None = None
        self._task: asyncio.Task[None] | None = None
        self._resync_tasks: dict[str, asyncio.Task[None]] = {}
        self._lock = asyncio.Lock()

    def put_status(self, state: str, detail: str = "", symbol: str | None = None) -> None:
        """Queue a ``StreamStatus`` notice."""
        self.events.put(StreamStatus(state, detail, symbol, _now_ms()))

    @property
    def topics(self) -> list[str]:
        """Every wanted topic."""
        return list(self.wanted)

    def _socket(self) -> BybitSocket:
        cfg = self.config
        return BybitSocket(cfg.effective_public_ws_url, self.on_message, ping_interval_s=cfg.ping_interval_s,
                           ack_timeout_s=cfg.ws_ack_timeout_s, open_timeout_s=cfg.request_timeout_s)  # fmt: skip

    async def subscribe(self, specs: Sequence[StreamSpec]) -> list[str]:
        """Add streams; returns the topics newly subscribed (each acknowledged by Bybit).

        Raises:
            BadParameter: a spec Bybit cannot stream, or a topic it refused.
            ExchangeUnavailable: the connection could not be opened.
        """
        pairs = [(topic_for(s, self.config.book_depth), s) for s in specs]
        async with self._lock:
            new = list(dict.fromkeys(t for t, _ in pairs if t not in self.wanted))
            for topic, spec in pairs:
                self.wanted.setdefault(topic, set()).add(spec)
                if spec.kind is StreamKind.DEPTH:
                    self.books.setdefault(spec.symbol.upper(), LocalBook(spec.symbol.upper()))
            try:
                if self._sock is None or not self._sock.is_open:
                    if self._task is None:
                        await self._connect()
                        self._task = asyncio.create_task(self._run(), name="bybit-market")
                    # else: the run loop is reconnecting and subscribes every wanted topic when back
                else:
                    await subscribe_all(self._sock, new)
            except BaseException:
                for topic in new:
                    for spec in self.wanted.pop(topic, set()):
                        if spec.kind is StreamKind.DEPTH:
                            self.books.pop(spec.symbol.upper(), None)
                raise
        return new

    async def unsubscribe(self, specs: Sequence[StreamSpec]) -> list[str]:
        """Remove streams; returns the topics no spec wants any more (unsubscribed, best effort)."""
        async with self._lock:
            gone: list[str] = []
            for spec in specs:
                topic = topic_for(spec, self.config.book_depth)
                holders = self.wanted.get(topic)
                if holders is None:
                    continue
                holders.discard(spec)
                if not holders:
                    del self.wanted[topic]
                    gone.append(topic)
                    if spec.kind is StreamKind.DEPTH:
                        self.books.pop(spec.symbol.upper(), None)
            if gone and self._sock is not None and self._sock.is_open:
                try:
                    await self._sock.op("unsubscribe", gone)
                except ExchangeError as exc:
                    log.info("unsubscribe failed (ignored): %s", exc)
        return gone

    async def _connect(self) -> None:
        sock = self._socket()
        await sock.open()
        try:
            if self.wanted:
                await subscribe_all(sock, list(self.wanted))
        except BaseException:
            await sock.close()
            raise
        self._sock = sock
        self.put_status("connected", f"{len(self.wanted)} topics")

    async def _run(self) -> None:
        delay = self.config.reconnect_delay_s
        while True:
            sock = self._sock
            if sock is not None:
                await sock.closed.wait()
                await sock.close()
                self._sock = None
                self.reconnects += 1
                for book in self.books.values():
                    book.reset()
                self.put_status("reconnecting", sock.close_reason)
            try:
                async with self._lock:
                    await self._connect()
                delay = self.config.reconnect_delay_s
            except ExchangeError as exc:
                self.put_status("reconnecting", str(exc))
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.config.max_reconnect_delay_s)

    # --- messages (frame callback) --------------------------------------------------------------------------------

    def on_message(self, msg: dict[str, Any]) -> None:
        """One data message → events (depth messages also feed the local book)."""
        topic = str(msg["topic"])
        kind, _, rest = topic.partition(".")
        if kind == "publicTrade":
            for trade in parse.trade_push(msg):
                self.events.put(trade)
        elif kind == "orderbook":
            depth, _, symbol = rest.partition(".")
            if depth == "1":
                self.events.put(parse.best_level_ticker(msg))
            else:
                self._on_book(topic, symbol, msg)
        elif kind == "tickers":
            self.events.put(parse.stats(msg["data"], int(msg.get("ts") or _now_ms())))
        elif kind == "kline":
            _, _, symbol = rest.partition(".")
            for k in parse.kline_push(symbol, msg):
                self.events.put(k)

    def _on_book(self, topic: str, symbol: str, msg: dict[str, Any]) -> None:
        book = self.books.get(symbol)
        if book is None:
            return
        data = msg["data"]
        bids, asks = parse.levels(data.get("b", ())), parse.levels(data.get("a", ()))
        u, seq, ts = int(data["u"]), int(data.get("seq") or 0), int(msg.get("ts") or 0)
        if msg.get("type") == "snapshot":
            was_synced = book.is_synced
            book.on_snapshot(bids, asks, u, seq, ts)
            if not was_synced and (book.gaps or self.reconnects):
                self.put_status("resynced", f"snapshot u {u}", symbol)
        else:
            was_synced = book.is_synced
            if not book.on_delta(bids, asks, u, seq, ts):
                if was_synced:
                    self.put_status("book_gap", f"{book.last_problem}; resubscribing for a snapshot", symbol)
                    self._resync(topic, symbol)
                return
        self.events.put(DepthUpdate(symbol, u, u, bids, asks, ts))

    def _resync(self, topic: str, symbol: str) -> None:
        if symbol in self._resync_tasks and not self._resync_tasks[symbol].done():
            return
        self.resyncs += 1
        self._resync_tasks[symbol] = asyncio.get_running_loop().create_task(self._resubscribe(topic))

    async def _resubscribe(self, topic: str) -> None:
        sock = self._sock
        if sock is None or not sock.is_open:
            return  # the reconnect subscribes again anyway
        try:
            await sock.op("unsubscribe", [topic])
            await subscribe_all(sock, [topic])
        except ExchangeError as exc:
            self.put_status("resync_failed", str(exc))

    async def close(self) -> None:
        """Close the connection and stop every task; idempotent."""
        tasks = [*self._resync_tasks.values(), *([self._task] if self._task else [])]
        await cancel_and_wait(tasks)
        self._resync_tasks.clear()
        self._task = None
        if self._sock is not None:
            await self._sock.close()
            self._sock = None
