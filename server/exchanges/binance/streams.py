"""Binance combined market streams on our own WebSocket transport (:mod:`tradingmcp.transport.ws`, picows), with live
SUBSCRIBE/UNSUBSCRIBE, local order books, and reconnect → resubscribe → resync.

Follows "WebSocket Streams" (https://developers.binance.com/docs/binance-spot-api-docs/web-socket-streams):
``<base>stream?streams=a/b`` frames ``{"stream": "<name>", "data": {...}}``; live control ``{"method": "SUBSCRIBE",
"params": [...], "id": N}`` answered ``{"result": null, "id": N}``; at most 1024 streams per connection and 5 incoming
messages/s; the server pings every 20 s (pongs are automatic) and drops a connection after 24 h.

Why not python-binance's ``BinanceSocketManager``: its ``ReconnectingWebsocket`` wakes a task per message twice
(``asyncio.wait_for(ws.recv())`` in its read loop, then again in ``recv()``), goes through an ``asyncio.Queue``, and
negotiates permessage-deflate, which made the frame → MCP publish hop many times slower (figures in
``benchmarks/README.md``). Here a frame is decoded, parsed and handed on inside the transport's frame callback (no
task, no queue, and no compression: Binance does not require it and these frames are small).

Failure handling (never silent; every case puts a ``StreamStatus`` in the event queue):

* the connection closes or fails (server close, 24 h limit, network error): books are reset, ``reconnecting`` is
  reported, and the connection is reopened after a jittered exponential backoff (``reconnect_delay_s`` doubling up
  to :data:`MAX_RECONNECT_DELAY_S`) with the first :data:`URL_STREAMS` wanted streams in the URL; the rest are
  SUBSCRIBEd; ``connected`` is reported and each book resyncs from a fresh snapshot;
* an error reply to a control message: ``control_error``; the ``serverShutdown`` event: ``server_shutdown``;
* a book gap/crossed book: the book buffers diffs while a REST snapshot is fetched (see ``book.py``);
* an unreadable frame is logged and dropped (the connection stays up).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import orjson

from tradingmcp.server.exchanges.binance import parse
from tradingmcp.server.exchanges.binance.book import DiffOutcome, LocalOrderBook, SnapshotOutcome
from tradingmcp.server.exchanges.binance.config import BinanceConfig
from tradingmcp.server.exchanges.eventqueue import EventQueue
from tradingmcp.server.exchanges.models import (
    DepthUpdate,
    MarketEvent,
    OrderBookSnapshot,
    StreamKind,
    StreamSpec,
    StreamStatus,
)
from tradingmcp.server.exchanges.tasks import cancel_and_wait
from tradingmcp.server.exchanges.wire import encode_query
from tradingmcp.transport import ws
from tradingmcp.transport.backoff import backoff

log = logging.getLogger(__name__)

SnapshotFetcher = Callable[[str, int], Awaitable[OrderBookSnapshot]]
"""``(symbol, limit) -> snapshot``: the adapter's REST depth call."""

URL_STREAMS = 100
"""Streams put in the connection URL; the rest are SUBSCRIBEd (keeps URLs short)."""
STREAMS_PER_CONTROL = 100
"""Streams per SUBSCRIBE/UNSUBSCRIBE message."""
MAX_RECONNECT_DELAY_S = 5.0
"""Longest pause between reconnect attempts (s)."""
MAX_FRAME_BYTES = 4 << 20
"""Largest accepted stream message (bytes): a full-depth diff after a busy 100 ms stays far below it."""


def stream_name(spec: StreamSpec, depth_speed_ms: int = 100) -> str:
    """The Binance stream name of ``spec``: ``btcusdt@trade``, ``btcusdt@depth@100ms``, ``btcusdt@kline_1m``...

    Raises:
        ValueError: a KLINE spec without an interval.
    """
    sym = spec.symbol.lower()
    kind = spec.kind
    if kind is StreamKind.DEPTH:
        return f"{sym}@depth@100ms" if depth_speed_ms == 100 else f"{sym}@depth"
    if kind is StreamKind.KLINE:
        if not spec.interval:
            raise ValueError("a kline stream needs an interval (1m, 5m, 1h, ...)")
        return f"{sym}@kline_{spec.interval}"
    return f"{sym}@{kind.value}"


