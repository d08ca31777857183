"""One MEXC Spot WebSocket connection on our own transport (:mod:`tradingmcp.transport.ws`): :class:`MexcStream`,
used by the market stream pool (``streams.MarketStreams``) and by ``userdata`` for the private topics.

Follows https://mexcdevelop.github.io/apidocs/spot_v3_en/#websocket-market-streams: binary protobuf pushes (decoded by
``parse.pushes``), JSON text control replies (``control``) that echo the topics, acked in request order with ``id`` 0 (so
acks are matched first-in first-out), 30 subscriptions per connection, a cut after 30 s without a valid subscription
and after 60 s without data (each ``MexcStream`` sends ``{"method":"PING"}`` every ``ping_interval_s``; WebSocket-level
pings from MEXC are answered by the transport).

A push is decoded inside the transport's frame callback and queued for the connection's reader (``MexcStream.recv``).

Failure handling: a server close, no frame within ``dead_after_s``, or a push queue overflow (consumer too slow) fails
the connection; every pending ack and ``recv`` then raises ``ExchangeUnavailable`` (never a silent drop); reopening
and resubscribing is the caller's job. A binary message that does not decode is skipped and counted
(``MexcStream.decode_errors``).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from types import TracebackType

from tradingmcp.server.exchanges.errors import ExchangeUnavailable
from tradingmcp.server.exchanges.mexc import control
from tradingmcp.server.exchanges.mexc.errors import mexc_error
from tradingmcp.server.exchanges.mexc.parse import Push, PushDecodeError, decode_push
from tradingmcp.server.exchanges.tasks import cancel_and_wait
from tradingmcp.transport import ws

MAX_FRAME_BYTES = 2**22
"""Largest message accepted (4 MiB); MEXC's pushes are a few kB."""

_CLOSED = object()


