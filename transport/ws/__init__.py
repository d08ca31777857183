"""The WebSocket wire: the only package that imports a WebSocket library (picows in ``_picows``, websockets in
``_websockets``).

Upper layers see three small shapes and never a library type or exception:

* :class:`FrameHandler`: callbacks for one connection: ``on_open``, ``on_text`` (one whole UTF-8 message), ``on_close``,
  ``on_writable`` (the write buffer fell below its low watermark); a client handler that also has ``on_binary`` (a
  :class:`BinaryFrameHandler`, for exchange feeds that push binary frames) receives whole binary messages.
* :class:`Connection`: ``send_text(bytes)`` (non-blocking), ``close(code, reason)``, ``write_buffer_size()``,
  ``writing_paused``, ``subprotocol``, ``remote``.
* server side, an upgrade decision: a factory gets the :class:`UpgradeRequest` (path, headers, offered subprotocols) and
  returns :class:`Accept` (a handler and the chosen subprotocol) or :class:`HttpResponse` (401/403/200 for /health, ...).

Policy enforced here for both backends (draft SEP-1288, RFC 6455): a binary frame from a client closes with 1003
UNSUPPORTED_DATA (so does one reaching a client connection whose handler has no ``on_binary``); a message over
``max_message_bytes`` closes with 1009 MESSAGE_TOO_BIG, and the close frame is sent before the TCP connection ends (the
server reads and discards what the peer still sends, within bounds, instead of resetting); a frame with a reserved bit
(RSV1-3) set closes with 1002 PROTOCOL_ERROR (no extension is negotiated); an upgrade request with a
``Sec-WebSocket-Version`` other than 13 gets HTTP 426 with ``Sec-WebSocket-Version: 13`` (RFC 6455 §4.2.2, §4.4);
heartbeats ping every ``ping_interval_s`` and drop a peer that does not answer within ``ping_timeout_s``.

Backends: ``"picows"`` (default: callbacks on frames, no task per message; the faster here) and ``"websockets"``
(asyncio streams). ``tradingmcp bench`` measures both (``benchmarks/README.md``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl as ssl_module
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable
from urllib.parse import urlsplit

from tradingmcp.transport.closecodes import CloseCode

log = logging.getLogger("tradingmcp.transport.ws")

Backend = Literal["picows", "websockets"]
BACKENDS: tuple[Backend, ...] = ("picows", "websockets")
DEFAULT_BACKEND: Backend = "picows"
TextData = bytes | bytearray | memoryview | str
BinaryData = bytes | bytearray | memoryview
BinarySink = Callable[[BinaryData], None]


class FrameHandler(Protocol):
    """Callbacks for one WebSocket connection (server or client side)."""

    def on_open(self, conn: Connection) -> None:
        """The handshake completed; ``conn`` is usable."""

    def on_text(self, data: TextData) -> None:
        """One complete text message. ``data`` (a memoryview on picows) is valid only during the call."""

    def on_close(self, code: int, reason: str) -> None:
        """The connection is gone (close code received, or 1006 ABNORMAL_CLOSURE when none was)."""

    def on_writable(self) -> None:
        """Writing resumed: the write buffer fell below the low watermark."""


@runtime_checkable
class BinaryFrameHandler(FrameHandler, Protocol):
    """A client-side FrameHandler that also takes binary messages (an exchange feed such as MEXC's protobuf pushes).

    Only :func:`connect` delivers binary messages, and only to a handler of this shape; the server side always closes
    on a binary frame (1003).
    """

    def on_binary(self, data: BinaryData) -> None:
        """One complete binary message. ``data`` (a memoryview on picows) is valid only during the call."""


class Connection:
    """A live WebSocket connection, library-neutral. Subclassed per backend."""

    subprotocol: str | None = None
    remote: str = ""
    writing_paused: bool = False

    def send_text(self, data: bytes) -> None:
        """Queue one text frame (UTF-8 JSON bytes). Never blocks; check ``writing_paused`` for backpressure."""
        raise NotImplementedError

    def close(self, code: int = CloseCode.NORMAL_CLOSURE, reason: str = "") -> None:
        """Send a close frame with ``code`` and disconnect."""
        raise NotImplementedError

    def write_buffer_size(self) -> int:
        """Bytes written but not yet handed to the kernel."""
        raise NotImplementedError

    @property
    def closed(self) -> bool:
        raise NotImplementedError


class HandshakeRejected(ConnectionError):
    """The server answered the upgrade with an HTTP status other than 101 (401 unauthorized, 403 origin, ...)."""

    def __init__(self, status: int, body: bytes = b"") -> None:
        super().__init__(f"WebSocket upgrade rejected with HTTP {status}: {body[:200]!r}")
        self.status = status
        self.body = body


@dataclass(frozen=True, slots=True)
class UpgradeRequest:
    """An HTTP request on the server port, before any upgrade. ``headers`` keys are lower-case."""

    path: str
    headers: Mapping[str, str]
    subprotocols: tuple[str, ...]
    is_upgrade: bool

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass(frozen=True, slots=True)
class Accept:
    """Accept the upgrade with ``handler``; ``subprotocol`` is echoed in ``Sec-WebSocket-Protocol``."""

    handler: FrameHandler
    subprotocol: str | None


@dataclass(frozen=True, slots=True)
class HttpResponse:
    """Answer with plain HTTP and no upgrade (errors, ``/health``, ``/metrics``)."""

    status: int
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()
    content_type: str = "text/plain; charset=utf-8"


UpgradeFactory = Callable[[UpgradeRequest], Accept | HttpResponse]
HttpProtocolFactory = Callable[[], asyncio.Protocol]
"""Builds the protocol that takes a plain-HTTP connection on a shared port (e.g. an aiohttp ``web.Server``): it gets
``connection_made(transport)`` and then ``data_received`` with the bytes read so far, the first request included."""


@dataclass(frozen=True, slots=True)
class WireOptions:
    """Limits and heartbeats, both backends.

    Attributes:
        max_message_bytes: largest accepted message (bytes); larger closes with 1009.
        ping_interval_s: idle time before a ping (s); 0 disables heartbeats.
        ping_timeout_s: time to wait for the pong (s) before dropping the peer (picows caps it at ping_interval_s);
            also the bound on a close handshake with a peer that stopped reading.
        write_high_bytes, write_low_bytes: write-buffer watermarks for ``writing_paused`` / ``on_writable``.
        open_timeout_s: handshake timeout (s).
        max_head_bytes: on a port shared with plain HTTP, the largest first request head (request line and headers,
            bytes) read before the connection is handed over; larger gets HTTP 431. Reading it is bounded by
            ``open_timeout_s`` too (then HTTP 408).
        discard_max_bytes: after the server failed a connection (1009, 1002, ...) and the peer keeps sending, the
            most it reads and throws away (bytes) so its close frame is read before the TCP connection ends; then it
            stops reading and closes after ``ping_timeout_s``. The picows backend applies it; websockets discards
            until its close timeout (``ping_timeout_s``).
    """

    max_message_bytes: int = 1 << 20
    ping_interval_s: float = 20.0
    ping_timeout_s: float = 20.0
    write_high_bytes: int = 1 << 20
    write_low_bytes: int = 256 << 10
    open_timeout_s: float = 10.0
    discard_max_bytes: int = 128 << 20
    max_head_bytes: int = 32 << 10


def parse_subprotocols(value: str | None) -> tuple[str, ...]:
    """``Sec-WebSocket-Protocol`` header value → tokens in offered order."""
    if not value:
        return ()
    return tuple(p.strip() for p in value.split(",") if p.strip())


def _headers_dict(items: Iterable[tuple[str, str]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for k, v in items:
        key = k.lower()
        out[key] = f"{out[key]}, {v}" if key in out else v
    return out


def _request(path: str, headers: dict[str, str]) -> UpgradeRequest:
    upgrade = headers.get("upgrade", "").lower() == "websocket"
    return UpgradeRequest(path, headers, parse_subprotocols(headers.get("sec-websocket-protocol")), upgrade)


WS_VERSION = "13"
"""The only WebSocket protocol version there is (RFC 6455); older drafts (8 = hybi-08 ...) are refused."""


def version_refusal(req: UpgradeRequest) -> HttpResponse | None:
    """HTTP 426 with ``Sec-WebSocket-Version: 13`` for an upgrade request of another (or no) version, else None
    (RFC 6455 §4.2.2 item 4: the server answers with the versions it understands)."""
    if not req.is_upgrade:
        return None
    version = req.header("sec-websocket-version")
    if version is not None and version.strip() == WS_VERSION:
        return None
    return HttpResponse(
        426,
        b"Upgrade Required: this server speaks WebSocket version 13 (RFC 6455)\n",
        (("Sec-WebSocket-Version", WS_VERSION),),
    )


def _checked(factory: UpgradeFactory) -> UpgradeFactory:
    """``factory`` behind the transport's own handshake checks (the version), shared by both backends."""

    def decide(req: UpgradeRequest) -> Accept | HttpResponse:
        refusal = version_refusal(req)
        return refusal if refusal is not None else factory(req)

    return decide


class WsServer(Protocol):
    """A listening server: ``port`` and ``close()``."""

    @property
    def port(self) -> int: ...

    async def close(self) -> None:
        """Stop listening (the port is free when this returns); live connections stay open for the caller to close."""


async def serve(
    factory: UpgradeFactory,
    host: str,
    port: int,
    *,
    ssl: ssl_module.SSLContext | None = None,
    backend: Backend = DEFAULT_BACKEND,
    options: WireOptions = WireOptions(),
    http: HttpProtocolFactory | None = None,
) -> WsServer:
    """Listen for WebSocket upgrades on ``host:port`` (0 = ephemeral).

    Without ``http``, ``factory`` also answers plain HTTP GETs (:class:`HttpResponse`). With ``http`` (picows only),
    the port is shared: each connection's first request head is read (bounded by ``options.max_head_bytes`` and
    ``options.open_timeout_s``), a ``GET`` with ``Upgrade: websocket`` goes to the WebSocket backend as if it had
    accepted the connection itself, and every other connection to the protocol ``http()`` builds (any method, keep-alive,
    TLS included: the handoff happens above the TLS layer). After the handoff no extra layer sits in the path.

    Raises:
        OSError: the address is in use or not bindable.
        ValueError: unknown backend, or ``http`` with the ``websockets`` backend (the shared port needs picows).
    """
    if backend == "picows":
        from tradingmcp.transport.ws import _picows

        return await _picows.serve(_checked(factory), host, port, ssl, options, http)
    if backend == "websockets":
        if http is not None:
            raise ValueError(
                "the HTTP face on the WebSocket port needs the picows backend; the websockets backend serves "
                "WebSocket (and GET /health) only"
            )
        from tradingmcp.transport.ws import _websockets

        return await _websockets.serve(_checked(factory), host, port, ssl, options)
    raise ValueError(f"unknown WebSocket backend {backend!r}; choose one of {BACKENDS}")


async def connect(
    url: str,
    handler: FrameHandler,
    *,
    subprotocols: tuple[str, ...] = ("mcp",),
    headers: Mapping[str, str] | None = None,
    ssl: ssl_module.SSLContext | None = None,
    backend: Backend = DEFAULT_BACKEND,
    options: WireOptions = WireOptions(),
) -> Connection:
    """Open a client connection to ``ws://`` or ``wss://`` ``url``; ``handler.on_open`` runs before this returns.

    A ``handler`` with an ``on_binary`` method (:class:`BinaryFrameHandler`) receives binary messages there; for any
    other handler a binary message closes the connection with 1003 UNSUPPORTED_DATA.

    Raises:
        HandshakeRejected: the server answered with a non-101 HTTP status (e.g. 401).
        ConnectionError: refused, reset, or the server did not select one of ``subprotocols``.
        TimeoutError: the handshake took longer than ``options.open_timeout_s``.
    """
    scheme = urlsplit(url).scheme
    if scheme not in ("ws", "wss"):
        raise ValueError(f"not a WebSocket URL: {url!r}")
    if scheme == "wss" and ssl is None:
        ssl = ssl_module.create_default_context()
    on_binary = handler.on_binary if isinstance(handler, BinaryFrameHandler) else None
    if backend == "picows":
        from tradingmcp.transport.ws import _picows

        conn: Connection = await _picows.connect(
            url, handler, subprotocols, dict(headers or {}), ssl, options, on_binary
        )
    elif backend == "websockets":
        from tradingmcp.transport.ws import _websockets

        conn = await _websockets.connect(url, handler, subprotocols, dict(headers or {}), ssl, options, on_binary)
    else:
        raise ValueError(f"unknown WebSocket backend {backend!r}; choose one of {BACKENDS}")
    if subprotocols and conn.subprotocol not in subprotocols:
        conn.close(CloseCode.PROTOCOL_ERROR, "no subprotocol selected")
        raise ConnectionError(f"server selected subprotocol {conn.subprotocol!r}, expected one of {subprotocols}")
    return conn


@dataclass(slots=True)
class Fragments:
    """Reassembles a fragmented message within ``limit`` bytes (shared by the backends); ``binary`` says which kind."""

    limit: int
    parts: list[bytes] = field(default_factory=list)
    size: int = 0
    binary: bool = False

    def add(self, chunk: bytes) -> bool:
        """Append a fragment; False when the message would exceed the limit."""
        self.size += len(chunk)
        if self.size > self.limit:
            self.parts.clear()
            return False
        self.parts.append(chunk)
        return True

    def take(self) -> bytes:
        data = b"".join(self.parts)
        self.parts.clear()
        self.size = 0
        return data


def set_nodelay(transport: Any) -> None:
    """TCP_NODELAY on the socket under ``transport`` (small JSON frames must not wait for Nagle)."""
    import socket

    sock = transport.get_extra_info("socket") if transport is not None else None
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def peername(transport: Any) -> str:
    """``host:port`` of the peer, or "" when unknown."""
    peer = transport.get_extra_info("peername") if transport is not None else None
    if isinstance(peer, tuple) and len(peer) >= 2:
        return f"{peer[0]}:{peer[1]}"
    return ""


__all__ = [
    "BACKENDS",
    "DEFAULT_BACKEND",
    "Accept",
    "Backend",
    "BinaryData",
    "BinaryFrameHandler",
    "Connection",
    "FrameHandler",
    "HandshakeRejected",
    "HttpProtocolFactory",
    "HttpResponse",
    "TextData",
    "UpgradeFactory",
    "UpgradeRequest",
    "WireOptions",
    "WsServer",
    "connect",
    "serve",
]
