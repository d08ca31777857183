"""The order channel: signed requests over a lean connection of our own to the Binance WebSocket API
(``/ws-api/v3``), for the latency-critical ``order.place``, ``order.cancel`` and ``order.cancelReplace``.

Follows "WebSocket API" (https://developers.binance.com/docs/binance-spot-api-docs/websocket-api/general-api-information):
a request ``{"id", "method", "params"}`` (signed: ``apiKey``, ``timestamp``, ``recvWindow``, ``signature`` over the
params sorted by name, see :mod:`.signing`) is answered on the same connection by
``{"id", "status", "result" | "error", "rateLimits"}``. Every reply's ``rateLimits`` (``REQUEST_WEIGHT``/``ORDERS``
``count``) replaces the limiter's own counts, like the ``X-MBX-*`` headers of a REST reply; a 429/418 error carries
``error.data.retryAfter`` (epoch ms).

Why not python-binance's ``client.ws_api``: its read loop wraps every ``recv()``
in ``asyncio.wait_for`` (a new Task per message on 3.11) before resolving the request's future, and its websockets
client negotiates permessage-deflate. Here the connection is :mod:`tradingmcp.transport.ws` (picows: frame
callbacks, TCP_NODELAY, no compression) and each reply resolves its request's future directly in the frame callback:
no task, queue or decompression between the socket and the caller; the user data stream shares the connection, so an
``executionReport`` is queued as soon as the exchange sends it (the order round trips compared are in
``benchmarks/README.md``).

Connection: :meth:`WsApiChannel.start` opens it (the adapter does on start) and keeps it open: after a drop it
reconnects with exponential backoff (:func:`reconnect_delay_s`). The exchange pings every 20 s; picows answers with
pongs; we also ping an idle connection so a silently dead one is noticed. While it is not open, :class:`WsApiDown`
says nothing was sent and the caller uses REST. A connection lost after a request frame was written leaves the
outcome unknown (:class:`~tradingmcp.server.exchanges.errors.ExchangeUnavailable`): the caller must look the order up
by client order id before sending it again.

Pushes: a frame without ``id`` (a user data event ``{"subscriptionId", "event"}``, see
https://developers.binance.com/docs/binance-spot-api-docs/user-data-stream) goes to the attached :class:`ChannelSink`
inside the frame callback; the sink also hears when a connection opens (it may write its subscription first, before
any order can) and when it is lost (:mod:`.userdata` does both).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine, Mapping
from typing import Any, Protocol

import orjson

from tradingmcp.server.exchanges.binance.errors import ExchangeError, ExchangeUnavailable, error_for_code
from tradingmcp.server.exchanges.binance.signing import WsApiSigner
from tradingmcp.transport.backoff import backoff
from tradingmcp.transport.closecodes import CloseCode
from tradingmcp.transport.ws import Connection, TextData, WireOptions, connect

log = logging.getLogger(__name__)

_HEADER_PREFIX = {"REQUEST_WEIGHT": "X-MBX-USED-WEIGHT-", "ORDERS": "X-MBX-ORDER-COUNT-"}


class WsApiDown(ExchangeUnavailable):
    """The WS API connection is not open (or closed before the request was written): nothing was sent."""


class WsApiReply(Exception):
    """An error reply of the WS API, kept as the ``__cause__`` of the typed ExchangeError raised for it.

    Attributes:
        response: the whole reply ``{"id", "status", "error": {"code", "msg"[, "data"]}, "rateLimits"}``.
    """

    def __init__(self, response: Mapping[str, Any]) -> None:
        super().__init__(f"WS API error reply, status {response.get('status')}")
        self.response = response


class _ConnectionLost(Exception):
    """The connection closed while a written request waited for its reply (outcome unknown)."""


def rate_limit_headers(rate_limits: Any) -> dict[str, str]:
    """A reply's ``rateLimits`` array as the equivalent ``X-MBX-USED-WEIGHT-1M``/``X-MBX-ORDER-COUNT-10S`` headers."""
    out: dict[str, str] = {}
    if not isinstance(rate_limits, list):
        return out
    for entry in rate_limits:
        if not isinstance(entry, Mapping):
            continue
        prefix = _HEADER_PREFIX.get(str(entry.get("rateLimitType")))
        if prefix is None or "count" not in entry:
            continue
        out[f"{prefix}{entry.get('intervalNum', 1)}{str(entry.get('interval', 'M'))[:1]}"] = str(entry["count"])
    return out


