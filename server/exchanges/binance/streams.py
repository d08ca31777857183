"""Binance combined market streams on python-binance's ``BinanceSocketManager.multiplex_socket``, with live
SUBSCRIBE/UNSUBSCRIBE, local order books, and reconnect → resubscribe → resync.

Follows "WebSocket Streams" (https://developers.binance.com/docs/binance-spot-api-docs/web-socket-streams):
combined frames ``{"stream": "<name>", "data": {...}}``; live control ``{"method": "SUBSCRIBE", "params": [...],
"id": N}`` answered ``{"result": null, "id": N}``; at most 1024 streams per connection and 5 incoming messages/s.

Failure handling (never silent; every case puts a ``StreamStatus`` in the event queue):

* python-binance reconnects by itself after a close and reports ``{"e": "error", ...}`` in-band: the books are
  reset, and once the new connection is open every wanted stream is re-subscribed (the library reconnects with the
  original URL only) and each book resyncs from a fresh snapshot;
* ``ReadLoopClosed`` (queue overflow, or reconnects exhausted): the socket is closed and reopened with every wanted
  stream in the URL;
* a book gap/crossed book: the book buffers diffs while a REST snapshot is fetched (see ``book.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import orjson
from binance import AsyncClient, BinanceSocketManager
from binance.exceptions import ReadLoopClosed
from binance.ws.constants import WSListenerState
from websockets.protocol import State

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

log = logging.getLogger(__name__)

SnapshotFetcher = Callable[[str, int], Awaitable[OrderBookSnapshot]]
"""``(symbol, limit) -> snapshot``: the adapter's REST depth call."""

