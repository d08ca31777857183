"""The CCXT venue end to end: ``serve --exchange ccxt:binance`` (ccxt's Binance class, sandbox mode, redirected to
the simulator's Binance face) and ``ccxt:mexc`` (ccxt's MEXC class on the MEXC face), driven through the real MCP
server with our client: market data, push streams, balances, orders (limit resting and cancelled, market filled),
a safety refusal before anything is sent, idempotency by client order id, the unknown-outcome lookup, and the venue's
capabilities in ``get_server_status``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tradingmcp.app.stack import ExchangeOptions, ExchangeStack
from tradingmcp.client.session import McpClient, connect
from tradingmcp.server.mcp.registry import McpApp
from tradingmcp.server.mcp.streams import STREAM_METHOD, StreamHub
from tradingmcp.server.tools.toolset import ToolsetConfig
from tradingmcp.server.trading import SafetyConfig
from tradingmcp.server.wsserver import McpServer, ServerConfig
from tradingmcp.sim.app import SimConfig, Simulator
from tradingmcp.sim.config import BINANCE_SIM_KEY, BINANCE_SIM_SECRET
from tradingmcp.sim.mexc import MEXC_SIM_KEY, MEXC_SIM_SECRET, MexcFace
from tradingmcp.transport.auth import TokenStore

from ..support import TRADER_TOKEN, ToolServer, start_tool_server, stepped_tool_server
from ..support import structured as ok

D = Decimal
pytestmark = pytest.mark.data
WAIT_S = 30
SAFETY = SafetyConfig(max_order_notional=Decimal(500), confirm_above_notional=Decimal(200))


@pytest.fixture(params=["binance", "mexc"])
async def venue(request: pytest.FixtureRequest, data_dir: Path, tmp_path: Path) -> AsyncIterator[ToolServer]:
    """The whole server on ``ccxt:<id>`` (manual-step simulator, 2000 events replayed)."""
    config = ToolsetConfig(safety=SAFETY)
    async with stepped_tool_server(data_dir, tmp_path, f"ccxt:{request.param}", config) as srv:
        yield srv


@asynccontextmanager
async def await_client(url: str) -> AsyncIterator[McpClient]:
    c = await connect(url, token=TRADER_TOKEN)
    try:
        yield c
    finally:
        await c.close()


def name_of(srv: ToolServer) -> str:
    return srv.venues.get().name


def placements(srv: ToolServer) -> list[dict[str, str]]:
    """Placements that reached the simulator (either face), newest last."""
    face = srv.stack.mexc_face
    if face is not None:
        return [p for method, path, p in face.rest.calls if (method, path) == ("POST", "/order")]
    return [p for method, path, p in srv.sim.state.calls if (method, path) == ("POST", "order")]


async def pushes(srv: ToolServer, c: Any, key: str, n: int) -> list[dict[str, Any]]:
    """Step the market until ``n`` pushes of ``key`` arrived; their data."""
    got: list[dict[str, Any]] = []
    async with asyncio.timeout(WAIT_S):
        while len(got) < n:
            srv.sim.step(200)
            await asyncio.sleep(0.02)
            got += [x.params["data"] for x in c.drain_notifications()
                    if x.method == STREAM_METHOD and x.params["stream"] == key]  # fmt: skip
    return got


async def test_the_venue_is_ccxt_on_the_simulator(venue: ToolServer) -> None:
    name = name_of(venue)
    assert [(v.name, v.mode) for v in venue.venues] == [(name, "sim")]
    assert f"exchange: {name} through ccxt, on the SIMULATOR" in venue.stack.banner
    async with asyncio.timeout(WAIT_S), venue.client() as c:
        status = ok(await c.call_tool("get_server_status", {"exchange": name}))
        (entry,) = status["venues"]
        caps = entry["capabilities"]
        assert caps["via"] == "ccxt" and {"LIMIT", "MARKET", "LIMIT_MAKER"} <= set(caps["order_types"])
        assert {"trades", "book", "book_ticker", "klines"} <= set(caps["streams"])
        assert caps["account_streams"] == ["orders", "balances"] and caps["sandbox"] is (name == "binance")
        assert status["reachable"] is True


async def test_market_data_matches_the_simulated_book(venue: ToolServer) -> None:
    name = name_of(venue)
    book = venue.sim.markets["BTCUSDT"].book
    best_bid, best_ask = book.best_bid(), book.best_ask()
    assert best_bid is not None and best_ask is not None
    args = {"symbol": "BTCUSDT", "exchange": name}
    async with asyncio.timeout(WAIT_S), venue.client() as c:
        depth = ok(await c.call_tool("get_order_book", {**args, "limit": 5}))
        assert (D(depth["bids"][0][0]), D(depth["asks"][0][0])) == (best_bid[0], best_ask[0])
        ticker = ok(await c.call_tool("get_ticker", args))
        assert ticker["exchange"] == name and D(ticker["bid"]) == best_bid[0] and D(ticker["ask"]) == best_ask[0]
        rules = ok(await c.call_tool("get_symbol_rules", args))
        assert "0.01" in str(rules) and "0.00001" in str(rules)  # tick and step from ccxt's market precision
        trades = ok(await c.call_tool("get_recent_trades", {**args, "limit": 5}))
        assert trades["count"] == 5 and all(D(t["price"]) > 0 for t in trades["trades"])
        klines = ok(await c.call_tool("get_klines", {**args, "interval": "1m", "limit": 2}))
        assert klines["count"] >= 1
        stats = ok(await c.call_tool("get_24h_stats", args))
        assert D(stats["stats"]["last_price"] if "stats" in stats else stats["last_price"]) > 0
        unknown = await c.call_tool("get_ticker", {"symbol": "DOGEUSDT", "exchange": name})
        assert unknown["isError"]


async def test_push_streams_through_ccxt_watch_methods(venue: ToolServer) -> None:
    name = name_of(venue)
    async with venue.client() as c:
        for key in (f"trades:{name}:BTCUSDT", f"book:{name}:BTCUSDT:5", f"book_ticker:{name}:BTCUSDT"):
            await c.subscribe(key)
        trades = await pushes(venue, c, f"trades:{name}:BTCUSDT", 3)
        assert all(t["symbol"] == "BTCUSDT" and D(t["price"]) > 0 for t in trades)
        books = await pushes(venue, c, f"book:{name}:BTCUSDT:5", 2)
        assert all(len(b["bids"]) == 5 and D(b["bids"][0][0]) < D(b["asks"][0][0]) for b in books)
        quotes = await pushes(venue, c, f"book_ticker:{name}:BTCUSDT", 2)
        assert all(D(q["bid"]) <= D(q["ask"]) for q in quotes)


async def test_orders_balances_and_account_events(venue: ToolServer) -> None:
    name = name_of(venue)
    sym = {"symbol": "BTCUSDT", "exchange": name}
    async with asyncio.timeout(WAIT_S), venue.client() as c:
        await c.subscribe(f"orders:{name}")
        tick = ok(await c.call_tool("get_ticker", sym))
        price = str((D(tick["bid"]) * D("0.99")).quantize(D("0.01")))
        limit = {**sym, "side": "BUY", "type": "LIMIT", "quantity": "0.001", "price": price}
        placed = ok(await c.call_tool("place_order", {**limit, "client_order_id": "ccxtTestLimit1"}))
        assert placed["order"]["status"] == "NEW" and placed["order"]["client_order_id"] == "ccxtTestLimit1"
        again = ok(await c.call_tool("place_order", {**limit, "client_order_id": "ccxtTestLimit1"}))
        assert again["duplicate"] is True and again["order"]["order_id"] == placed["order"]["order_id"]
        assert [p["newClientOrderId"] for p in placements(venue)] == ["ccxtTestLimit1"]  # sent once
        listed = ok(await c.call_tool("get_open_orders", sym))
        assert [o["order_id"] for o in listed["orders"]] == [placed["order"]["order_id"]]
        found = ok(await c.call_tool("get_order", {**sym, "client_order_id": "ccxtTestLimit1"}))
        assert found["order"]["order_id"] == placed["order"]["order_id"]
        ok(await c.call_tool("cancel_order", {**sym, "order_id": placed["order"]["order_id"]}))
        assert ok(await c.call_tool("get_open_orders", sym))["orders"] == []

        market = ok(await c.call_tool("place_order", {**sym, "side": "BUY", "type": "MARKET", "quantity": "0.002"}))
        assert market["order"]["status"] == "FILLED" and D(market["order"]["executed_qty"]) == D("0.002")
        balances = ok(await c.call_tool("get_balances", {"exchange": name}))
        btc = next(b for b in balances["balances"] if b["asset"] == "BTC")
        assert D(btc["free"]) == 1 + D("0.002") * D("0.999")  # the taker fee is taken in the asset bought
        oid = market["order"]["order_id"]
        seen: list[dict[str, Any]] = []

        def of_market(e: dict[str, Any]) -> bool:
            return bool(e["order"]["order_id"] == oid)

        # the order's FILLED state and its fill (once, with its fee) arrive on orders:<venue>
        while not (any(of_market(e) and e["order"]["status"] == "FILLED" for e in seen)
                   and any(of_market(e) and e["fill"] for e in seen)):  # fmt: skip
            await asyncio.sleep(0.02)
            seen += [x.params["data"] for x in c.drain_notifications() if x.method == STREAM_METHOD]
        await asyncio.sleep(0.3)
        seen += [x.params["data"] for x in c.drain_notifications() if x.method == STREAM_METHOD]
        fills = [e["fill"] for e in seen if of_market(e) and e["fill"]]
        assert sum(D(f["qty"]) for f in fills) == D("0.002")  # each fill once
        assert sum(D(f["commission"]) for f in fills) == D("0.002") * D("0.001")
        assert any(e["order"]["status"] == "CANCELED" for e in seen)


async def test_safety_refuses_before_sending(venue: ToolServer) -> None:
    name = name_of(venue)
    async with asyncio.timeout(WAIT_S), venue.client() as c:
        big = await c.call_tool("place_order", {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET",
                                                "quantity": "0.01", "exchange": name})  # fmt: skip
        assert big["isError"] and big["structuredContent"]["error"]["code"] == "safety_max_order_notional"
        step = await c.call_tool("place_order", {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET",
                                                 "quantity": "0.0000001", "exchange": name})  # fmt: skip
        assert step["isError"]
        bid = D(ok(await c.call_tool("get_ticker", {"symbol": "BTCUSDT", "exchange": name}))["bid"])
        far = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "quantity": "0.001", "exchange": name,
               "price": str((bid * D("0.9")).quantize(D("0.01")))}  # fmt: skip
        band = await c.call_tool("place_order", far)
        assert band["isError"] and band["structuredContent"]["error"]["code"] == "safety_price_band"
        large = {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.004", "exchange": name}
        unconfirmed = await c.call_tool("place_order", large)  # ~250 USDT: above the confirmation threshold
        assert unconfirmed["isError"] and unconfirmed["structuredContent"]["error"]["code"] == "confirmation_required"
        assert placements(venue) == []  # none reached the exchange
        ok(await c.call_tool("kill_switch", {"reason": "drill", "exchange": name}))
        killed = await c.call_tool("place_order", {**large, "quantity": "0.001"})
        assert killed["isError"] and killed["structuredContent"]["error"]["code"] == "safety_kill_switch"
        assert placements(venue) == []


async def test_an_unknown_outcome_is_looked_up_not_sent_twice(venue: ToolServer) -> None:
    name = name_of(venue)
    face = venue.stack.mexc_face
    if face is not None:
        face.rest.faults["POST /order"] = ["503_after"]  # executed, but the reply is a 503
    else:
        venue.sim.state.faults.lose_order_replies = 1
    async with asyncio.timeout(WAIT_S), venue.client() as c:
        placed = ok(await c.call_tool("place_order", {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET",
                                                      "quantity": "0.001", "client_order_id": "ccxtLost1",
                                                      "exchange": name}))  # fmt: skip
    assert placed["order"]["client_order_id"] == "ccxtLost1" and placed["order"]["status"] == "FILLED"
    assert [p["newClientOrderId"] for p in placements(venue)] == ["ccxtLost1"]  # looked up, not sent again
    if face is None:
        assert venue.sim.state.faults.lose_order_replies == 0  # the fault really fired
    else:
        assert face.rest.faults["POST /order"] == []


async def test_native_venues_list_their_capabilities_too(data_dir: Path, tmp_path: Path) -> None:
    async with start_tool_server(data_dir, tmp_path, exchange="both") as srv, srv.client() as c:
        status = ok(await c.call_tool("get_server_status", {}))
    caps = {v["exchange"]: v["capabilities"] for v in status["venues"]}
    assert caps["binance"]["via"] == "native" and {"STOP_LOSS_LIMIT", "OCO"} <= set(caps["binance"]["order_types"])
    assert "ticker_24h" in caps["binance"]["streams"] and "ticker_24h" not in caps["mexc"]["streams"]
    assert caps["mexc"]["order_types"] == ["LIMIT", "MARKET", "LIMIT_MAKER"]


async def test_an_order_that_surely_did_not_arrive_is_sent_again_once(venue: ToolServer) -> None:
    name = name_of(venue)
    face = venue.stack.mexc_face
    if face is not None:
        face.rest.faults["POST /order"] = ["503_before"]  # a 503 before the engine saw it: not placed
    else:
        venue.sim.state.faults.fail_orders_unplaced = 1
    async with asyncio.timeout(WAIT_S), venue.client() as c:
        placed = ok(await c.call_tool("place_order", {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET",
                                                      "quantity": "0.001", "client_order_id": "ccxtUnplaced1",
                                                      "exchange": name}))  # fmt: skip
        assert placed["order"]["status"] == "FILLED"
        # the lookup said the exchange has no such order, so it was sent again: two sends, one order
        assert [p["newClientOrderId"] for p in placements(venue)] == ["ccxtUnplaced1"] * 2
        orders = ok(await c.call_tool("get_order_history", {"symbol": "BTCUSDT", "exchange": name}))
        assert [o["client_order_id"] for o in orders["orders"]].count("ccxtUnplaced1") == 1


@pytest.mark.parametrize(("exchange_id", "mode"), [("binance", "testnet"), ("mexc", "live")])
async def test_credentials_pick_sandbox_or_live_and_live_orders_need_allow_live(
    exchange_id: str, mode: str, data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With ``CCXT_<ID>_*`` credentials the venue is the exchange through ccxt: Binance in its sandbox (``testnet``),
    MEXC, which has none, ``live`` (here redirected to a standalone simulator, as a proxy would be), whose orders the
    desk refuses without ``allow_live``."""
    sim = Simulator(SimConfig(speed=0, data_dir=data_dir))
    await sim.start()
    face = MexcFace(sim)
    await face.start()
    sim.step(2000)
    prefix = f"CCXT_{exchange_id.upper()}_"
    if exchange_id == "binance":
        env = {"API_KEY": BINANCE_SIM_KEY, "SECRET": BINANCE_SIM_SECRET, "REST_URL": f"http://127.0.0.1:{sim.port}",
               "WS_URL": f"ws://127.0.0.1:{sim.ws_port}"}  # fmt: skip
    else:
        env = {"API_KEY": MEXC_SIM_KEY, "SECRET": MEXC_SIM_SECRET, "REST_URL": face.rest_url,
               "WS_URL": face.ws_url.removesuffix("/ws")}  # fmt: skip
    for name, value in env.items():
        monkeypatch.setenv(prefix + name, value)
    config = ToolsetConfig(audit=replace(ToolsetConfig().audit, data_dir=tmp_path / "audit"))
    app, hub = McpApp(), StreamHub()
    opts = ExchangeOptions(exchange=f"ccxt:{exchange_id}", speed=0, loop=False, data_dir=data_dir)
    stack = await ExchangeStack.start(app, hub, opts, config)
    server = McpServer(
        app, ServerConfig(port=0, tokens=TokenStore({TRADER_TOKEN: ("t", ["read", "trade"])})), streams=hub
    )
    try:
        assert stack.sim is None and [(v.name, v.mode) for v in stack.venues] == [(exchange_id, mode)]
        await server.start()
        async with asyncio.timeout(WAIT_S), await_client(server.url) as c:
            args = {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.001"}
            result = await c.call_tool("place_order", args)
        if mode == "live":
            assert result["isError"] and result["structuredContent"]["error"]["code"] == "safety_live_not_allowed"
            assert [p for m, path, p in face.rest.calls if (m, path) == ("POST", "/order")] == []
        else:
            assert ok(result)["order"]["status"] == "FILLED" and ok(result)["mode"] == "testnet"
    finally:
        await server.stop()
        await stack.close()
        await face.stop()
        await sim.stop()