def error_data(exc: BaseException) -> dict[str, Any] | None:
    """The ``error.data`` object of a WS API error reply behind ``exc`` (cancelReplace partial failure), or None."""
    reply = getattr(exc.__cause__, "response", None)
    if not isinstance(reply, Mapping):
        return None
    error = reply.get("error")
    data = error.get("data") if isinstance(error, Mapping) else None
    return data if isinstance(data, dict) else None


def reply_error(reply: Mapping[str, Any], now_ms: int) -> ExchangeError:
    """The typed error for a non-200 reply (``error.code``/``msg``; ``data.retryAfter`` epoch ms → Retry-After s)."""
    error = reply.get("error")
    error = error if isinstance(error, Mapping) else {}
    code = error.get("code")
    data = error.get("data")
    status = reply.get("status")
    headers: dict[str, str] = {}
    if isinstance(data, Mapping) and isinstance(data.get("retryAfter"), int):
        headers["Retry-After"] = str(max(0.0, (data["retryAfter"] - now_ms) / 1000))
    return error_for_code(
        int(code) if isinstance(code, int) else None,
        str(error.get("msg", "")),
        int(status) if isinstance(status, int) else None,
        headers,
        now_ms,
    )


class ChannelSink(Protocol):
    """Hears the pushes of a :class:`WsApiChannel`'s connection (the user data stream, :mod:`.userdata`).

    Every method runs synchronously and must not block. ``on_open`` runs inside the frame callback; ``on_push`` runs
    one loop callback after its frame (in arrival order), so that a request answered by an earlier frame of the
    same read resumes first: the order's ``executionReport`` follows its reply on the wire, and a caller waiting on
    the reply (the ``place_order`` tool) should not wait behind the event's handling.
    """

    def on_open(self) -> None:
        """A connection just opened; nothing else has been written on it yet (requests written now go first)."""

    def on_push(self, msg: dict[str, Any]) -> None:
        """A frame without ``id``: ``{"subscriptionId": N, "event": {...}}``."""

    def on_lost(self, reason: str) -> None:
        """The open connection was lost (not by :meth:`WsApiChannel.close`); it is being reopened."""


class _Link:
    """One connection's FrameHandler: resolves its own pending requests' futures in the frame callback."""

    __slots__ = ("call_soon", "channel", "conn", "lost", "pending")

    def __init__(self, channel: WsApiChannel) -> None:
        self.channel = channel
        self.conn: Connection | None = None
        self.pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self.lost = asyncio.Event()
        self.call_soon = asyncio.get_running_loop().call_soon

    def on_open(self, conn: Connection) -> None:
        self.conn = conn

    def on_text(self, data: TextData) -> None:
        try:
            msg = orjson.loads(data)
            req_id = msg.get("id")
            future = self.pending.pop(req_id, None) if req_id is not None else None
        except (orjson.JSONDecodeError, AttributeError, TypeError):
            log.warning("unreadable WS API frame ignored")
            return
        if future is not None:
            if not future.done():
                future.set_result(msg)
        elif req_id is None:
            if "event" in msg:
                self.call_soon(self._push, msg)  # after the wake-ups of replies read before it (see ChannelSink)
            else:
                log.warning("WS API frame without id ignored")

    def _push(self, msg: dict[str, Any]) -> None:
        sink = self.channel.sink
        if sink is not None:
            try:
                sink.on_push(msg)
            except Exception:
                log.exception("WS API push handler failed")

    def on_close(self, code: int, reason: str) -> None:
        pending, self.pending = self.pending, {}
        for future in pending.values():
            if not future.done():
                future.set_exception(_ConnectionLost(f"closed with {code} {reason}".strip()))
        self.lost.set()
        self.channel._on_lost(self, code, reason)

    def on_writable(self) -> None:
        pass


