"""Child-side pieces of the fan-out and idle-memory measurements (each runs in its own spawn process).

* :func:`mcp_fanout_server`: our :class:`McpServer` with a :class:`StreamHub` source ``bench`` and the stream tools; its
  ``publish`` command calls ``StreamHub.publish`` from a timer in the server process.
* :func:`raw_fanout_server`: the reference: a bare picows server that serializes each message once and sends the same
  frame to every connected client (skipping a client whose write buffer is above the high watermark, as our queue
  conflates).
* :func:`receivers`: N lean picows client connections. In ``mcp`` mode each does ``initialize`` →
  ``notifications/initialized`` → ``tools/call subscribe``; in ``raw`` mode it just connects. Both parse every message
  with orjson and take the publisher's ``time.monotonic_ns()`` from ``params.data.t`` (CLOCK_MONOTONIC is shared by the
  processes of one host), so the receiving cost is identical for both servers.

Message (both servers): ``{"jsonrpc": "2.0", "method": "notifications/tradingmcp/stream", "params": {"stream":
"bench:sim:BTCUSDT", "seq": n, "data": {"t": <ns>, "p": "65000.01", "q": "0.00100000", "s": "BTCUSDT"}}}``.
"""

from __future__ import annotations

import asyncio
import socket
import time
from array import array
from collections.abc import Callable
from typing import Any

import orjson

from tradingmcp.benchmarks.procs import Handler
from tradingmcp.benchmarks.servers import HOST, _rss
from tradingmcp.transport.mcpnames import STREAM

STREAM_KEY = "bench:sim:BTCUSDT"
STREAM_METHOD = STREAM
WRITE_HIGH_BYTES = 1 << 20
WRITE_LOW_BYTES = 256 << 10
MAX_SAMPLES = 2_000_000
STALLED_RCVBUF_BYTES = 4096
FLOWING_RCVBUF_BYTES = 1 << 20
"""A stalled receiver's socket receive buffer, and the one it reads with again."""


def trade(now_ns: int) -> dict[str, Any]:
    """The published data: a trade-sized dict carrying the publish time ``t`` (monotonic ns)."""
    return {"t": now_ns, "p": "65000.01", "q": "0.00100000", "s": "BTCUSDT"}


async def publish_window(publish: Callable[[int], int], t0_ns: int, t1_ns: int, interval_s: float) -> dict[str, int]:
    """Call ``publish(now_ns)`` from ``t0_ns`` until ``t1_ns`` (monotonic ns), every ``interval_s`` (0: back to back,
    yielding to the loop between publishes). Returns ``{"published", "sends"}`` (sends = sum of what publish returned).
    """
    await asyncio.sleep(max(0.0, (t0_ns - time.monotonic_ns()) / 1e9))
    published = sends = 0
    step_ns = int(interval_s * 1e9)
    next_ns = t0_ns
    while (now := time.monotonic_ns()) < t1_ns:
        sends += publish(now)
        published += 1
        if step_ns:
            next_ns += step_ns
            await asyncio.sleep(max(0.0, (next_ns - time.monotonic_ns()) / 1e9))
        else:
            await asyncio.sleep(0)
    return {"published": published, "sends": sends}


