"""Live data streams pushed as notifications: shared subscriptions, one serialization per message, per-stream ``seq``,
and lossless resume from a bounded replay window (:mod:`tradingmcp.server.mcp.replay`).

Wire (documented in the README, "Push notifications" and "Resume"): JSON-RPC notification

    {"jsonrpc": "2.0", "method": "notifications/tradingmcp/stream",
     "params": {"stream": "<stream key>", "seq": <int, +1 per message of that stream>, "data": {...}}}

A stream key is ``kind:exchange:SYMBOL[:arg]`` (e.g. ``trades:sim:BTCUSDT``, ``book:binance:ETHUSDT:10``) or
``kind:exchange`` (``orders:binance``), matching :data:`STREAM_KEY_PATTERN` as a whole. ``seq`` counts messages
published on the stream, contiguous, and is never reused while the hub lives (a stream stopped and started again keeps
counting); :meth:`StreamHub.epoch_of` names the current run of a stream (another run or process: another epoch).

Each message is lossless (trades, closed klines, order and balance events: every subscriber gets every one, in order)
or conflatable (a full state superseding the previous one: books, best bid/ask, 24 h statistics, the open kline: a
subscriber that is behind keeps only the latest, so it sees ``seq`` jump). A lossless stream never conflates; a
conflating one resumes through its latest state. Every message is also appended once to its stream's
:class:`~tradingmcp.server.mcp.replay.ReplayWindow`.

Resume (:meth:`StreamHub.subscribe` with ``since_seq``): the subscriber first gets, as ordinary notifications with
their original bytes, every lossless message with ``seq > since_seq`` the window holds and the latest conflatable one,
then the live ones: the replay and the attach happen in one synchronous step, so no message can fall between them or
come twice. When the window no longer holds ``since_seq + 1`` (or ``epoch`` is not the stream's), the answer says
``resumed: false`` and the replay starts at the oldest message held (for a book: its latest snapshot).

The first subscriber of a key starts its source (``StreamSource.start``); the last one leaving stops it, at once on
``unsubscribe`` or a normal close, after :attr:`Retention.linger_s` when its connection dropped (so it can resume). A
key of an unknown kind is refused with -32602 that repeats the key bounded (``jsonrpc.quote``/``short``).
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson

from tradingmcp.server.mcp.replay import ReplayWindow, Retention
from tradingmcp.transport.jsonrpc import ErrorCode, JsonRpcError, quote, short
from tradingmcp.transport.mcpnames import STREAM

STREAM_METHOD = STREAM
"""The stream notification method (:data:`tradingmcp.transport.mcpnames.STREAM`)."""
STREAM_KEY_PATTERN = "^[a-z][a-z0-9_]*(:[A-Za-z0-9._-]+){1,3}$"
"""The grammar of a stream key: a lower-case kind, then one to three ``:``-separated parts (exchange, SYMBOL, arg)
of letters, digits, ``.``, ``_``, ``-``; nothing else (no whitespace, no control character, no trailing newline)."""
_STREAM_KEY_RE = re.compile(STREAM_KEY_PATTERN)
log = logging.getLogger("tradingmcp.server.streams")


class Subscriber(Protocol):
    """What the hub needs from a connection: a conflating send (market data) and a lossless one (order events)."""

    def send(self, data: bytes) -> None: ...

    def send_conflatable(self, key: Any, data: bytes) -> None: ...


StartFn = Callable[[str], Awaitable[None] | None]
StopFn = Callable[[str], Awaitable[None] | None]


@dataclass(slots=True)
class StreamSource:
    """How to start/stop the upstream feeding streams of one ``kind`` (e.g. an exchange subscription).

    ``kind`` is either a bare kind (``trades``: any key ``trades:...``) or ``kind:exchange`` (``trades:binance``: keys
    ``trades:binance:...``), so several exchanges can each feed their own streams of the same kind. ``conflates``:
    whether its streams publish conflatable messages (a subscriber may see ``seq`` jump); False for lossless streams.
    """

    kind: str
    description: str
    start: StartFn
    stop: StopFn
    params_schema: dict[str, Any] = field(default_factory=dict)
    conflates: bool = True


@dataclass(slots=True)
class _Stream:
    key: str
    window: ReplayWindow
    epoch: str
    subscribers: set[Any] = field(default_factory=set)
    linger: asyncio.TimerHandle | None = None


@dataclass(frozen=True, slots=True)
class Attached:
    """The outcome of :meth:`StreamHub.subscribe` (the ``subscribe`` tool's answer, see its description).

    Attributes:
        new: False when the subscriber already had the stream (nothing replayed then).
        seq: the newest ``seq`` published on the stream when the subscription took effect (0: none yet).
        first_seq: the ``seq`` of the first message this subscription delivers (replayed or live).
        replayed: messages sent from the window before the live ones.
        resumed: with ``since_seq``: True when every message after it is delivered; None without ``since_seq``.
        conflates: whether the stream's source publishes conflatable messages.
        epoch: the name of the stream's ``seq`` numbering (see :meth:`StreamHub.epoch_of`).
    """

    new: bool
    seq: int
    first_seq: int
    replayed: int
    resumed: bool | None
    conflates: bool
    epoch: str


class StreamHub:
    """Shared subscriptions: many connections, one upstream per stream key, one serialization per publish.

    Args:
        retention: the replay window of every stream and how long a dropped subscriber's stream lingers.
        epoch: the prefix of this hub's stream epochs (default: random per hub).
        clock: monotonic seconds (the window's ages).
    """

    def __init__(
        self,
        retention: Retention | None = None,
        *,
        epoch: str | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.sources: dict[str, StreamSource] = {}
        self.retention = retention or Retention()
        self.epoch = epoch or secrets.token_hex(8)
        self._clock = clock
        self._streams: dict[str, _Stream] = {}
        self._last_seqs: dict[str, int] = {}  # streams stopped: where their numbering goes on
        self._tasks: set[asyncio.Task[Any]] = set()
        self._runs = 0

    def add_source(self, source: StreamSource) -> None:
        self.sources[source.kind] = source

    def kinds(self) -> list[str]:
        """Registered source kinds (``trades:binance``, ``orders:mexc``...)."""
        return sorted(self.sources)

    def subscriber_count(self, key: str) -> int:
        s = self._streams.get(key)
        return len(s.subscribers) if s else 0

    def is_subscribed(self, sub: Subscriber, key: str) -> bool:
        s = self._streams.get(key)
        return s is not None and sub in s.subscribers

    def active(self) -> list[str]:
        return sorted(self._streams)

    def last_seq(self, key: str) -> int:
        """The newest ``seq`` published on ``key`` (0: none)."""
        s = self._streams.get(key)
        return s.window.last_seq if s is not None else self._last_seqs.get(key, 0)

    def epoch_of(self, key: str) -> str | None:
        """The name of the current run of stream ``key`` (None when it is not running): ``<hub epoch>.<run>``, new
        each time the stream starts, since messages published while it was stopped never existed and cannot be
        replayed. A ``seq`` is meaningful only together with its epoch."""
        s = self._streams.get(key)
        return s.epoch if s is not None else None

    def window(self, key: str) -> ReplayWindow | None:
        """The replay window of an active stream (None when the stream is not running)."""
        s = self._streams.get(key)
        return s.window if s is not None else None

    def _source_for(self, key: str) -> StreamSource:
        parts = key.split(":", 2)
        source = self.sources.get(":".join(parts[:2])) if len(parts) > 1 else None
        kind = parts[0]
        if source is None:
            source = self.sources.get(kind)
        if source is None:
            raise JsonRpcError(
                ErrorCode.INVALID_PARAMS,
                f"unknown stream kind {quote(kind)}; available: {self.kinds()}",
                {"stream": short(key)},
            )
        return source

    async def subscribe(
        self, sub: Subscriber, key: str, since_seq: int | None = None, epoch: str | None = None
    ) -> Attached:
        """Add ``sub`` to ``key``; starts the source for the first subscriber.

        ``since_seq``: the last ``seq`` the subscriber has (resume, see the module docstring); ``epoch``: the numbering
        it comes from (:meth:`epoch_of` when it was given; another one makes the resume refused, ``resumed`` False).
        Without ``since_seq`` the subscription starts with the next live message. An already subscribed ``sub`` gets nothing replayed (``new`` False).

        Raises:
            JsonRpcError: a key outside :data:`STREAM_KEY_PATTERN` or of an unknown stream kind (-32602), or the
                source refused (its error) or failed to start (its message, -32603).
        """
        if not _STREAM_KEY_RE.fullmatch(key):
            raise JsonRpcError(
                ErrorCode.INVALID_PARAMS,
                f"Invalid params: arguments.stream: {key!r} is not a stream key: use kind:exchange[:SYMBOL[:arg]] "
                "(letters, digits, '.', '_', '-')",
                {"stream": key, "path": "stream"},
            )
        source = self._source_for(key)
        stream = self._streams.get(key)
        if stream is None:
            self._runs += 1
            window = ReplayWindow(self.retention, source.conflates, self._last_seqs.pop(key, 0), self._clock)
            stream = self._streams[key] = _Stream(key, window, f"{self.epoch}.{self._runs}")
            try:
                await _maybe_await(source.start(key))
            except JsonRpcError:
                self._drop(stream)
                raise
            except Exception as exc:
                self._drop(stream)
                raise JsonRpcError(ErrorCode.INTERNAL_ERROR, f"could not start stream {key}: {exc}") from exc
        # from here to the return nothing awaits: no publish can fall between the replay and the attach
        window = stream.window
        if sub in stream.subscribers:
            return Attached(False, window.last_seq, window.last_seq + 1, 0, None, source.conflates, stream.epoch)
        if stream.linger is not None:
            stream.linger.cancel()
            stream.linger = None
        if since_seq is not None and epoch is not None and epoch != stream.epoch:
            plan = window.plan(-1)  # another numbering: what the window holds, never "resumed"
        else:
            plan = window.plan(since_seq)
        for _, payload, conflatable in plan.messages:
            if conflatable:
                sub.send_conflatable(key, payload)
            else:
                sub.send(payload)
        stream.subscribers.add(sub)
        return Attached(
            True,
            window.last_seq,
            plan.first_seq,
            len(plan.messages),
            None if since_seq is None else plan.resumed,
            source.conflates,
            stream.epoch,
        )

    def _drop(self, stream: _Stream) -> None:
        """Forget a stream that stops; its numbering goes on if it starts again."""
        if stream.linger is not None:
            stream.linger.cancel()
        if self._streams.get(stream.key) is stream:
            del self._streams[stream.key]
        if stream.window.last_seq:
            self._last_seqs[stream.key] = stream.window.last_seq

    async def unsubscribe(self, sub: Subscriber, key: str) -> bool:
        """Remove ``sub`` from ``key``; stops the source when it was the last. Returns False if it was not subscribed."""
        stream = self._streams.get(key)
        if stream is None or sub not in stream.subscribers:
            return False
        stream.subscribers.discard(sub)
        if not stream.subscribers:
            await self._stop(stream)
        return True

    async def _stop(self, stream: _Stream) -> None:
        self._drop(stream)
        await _maybe_await(self._source_for(stream.key).stop(stream.key))

    async def _stop_if_idle(self, stream: _Stream) -> None:
        if not stream.subscribers and self._streams.get(stream.key) is stream:
            await self._stop(stream)

    def release(self, sub: Subscriber, *, linger: bool = False) -> None:
        """A connection is gone: drop it everywhere. A stream with no subscriber left stops in the background: at once,
        or with ``linger`` (the connection dropped rather than closed normally) after :attr:`Retention.linger_s`
        unless someone subscribes again meanwhile."""
        loop = asyncio.get_running_loop()
        delay = self.retention.linger_s if linger else 0.0
        for stream in [s for s in self._streams.values() if sub in s.subscribers]:
            stream.subscribers.discard(sub)
            if stream.subscribers:
                continue
            if delay > 0:
                if stream.linger is None:
                    stream.linger = loop.call_later(delay, self._linger_over, stream)
            else:
                self._stop_later(stream)

    def _linger_over(self, stream: _Stream) -> None:
        stream.linger = None
        if not stream.subscribers and self._streams.get(stream.key) is stream:
            self._stop_later(stream)

    def _stop_later(self, stream: _Stream) -> None:
        task = asyncio.get_running_loop().create_task(self._stop_if_idle(stream))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def publish(self, key: str, data: Any, *, conflate: bool = True) -> int:
        """Push ``data`` (JSON-serializable) to every subscriber of ``key``; serialized once, appended once to the
        stream's replay window. Returns deliveries.

        ``conflate`` True (a full state: books, tickers): a subscriber that is behind keeps only the latest message of
        ``key``. False (trades, order and balance events): every message is delivered, in order.
        """
        stream = self._streams.get(key)
        if stream is None:
            return 0
        window = stream.window
        seq = window.last_seq + 1
        payload = orjson.dumps(
            {"jsonrpc": "2.0", "method": STREAM_METHOD, "params": {"stream": key, "seq": seq, "data": data}}
        )
        window.append(payload, conflate)  # one append per message, not per subscriber
        subscribers = stream.subscribers
        if conflate:
            for sub in subscribers:
                sub.send_conflatable(key, payload)
        else:
            for sub in subscribers:
                sub.send(payload)
        return len(subscribers)

    def adopt_numbering(self, key: str, epoch: str, last_seq: int) -> None:
        """Give a stream numbered upstream (:meth:`publish_numbered`) the upstream's ``epoch`` and newest ``seq``
        before its first message arrives, so the answer to its first ``subscribe`` already names the numbering every
        server of that upstream shares (a client can resume on another one). Nothing when the stream is not running or
        already has ``epoch``."""
        stream = self._streams.get(key)
        if stream is None or stream.epoch == epoch:
            return
        stream.epoch = epoch
        stream.window.skip_to(last_seq + 1)

    def publish_numbered(
        self, key: str, seq: int, data: Any, *, epoch: str, conflate: bool = True, deliver: bool = True
    ) -> int:
        """:meth:`publish` for a message numbered upstream (a feed shared by several servers, so one message has one
        ``seq`` everywhere): the stream takes ``seq`` and ``epoch`` as they come. Another ``epoch``, or a ``seq`` that
        does not follow the last one, restarts the stream's window (a resume across it is refused, never silently
        lossy); a ``seq`` already published in this epoch is a duplicate and is dropped. ``deliver`` False (only with
        ``conflate``): a message already superseded by a newer one of the key that follows at once goes into the
        window only, so the numbering stays contiguous and the subscribers see ``seq`` jump as conflation makes them.
        Returns deliveries.
        """
        stream = self._streams.get(key)
        if stream is None:
            return 0
        window = stream.window
        if epoch != stream.epoch:
            stream.epoch = epoch
            window.skip_to(seq)
        elif seq <= window.last_seq:
            return 0
        elif seq != window.last_seq + 1:
            window.skip_to(seq)
        payload = orjson.dumps(
            {"jsonrpc": "2.0", "method": STREAM_METHOD, "params": {"stream": key, "seq": seq, "data": data}}
        )
        window.append(payload, conflate)
        if not deliver and conflate:
            return 0
        subscribers = stream.subscribers
        for sub in subscribers:
            if conflate:
                sub.send_conflatable(key, payload)
            else:
                sub.send(payload)
        return len(subscribers)


async def _maybe_await(value: Awaitable[None] | None) -> None:
    if value is not None:
        await value
