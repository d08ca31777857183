"""The REST market data on the MCP server's port, over real HTTP: the whole stack (``tradingmcp serve``'s routes on
the test server, the simulator on the recording, python-binance adapter), aiohttp as the client.

Each status the API documents is produced for real: 200 for every operation, 400 (bad symbol, unknown symbol, bad
interval, bad parameter), 401 and 403 (the port's guard, and the ``read`` scope), 404 (unknown exchange, unknown
path), 429 (the exchange's rate limit, and the guard's per-token rate), 503 (the exchange unreachable, the server
starting); and the reads go through the TTL cache the MCP tools use, counted at the exchange
(:class:`~tests.server.support.RestCounter`).
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tradingmcp.app.serve import HTTP_OPEN_PATHS, http_routes
from tradingmcp.server.mcp.registry import McpApp
from tradingmcp.server.rest.models import GuardErrorResponse
from tradingmcp.server.wsserver import McpServer, ServerConfig
from tradingmcp.sim.weights import RateLimitConfig
from tradingmcp.transport.auth import TokenStore
from tradingmcp.transport.ratelimit import RateLimit

from ..support import (
    AUDIT_ONLY_TOKEN,
    READER_TOKEN,
    TRADER_TOKEN,
    ToolServer,
    ok,
    start_counted_server,
    start_tool_server,
)

AUTH = {"Authorization": f"Bearer {READER_TOKEN}"}


async def get(
    srv: ToolServer, path: str, headers: dict[str, str] | None = None
) -> tuple[int, Any, aiohttp.ClientResponse]:
    """``GET path`` on the server's port: (status, JSON body, response)."""
    async with (
        aiohttp.ClientSession() as http,
        http.get(srv.http_url + path, headers=AUTH if headers is None else headers) as r,
    ):
        assert r.content_type == "application/json", await r.text()
        return r.status, await r.json(), r