async def mcp_fanout_server() -> tuple[dict[str, Any], dict[str, Handler]]:
    """Our server with the ``bench`` stream kind; commands ``publish(t0_ns, t1_ns, interval_s)``, ``conns``, ``rss``."""
    from tradingmcp.benchmarks.servers import echo_app
    from tradingmcp.server.mcp.streams import StreamHub, StreamSource
    from tradingmcp.server.tools.subscriptions import register_stream_tools
    from tradingmcp.server.wsserver import McpServer, ServerConfig
    from tradingmcp.transport import ws

    hub = StreamHub()
    hub.add_source(StreamSource("bench", "benchmark trades", start=lambda key: None, stop=lambda key: None))
    app = echo_app()
    register_stream_tools(app, hub)
    config = ServerConfig(host=HOST, port=0, wire=ws.WireOptions(ping_interval_s=0))
    server = await McpServer(app, config, streams=hub).start()

    def publish_one(now_ns: int) -> int:
        return hub.publish(STREAM_KEY, trade(now_ns))

    async def publish(t0_ns: int, t1_ns: int, interval_s: float) -> dict[str, int]:
        return await publish_window(publish_one, t0_ns, t1_ns, interval_s)

    async def conns() -> int:
        return len(server.connections)

    async def subscribers() -> int:
        return hub.subscriber_count(STREAM_KEY)

    async def close() -> None:
        await server.stop()

    handlers: dict[str, Handler] = {
        "publish": publish,
        "conns": conns,
        "subscribers": subscribers,
        "rss": _rss,
        "close": close,
    }
    return {"port": server.port, "url": server.url}, handlers


async def raw_fanout_server() -> tuple[dict[str, Any], dict[str, Handler]]:
    """Bare picows broadcast: one ``orjson.dumps`` per message, the same bytes sent to every client."""
    import picows

    clients: set[Any] = set()
    text = picows.WSMsgType.TEXT

    class Peer(picows.WSListener):
        paused = False
        transport: Any = None

        def on_ws_connected(self, transport: picows.WSTransport) -> None:
            self.transport = transport
            transport.underlying_transport.set_write_buffer_limits(high=WRITE_HIGH_BYTES, low=WRITE_LOW_BYTES)
            clients.add(self)

        def on_ws_frame(self, transport: picows.WSTransport, frame: picows.WSFrame) -> None:
            if frame.msg_type == picows.WSMsgType.CLOSE:
                transport.send_close(frame.get_close_code())
                transport.disconnect()

        def on_ws_disconnected(self, transport: picows.WSTransport) -> None:
            clients.discard(self)

        def pause_writing(self) -> None:
            self.paused = True

        def resume_writing(self) -> None:
            self.paused = False

    server = await picows.ws_create_server(lambda _request: Peer(), HOST, 0)
    seq = 0

    def publish_one(now_ns: int) -> int:
        nonlocal seq
        seq += 1
        payload = orjson.dumps(
            {
                "jsonrpc": "2.0",
                "method": STREAM_METHOD,
                "params": {"stream": STREAM_KEY, "seq": seq, "data": trade(now_ns)},
            }
        )
        n = 0
        for peer in clients:
            if not peer.paused:
                peer.transport.send(text, payload)
                n += 1
        return n

    async def publish(t0_ns: int, t1_ns: int, interval_s: float) -> dict[str, int]:
        return await publish_window(publish_one, t0_ns, t1_ns, interval_s)

    async def conns() -> int:
        return len(clients)

    async def close() -> None:
        server.close()

    handlers: dict[str, Handler] = {
        "publish": publish,
        "conns": conns,
        "subscribers": conns,
        "rss": _rss,
        "close": close,
    }
    port = server.sockets[0].getsockname()[1]
    return {"port": port, "url": f"ws://{HOST}:{port}/"}, handlers


class _Stats:
    """Receive counters of one client process; a window ``[t0, t1]`` (monotonic ns) selects what is measured."""

    def __init__(self) -> None:
        self.t0 = self.t1 = 0
        self.total = 0
        self.in_window = 0
        self.latencies: array[int] = array("q")

    def window(self, t0_ns: int, t1_ns: int) -> None:
        self.t0, self.t1 = t0_ns, t1_ns
        self.total = self.in_window = 0
        self.latencies = array("q")

    def record(self, now_ns: int, sent_ns: int) -> None:
        self.total += 1
        if self.t0 <= now_ns <= self.t1:
            self.in_window += 1
        if self.t0 <= sent_ns <= self.t1 and len(self.latencies) < MAX_SAMPLES:
            self.latencies.append(now_ns - sent_ns)