class WsApiChannel:
    """Signed WS API requests on a connection of our own, reopened after a drop.

    Args:
        url: the WS API endpoint (``wss://ws-api.binance.com:443/ws-api/v3``, or the simulator's ``ws://``).
        signer: adds ``apiKey``/``timestamp``/``recvWindow``/``signature``.
        timeout_s: how long to wait for a reply before the outcome is unknown (s); also the handshake timeout.
        on_rate_limits: gets every reply's ``rateLimits`` as ``X-MBX-*`` headers (the limiter's
            ``update_from_headers``).
        server_ms: the exchange clock (ms), to turn ``retryAfter`` into seconds.
        reconnect_base_s, reconnect_max_s: backoff after a drop or a failed connect (s), see
            :func:`reconnect_delay_s`.
        ping_interval_s: ping an idle connection this often (s); a pong must come within ``timeout_s``.

    Attributes:
        requests: requests answered (any status), by method.
        connects: connections opened so far.
        sink: gets pushes, opens and losses (see :class:`ChannelSink`); set it before :meth:`start` or any time.
    """

    def __init__(
        self,
        url: str,
        signer: WsApiSigner,
        *,
        timeout_s: float,
        on_rate_limits: Callable[[Mapping[str, str]], None],
        server_ms: Callable[[], int],
        reconnect_base_s: float = 0.2,
        reconnect_max_s: float = 30.0,
        ping_interval_s: float = 20.0,
    ) -> None:
        self.url = url
        self.signer = signer
        self.timeout_s = timeout_s
        self.on_rate_limits = on_rate_limits
        self.server_ms = server_ms
        self.reconnect_base_s = reconnect_base_s
        self.reconnect_max_s = reconnect_max_s
        self.options = WireOptions(
            ping_interval_s=ping_interval_s, ping_timeout_s=min(timeout_s, ping_interval_s), open_timeout_s=timeout_s
        )
        self.requests: dict[str, int] = {}
        self.connects = 0
        self.sink: ChannelSink | None = None
        self._link: _Link | None = None
        self._next_id = 1
        self._task: asyncio.Task[None] | None = None
        self._attempted = asyncio.Event()
        self._closing = False

    def __repr__(self) -> str:
        state = "open" if self.connected else "closed" if self._closing else "connecting"
        return f"<WsApiChannel {self.url} {state} connects={self.connects} requests={sum(self.requests.values())}>"

    @property
    def connected(self) -> bool:
        """True when the connection is open (a request sent now is written)."""
        link = self._link
        return link is not None and link.conn is not None and not link.conn.closed

    @property
    def next_id(self) -> int:
        """The ``id`` the next request will carry: ids count up from 1 over every connection, one taken by each
        :meth:`request` or :meth:`send` that found the connection open (answered or not); :meth:`frame` takes none."""
        return self._next_id

    # --- lifecycle -----------------------------------------------------------------------------------------------
    async def start(self, timeout_s: float | None = None) -> bool:
        """Start keeping the connection open (idempotent) and wait for the first attempt to end.

        Args:
            timeout_s: longest wait for that attempt (s); default ``timeout_s``.

        Returns:
            Whether the connection is open now (if not, it keeps trying in the background; orders use REST).
        """
        if self._task is None and not self._closing:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="binance-ws-api-orders")
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.timeout_s if timeout_s is None else timeout_s):
                await self._attempted.wait()
        return self.connected

    async def close(self) -> None:
        """Close the connection and stop reconnecting; a request still waiting gets an unknown outcome."""
        self._closing = True
        link = self._link
        if link is not None and link.conn is not None:
            link.conn.close(CloseCode.GOING_AWAY, "client closing")
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if link is not None and link.pending:
            link.on_close(int(CloseCode.GOING_AWAY), "client closing")

    async def _run(self) -> None:
        delays = backoff(self.reconnect_base_s, 2.0, self.reconnect_max_s)
        while not self._closing:
            link = _Link(self)
            try:
                await connect(self.url, link, subprotocols=(), options=self.options)
            except (OSError, ConnectionError, TimeoutError) as exc:
                log.warning("Binance WS API: cannot connect to %s (%s: %s)", self.url, type(exc).__name__, exc)
            else:
                self._link = link
                self.connects += 1
                delays = backoff(self.reconnect_base_s, 2.0, self.reconnect_max_s)
                self._opened(link)
                self._attempted.set()
                await link.lost.wait()
                if self._closing:
                    return
            self._attempted.set()
            await asyncio.sleep(next(delays))

    def _opened(self, link: _Link) -> None:
        """Tell the sink, with no await since ``link`` was published: its requests are the first on the wire."""
        sink = self.sink
        if sink is not None and link.conn is not None and not link.conn.closed:
            try:
                sink.on_open()
            except Exception:
                log.exception("WS API open handler failed")

    def _on_lost(self, link: _Link, code: int, reason: str) -> None:
        if link is self._link and not self._closing:
            log.warning("Binance WS API connection lost (%s %s); reconnecting, orders use REST meanwhile", code, reason)
            sink = self.sink
            if sink is not None:
                try:
                    sink.on_lost(f"connection closed with {code} {reason}".strip())
                except Exception:
                    log.exception("WS API loss handler failed")

    # --- requests ------------------------------------------------------------------------------------------------
    async def request(self, method: str, params: Mapping[str, Any], *, signed: bool = True) -> Any:
        """Send one request (signed unless ``signed`` is False) and return its ``result``.

        Args:
            method: e.g. ``order.place``.
            params: the request params (strings/ints as on the wire), without the auth params.
            signed: add ``apiKey``/``timestamp``/``recvWindow``/``signature`` (False for e.g.
                ``userDataStream.unsubscribe``, which takes no auth params).

        Raises:
            WsApiDown: the connection is not open; nothing was sent.
            ExchangeUnavailable: no reply within ``timeout_s``, or the connection was lost after the request was
                written (outcome unknown: look the order up by client order id before sending it again).
            ExchangeError: a typed subclass for an error reply (its ``__cause__`` is a :class:`WsApiReply`).
        """
        link, req_id, future = self._write(method, params, signed)
        return await self._result(method, link, req_id, future)

    def send(self, method: str, params: Mapping[str, Any], *, signed: bool = True) -> Coroutine[Any, Any, Any]:
        """Write one signed request NOW (before anything else gets the loop) and return the coroutine that waits for
        its ``result`` (await it, or run it as a task: its timeout starts then). Raises like :meth:`request`;
        :class:`WsApiDown` right away."""
        link, req_id, future = self._write(method, params, signed)
        return self._result(method, link, req_id, future)

    def frame(self, req_id: int, method: str, params: Mapping[str, Any], signed: bool) -> bytes:
        """The WS API request frame (UTF-8 JSON ``{"id", "method", "params"}``) that :meth:`request` and :meth:`send`
        write, its params signed (``apiKey``, ``timestamp``, ``recvWindow``, ``signature``) when ``signed``. Builds only:
        ``req_id`` is the caller's (the channel's next id is not taken) and nothing is sent."""
        return orjson.dumps({"id": req_id, "method": method, "params": self.signer.sign(params) if signed else params})

    def _write(
        self, method: str, params: Mapping[str, Any], signed: bool
    ) -> tuple[_Link, int, asyncio.Future[dict[str, Any]]]:
        link = self._link
        conn = link.conn if link is not None else None
        if link is None or conn is None or conn.closed:
            raise WsApiDown("the Binance WS API connection is not open", exchange="binance")
        req_id = self._next_id
        self._next_id += 1
        frame = self.frame(req_id, method, params, signed)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        link.pending[req_id] = future
        try:
            conn.send_text(frame)
        except Exception as exc:  # the frame was not written: the request surely did not reach the exchange
            link.pending.pop(req_id, None)
            raise WsApiDown(f"the Binance WS API connection failed ({type(exc).__name__})", exchange="binance") from exc
        return link, req_id, future

    async def _result(self, method: str, link: _Link, req_id: int, future: asyncio.Future[dict[str, Any]]) -> Any:
        timer = asyncio.get_running_loop().call_later(self.timeout_s, _expire, future)
        try:
            reply = await future
        except TimeoutError as exc:
            raise ExchangeUnavailable(
                f"Binance did not answer {method} within {self.timeout_s:g} s; {ExchangeUnavailable.hint}",
                exchange="binance",
            ) from exc
        except _ConnectionLost as exc:
            raise ExchangeUnavailable(
                f"the Binance WS API connection was lost after {method} was sent ({exc}); {ExchangeUnavailable.hint}",
                exchange="binance",
            ) from exc
        finally:
            timer.cancel()
            link.pending.pop(req_id, None)
        self.requests[method] = self.requests.get(method, 0) + 1
        self.on_rate_limits(rate_limit_headers(reply.get("rateLimits")))
        if reply.get("status") != 200:
            raise reply_error(reply, self.server_ms()) from WsApiReply(reply)
        return reply.get("result", reply)


def _expire(future: asyncio.Future[Any]) -> None:
    if not future.done():
        future.set_exception(TimeoutError())