class MexcStream:
    """One MEXC WebSocket connection. ``async with MexcStream(url) as s: await s.subscribe([...]); async for p in s``.

    Args:
        url: ``wss://wbs-api.mexc.com/ws`` (append ``?listenKey=…`` for the private topics) or the simulator's.
        ping_interval_s: seconds between PINGs (must stay well below MEXC's 60 s idle cut).
        ack_timeout_s: seconds to wait for a (un)subscription ack; also the bound on the close handshake.
        max_queue: pushes buffered for the consumer; on overflow the stream fails (never drops silently).
        open_timeout_s: seconds allowed for the TCP/TLS connect and the WebSocket handshake.
        dead_after_s: seconds without any message (data or PONG) after which the connection counts as dead;
            default ``2 * ping_interval_s + ack_timeout_s``.

    Attributes:
        latency_s: round trip of the last PING/PONG in seconds (None before the first).
        decode_errors: binary messages that did not decode (skipped, counted).
        topics: the topics MEXC confirmed on this connection.
    """

    def __init__(
        self,
        url: str,
        *,
        ping_interval_s: float = 20.0,
        ack_timeout_s: float = 5.0,
        max_queue: int = 10_000,
        open_timeout_s: float = 10.0,
        dead_after_s: float | None = None,
    ) -> None:
        self.url = url
        self.ping_interval_s = ping_interval_s
        self.ack_timeout_s = ack_timeout_s
        self.open_timeout_s = open_timeout_s
        self.dead_after_s = dead_after_s if dead_after_s is not None else 2 * ping_interval_s + ack_timeout_s
        self.latency_s: float | None = None
        self.decode_errors = 0
        self.topics: set[str] = set()
        self._queue: asyncio.Queue[Push | object] = asyncio.Queue(max_queue)
        self._acks: deque[asyncio.Future[control.ControlReply]] = deque()
        self._conn: ws.Connection | None = None
        self._gone = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._ping_sent_at = 0.0
        self._last_frame_at = 0.0
        self._failure: Exception | None = None

    def __repr__(self) -> str:
        state = "open" if self.is_open else "closed"
        return f"MexcStream({self.url.split('?')[0]}, {state}, topics={len(self.topics)})"

    async def __aenter__(self) -> MexcStream:
        await self.open()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    @property
    def is_open(self) -> bool:
        """True while the connection is up and has not failed."""
        return self._conn is not None and not self._conn.closed and self._failure is None

    async def open(self) -> None:
        """Connect and start the keepalive task (pushes and replies are read in the transport's frame callbacks).

        Raises:
            ExchangeUnavailable: the connection could not be opened (refused, handshake rejected, timeout).
        """
        options = ws.WireOptions(
            max_message_bytes=MAX_FRAME_BYTES,
            ping_interval_s=0,  # MEXC's keepalive is the JSON PING below, not WebSocket pings
            ping_timeout_s=self.ack_timeout_s,
            open_timeout_s=self.open_timeout_s,
        )
        try:
            async with asyncio.timeout(self.open_timeout_s):
                self._conn = await ws.connect(self.url, _Handler(self), subprotocols=(), options=options)
        except (ConnectionError, OSError, TimeoutError) as exc:
            where = self.url.split("?")[0]  # never show the listenKey
            raise mexc_error(ExchangeUnavailable, None, f"cannot open {where}: {type(exc).__name__}: {exc}") from exc
        self._last_frame_at = time.monotonic()
        self._tasks = [asyncio.create_task(self._keepalive())]

    async def close(self) -> None:
        """Close the connection and stop the keepalive; returns once the connection is gone (or after
        ``ack_timeout_s``); idempotent."""
        await cancel_and_wait(self._tasks)
        self._tasks = []
        if self._failure is None:
            self._fail(mexc_error(ExchangeUnavailable, None, "stream closed"))
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.ack_timeout_s):
                    await self._gone.wait()

    def _send(self, text: str) -> None:
        conn = self._conn
        if conn is None or conn.closed:
            raise mexc_error(ExchangeUnavailable, None, "stream is not open")
        conn.send_text(text.encode())

    async def _control(self, text: str, topics: list[str]) -> None:
        if self._failure is not None:
            raise self._failure
        fut: asyncio.Future[control.ControlReply] = asyncio.get_running_loop().create_future()
        self._acks.append(fut)
        self._send(text)
        try:
            async with asyncio.timeout(self.ack_timeout_s):
                reply = await fut
        except TimeoutError:
            raise mexc_error(ExchangeUnavailable, None, f"no ack for {topics} within {self.ack_timeout_s} s") from None
        control.check_ack(reply, topics)

    async def subscribe(self, topics: list[str]) -> None:
        """SUBSCRIPTION; returns when MEXC echoed every topic.

        Raises:
            control.ControlError: refused (not echoed, or code != 0).
            ValueError: more than 30 topics on this connection.
            ExchangeUnavailable: no ack in time, or the connection is gone.
        """
        if len(self.topics | set(topics)) > control.MAX_TOPICS_PER_CONNECTION:
            raise ValueError(f"MEXC allows {control.MAX_TOPICS_PER_CONNECTION} topics per connection")
        await self._control(control.subscription(topics), topics)
        self.topics |= set(topics)

    async def unsubscribe(self, topics: list[str]) -> None:
        """UNSUBSCRIPTION; returns when MEXC echoed every topic (same errors as ``subscribe``)."""
        await self._control(control.unsubscription(topics), topics)
        self.topics -= set(topics)

    async def ping(self) -> None:
        """Send one PING (the PONG updates ``latency_s``).

        Raises:
            ExchangeUnavailable: the connection is gone.
        """
        self._ping_sent_at = time.monotonic()
        self._send(control.ping())

    async def _keepalive(self) -> None:
        try:
            while True:
                await asyncio.sleep(self.ping_interval_s)
                silent_s = time.monotonic() - self._last_frame_at
                if silent_s > self.dead_after_s:
                    self._fail(mexc_error(ExchangeUnavailable, None, f"no frame for {silent_s:.1f} s: connection dead"))
                    if self._conn is not None:
                        self._conn.close()
                    return
                await self.ping()
        except ExchangeUnavailable as exc:
            self._fail(exc)

    # --- frames (transport callbacks) ---------------------------------------------------------------------------
    def _on_binary(self, data: ws.BinaryData) -> None:
        self._last_frame_at = time.monotonic()
        try:
            push = decode_push(data)
        except PushDecodeError:
            self.decode_errors += 1
            return
        try:
            self._queue.put_nowait(push)
        except asyncio.QueueFull:
            self._fail(mexc_error(ExchangeUnavailable, None, "push queue overflow: consumer too slow"))
            if self._conn is not None:
                self._conn.close()

    def _on_text(self, data: ws.TextData) -> None:
        self._last_frame_at = time.monotonic()
        try:
            reply = control.parse_reply(data if isinstance(data, str | bytes) else bytes(data))
        except control.ControlError:
            return
        if reply.is_pong:
            if self._ping_sent_at:
                self.latency_s = time.monotonic() - self._ping_sent_at
            return
        while self._acks:
            fut = self._acks.popleft()
            if not fut.done():
                fut.set_result(reply)
                return

    def _on_close(self, code: int, reason: str) -> None:
        self._gone.set()
        detail = f"{code} {reason}".rstrip()
        self._fail(mexc_error(ExchangeUnavailable, None, f"stream closed by the server (code {detail})"))

    def _fail(self, error: Exception) -> None:
        if self._failure is None:
            self._failure = error
        for fut in self._acks:
            if not fut.done():
                fut.set_exception(self._failure)
        self._acks.clear()
        with contextlib.suppress(asyncio.QueueFull):
            self._queue.put_nowait(_CLOSED)

    async def recv(self) -> Push:
        """The next push, in arrival order.

        Raises:
            ExchangeUnavailable: the connection ended (or the queue overflowed); reopen and resync.
        """
        if self._failure is not None and self._queue.empty():
            raise self._failure
        item = await self._queue.get()
        if item is _CLOSED or not isinstance(item, Push):
            with contextlib.suppress(asyncio.QueueFull):
                self._queue.put_nowait(_CLOSED)
            raise self._failure or mexc_error(ExchangeUnavailable, None, "stream closed")
        return item

    def __aiter__(self) -> MexcStream:
        return self

    async def __anext__(self) -> Push:
        return await self.recv()


class _Handler:
    """Transport callbacks of one ``MexcStream`` connection: text = JSON control replies, binary = protobuf pushes."""

    def __init__(self, owner: MexcStream) -> None:
        self.owner = owner

    def on_open(self, conn: ws.Connection) -> None:
        pass

    def on_text(self, data: ws.TextData) -> None:
        self.owner._on_text(data)

    def on_binary(self, data: ws.BinaryData) -> None:
        self.owner._on_binary(data)

    def on_close(self, code: int, reason: str) -> None:
        self.owner._on_close(code, reason)

    def on_writable(self) -> None:
        pass