async def receivers() -> tuple[dict[str, Any], dict[str, Handler]]:
    """A client process holding many lean picows connections; see the module docstring for the commands."""
    import picows

    text = picows.WSMsgType.TEXT
    stats = _Stats()
    live: set[Any] = set()
    loads = orjson.loads
    clock = time.monotonic_ns

    class Receiver(picows.WSListener):
        def __init__(self, mode: str, key: str | None) -> None:
            self.mode = mode
            self.key = key
            self.ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self.gone: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self.transport: Any = None

        def _ready(self, exc: Exception | None = None) -> None:
            if not self.ready.done():
                if exc is None:
                    self.ready.set_result(None)
                else:
                    self.ready.set_exception(exc)

        def on_ws_connected(self, transport: picows.WSTransport) -> None:
            self.transport = transport
            live.add(self)
            if self.mode == "mcp":
                init = {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "bench"}}
                transport.send(text, orjson.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": init}))
            else:
                self._ready()

        def on_ws_frame(self, transport: picows.WSTransport, frame: picows.WSFrame) -> None:
            if frame.msg_type != text:
                if frame.msg_type == picows.WSMsgType.CLOSE:
                    transport.disconnect()
                return
            now = clock()
            msg = loads(frame.get_payload_as_memoryview())
            params = msg.get("params")
            if params is not None and "data" in params:
                stats.record(now, params["data"]["t"])
                return
            rid = msg.get("id")
            if "error" in msg:
                self._ready(RuntimeError(f"server answered {msg['error']}"))
            elif rid == 1:
                transport.send(text, b'{"jsonrpc":"2.0","method":"notifications/initialized"}')
                if self.key is None:
                    self._ready()
                else:
                    call = {"name": "subscribe", "arguments": {"stream": self.key}}
                    transport.send(
                        text, orjson.dumps({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": call})
                    )
            elif rid == 2:
                self._ready()

        def on_ws_disconnected(self, transport: picows.WSTransport) -> None:
            live.discard(self)
            self._ready(ConnectionResetError("disconnected before ready"))
            if not self.gone.done():
                self.gone.set_result(None)

    async def connect(url: str, n: int, mode: str, key: str | None, batch: int = 50) -> int:
        headers = {"Sec-WebSocket-Protocol": "mcp"} if mode == "mcp" else None
        done = 0
        while done < n:
            k = min(batch, n - done)
            pairs = await asyncio.gather(
                *(picows.ws_connect(lambda: Receiver(mode, key), url, extra_headers=headers) for _ in range(k))
            )
            listeners = [listener for _, listener in pairs if isinstance(listener, Receiver)]
            async with asyncio.timeout(30.0):
                await asyncio.gather(*(listener.ready for listener in listeners))
            done += k
        return len(live)

    async def window(t0_ns: int, t1_ns: int) -> None:
        stats.window(t0_ns, t1_ns)

    async def collect() -> dict[str, Any]:
        return {"total": stats.total, "in_window": stats.in_window, "latencies": stats.latencies.tobytes()}

    async def disconnect() -> int:
        peers = list(live)
        for peer in peers:
            peer.transport.send_close(picows.WSCloseCode.OK)
            peer.transport.disconnect()
        if peers:
            async with asyncio.timeout(30.0):
                await asyncio.gather(*(p.gone for p in peers))
        return len(live)

    async def stall() -> int:
        """Stop reading every connection, with a small receive buffer, so the server's writes back up at once as for
        a client that stopped reading."""
        for peer in live:
            under = peer.transport.underlying_transport
            under.pause_reading()
            under.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, STALLED_RCVBUF_BYTES)
        return len(live)

    async def flow() -> int:
        """Read again after :func:`stall`."""
        for peer in live:
            under = peer.transport.underlying_transport
            under.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, FLOWING_RCVBUF_BYTES)
            under.resume_reading()
        return len(live)

    async def close() -> None:
        await disconnect()

    handlers: dict[str, Handler] = {
        "connect": connect,
        "window": window,
        "collect": collect,
        "disconnect": disconnect,
        "stall": stall,
        "flow": flow,
        "close": close,
    }
    return {}, handlers
