"""MEXC public market streams: a pool of :class:`~tradingmcp.server.exchanges.mexc.connection.MexcStream`
connections (at most 30 topics each), live SUBSCRIPTION/UNSUBSCRIPTION, local order books, and reconnect →
resubscribe → resync (:class:`MarketStreams`).

Follows https://mexcdevelop.github.io/apidocs/spot_v3_en/#websocket-market-streams: 30 subscriptions per connection
(``MexcConfig.max_topics_per_connection``), topics named by ``control.topic_for``, and the book procedure of
``book.LocalBook`` (REST ``depth?limit=1000`` + ``aggre.depth`` diffs with fromVersion/toVersion). The wire protocol of
one connection (protobuf pushes, JSON control acks, PING keepalive, dead-peer detection) is in ``connection``.

Failure handling (never silent; each case puts a ``StreamStatus`` in the event queue):

* a connection drops (server close, no frame in time, consumer overflow): ``reconnecting``, the books on it are
  reset, the connection is reopened with growing pauses, every topic it carried is subscribed again (``connected``),
  and each of its books is rebuilt from a fresh snapshot (``resynced``);
* a gap or crossed book: ``book_gap``, diffs buffer while a snapshot is fetched, then ``resynced``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Awaitable, Callable, Sequence

from tradingmcp.server.exchanges.errors import BadParameter, ExchangeError, ExchangeUnavailable
from tradingmcp.server.exchanges.eventqueue import EventQueue
from tradingmcp.server.exchanges.mexc import control, parse
from tradingmcp.server.exchanges.mexc.book import LocalBook
from tradingmcp.server.exchanges.mexc.config import MexcConfig
from tradingmcp.server.exchanges.mexc.connection import MexcStream
from tradingmcp.server.exchanges.mexc.control import topic_for
from tradingmcp.server.exchanges.mexc.errors import mexc_error
from tradingmcp.server.exchanges.models import (
    DepthUpdate,
    Kline,
    MarketEvent,
    OrderBookSnapshot,
    StreamKind,
    StreamSpec,
    StreamStatus,
    Ticker,
    Trade,
)
from tradingmcp.server.exchanges.tasks import cancel_and_wait

__all__ = ["MarketStreams", "MexcStream", "SnapshotFetcher", "topic_for"]
"""``MexcStream`` (from ``connection``) and ``topic_for`` (from ``control``) stay importable from here."""

log = logging.getLogger(__name__)

SnapshotFetcher = Callable[[str, int], Awaitable[OrderBookSnapshot]]
"""``(symbol, limit) -> snapshot``: the adapter's REST depth call."""

_BINANCE_INTERVALS = {"60m": "1h", "1W": "1w"}
"""MEXC REST kline intervals whose neutral (Binance) spelling differs; the others are spelled alike."""


class _Connection:
    """One WebSocket connection of the pool and the topics it should carry."""

    def __init__(self, owner: MarketStreams, index: int) -> None:
        self.owner = owner
        self.index = index
        self.topics: set[str] = set()
        self.stream: MexcStream | None = None
        self.task: asyncio.Task[None] | None = None
        self.connects = 0

    def __repr__(self) -> str:
        return f"_Connection({self.index}, topics={len(self.topics)}, open={self.stream is not None})"

    async def connect(self) -> None:
        """Open the connection and subscribe every topic (≤ 30 per SUBSCRIPTION, so one message).

        Raises:
            ExchangeUnavailable: cannot connect or no ack; control.ControlError: MEXC refused a topic.
        """
        cfg = self.owner.config
        stream = MexcStream(
            cfg.ws_url,
            ping_interval_s=cfg.ping_interval_s,
            ack_timeout_s=cfg.ws_ack_timeout_s,
            open_timeout_s=cfg.request_timeout_s,
        )
        await stream.open()
        try:
            if self.topics:
                await stream.subscribe(sorted(self.topics))
        except BaseException:
            await stream.close()
            raise
        self.stream = stream
        self.connects += 1
        self.owner.on_connected(self)

    async def run(self) -> None:
        """Read pushes; on a drop, reconnect with growing pauses and resubscribe."""
        cfg = self.owner.config
        delay = cfg.reconnect_delay_s
        while True:
            if self.stream is None:
                try:
                    await self.connect()
                    delay = cfg.reconnect_delay_s
                except (ExchangeError, control.ControlError) as exc:
                    self.owner.put_status("reconnecting", f"connection {self.index}: {exc}")
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, cfg.max_reconnect_delay_s)
                    continue
            assert self.stream is not None
            try:
                async for push in self.stream:
                    self.owner.on_push(push)
                reason = "stream ended"
            except ExchangeUnavailable as exc:
                reason = str(exc)
            await self.stream.close()
            self.stream = None
            self.owner.on_disconnected(self, reason)
            await asyncio.sleep(delay)

    async def close(self) -> None:
        if self.task is not None:
            await cancel_and_wait([self.task])
            self.task = None
        if self.stream is not None:
            await self.stream.close()
            self.stream = None