URL_STREAMS = 100
"""Streams put in the connection URL; the rest are SUBSCRIBEd (keeps URLs short)."""
STREAMS_PER_CONTROL = 100
"""Streams per SUBSCRIBE/UNSUBSCRIBE message."""


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
        client: the python-binance client (its socket manager is built here).
        config: adapter config (stream URL, queue sizes, limits).
        fetch_snapshot: REST depth call used to sync books.
        events: where market events and ``StreamStatus`` notices go.
    """

    def __init__(
        self,
        client: AsyncClient,
        config: BinanceConfig,
        fetch_snapshot: SnapshotFetcher,
        events: EventQueue[MarketEvent],
    ) -> None:
        self.config = config
        self.events = events
        self._fetch = fetch_snapshot
        self._bsm = BinanceSocketManager(client, max_queue_size=config.ws_queue_size)
        self._bsm.STREAM_URL = self._bsm.STREAM_TESTNET_URL = config.effective_stream_url
        self.wanted: dict[str, StreamSpec] = {}
        """Stream name → spec, in subscription order."""
        self.books: dict[str, LocalOrderBook] = {}
        self.reconnects = 0
        self.frames = 0
        self._live: set[str] = set()
        self._socket: Any = None
        self._synced_ws: Any = None
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
        elif self._is_open():
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
        if gone and self._is_open():
            await self._control("UNSUBSCRIBE", gone)
        return gone

    # --- connection loop ----------------------------------------------------------------------------------------
    def _is_open(self) -> bool:
        sock = self._socket
        return sock is not None and sock.ws is not None and sock.ws.state is State.OPEN

    async def _run(self) -> None:
        while not self._closing:
            if not self.wanted:
                self._changed.clear()
                await self._changed.wait()
                continue
            names = list(self.wanted)[:URL_STREAMS]
            sock = self._bsm.multiplex_socket(names)
            reason = "closed"
            try:
                async with sock:
                    self._socket = sock
                    self._live = set(names)
                    await self._after_connect(sock)
                    while not self._closing:
                        msg = await sock.recv()
                        if isinstance(msg, dict) and msg.get("e") == "error":
                            await self._on_library_error(sock, msg)
                        else:
                            self._on_message(msg)
            except ReadLoopClosed as exc:
                reason = f"read loop closed ({exc}); reopening"
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a failed connect or an unexpected frame: reopen, never die silently
                reason = f"{type(exc).__name__}: {exc}"
                log.warning("market stream failed: %s", reason)
            finally:
                self._socket = None
                self._synced_ws = None
            if self._closing:
                break
            self.reconnects += 1
            self._reset_books()
            self.events.put(StreamStatus("reconnecting", reason, time_ms=_now_ms()))
            await asyncio.sleep(self.config.reconnect_delay_s)

    async def _after_connect(self, sock: Any) -> None:
        """Bring the live subscriptions to the wanted set on a (re)opened connection."""
        self._synced_ws = sock.ws
        missing = [n for n in self.wanted if n not in self._live]
        extra = [n for n in self._live if n not in self.wanted]
        if missing:
            await self._control("SUBSCRIBE", missing)
        if extra:
            await self._control("UNSUBSCRIBE", extra)
        self.events.put(StreamStatus("connected", f"{len(self.wanted)} streams", time_ms=_now_ms()))

    async def _on_library_error(self, sock: Any, msg: dict[str, Any]) -> None:
        """python-binance reported a close/reconnect in-band: reset books, wait for the new connection, resubscribe."""
        if sock.ws is self._synced_ws and self._is_open():
            return  # a late duplicate report about a connection already replaced
        detail = f"{msg.get('type')}: {msg.get('m')}"
        self.reconnects += 1
        self._reset_books()
        self.events.put(StreamStatus("reconnecting", detail, time_ms=_now_ms()))
        async with asyncio.timeout(self.config.request_timeout_s * 6):
            while not (sock.ws is not None and sock.ws is not self._synced_ws and sock.ws.state is State.OPEN):
                if not sock._handle_read_loop:
                    raise ReadLoopClosed("python-binance gave up reconnecting")
                await asyncio.sleep(0.02)
        self._live = set(sock._path.removeprefix("streams=").split("/"))
        await self._after_connect(sock)

    async def _control(self, method: str, names: list[str]) -> None:
        """Send SUBSCRIBE/UNSUBSCRIBE in chunks, at most ``max_control_messages_per_s`` messages per second."""
        sock = self._socket
        for i in range(0, len(names), STREAMS_PER_CONTROL):
            chunk = names[i : i + STREAMS_PER_CONTROL]
            await self._throttle()
            if sock is None or sock.ws is None:
                return
            await sock.ws.send(orjson.dumps({"method": method, "params": chunk, "id": next(self._ids)}).decode())
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
    def _on_message(self, msg: Any) -> None:
        if not isinstance(msg, dict):
            return
        data = msg.get("data")
        if not isinstance(data, dict):
            if msg.get("e") == "serverShutdown":
                self.events.put(StreamStatus("server_shutdown", "the exchange announced a restart"))
            elif "code" in msg or "error" in msg:
                self.events.put(StreamStatus("control_error", str(msg.get("msg") or msg.get("error"))))
            return  # control replies {"result": null, "id": N}
        if msg.get("stream") not in self.wanted:
            return  # in flight when UNSUBSCRIBE was sent: the caller no longer wants it
        self.frames += 1
        try:
            event = parse.stream_event(data)
        except (KeyError, ValueError, TypeError) as exc:
            log.warning("unreadable stream frame on %s: %s", msg.get("stream"), exc)
            return
        if event is None:
            return
        if isinstance(event, DepthUpdate):
            self._on_depth(event)
        self.events.put(event)

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
        sock = self._socket
        if sock is not None and sock.ws is not None:
            sock.ws_state = WSListenerState.EXITING  # so python-binance's read loop stops instead of reconnecting
            with contextlib.suppress(Exception):
                await sock.ws.close()
        tasks = [*self._resyncs.values(), *([self._task] if self._task else [])]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._task = None


def _now_ms() -> int:
    return time.time_ns() // 1_000_000
