"""``tradingmcp demo``: the whole path on real recorded data, end to end, on loopback.

simulator (replaying ``../shared/data/binance/recorded``: BTCUSDT + ETHUSDT) → python-binance adapter → MCP server over
wss (dev CA, bearer token) → the client library, which subscribes to trades, book tickers and the local order book,
calls the market-data tools, and prints what arrived. Exits non-zero if any stream stayed silent or any call failed.

The reference trading bot (issue 5) replaces the client part of this demo when it lands.
"""

from __future__ import annotations

import asyncio
import math
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from tradingmcp.client.session import McpClient, connect
from tradingmcp.server.builtin import register_builtin_tools
from tradingmcp.server.mcp.registry import McpApp
from tradingmcp.server.mcp.streams import StreamHub
from tradingmcp.server.wsserver import McpServer, ServerConfig
from tradingmcp.stack import ExchangeOptions, ExchangeStack
from tradingmcp.transport.auth import TokenStore, new_token
from tradingmcp.transport.tls import client_ssl_context, server_ssl_context, write_dev_certs

SYMBOLS = ("BTCUSDT", "ETHUSDT")


@dataclass(frozen=True)
class DemoOptions:
    duration_s: float = 60.0
    speed: float = 11.0  # 10.8 recorded minutes in ~1 minute
    data_dir: Path | None = None
    synthetic: bool = False


async def _watch(client: McpClient, duration_s: float, counts: Counter[str], seq_gaps: Counter[str]) -> None:
    last_seq: dict[str, int] = {}
    last_print = time.monotonic()
    end = time.monotonic() + duration_s
    prices: dict[str, str] = {}
    while time.monotonic() < end:
        for note in client.drain_notifications():
            if note.method != "notifications/tradingmcp/stream":
                continue
            key, seq = note.params["stream"], note.params["seq"]
            counts[key] += 1
            if key in last_seq and seq != last_seq[key] + 1:
                seq_gaps[key] += seq - last_seq[key] - 1
            last_seq[key] = seq
            if key.startswith("trades:"):
                prices[note.params["data"]["symbol"]] = note.params["data"]["price"]
        if time.monotonic() - last_print >= 2.0:
            last_print = time.monotonic()
            px = "  ".join(f"{s} {p}" for s, p in sorted(prices.items()))
            print(f"  [{end - last_print:5.1f}s left] {sum(counts.values()):7d} pushes  last trades: {px}", flush=True)
        await asyncio.sleep(0.05)


async def run_demo(opts: DemoOptions) -> int:
    """Run the demo; returns the exit status (0 when every stream delivered and every call succeeded)."""
    certs = Path(tempfile.mkdtemp(prefix="tradingmcp-demo-"))
    write_dev_certs(certs)
    token = new_token()
    app, hub = McpApp(), StreamHub()
    register_builtin_tools(app, hub)
    stack = await ExchangeStack.start(
        app, hub, ExchangeOptions(speed=opts.speed, loop=False, data_dir=opts.data_dir, synthetic=opts.synthetic)
    )
    print(stack.banner, flush=True)
    server = McpServer(
        app,
        ServerConfig(
            port=0, ssl=server_ssl_context(certs / "server.pem"), tokens=TokenStore({token: ("demo", ["read"])})
        ),
        streams=hub,
    )
    status = 0
    try:
        await server.start()
        print(f"MCP server: {server.url} (TLS with a fresh dev CA, bearer token, scope read)", flush=True)
        client = await connect(server.url, token=token, ssl=client_ssl_context(certs / "ca.pem"))
        keys = [f"{k}:binance:{s}" for s in SYMBOLS for k in ("trades", "book_ticker", "book")]
        for key in keys:
            await client.subscribe(key)
        print(f"subscribed: {', '.join(keys)}", flush=True)
        counts: Counter[str] = Counter()
        gaps: Counter[str] = Counter()
        await _watch(client, opts.duration_s, counts, gaps)
        for sym in SYMBOLS:
            tick = (await client.call_tool("get_ticker", {"symbol": sym}))["structuredContent"]
            book = (await client.call_tool("get_order_book", {"symbol": sym, "limit": 5}))["structuredContent"]
            print(f"{sym}: last {tick['price']}  bid {tick['bid']} / ask {tick['ask']}  "
                  f"book({book['source']}) mid {book.get('mid')} spread {book.get('spread')}")  # fmt: skip
        print("pushes per stream (seq gaps = messages conflated while behind):")
        for key in keys:
            print(f"  {key:32s} {counts[key]:7d}  gaps {gaps[key]}")
            if counts[key] == 0:
                status = 1
        await client.close()
    except Exception as exc:  # the demo reports any failure and exits non-zero
        print(f"demo failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        status = 1
    finally:
        await server.stop()
        await stack.close()
    print("demo OK" if status == 0 else "demo FAILED", flush=True)
    return status


def speed_for(duration_s: float, recording_s: float = 650.0) -> float:
    """Replay speed that fits the recording into ``duration_s``."""
    return max(1.0, math.ceil(recording_s / max(1.0, duration_s)))
