"""picows backend: frame callbacks on the event loop, no task or future per message (the default).

Beyond what picows checks itself, this backend fails a frame with any reserved bit (RSV1-3) set with 1002 (no
extension is ever negotiated here; RFC 6455 §5.2), pings included (it answers pings itself for that), and on the server
side gives a failed connection a lingering close (:class:`_Lingering`) so its close frame reaches a peer still sending.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl as ssl_module
from asyncio.trsock import TransportSocket
from collections.abc import Callable
from typing import Any

import picows
from picows import WSCloseCode, WSFrame, WSListener, WSMsgType, WSTransport, WSUpgradeResponse
from picows.picows import WSProtocol  # type: ignore[attr-defined]  # not in its stubs: what ws_create_server builds

from tradingmcp.transport.closecodes import CloseCode
from tradingmcp.transport.ws import (
    Accept,
    BinarySink,
    Connection,
    Fragments,
    FrameHandler,
    HandshakeRejected,
    HttpProtocolFactory,
    HttpResponse,
    UpgradeFactory,
    WireOptions,
    _headers_dict,
    _request,
    peername,
    set_nodelay,
)

_TEXT = WSMsgType.TEXT
_CONTINUATION = WSMsgType.CONTINUATION
_BINARY = WSMsgType.BINARY
_CLOSE = WSMsgType.CLOSE
_PING = WSMsgType.PING
_PONG = WSMsgType.PONG
_RESERVED_BITS = "reserved bits set without a negotiated extension (RFC 6455 §5.2)"
_NO_LINGER = frozenset({int(CloseCode.NORMAL_CLOSURE), int(CloseCode.GOING_AWAY)})
"""Close codes sent without a lingering close: a normal close or shutdown, where the peer is not failing."""


class _NoTraceLogger(logging.Logger):
    """The logger picows gets: its level never reads below DEBUG, whatever the application configures.

    picows logs raw handshake bytes (the ``Authorization: Bearer`` header, the ``auth.<token>`` subprotocol) and raw
    frames at its trace level 9. Its per-connection child loggers take their level from this one, so trace stays off
    and no token reaches a log; DEBUG and above follow the normal hierarchy (the parent's effective level).
    """

    @property
    def level(self) -> int:
        own = int(self.__dict__.get("_own_level", logging.NOTSET))
        if own:
            return max(own, logging.DEBUG)
        parent = self.parent
        inherited = parent.getEffectiveLevel() if parent is not None else logging.WARNING
        return max(inherited, logging.DEBUG)

    @level.setter
    def level(self, value: int) -> None:
        self.__dict__["_own_level"] = value
        self.__dict__.get("_cache", {}).clear()


def _picows_logger(side: str) -> logging.Logger:
    """``tradingmcp.transport.ws.picows.<side>``: a :class:`_NoTraceLogger` under our package logger."""
    logger = _NoTraceLogger(f"tradingmcp.transport.ws.picows.{side}")
    logger.parent = logging.getLogger("tradingmcp.transport.ws")
    return logger


_SERVER_LOG = _picows_logger("server")
_CLIENT_LOG = _picows_logger("client")


class _PicowsConnection(Connection):
    __slots__ = ("_t", "_under", "aborted", "close_timeout_s")

    def __init__(self, transport: WSTransport, subprotocol: str | None) -> None:
        self._t = transport
        self._under: Any = transport.underlying_transport
        self.subprotocol = subprotocol
        self.remote = peername(self._under)
        self.writing_paused = False
        self.close_timeout_s = 20.0
        self.aborted = False  # dropped without a close handshake: no lingering close after that

    def send_text(self, data: bytes) -> None:
        self._t.send(_TEXT, data)

    def close(self, code: int = CloseCode.NORMAL_CLOSURE, reason: str = "") -> None:
        if self._t.is_disconnected:
            return
        if not self._t.is_close_frame_sent:
            self._t.send_close(WSCloseCode(int(code)), reason.encode()[:123])
        self._t.disconnect()
        # a graceful disconnect first flushes the write buffer, which never ends if the peer stopped reading
        asyncio.get_running_loop().call_later(self.close_timeout_s, self.abort)

    def abort(self) -> None:
        """Drop the TCP connection now (no flush, no lingering close)."""
        if not self._t.is_disconnected:
            self.aborted = True
            self._t.disconnect(False)

    def write_buffer_size(self) -> int:
        return int(self._under.get_write_buffer_size())

    @property
    def closed(self) -> bool:  # closing or closed, as in the websockets backend
        return bool(self._t.is_disconnected or self._t.is_close_frame_sent)


_CLOSING: Any = Fragments(0)
"""``_Listener.frags`` once the connection failed: data frames are ignored until the peer's close frame arrives."""


class _Listener(WSListener):
    """Adapts picows callbacks to a FrameHandler; enforces the message size limit, and text-only unless the client
    connection was opened with a binary sink (``on_binary``)."""

    def __init__(
        self,
        handler: FrameHandler,
        options: WireOptions,
        subprotocol: str | None,
        lingering: set[_Lingering] | None = None,
        on_binary: BinarySink | None = None,
    ) -> None:
        self.handler = handler
        self.options = options
        self.subprotocol = subprotocol
        self.lingering = lingering  # server side: where lingering closes are kept (None: the client never lingers)
        self.on_binary = on_binary
        self.conn: _PicowsConnection | None = None
        self.frags: Fragments | None = None  # a fragmented message in progress, or _CLOSING

    def on_ws_connected(self, transport: WSTransport) -> None:
        if self.subprotocol is None and transport.is_client_side:
            self.subprotocol = transport.response.headers.get("Sec-WebSocket-Protocol")
        conn = _PicowsConnection(transport, self.subprotocol)
        conn.close_timeout_s = self.options.ping_timeout_s
        under = transport.underlying_transport
        set_nodelay(under)
        under.set_write_buffer_limits(high=self.options.write_high_bytes, low=self.options.write_low_bytes)
        self.conn = conn
        self.handler.on_open(conn)

    def is_user_specific_pong(self, frame: WSFrame) -> bool:
        """The pong picows waits for after its keepalive ping; one with reserved bits goes to on_ws_frame (1002)."""
        return frame.msg_type is _PONG and not (frame.rsv1 or frame.rsv2 or frame.rsv3)

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.rsv1 or frame.rsv2 or frame.rsv3:
            self._reserved_bits(transport, frame)
            return
        mt = frame.msg_type
        if mt is _TEXT:
            if self.frags is not None:  # RFC 6455 §5.4: a new message may not start inside a fragmented one
                if self.frags is not _CLOSING:
                    self._close(transport, CloseCode.PROTOCOL_ERROR, "text frame inside a fragmented message")
                return
            if frame.fin:
                self.handler.on_text(frame.get_payload_as_memoryview())
                return
            self.frags = Fragments(self.options.max_message_bytes)
            self.frags.add(frame.get_payload_as_bytes())
        elif mt is _CONTINUATION:
            frags = self.frags
            if frags is _CLOSING:
                return
            if frags is None:  # out of order (or the rest of a refused binary message, already closed with 1003)
                self._close(transport, CloseCode.PROTOCOL_ERROR, "continuation frame without a message start")
                return
            if not frags.add(frame.get_payload_as_bytes()):
                self._close(transport, CloseCode.MESSAGE_TOO_BIG, "message too big")
                return
            if frame.fin:
                self.frags = None
                if frags.binary and self.on_binary is not None:
                    self.on_binary(frags.take())
                else:
                    self.handler.on_text(frags.take())
        elif mt is _BINARY:
            if self.frags is _CLOSING:
                return
            if self.on_binary is None:
                self._close(transport, CloseCode.UNSUPPORTED_DATA, "binary frames are not supported; send JSON text")
                return
            if self.frags is not None:
                self._close(transport, CloseCode.PROTOCOL_ERROR, "binary frame inside a fragmented message")
                return
            if frame.fin:
                self.on_binary(frame.get_payload_as_memoryview())
                return
            self.frags = Fragments(self.options.max_message_bytes, binary=True)
            self.frags.add(frame.get_payload_as_bytes())
        elif mt is _CLOSE:
            if not transport.is_close_frame_sent:
                transport.send_close(frame.get_close_code(), frame.get_close_message())
            transport.disconnect()
        elif mt is _PING and not transport.is_close_frame_sent:  # picows' auto-pong is off: it would skip the checks
            transport.send_pong(frame.get_payload_as_bytes())

    def _reserved_bits(self, transport: WSTransport, frame: WSFrame) -> None:
        """A frame with RSV1/RSV2/RSV3 set: no extension was negotiated, so fail the connection with 1002."""
        if frame.msg_type is _CLOSE:  # the peer is closing anyway: answer 1002 and go
            if not transport.is_close_frame_sent:
                transport.send_close(WSCloseCode.PROTOCOL_ERROR, _RESERVED_BITS.encode())
            transport.disconnect()
        elif self.frags is not _CLOSING:
            self._close(transport, CloseCode.PROTOCOL_ERROR, _RESERVED_BITS)

    def _close(self, transport: WSTransport, code: CloseCode, reason: str) -> None:
        """Fail the connection (RFC 6455 §7.1.7) without losing the close code.

        Closing a socket that still has unread data makes the kernel send a TCP reset, which can destroy our close
        frame before the peer reads it (a client still sending a big fragmented message saw no 1009). So: send the
        close frame, ignore every further data frame, and disconnect when the peer's close frame arrives, or after
        ``close_timeout_s`` if it never does.
        """
        self.frags = _CLOSING
        if not transport.is_close_frame_sent:
            transport.send_close(WSCloseCode(int(code)), reason.encode())
        loop = asyncio.get_running_loop()
        if self.conn is not None:
            loop.call_later(self.conn.close_timeout_s, self.conn.abort)
        else:
            loop.call_later(self.options.ping_timeout_s, transport.disconnect, False)

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        code, reason = int(CloseCode.ABNORMAL_CLOSURE), ""
        hs = transport.close_handshake
        info = None if hs is None else (hs.recv or hs.sent)
        if info is not None:
            code, reason = int(info.code.value), info.reason
        if (
            self.lingering is not None
            and hs is not None
            and hs.recv is None
            and hs.sent is not None
            and int(hs.sent.code.value) not in _NO_LINGER
            and not (self.conn is not None and self.conn.aborted)
        ):
            # we failed the connection (picows' own checks included: an oversize frame, a bad opcode...) and the
            # peer has not answered: it may still be sending, so read on for a while before the socket closes
            _Lingering.start(transport.underlying_transport, self.options, self.lingering)
        self.handler.on_close(code, reason)

    def pause_writing(self) -> None:
        if self.conn is not None:
            self.conn.writing_paused = True

    def resume_writing(self) -> None:
        if self.conn is not None:
            self.conn.writing_paused = False
            self.handler.on_writable()


_DISCARD = bytearray(64 << 10)
"""Where a lingering close reads the bytes it throws away (shared: the loop runs one callback at a time)."""


class _Lingering:
    """A lingering close: after picows let go of a failed connection, keep reading (and discarding) its input for a
    while, so the close frame already sent reaches a peer that is still sending.

    Closing a socket that has unread input makes the kernel answer with a TCP reset, and a reset makes the peer drop
    whatever it had not read yet, our close frame included (RFC 6455 §7.1.1 wants the close frame seen first).
    picows disconnects shortly after its own protocol errors (an oversize frame, a bad opcode), so this holds a
    duplicate of the socket descriptor taken while picows still has it open: the socket outlives picows' close, sends
    its FIN (``shutdown(SHUT_WR)``: after the close frame) and is read until the peer's EOF or error, at most
    ``WireOptions.discard_max_bytes`` (then it is held unread) and at most ``ping_timeout_s`` (then it is closed).
    """

    __slots__ = ("left", "loop", "registry", "sock", "timer")

    def __init__(self, sock: socket.socket, max_bytes: int, timeout_s: float, registry: set[_Lingering]) -> None:
        self.sock = sock
        self.left = max_bytes
        self.registry = registry
        self.loop = asyncio.get_running_loop()
        self.loop.add_reader(sock.fileno(), self._readable)
        self.timer = self.loop.call_later(timeout_s, self.finish)
        registry.add(self)

    @classmethod
    def start(cls, under: Any, options: WireOptions, registry: set[_Lingering]) -> None:
        """Linger on ``under``'s socket when it is still open (asyncio/aiofastnet transports only: their socket
        object reports a closed descriptor as -1, so a reused descriptor number is never taken for ours);
        ``registry`` holds it until it ends (the server's :meth:`_Server.close` ends those left)."""
        sock = under.get_extra_info("socket") if under is not None else None
        if not isinstance(sock, TransportSocket) or sock.fileno() < 0:
            return
        try:
            dup = sock.dup()
        except OSError:  # out of descriptors: fall back to the plain close
            return
        try:
            dup.setblocking(False)
            dup.shutdown(socket.SHUT_WR)
            cls(dup, options.discard_max_bytes, options.ping_timeout_s, registry)
        except OSError:  # the peer is already gone
            dup.close()

    def _readable(self) -> None:
        try:
            n = self.sock.recv_into(_DISCARD, min(len(_DISCARD), self.left))
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self.finish()
            return
        if n == 0:  # the peer closed its side: done
            self.finish()
            return
        self.left -= n
        if self.left <= 0:  # read enough: hold the socket unread until the deadline
            self.loop.remove_reader(self.sock.fileno())

    def finish(self) -> None:
        self.registry.discard(self)
        if self.sock.fileno() < 0:
            return
        self.timer.cancel()
        self.loop.remove_reader(self.sock.fileno())
        self.sock.close()


class _Server:
    def __init__(self, server: Any, lingering: set[_Lingering]) -> None:
        self._server = server
        self._port = int(server.sockets[0].getsockname()[1])  # still known after close()
        self._lingering = lingering

    @property
    def port(self) -> int:
        return self._port

    async def close(self) -> None:
        # Stop listening only. The server's wait_closed() would also wait for every live connection to drop, which
        # deadlocks a graceful shutdown that drains and closes those connections afterwards (McpServer.stop).
        self._server.close()
        for lingering in list(self._lingering):  # closes already sent: nobody waits for their peers any more
            lingering.finish()


def _http(resp: HttpResponse) -> Any:
    headers = [("Content-Type", resp.content_type), *resp.headers]
    if resp.status >= 400:
        return WSUpgradeResponse.create_error_response(resp.status, resp.body or None, headers)
    return WSUpgradeResponse.create_ok_response(resp.body, headers)


def _reply_timeout(options: WireOptions) -> float:
    """picows asserts reply timeout <= idle timeout (an AssertionError per connection otherwise): cap it."""
    if options.ping_interval_s > 0:
        return min(options.ping_timeout_s, options.ping_interval_s)
    return options.ping_timeout_s


async def serve(
    factory: UpgradeFactory,
    host: str,
    port: int,
    ssl: ssl_module.SSLContext | None,
    options: WireOptions,
    http: HttpProtocolFactory | None = None,
) -> _Server:
    lingering: set[_Lingering] = set()

    def listener_factory(request: Any) -> Any:
        path = request.path.decode("latin-1")
        decision = factory(_request(path, _headers_dict(request.headers.items())))
        if isinstance(decision, HttpResponse):
            return picows.WSUpgradeResponseWithListener(_http(decision), None)
        assert isinstance(decision, Accept)
        extra = {"Sec-WebSocket-Protocol": decision.subprotocol} if decision.subprotocol else None
        listener = _Listener(decision.handler, options, decision.subprotocol, lingering)
        return picows.WSUpgradeResponseWithListener(WSUpgradeResponse.create_101_response(extra), listener)

    ping = options.ping_interval_s > 0
    if http is None:
        server = await picows.ws_create_server(
            listener_factory,
            host,
            port,
            ssl=ssl,
            websocket_handshake_timeout=options.open_timeout_s,
            enable_auto_ping=ping,
            auto_ping_idle_timeout=options.ping_interval_s if ping else 20,
            auto_ping_reply_timeout=_reply_timeout(options),
            enable_auto_pong=False,  # _Listener answers pings after checking their reserved bits
            max_frame_size=options.max_message_bytes,
            logger_name=_SERVER_LOG,
        )
        return _Server(server, lingering)

    def ws_protocol() -> Any:
        # what picows.ws_create_server builds per connection, with the same settings as above
        return WSProtocol(
            None,  # host+port (client side only)
            None,  # path (client side only)
            False,  # is_client_side
            listener_factory,
            _SERVER_LOG,
            True,  # disconnect_on_exception
            options.open_timeout_s,
            ping,
            options.ping_interval_s if ping else 20,
            _reply_timeout(options),
            picows.WSAutoPingStrategy.PING_WHEN_IDLE,
            False,  # enable_auto_pong: _Listener answers pings after checking their reserved bits
            options.max_message_bytes,
            None,  # extra headers (client side only)
            16 * 1024,  # initial read buffer, picows' default
        )

    def front() -> _Front:
        return _Front(ws_protocol, http, options)

    server = await _create_server(front, host, port, ssl)
    return _Server(server, lingering)


async def _create_server(
    factory: Callable[[], asyncio.BaseProtocol], host: str, port: int, ssl: ssl_module.SSLContext | None
) -> Any:
    """Listen with aiofastnet's transports when it is installed (as picows does), else the loop's own."""
    loop = asyncio.get_running_loop()
    try:
        import aiofastnet
    except ImportError:  # pragma: no cover - picows installs it
        return await loop.create_server(factory, host, port, ssl=ssl)
    return await aiofastnet.create_server(loop, factory, host, port, ssl=ssl)


_HEAD_END = b"\r\n\r\n"


class _Front(asyncio.Protocol):
    """The first protocol of a connection on a port shared by WebSocket and plain HTTP.

    It reads the first request head (at most ``WireOptions.max_head_bytes``, within ``open_timeout_s``; a slower or
    larger one is answered 431/408 and closed), then hands the connection over for good: a ``GET`` with ``Upgrade:
    websocket`` to picows' own protocol (``set_protocol``, ``connection_made``, the bytes read so far replayed through
    its buffer), anything else to the HTTP protocol (``data_received`` with those bytes). After the handoff this object
    is out of the path: every later byte goes straight to the protocol that took the connection.
    """

    __slots__ = ("buf", "http", "options", "timer", "transport", "ws")

    def __init__(self, ws: Callable[[], Any], http: HttpProtocolFactory, options: WireOptions) -> None:
        self.ws = ws
        self.http = http
        self.options = options
        self.buf = bytearray()
        self.transport: Any = None
        self.timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.timer = asyncio.get_running_loop().call_later(self.options.open_timeout_s, self._too_slow)

    def data_received(self, data: bytes) -> None:
        buf = self.buf
        start = max(0, len(buf) - 3)
        buf += data
        end = buf.find(_HEAD_END, start)
        if end < 0:
            if len(buf) > self.options.max_head_bytes:
                self._refuse(431, b"Request Header Fields Too Large")
            return
        if end + 4 > self.options.max_head_bytes:
            self._refuse(431, b"Request Header Fields Too Large")
            return
        self._hand_over(is_ws_upgrade(bytes(buf[:end])))

    def _hand_over(self, upgrade: bool) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        transport, data = self.transport, bytes(self.buf)
        self.buf = bytearray()
        if upgrade:
            proto = self.ws()
            transport.set_protocol(proto)
            proto.connection_made(transport)
            _feed_buffered(proto, data)
        else:
            proto = self.http()
            transport.set_protocol(proto)
            proto.connection_made(transport)
            proto.data_received(data)

    def _refuse(self, status: int, reason: bytes) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        body = reason + b"\n"
        self.transport.write(
            b"HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: %d\r\n"
            b"Connection: close\r\n\r\n%s" % (status, reason, len(body), body)
        )
        self.transport.close()

    def _too_slow(self) -> None:
        self.timer = None
        if not self.transport.is_closing():
            self._refuse(408, b"Request Timeout")

    def eof_received(self) -> bool:
        return False  # a peer that hangs up before its head ends: close

    def connection_lost(self, exc: Exception | None) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None


def is_ws_upgrade(head: bytes) -> bool:
    """True when an HTTP request ``head`` (request line and headers, without the blank line) is a ``GET`` asking for
    ``Upgrade: websocket``."""
    if not head.startswith(b"GET "):
        return False
    for line in head.split(b"\r\n")[1:]:
        name, sep, value = line.partition(b":")
        if sep and name.strip().lower() == b"upgrade":
            return any(tok.strip().lower() == b"websocket" for tok in value.split(b","))
    return False


def _feed_buffered(proto: Any, data: bytes) -> None:
    """Replay ``data`` into a buffered protocol (``get_buffer``/``buffer_updated``), as a transport would."""
    view = memoryview(data)
    while view:
        buf = proto.get_buffer(len(view))
        n = min(len(buf), len(view))
        buf[:n] = view[:n]
        proto.buffer_updated(n)
        view = view[n:]


async def connect(
    url: str,
    handler: FrameHandler,
    subprotocols: tuple[str, ...],
    headers: dict[str, str],
    ssl: ssl_module.SSLContext | None,
    options: WireOptions,
    on_binary: BinarySink | None = None,
) -> Connection:
    extra = dict(headers)
    if subprotocols:
        extra["Sec-WebSocket-Protocol"] = ", ".join(subprotocols)
    ping = options.ping_interval_s > 0
    try:
        _transport, listener = await picows.ws_connect(
            lambda: _Listener(handler, options, None, on_binary=on_binary),
            url,
            ssl_context=ssl,
            websocket_handshake_timeout=options.open_timeout_s,
            enable_auto_ping=ping,
            auto_ping_idle_timeout=options.ping_interval_s if ping else 10,
            auto_ping_reply_timeout=_reply_timeout(options),
            enable_auto_pong=False,  # _Listener answers pings after checking their reserved bits
            max_frame_size=options.max_message_bytes,
            extra_headers=extra,
            logger_name=_CLIENT_LOG,
        )
    except picows.WSHandshakeError as exc:
        status = int(exc.response.status) if exc.response is not None else 0
        raise HandshakeRejected(status, exc.raw_body or b"") from None
    except picows.WSError as exc:
        raise ConnectionError(str(exc)) from None
    if not isinstance(listener, _Listener) or listener.conn is None:
        # picows returns (transport, None) when the peer hung up during the upgrade (e.g. ws:// to a TLS port)
        raise ConnectionError(f"connection to {url} closed during the WebSocket handshake")
    return listener.conn
