"""Thin asyncio shell for MEXC's spot WebSocket: connect, (un)subscribe with ack checks, PING keepalive, pushes.

Text frames are JSON control replies (see ``control``); binary frames are protobuf pushes (see ``codec``). MEXC
acks in request order with ``id`` 0, so acks are matched first-in first-out. The server drops a connection after 30 s
without a valid subscription and after 60 s without data, so a PING goes out every ``ping_interval_s`` (default 20);
a connection that sends nothing at all (not even the PONG) for ``dead_after_s`` is treated as dead.
The connection is aiohttp's WebSocket client (``ClientSession.ws_connect``), like the REST client; the project's MCP
transport package is the only place that owns a WebSocket library of its own.
Reconnect/resubscribe policy belongs to the owner of this stream (``streams``/``userdata``).
API doc: https://mexcdevelop.github.io/apidocs/spot_v3_en/#websocket-market-streams
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from types import TracebackType

import aiohttp

from tradingmcp.server.exchanges.mexc import control
from tradingmcp.server.exchanges.mexc.codec import Push, PushDecodeError, decode_push
from tradingmcp.server.exchanges.mexc.errors import ExchangeUnavailable, mexc_error
from tradingmcp.server.exchanges.tasks import cancel_and_wait

_CLOSED = object()
MAX_FRAME_BYTES = 2**22
"""Largest frame accepted (4 MiB); MEXC's pushes are a few kB."""


class MexcStream:
    """One MEXC WebSocket connection. ``async with MexcStream(url) as s: await s.subscribe([...]); async for p in s``.

    Args:
        url: ``wss://wbs-api.mexc.com/ws`` (append ``?listenKey=…`` for the private topics) or the simulator's.
        ping_interval_s: seconds between PINGs (must stay well below MEXC's 60 s idle cut).
        ack_timeout_s: seconds to wait for a (un)subscription ack.
        max_queue: pushes buffered for the consumer; on overflow the stream fails (never drops silently).
        session: aiohttp session to connect with (not closed by ``close``); a private one is made when None.
        open_timeout_s: seconds allowed for the TCP/TLS connect and the WebSocket handshake.
        dead_after_s: seconds without any frame (data or PONG) after which the connection counts as dead;
            default ``2 * ping_interval_s + ack_timeout_s``.

    Attributes:
        latency_s: round trip of the last PING/PONG in seconds (None before the first).
        decode_errors: binary frames that did not decode (skipped, counted).
        topics: the topics MEXC confirmed on this connection.
    """

    def __init__(
        self,
        url: str,
        *,
        ping_interval_s: float = 20.0,
        ack_timeout_s: float = 5.0,
        max_queue: int = 10_000,
        session: aiohttp.ClientSession | None = None,
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
        self._session = session
        self._own_session = session is None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
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
        return self._ws is not None and not self._ws.closed and self._failure is None

    async def open(self) -> None:
        """Connect and start the reader and keepalive tasks.

        Raises:
            ExchangeUnavailable: the connection could not be opened (refused, handshake rejected, timeout).
        """
        if self._session is None:
            self._session = aiohttp.ClientSession()
        try:
            async with asyncio.timeout(self.open_timeout_s):
                self._ws = await self._session.ws_connect(
                    self.url, autoping=True, heartbeat=None, max_msg_size=MAX_FRAME_BYTES
                )
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            await self._close_session()
            where = self.url.split("?")[0]  # never show the listenKey
            raise mexc_error(ExchangeUnavailable, None, f"cannot open {where}: {type(exc).__name__}: {exc}") from exc
        self._last_frame_at = time.monotonic()
        self._tasks = [asyncio.create_task(self._reader()), asyncio.create_task(self._keepalive())]

    async def close(self) -> None:
        """Close the connection and stop the tasks; idempotent."""
        await cancel_and_wait(self._tasks)
        self._tasks = []
        if self._ws is not None:
            with contextlib.suppress(Exception):
                await self._ws.close()
            self._ws = None
        if self._failure is None:
            self._fail(mexc_error(ExchangeUnavailable, None, "stream closed"))
        await self._close_session()

    async def _close_session(self) -> None:
        if self._own_session and self._session is not None:
            await self._session.close()
            self._session = None

    async def _send(self, text: str) -> None:
        if self._ws is None or self._ws.closed:
            raise mexc_error(ExchangeUnavailable, None, "stream is not open")
        try:
            await self._ws.send_str(text)
        except (ConnectionError, aiohttp.ClientError, RuntimeError) as exc:
            raise mexc_error(ExchangeUnavailable, None, f"stream closed: {exc}") from exc

    async def _control(self, text: str, topics: list[str]) -> None:
        if self._failure is not None:
            raise self._failure
        fut: asyncio.Future[control.ControlReply] = asyncio.get_running_loop().create_future()
        self._acks.append(fut)
        await self._send(text)
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
        """Send one PING (the PONG updates ``latency_s``)."""
        self._ping_sent_at = time.monotonic()
        await self._send(control.ping())

    async def _keepalive(self) -> None:
        try:
            while True:
                await asyncio.sleep(self.ping_interval_s)
                silent_s = time.monotonic() - self._last_frame_at
                if silent_s > self.dead_after_s:
                    self._fail(mexc_error(ExchangeUnavailable, None, f"no frame for {silent_s:.1f} s: connection dead"))
                    if self._ws is not None:
                        await self._ws.close()
                    return
                await self.ping()
        except ExchangeUnavailable as exc:
            self._fail(exc)

    async def _reader(self) -> None:
        ws = self._ws
        assert ws is not None
        async for msg in ws:
            self._last_frame_at = time.monotonic()
            if msg.type is aiohttp.WSMsgType.BINARY:
                try:
                    push = decode_push(msg.data)
                except PushDecodeError:
                    self.decode_errors += 1
                    continue
                try:
                    self._queue.put_nowait(push)
                except asyncio.QueueFull:
                    self._fail(mexc_error(ExchangeUnavailable, None, "push queue overflow: consumer too slow"))
                    await ws.close()
                    return
            elif msg.type is aiohttp.WSMsgType.TEXT:
                self._on_text(msg.data)
            elif msg.type is aiohttp.WSMsgType.ERROR:
                self._fail(mexc_error(ExchangeUnavailable, None, f"stream failed: {ws.exception()}"))
                return
        self._fail(mexc_error(ExchangeUnavailable, None, f"stream closed by the server (code {ws.close_code})"))

    def _on_text(self, text: str) -> None:
        try:
            reply = control.parse_reply(text)
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
