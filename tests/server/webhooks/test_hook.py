"""``POST /webhooks/tradingview`` on a real server: the simulator on the recording, every tool family, the routes of
``app/serve.py`` (``http_routes``) on loopback, a real aiohttp client posting recorded TradingView alerts, our MCP
client subscribed to the signals stream, the audit log read back from its database."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest

from tradingmcp.app.serve import HTTP_OPEN_PATHS, http_routes
from tradingmcp.app.stack import ExchangeOptions, ExchangeStack
from tradingmcp.client.session import connect
from tradingmcp.server.audit import AuditQuery
from tradingmcp.server.mcp.registry import McpApp
from tradingmcp.server.mcp.streams import StreamHub
from tradingmcp.server.tools.builtin import register_builtin_tools
from tradingmcp.server.tools.toolset import ToolsetConfig
from tradingmcp.server.webhooks.alerts import client_order_id
from tradingmcp.server.webhooks.config import TradingViewConfig
from tradingmcp.server.webhooks.hook import TOOL
from tradingmcp.server.wsserver import McpServer, ServerConfig
from tradingmcp.transport.auth import TokenStore

SECRET = "tv-webhook-secret-9f8e7d6c5b4a"
TOKEN = "reader-token-0123456789abcdef"

# Recorded alerts as TradingView posts them: a strategy's order fill (placeholders substituted) and an indicator's.
STRATEGY_BUY = {
    "secret": SECRET,
    "id": "EMA cross long-2026-12-05T07:31:00Z",
    "ticker": "BTCUSDT",
    "exchange": "BINANCE",
    "action": "buy",
    "contracts": "0.001",
    "price": "97213.57",
    "time": "2026-12-05T07:31:00Z",
}
INDICATOR = {
    "secret": SECRET,
    "id": "rsi-eth-1733383860",
    "ticker": "BINANCE:ETHUSDT",
    "action": "sell",
    "close": 3612.4,
}


@dataclass
class Served:
    base: str
    url: str
    stack: ExchangeStack

    async def post(self, http: aiohttp.ClientSession, body: bytes | dict[str, Any]) -> tuple[int, dict[str, Any]]:
        data = orjson.dumps(body) if isinstance(body, dict) else body
        headers = {"Content-Type": "application/json" if isinstance(body, dict) else "text/plain"}
        async with http.post(f"{self.base}/webhooks/tradingview", data=data, headers=headers) as resp:
            return resp.status, orjson.loads(await resp.read())

    async def audit_rows(self) -> list[dict[str, Any]]:
        audit = self.stack.toolset.audit
        await audit.flush()
        page = await asyncio.to_thread(audit.query, AuditQuery(tool=TOOL, limit=200))
        return list(reversed(page.entries))


@asynccontextmanager
async def serve(data_dir: Path, tmp_path: Path, tradingview: TradingViewConfig) -> AsyncIterator[Served]:
    config = ToolsetConfig(tradingview=tradingview)
    config = replace(config, audit=replace(config.audit, data_dir=tmp_path / "audit"))
    app, hub = McpApp(), StreamHub()
    register_builtin_tools(app, hub)
    stack = await ExchangeStack.start(app, hub, ExchangeOptions(speed=0, loop=False, data_dir=data_dir), config)
    server = McpServer(
        app,
        ServerConfig(port=0, tokens=TokenStore({TOKEN: ("reader", ["read"])})),
        streams=hub,
        routes=http_routes(lambda: stack, hub=hub, tradingview=config.tradingview),
        open_paths=HTTP_OPEN_PATHS,
    )
    try:
        await server.start()
        yield Served(server.url.replace("ws://", "http://").removesuffix("/mcp"), server.url, stack)
    finally:
        await server.stop()
        await stack.close()


async def test_a_signal_alert_reaches_a_subscribed_client_once(data_dir: Path, tmp_path: Path) -> None:
    async with serve(data_dir, tmp_path, TradingViewConfig(secret=SECRET)) as srv:
        client = await connect(srv.url, token=TOKEN)
        try:
            answer = await client.subscribe("signals:tradingview")
            assert not answer.get("isError"), answer
            async with aiohttp.ClientSession() as http:
                assert await srv.post(http, INDICATOR) == (
                    200,
                    {
                        "status": "ok",
                        "action": "signal",
                        "alert_id": "rsi-eth-1733383860",
                        "stream": "signals:tradingview",
                        "seq": 1,
                        "delivered": 1,
                    },
                )
                status, dup = await srv.post(http, INDICATOR)
                assert (status, dup["status"]) == (200, "duplicate")
                async with asyncio.timeout(20):
                    note = await anext(aiter(client.notifications()))
            assert note.method == "notifications/tradingmcp/stream"
            params = note.params
            assert (params["stream"], params["seq"]) == ("signals:tradingview", 1)
            data = params["data"]
            assert (data["source"], data["symbol"], data["side"], data["alert_id"]) == (
                "tradingview",
                "ETHUSDT",
                "SELL",
                "rsi-eth-1733383860",
            )
            assert data["alert"] == {k: v for k, v in INDICATOR.items() if k != "secret"}
            await asyncio.sleep(0.2)
            assert client.drain_notifications() == []  # the duplicate published nothing
        finally:
            await client.close()
        rows = await srv.audit_rows()
        assert [(r["principal"], r["outcome"], r.get("error_code")) for r in rows] == [
            ("tradingview", "ok", None),
            ("tradingview", "ok", "duplicate"),
        ]


async def test_an_order_alert_places_one_order_even_when_posted_again(data_dir: Path, tmp_path: Path) -> None:
    # dedupe_window_s = 0: the repeats pass the duplicate window, so the desk's idempotency alone must hold
    tv = TradingViewConfig(secret=SECRET, action="order", dedupe_window_s=0)
    cid = client_order_id(STRATEGY_BUY["id"])
    async with serve(data_dir, tmp_path, tv) as srv:
        sim = srv.stack.sim
        assert sim is not None
        async with aiohttp.ClientSession() as http:
            first, second = await asyncio.gather(srv.post(http, STRATEGY_BUY), srv.post(http, STRATEGY_BUY))
            third = await srv.post(http, STRATEGY_BUY)
        answers = sorted([first, second, third], key=lambda a: a[1]["duplicate"])
        assert [a[0] for a in answers] == [200, 200, 200], answers
        assert [a[1]["duplicate"] for a in answers] == [False, True, True]
        placed = answers[0][1]["order"]
        assert placed["client_order_id"] == cid and placed["side"] == "BUY" and placed["symbol"] == "BTCUSDT"
        assert placed["type"] == "MARKET" and placed["orig_qty"] == "0.001"
        assert {a[1]["order"]["order_id"] for a in answers} == {placed["order_id"]}
        assert [o for o in sim.engine.orders.values() if o.client_order_id == cid] != []
        assert len([o for o in sim.engine.orders.values() if o.client_order_id == cid]) == 1
        assert len(sim.engine.orders) == 1
        rows = await srv.audit_rows()
        assert [r["client_order_id"] for r in rows] == [cid] * 3 and {r["outcome"] for r in rows} == {"ok"}


async def test_an_order_alert_goes_through_the_safety_checks(data_dir: Path, tmp_path: Path) -> None:
    tv = TradingViewConfig(secret=SECRET, action="order")
    big = {**STRATEGY_BUY, "id": "too-big", "contracts": "5"}  # ~485,000 USDT: over max_order_notional
    async with serve(data_dir, tmp_path, tv) as srv:
        sim = srv.stack.sim
        assert sim is not None
        async with aiohttp.ClientSession() as http:
            status, answer = await srv.post(http, big)
            assert status == 422 and answer["error"]["code"].startswith("safety_"), answer
            no_qty = {k: v for k, v in STRATEGY_BUY.items() if k != "contracts"}
            status, answer = await srv.post(http, no_qty)
            assert (
                status == 400 and answer["error"]["code"] == "bad_alert" and "contracts" in answer["error"]["message"]
            )
        assert len(sim.engine.orders) == 0
        rows = await srv.audit_rows()
        assert [r["outcome"] for r in rows] == ["tool_error", "tool_error"]
        assert rows[0]["error_code"].startswith("safety_") and rows[1]["error_code"] == "bad_alert"


async def test_bad_json_and_bad_secret_are_refused_and_audited_and_the_secret_never_logged(
    data_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with serve(data_dir, tmp_path, TradingViewConfig(secret=SECRET)) as srv:
        async with aiohttp.ClientSession() as http:
            status, answer = await srv.post(http, b"BTCUSDT crossing 97000 " + SECRET.encode())
            assert (status, answer["error"]["code"]) == (400, "bad_json")
            status, answer = await srv.post(http, {**INDICATOR, "secret": SECRET[:-1] + "X"})
            assert (status, answer["error"]["code"]) == (401, "bad_secret")
            status, answer = await srv.post(http, {k: v for k, v in INDICATOR.items() if k != "secret"})
            assert (status, answer["error"]["code"]) == (401, "bad_secret")
            status, answer = await srv.post(http, b'{"secret": "x", "pad": "' + b"x" * 20_000 + b'"}')
            assert (status, answer["error"]["code"]) == (413, "too_large")
            assert (await srv.post(http, INDICATOR))[0] == 200
            async with http.get(f"{srv.base}/webhooks/tradingview") as resp:
                assert resp.status in (404, 405)  # only POST is served
        rows = await srv.audit_rows()
        assert [(r["principal"], r["outcome"], r.get("error_code")) for r in rows] == [
            ("anonymous", "tool_error", "bad_json"),
            ("anonymous", "tool_error", "bad_secret"),
            ("anonymous", "tool_error", "bad_secret"),
            ("anonymous", "tool_error", "too_large"),
            ("tradingview", "ok", None),
        ]
        assert rows[0]["arguments"] == {"body_bytes": len(b"BTCUSDT crossing 97000 " + SECRET.encode())}
        stored = orjson.dumps(rows).decode()
        assert SECRET not in stored and SECRET[:-1] not in stored
    assert "tradingview webhook" in caplog.text and "bad_secret" in caplog.text  # refusals are logged...
    assert SECRET not in caplog.text and SECRET[:-1] not in caplog.text  # ...without the secret, right or wrong


async def test_no_secret_no_route(data_dir: Path, tmp_path: Path) -> None:
    async with serve(data_dir, tmp_path, TradingViewConfig()) as srv, aiohttp.ClientSession() as http:
        status = await _status(http, f"{srv.base}/webhooks/tradingview", orjson.dumps(INDICATOR))
        assert status in (404, 405)


async def _status(http: aiohttp.ClientSession, url: str, body: bytes) -> int:
    async with http.post(url, data=body) as resp:
        return resp.status


async def test_a_flood_from_one_address_is_throttled_not_audited(data_dir: Path, tmp_path: Path) -> None:
    tv = TradingViewConfig(secret=SECRET, rate_per_s=0.01, rate_burst=2)
    async with serve(data_dir, tmp_path, tv) as srv, aiohttp.ClientSession() as http:
        wrong = {**INDICATOR, "secret": "not-the-secret-000000"}
        statuses = [(await srv.post(http, wrong))[0] for _ in range(5)]
        assert statuses == [401, 401, 429, 429, 429]
        async with http.post(f"{srv.base}/webhooks/tradingview", data=orjson.dumps(INDICATOR)) as resp:
            assert resp.status == 429 and int(resp.headers["Retry-After"]) >= 1  # the address, whatever the secret
        rows = await srv.audit_rows()
        assert [r["error_code"] for r in rows] == ["bad_secret", "bad_secret"]


async def test_a_limit_order_alert_needs_a_price(data_dir: Path, tmp_path: Path) -> None:
    tv = TradingViewConfig(secret=SECRET, action="order", order_type="LIMIT", quantity="0.001")
    alert = {k: v for k, v in STRATEGY_BUY.items() if k not in ("price", "contracts")}
    async with serve(data_dir, tmp_path, tv) as srv, aiohttp.ClientSession() as http:
        status, answer = await srv.post(http, alert)
        assert status == 400 and answer["error"]["code"] == "bad_alert" and "'price'" in answer["error"]["message"]
        assert "contracts" not in answer["error"]["message"]  # the configured quantity stands in for it
        assert srv.stack.sim is not None and len(srv.stack.sim.engine.orders) == 0


async def test_a_body_arriving_in_pieces_is_read_whole(data_dir: Path, tmp_path: Path) -> None:
    raw = orjson.dumps(INDICATOR)

    async def pieces() -> AsyncIterator[bytes]:
        for i in range(0, len(raw), 40):
            yield raw[i : i + 40]
            await asyncio.sleep(0.05)

    async with (
        serve(data_dir, tmp_path, TradingViewConfig(secret=SECRET)) as srv,
        aiohttp.ClientSession() as http,
        http.post(f"{srv.base}/webhooks/tradingview", data=pieces()) as resp,  # chunked, no length
    ):
        assert resp.status == 200, await resp.text()
        assert (await resp.json())["alert_id"] == INDICATOR["id"]