async def error(
    srv: ToolServer, path: str, status: int, code: str, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    got, body, _ = await get(srv, path, headers)
    assert (got, body["error"]["code"]) == (status, code), body
    assert body["error"]["status"] == status
    err: dict[str, Any] = body["error"]
    return err


async def test_every_operation_answers_from_the_exchange(tool_server: ToolServer) -> None:
    tool_server.sim.step(2000)
    status, price, _ = await get(tool_server, "/v1/price/binance/btcusdt")
    assert status == 200 and price["symbol"] == "BTCUSDT" and price["exchange"] == "binance"
    assert Decimal("61000") < Decimal(price["price"]) < Decimal("62000")
    assert Decimal(price["bid"]) < Decimal(price["ask"]) and price["source"] in ("stream", "rest")

    status, book, _ = await get(tool_server, "/v1/book/binance/BTCUSDT?depth=3")
    assert status == 200 and book["depth"] == 3 and len(book["bids"]) == len(book["asks"]) == 3
    assert Decimal(book["bids"][0][0]) < Decimal(book["asks"][0][0])
    assert Decimal(book["spread"]) == Decimal(book["asks"][0][0]) - Decimal(book["bids"][0][0])

    status, trades, _ = await get(tool_server, "/v1/trades/binance/ETHUSDT?limit=5")
    assert status == 200 and trades["count"] == 5 == len(trades["trades"])
    assert [t["time_ms"] for t in trades["trades"]] == sorted(t["time_ms"] for t in trades["trades"])
    assert {t["taker_side"] for t in trades["trades"]} <= {"BUY", "SELL"}

    status, ohlcv, _ = await get(tool_server, "/v1/ohlcv/binance/BTCUSDT?interval=1s&limit=3")
    assert status == 200 and ohlcv["interval"] == "1s" and ohlcv["count"] == len(ohlcv["candles"]) == 3
    candle = ohlcv["candles"][0]
    assert Decimal(candle["low"]) <= Decimal(candle["open"]) <= Decimal(candle["high"])
    first = ohlcv["candles"][0]["open_time_ms"]
    status, since, _ = await get(tool_server, f"/v1/ohlcv/binance/BTCUSDT?interval=1s&since={first}&limit=2")
    assert status == 200 and since["candles"][0]["open_time_ms"] == first and since["count"] == 2

    status, symbols, _ = await get(tool_server, "/v1/symbols/binance")
    assert status == 200 and [s["symbol"] for s in symbols["symbols"]] == ["BTCUSDT", "ETHUSDT"]
    assert symbols["symbols"][0]["base_asset"] == "BTC" and symbols["symbols"][0]["is_trading"] is True


async def test_bad_input_is_400_naming_the_parameter(tool_server: ToolServer) -> None:
    err = await error(tool_server, "/v1/price/binance/a%0Ab", 400, "bad_request")
    assert err["field"] == "symbol" and '"a\\nb"' in err["message"]
    err = await error(tool_server, "/v1/price/binance/BTC%26USDT", 400, "bad_request")  # the tools' symbol check
    assert err["field"] == "symbol"
    err = await error(tool_server, "/v1/price/binance/NOPEUSDT", 400, "bad_request")  # not listed by the exchange
    assert err["field"] == "symbol" and "NOPEUSDT" in err["message"]
    err = await error(tool_server, "/v1/ohlcv/binance/BTCUSDT?interval=7m", 400, "bad_request")
    assert err["field"] == "interval" and "1m" in err["message"]  # the venue's own interval rule
    for query in ("depth=0", "depth=101", "depth=abc", "depth=-1", "depth=1&depth=2", "depth=1e3"):
        err = await error(tool_server, f"/v1/book/binance/BTCUSDT?{query}", 400, "bad_request")
        assert err["field"] == "depth", query
    err = await error(tool_server, "/v1/ohlcv/binance/BTCUSDT?since=99999999999999", 400, "bad_request")
    assert err["field"] == "since"


async def test_unknown_exchange_and_path_are_404(tool_server: ToolServer) -> None:
    err = await error(tool_server, "/v1/price/kraken/BTCUSDT", 404, "unknown_exchange")
    assert err["available"] == ["binance"] and "kraken" in err["message"]
    await error(tool_server, "/v1/symbols/BINANCE", 404, "unknown_exchange")  # the documented names, exactly
    err = await error(tool_server, "/v1/prices/binance/BTCUSDT", 404, "not_found")
    assert "/v1/price/{exchange}/{symbol}" in err["message"]


async def test_auth_is_the_guards_and_the_read_scope_is_checked(tool_server: ToolServer) -> None:
    status, body, resp = await get(tool_server, "/v1/price/binance/BTCUSDT", headers={})
    assert status == 401 and resp.headers["WWW-Authenticate"].startswith("Bearer")
    assert body["id"] is None and body["error"]["code"] == -32600  # the guard's answer, as for /mcp
    bad = {"Authorization": "Bearer not-a-token"}
    assert (await get(tool_server, "/v1/price/binance/BTCUSDT", headers=bad))[0] == 401
    err = await error(
        tool_server, "/v1/symbols/binance", 403, "forbidden", {"Authorization": f"Bearer {AUDIT_ONLY_TOKEN}"}
    )
    assert "read" in err["message"]
    status, _, resp = await get(tool_server, "/v1/symbols/binance", headers={"Authorization": f"Bearer {TRADER_TOKEN}"})
    assert status == 200
    assert (
        'scope="read"'
        in (await get(tool_server, "/v1/symbols/binance", {"Authorization": f"Bearer {AUDIT_ONLY_TOKEN}"}))[2].headers[
            "WWW-Authenticate"
        ]
    )


async def test_rest_and_mcp_tools_share_one_cache(data_dir: Path, tmp_path: Path) -> None:
    async with start_counted_server(data_dir, tmp_path) as (srv, rest):
        srv.sim.step(2000)
        async with srv.client(token=READER_TOKEN) as c:
            tool = await ok(c, "get_ticker", {"symbol": "ETHUSDT"})
        assert tool["cached"] is False
        for _ in range(20):
            status, price, _ = await get(srv, "/v1/price/binance/ETHUSDT")
            assert status == 200 and price["cached"] is True and price["price"] == tool["price"]
        for _ in range(20):
            assert (await get(srv, "/v1/book/binance/ETHUSDT?depth=5"))[0] == 200
            assert (await get(srv, "/v1/trades/binance/ETHUSDT"))[0] == 200
            assert (await get(srv, "/v1/ohlcv/binance/ETHUSDT?interval=1m&limit=10"))[0] == 200
        async with srv.client(token=READER_TOKEN) as c:
            await ok(c, "get_order_book", {"symbol": "ETHUSDT", "limit": 50})
        for i in range(20):  # symbols the exchange does not list cost it nothing
            for op in ("price", "book", "trades", "ohlcv"):
                assert (await get(srv, f"/v1/{op}/binance/NOPE{i}USDT"))[0] == 400
        assert rest.count("GET", "v3/ticker/bookTicker") == 1 and rest.count("GET", "v3/ticker/price") == 1
        assert rest.count("GET", "v3/depth") == rest.count("GET", "v3/trades") == rest.count("GET", "v3/klines") == 1
        market = srv.stack.toolset.market.cache
        assert market.misses[("binance", "ticker")] == 1 and market.hits[("binance", "ticker")] == 20
        assert market.hits[("binance", "book")] == 20  # 19 REST reads and the tool's


async def test_the_exchanges_rate_limit_is_429_with_retry_after(data_dir: Path, tmp_path: Path) -> None:
    # a weight budget the start-up spends most of; the adapter raises at once instead of queueing
    limits = RateLimitConfig(weight_limit_1m=60)
    async with start_counted_server(data_dir, tmp_path, sim_limits=limits, max_rate_wait_s=0) as (srv, _rest):
        srv.sim.step(2000)
        statuses = []
        for since in range(30):  # a new klines key each time: each read goes to the exchange (weight 2)
            status, body, resp = await get(srv, f"/v1/ohlcv/binance/BTCUSDT?interval=1m&since={since}")
            statuses.append(status)
            if status == 429:
                assert body["error"]["code"] == "rate_limited" and int(resp.headers["Retry-After"]) >= 1
                break
        assert statuses[-1] == 429 and set(statuses[:-1]) <= {200}, statuses


async def test_an_unreachable_exchange_is_503(data_dir: Path, tmp_path: Path) -> None:
    async with start_counted_server(data_dir, tmp_path) as (srv, rest):
        srv.sim.step(2000)
        assert (await get(srv, "/v1/trades/binance/BTCUSDT"))[0] == 200
        await rest.stop()  # the exchange's REST API is gone: connections are refused
        err = await error(srv, "/v1/trades/binance/ETHUSDT", 503, "exchange_unavailable")
        assert "binance" in err["message"]
        assert (await get(srv, "/v1/trades/binance/BTCUSDT"))[0] == 200  # still cached: served without the exchange


@pytest.mark.parametrize("path", ["/openapi.json", "/docs"])
async def test_the_document_and_the_docs_need_no_token(tool_server: ToolServer, path: str) -> None:
    async with aiohttp.ClientSession() as http, http.get(tool_server.http_url + path) as r:
        assert r.status == 200


async def test_each_venue_by_its_own_rules(data_dir: Path, tmp_path: Path) -> None:
    async with start_tool_server(data_dir, tmp_path, exchange="both") as srv:
        srv.sim.step(2000)
        status, price, _ = await get(srv, "/v1/price/mexc/BTCUSDT")
        assert status == 200 and price["exchange"] == "mexc" and Decimal(price["bid"]) < Decimal(price["ask"])
        assert (await get(srv, "/v1/ohlcv/binance/BTCUSDT?interval=1s&limit=2"))[0] == 200
        err = await error(srv, "/v1/ohlcv/mexc/BTCUSDT?interval=1s", 400, "bad_request")  # MEXC serves no 1s candles
        assert err["field"] == "interval" and "mexc" in err["message"]
        err = await error(srv, "/v1/book/mexc/BTC-USDT", 400, "bad_request")  # a Binance-legal symbol MEXC refuses
        assert err["field"] == "symbol" and "mexc" in err["message"]
        status, symbols, _ = await get(srv, "/v1/symbols/mexc")
        assert status == 200 and "BTCUSDT" in [s["symbol"] for s in symbols["symbols"]]
        err = await error(srv, "/v1/price/kraken/BTCUSDT", 404, "unknown_exchange")
        assert err["available"] == ["binance", "mexc"]


async def test_before_the_exchanges_are_up_every_operation_is_503() -> None:
    server = McpServer(McpApp(), ServerConfig(port=0), routes=http_routes(lambda: None), open_paths=HTTP_OPEN_PATHS)
    await server.start()  # bound, venues not started yet (as serve does before the stack is up)
    try:
        base = server.url.replace("ws://", "http://").removesuffix("/mcp")
        async with aiohttp.ClientSession() as http:
            for path in ("/v1/price/binance/BTCUSDT", "/v1/symbols/binance", "/openapi.json"):
                async with http.get(base + path) as r:
                    body = await r.json()
                    assert (r.status, body["error"]["code"]) == (503, "starting"), (path, body)
    finally:
        await server.stop()


async def test_over_the_per_token_rate_the_guard_answers_429_as_documented() -> None:
    tokens = TokenStore({READER_TOKEN: ("reader", ["read"])})
    config = ServerConfig(port=0, tokens=tokens, rate_limit=RateLimit(per_s=0.5, burst=1))
    server = McpServer(McpApp(), config, routes=http_routes(lambda: None), open_paths=HTTP_OPEN_PATHS)
    await server.start()
    try:
        base = server.url.replace("ws://", "http://").removesuffix("/mcp")
        async with aiohttp.ClientSession(headers=AUTH) as http:
            async with http.get(base + "/v1/symbols/binance") as r:
                assert r.status == 503  # let through: the bucket's one token
            async with http.get(base + "/v1/symbols/binance") as r:
                assert r.status == 429 and int(r.headers["Retry-After"]) >= 1
                GuardErrorResponse.model_validate(await r.json())  # the body the document names for the guard
            async with http.get(base + "/openapi.json") as r:
                assert r.status == 503  # an open path: not counted against the token
    finally:
        await server.stop()