class MarketStreams:
    """One combined-stream connection (opened on the first subscription), its subscriptions and local books.

    Args:
        config: adapter config (stream URL, limits, reconnect delay).
        fetch_snapshot: REST depth call used to sync books.
        events: where market events and ``StreamStatus`` notices go (synchronously, from the frame callback).
    """

    def __init__(
        self,
        config: BinanceConfig,
        fetch_snapshot: SnapshotFetcher,
        events: EventQueue[MarketEvent],
    ) -> None:
        self.config = config
        self.events = events
        self._fetch = fetch_snapshot
        self.wanted: dict[str, StreamSpec] = {}
        """Stream name → spec, in subscription order."""
        self.books: dict[str, LocalOrderBook] = {}
        self.reconnects = 0
        self.frames = 0
        """Stream data frames received (all connections)."""
        self.bad_frames = 0
        """Frames that could not be read (logged and dropped)."""
        self._live: set[str] = set()
        self._conn: ws.Connection | None = None
        self._task: asyncio.Task[None] | None = None
        self._resyncs: dict[str, asyncio.Task[None]] = {}
        self._ids = itertools.count(1)
        self._sent: deque[float] = deque()
        self._changed = asyncio.Event()
        self._closing = False

    # --- subscriptions ----------------------------------------------------------------------------------------
    async def subscribe(self, specs: Sequence[StreamSpec]) -> list[str]:
        """Add streams (live SUBSCRIBE when connected). Returns the stream names added.

        Raises:
            ValueError: more than ``max_streams_per_connection`` streams in total.
        """
        names = [stream_name(s, self.config.depth_update_speed_ms) for s in specs]
        new = [n for n in dict.fromkeys(names) if n not in self.wanted]
        if len(self.wanted) + len(new) > self.config.max_streams_per_connection:
            raise ValueError(f"at most {self.config.max_streams_per_connection} streams per connection")
        for name, spec in zip(names, specs, strict=True):
            if name in new:
                self.wanted[name] = spec
                if spec.kind is StreamKind.DEPTH:
                    self.books[spec.symbol.upper()] = LocalOrderBook(spec.symbol.upper())
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="binance-market-streams")
        elif self.is_open:
            await self._control("SUBSCRIBE", new)
        self._changed.set()
        return new

    async def unsubscribe(self, specs: Sequence[StreamSpec]) -> list[str]:
        """Remove streams (live UNSUBSCRIBE). Returns the stream names removed."""
        names = [stream_name(s, self.config.depth_update_speed_ms) for s in specs]
        gone = [n for n in dict.fromkeys(names) if n in self.wanted]
        for name in gone:
            spec = self.wanted.pop(name)
            if spec.kind is StreamKind.DEPTH:
                self.books.pop(spec.symbol.upper(), None)
                task = self._resyncs.pop(spec.symbol.upper(), None)
                if task is not None:
                    task.cancel()
        if gone and self.is_open:
            await self._control("UNSUBSCRIBE", gone)
        return gone

    # --- connection loop ----------------------------------------------------------------------------------------
    @property
    def is_open(self) -> bool:
        """True while the combined-stream connection is up (a SUBSCRIBE sent now is written on it)."""
        conn = self._conn
        return conn is not None and not conn.closed

    @property
    def running(self) -> bool:
        """True from the first subscription until :meth:`close`: the connection loop (connect, read, reconnect) runs,
        whether or not a connection is up right now."""
        return self._task is not None

    def _url(self, names: list[str]) -> str:
        """``<stream url>stream?streams=a@trade/b@depth@100ms``: the names joined with ``/`` and encoded by the shared
        builder (``@`` and ``/`` are the combined-stream syntax and stay raw; anything else is percent-encoded)."""
        return f"{self.config.effective_stream_url}stream?{encode_query([('streams', '/'.join(names))], safe='@/')}"

    async def _run(self) -> None:
        delays = backoff(self.config.reconnect_delay_s, max_s=MAX_RECONNECT_DELAY_S)
        while not self._closing:
            if not self.wanted:
                self._changed.clear()
                await self._changed.wait()
                continue
            names = list(self.wanted)[:URL_STREAMS]
            handler = _Handler(self)
            try:
                self._conn = await ws.connect(
                    self._url(names),
                    handler,
                    subprotocols=(),
                    options=ws.WireOptions(
                        max_message_bytes=MAX_FRAME_BYTES,
                        ping_interval_s=20.0,
                        ping_timeout_s=self.config.request_timeout_s,
                        open_timeout_s=self.config.request_timeout_s,
                    ),
                )
                self._live = set(names)
                delays = backoff(self.config.reconnect_delay_s, max_s=MAX_RECONNECT_DELAY_S)
                await self._after_connect()
                code, why = await handler.closed
                reason = f"connection closed ({code} {why})".rstrip()
            except asyncio.CancelledError:
                if self._conn is not None:
                    self._conn.close()
                raise
            except Exception as exc:  # a failed connect or send: reopen, never die silently
                reason = f"{type(exc).__name__}: {exc}"
                log.warning("market stream failed: %s", reason)
                if self._conn is not None:
                    self._conn.close()
            finally:
                self._conn = None
            if self._closing:
                break
            self.reconnects += 1
            self._reset_books()
            self.events.put(StreamStatus("reconnecting", reason, time_ms=_now_ms()))
            await asyncio.sleep(next(delays))

    async def _after_connect(self) -> None:
        """Bring the live subscriptions to the wanted set on a (re)opened connection."""
        missing = [n for n in self.wanted if n not in self._live]
        extra = [n for n in self._live if n not in self.wanted]
        if missing:
            await self._control("SUBSCRIBE", missing)
        if extra:
            await self._control("UNSUBSCRIBE", extra)

    def _on_open(self) -> None:
        self.events.put(StreamStatus("connected", f"{len(self.wanted)} streams", time_ms=_now_ms()))

    async def _control(self, method: str, names: list[str]) -> None:
        """Send SUBSCRIBE/UNSUBSCRIBE in chunks, at most ``max_control_messages_per_s`` messages per second."""
        for i in range(0, len(names), STREAMS_PER_CONTROL):
            chunk = names[i : i + STREAMS_PER_CONTROL]
            await self._throttle()
            conn = self._conn
            if conn is None or conn.closed:
                return
            conn.send_text(orjson.dumps({"method": method, "params": chunk, "id": next(self._ids)}))
            if method == "SUBSCRIBE":
                self._live.update(chunk)
            else:
                self._live.difference_update(chunk)

    async def _throttle(self) -> None:
        limit = self.config.max_control_messages_per_s
        now = time.monotonic()
        while self._sent and now - self._sent[0] >= 1.0:
            self._sent.popleft()
        if len(self._sent) >= limit:
            await asyncio.sleep(1.0 - (now - self._sent[0]))
        self._sent.append(time.monotonic())

    # --- frames -------------------------------------------------------------------------------------------------
    def _on_frame(self, raw: ws.TextData) -> None:
        """One text message, inside the transport's frame callback: decode, parse, update the book, hand on."""
        try:
            msg = orjson.loads(raw)
            data = msg.get("data")
            if data.__class__ is not dict:
                self._on_control_reply(msg)
                return
            if msg.get("stream") not in self.wanted:
                return  # in flight when UNSUBSCRIBE was sent: the caller no longer wants it
            self.frames += 1
            event = parse.stream_event(data)
        except Exception as exc:  # bad JSON, a missing field, a bad number: drop the frame, keep the connection
            self.bad_frames += 1
            log.warning("unreadable stream frame: %s: %s", type(exc).__name__, exc)
            return
        if event is None:
            return
        if isinstance(event, DepthUpdate):
            self._on_depth(event)
        self.events.put(event)

    def _on_control_reply(self, msg: Any) -> None:
        if not isinstance(msg, dict):
            return
        if msg.get("e") == "serverShutdown":
            self.events.put(StreamStatus("server_shutdown", "the exchange announced a restart"))
        elif "code" in msg or "error" in msg:
            error = msg.get("error")
            detail = msg.get("msg") or (error.get("msg") if isinstance(error, dict) else error)
            self.events.put(StreamStatus("control_error", str(detail)))
        # else a control reply {"result": null, "id": N}

    def _on_depth(self, diff: DepthUpdate) -> None:
        book = self.books.get(diff.symbol)
        if book is None:
            return
        outcome = book.on_diff(diff)
        if outcome in (DiffOutcome.GAP, DiffOutcome.CROSSED):
            self.events.put(StreamStatus("book_gap", f"{outcome}: resyncing", diff.symbol, diff.time_ms))
        if book.needs_snapshot and diff.symbol not in self._resyncs:
            task = asyncio.create_task(self._resync(book), name=f"binance-resync-{diff.symbol}")
            self._resyncs[diff.symbol] = task
            task.add_done_callback(self._resync_done)

    def _resync_done(self, task: asyncio.Task[None]) -> None:
        for symbol, running in list(self._resyncs.items()):
            if running is task:
                del self._resyncs[symbol]

    async def _resync(self, book: LocalOrderBook) -> None:
        """Fetch snapshots until the book syncs (diffs keep buffering meanwhile)."""
        attempt = 0
        while book.needs_snapshot and not self._closing and self.books.get(book.symbol) is book:
            try:
                snapshot = await self._fetch(book.symbol, self.config.depth_snapshot_limit)
            except Exception as exc:
                self.events.put(StreamStatus("resync_failed", f"{type(exc).__name__}: {exc}", book.symbol))
                snapshot = None
            if snapshot is not None:
                outcome = book.apply_snapshot(snapshot)
                if outcome in (SnapshotOutcome.SYNCED, SnapshotOutcome.SYNCING):
                    detail = f"lastUpdateId {snapshot.last_update_id}"
                    self.events.put(StreamStatus("resynced", detail, book.symbol, _now_ms()))
                    return
            attempt += 1
            await asyncio.sleep(min(0.05 * 2**attempt, 2.0))

    def _reset_books(self) -> None:
        for symbol, book in self.books.items():
            book.reset()
            task = self._resyncs.pop(symbol, None)
            if task is not None:
                task.cancel()

    # --- lifecycle ----------------------------------------------------------------------------------------------
    async def close(self) -> None:
        """Close the connection and stop every task."""
        self._closing = True
        self._changed.set()
        if self._conn is not None:
            self._conn.close()
        await cancel_and_wait([*self._resyncs.values(), *([self._task] if self._task else [])])
        self._task = None


class _Handler:
    """Transport callbacks of one connection; ``closed`` resolves to ``(close code, reason)`` when it is gone."""

    def __init__(self, owner: MarketStreams) -> None:
        self.owner = owner
        self.closed: asyncio.Future[tuple[int, str]] = asyncio.get_running_loop().create_future()

    def on_open(self, conn: ws.Connection) -> None:
        self.owner._on_open()

    def on_text(self, data: ws.TextData) -> None:
        self.owner._on_frame(data)

    def on_close(self, code: int, reason: str) -> None:
        if not self.closed.done():
            self.closed.set_result((code, reason))

    def on_writable(self) -> None:
        pass


def _now_ms() -> int:
    return time.time_ns() // 1_000_000