class MarketStreams:
    """Every public subscription of one adapter, spread over as many connections as needed.

    Args:
        config: URLs and stream settings (``max_topics_per_connection``, ``ping_interval_s``...).
        fetch_snapshot: REST depth call used to sync books.
        events: where market events and ``StreamStatus`` notices go.

    Attributes:
        wanted: topic → the specs that asked for it (a topic stays while any spec wants it).
        books: symbol → local book of every DEPTH-subscribed symbol.
        connections: the open (or reopening) connections.
    """

    def __init__(
        self,
        config: MexcConfig,
        fetch_snapshot: SnapshotFetcher,
        events: EventQueue[MarketEvent],
    ) -> None:
        self.config = config
        self.events = events
        self.wanted: dict[str, set[StreamSpec]] = {}
        self.books: dict[str, LocalBook] = {}
        self.connections: list[_Connection] = []
        self.reconnects = 0
        self._fetch = fetch_snapshot
        self._resyncs: dict[str, asyncio.Task[None]] = {}
        self._next_index = 0
        self._lock = asyncio.Lock()

    def put_status(self, state: str, detail: str = "", symbol: str | None = None) -> None:
        """Queue a ``StreamStatus`` notice."""
        self.events.put(StreamStatus(state, detail, symbol, _now_ms()))

    # --- subscriptions ----------------------------------------------------------------------------------------
    async def subscribe(self, specs: Sequence[StreamSpec]) -> list[str]:
        """Add streams; returns the topics newly subscribed. Waits for MEXC's ack of each new topic.

        Raises:
            NotSupported, BadParameter: a spec MEXC cannot stream, or a topic MEXC refused.
            ExchangeUnavailable: a needed new connection could not be opened.
        """
        pairs = [(topic_for(s, self.config.push_interval), s) for s in specs]
        async with self._lock:
            new = list(dict.fromkeys(t for t, _ in pairs if t not in self.wanted))
            for topic, spec in pairs:
                self.wanted.setdefault(topic, set()).add(spec)
                if spec.kind is StreamKind.DEPTH and spec.symbol.upper() not in self.books:
                    self.books[spec.symbol.upper()] = LocalBook(spec.symbol.upper())
            try:
                await self._place(new)
            except BaseException:
                self._drop(new)
                raise
        return new

    async def _place(self, topics: list[str]) -> None:
        """Put ``topics`` on connections with room (live SUBSCRIPTION), opening new connections as needed."""
        limit = self.config.max_topics_per_connection
        pending = list(topics)
        for conn in self.connections:
            room = limit - len(conn.topics)
            if room <= 0 or not pending:
                continue
            batch, pending = pending[:room], pending[room:]
            conn.topics.update(batch)
            if conn.stream is not None and conn.stream.is_open:
                await self._live_subscribe(conn, batch)
            # a connection that is reconnecting subscribes its whole topic set when it is back
        while pending:
            batch, pending = pending[:limit], pending[limit:]
            conn = _Connection(self, self._next_index)
            self._next_index += 1
            conn.topics.update(batch)
            self.connections.append(conn)
            try:
                await conn.connect()
            except BaseException as exc:
                self.connections.remove(conn)
                raise _as_exchange_error(exc) from exc
            conn.task = asyncio.create_task(conn.run(), name=f"mexc-market-{conn.index}")

    async def _live_subscribe(self, conn: _Connection, batch: list[str]) -> None:
        assert conn.stream is not None
        try:
            await conn.stream.subscribe(batch)
        except control.ControlError as exc:
            conn.topics.difference_update(batch)
            raise _as_exchange_error(exc) from exc
        except ExchangeUnavailable:
            await conn.stream.close()  # the reader sees the close and reconnects with every topic
            return
        for topic in batch:
            self._start_book_if_depth(topic)

    def _drop(self, topics: list[str]) -> None:
        for topic in topics:
            for spec in self.wanted.pop(topic, set()):
                if spec.kind is StreamKind.DEPTH:
                    self._remove_book(spec.symbol.upper())
            for conn in self.connections:
                conn.topics.discard(topic)

    async def unsubscribe(self, specs: Sequence[StreamSpec]) -> list[str]:
        """Remove streams; returns the topics no spec wants any more (UNSUBSCRIPTION sent, best effort)."""
        async with self._lock:
            gone: list[str] = []
            for spec in specs:
                topic = topic_for(spec, self.config.push_interval)
                holders = self.wanted.get(topic)
                if holders is None:
                    continue
                holders.discard(spec)
                if not holders:
                    del self.wanted[topic]
                    gone.append(topic)
                    if spec.kind is StreamKind.DEPTH:
                        self._remove_book(spec.symbol.upper())
            for conn in list(self.connections):
                mine = [t for t in gone if t in conn.topics]
                if not mine:
                    continue
                conn.topics.difference_update(mine)
                if not conn.topics:  # MEXC closes idle connections anyway
                    self.connections.remove(conn)
                    await conn.close()
                elif conn.stream is not None and conn.stream.is_open:
                    try:
                        await conn.stream.unsubscribe(mine)
                    except (ExchangeError, control.ControlError) as exc:
                        log.info("unsubscribe on connection %d failed (ignored): %s", conn.index, exc)
        return gone

    # --- connection callbacks ---------------------------------------------------------------------------------
    def on_connected(self, conn: _Connection) -> None:
        """A connection (re)opened with every topic acked: announce it and (re)sync its books."""
        self.put_status("connected", f"connection {conn.index}: {len(conn.topics)} topics")
        for topic in conn.topics:
            self._start_book_if_depth(topic)

    def on_disconnected(self, conn: _Connection, reason: str) -> None:
        """A connection dropped: reset its books (they resync after the reconnect)."""
        self.reconnects += 1
        for topic in conn.topics:
            symbol = _depth_symbol(topic)
            if symbol is not None and symbol in self.books:
                self.books[symbol].reset()
                task = self._resyncs.pop(symbol, None)
                if task is not None:
                    task.cancel()
        self.put_status("reconnecting", f"connection {conn.index}: {reason}")

    def on_push(self, push: parse.Push) -> None:
        """Decode one push into events; depth diffs also feed the local book."""
        try:
            events = parse.to_events(push)
        except (parse.PushDecodeError, ValueError) as exc:
            log.warning("unreadable push on %s: %s", push.channel, exc)
            return
        for event in events:
            if isinstance(event, DepthUpdate):
                self._on_depth(event)
                self.events.put(event)
            elif isinstance(event, Kline):
                interval = _BINANCE_INTERVALS.get(event.interval, event.interval)
                self.events.put(dataclasses.replace(event, interval=interval))
            elif isinstance(event, Trade | Ticker):
                self.events.put(event)

    # --- books ----------------------------------------------------------------------------------------------------
    def _on_depth(self, diff: DepthUpdate) -> None:
        book = self.books.get(diff.symbol)
        if book is None:
            return
        was_synced = book.is_synced
        book.on_diff(diff)
        if was_synced and not book.is_synced:
            self.put_status("book_gap", f"{book.last_problem}; resyncing", diff.symbol)
        if book.needs_snapshot:
            self._ensure_resync(book)

    def _start_book_if_depth(self, topic: str) -> None:
        symbol = _depth_symbol(topic)
        if symbol is not None and symbol in self.books:
            self._ensure_resync(self.books[symbol])

    def _ensure_resync(self, book: LocalBook) -> None:
        if book.symbol in self._resyncs:
            return
        task = asyncio.create_task(self._resync(book), name=f"mexc-resync-{book.symbol}")
        self._resyncs[book.symbol] = task
        task.add_done_callback(self._resync_done)

    def _resync_done(self, task: asyncio.Task[None]) -> None:
        for symbol, running in list(self._resyncs.items()):
            if running is task:
                del self._resyncs[symbol]

    async def _resync(self, book: LocalBook) -> None:
        """Fetch snapshots until the book syncs (diffs keep buffering meanwhile)."""
        attempt = 0
        while book.needs_snapshot and self.books.get(book.symbol) is book:
            try:
                snapshot = await self._fetch(book.symbol, self.config.depth_snapshot_limit)
            except ExchangeError as exc:
                self.put_status("resync_failed", f"{type(exc).__name__}: {exc}", book.symbol)
                snapshot = None
            if snapshot is not None and book.apply_snapshot(snapshot):
                self.put_status("resynced", f"version {book.version}", book.symbol)
                return
            attempt += 1
            await asyncio.sleep(min(0.05 * 2**attempt, 2.0))

    def _remove_book(self, symbol: str) -> None:
        self.books.pop(symbol, None)
        task = self._resyncs.pop(symbol, None)
        if task is not None:
            task.cancel()

    # --- lifecycle ------------------------------------------------------------------------------------------------
    @property
    def topics(self) -> list[str]:
        """Every wanted topic, in subscription order."""
        return list(self.wanted)

    async def close(self) -> None:
        """Close every connection and stop every task; idempotent."""
        await cancel_and_wait(self._resyncs.values())
        self._resyncs.clear()
        for conn in self.connections:
            await conn.close()
        self.connections.clear()


def _depth_symbol(topic: str) -> str | None:
    try:
        parsed = control.parse_topic(topic)
    except ValueError:
        return None
    return parsed.symbol if parsed.kind is control.TopicKind.AGGRE_DEPTH else None


def _as_exchange_error(exc: BaseException) -> BaseException:
    if isinstance(exc, control.ControlError):
        return mexc_error(BadParameter, None, f"MEXC refused the subscription: {exc}")
    return exc


def _now_ms() -> int:
    return time.time_ns() // 1_000_000
