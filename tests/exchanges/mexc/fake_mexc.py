"""A small MEXC-shaped exchange on 127.0.0.1 for the adapter tests (until the simulator gains its MEXC face).

One aiohttp app serves both faces on real sockets:

* REST ``/api/v3/...``: signatures checked with our verifier; public bodies from the real MEXC samples; orders,
  balances and listenKeys kept in memory; fault injection per endpoint (``faults``);
* WebSocket ``/ws`` (``?listenKey=`` for the private topics): JSON control (SUBSCRIPTION / UNSUBSCRIPTION / PING,
  at most 30 topics per connection, acks echo the topics) and binary protobuf pushes built with ``encode``.

The BTCUSDT market is the real Binance recording (REST snapshot + ``@depth@100ms`` diffs, bookTickers, trades)
re-encoded as MEXC pushes (``U``/``u`` → fromVersion/toVersion); the REST depth answers the fake's current book.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gzip
import itertools
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
from aiohttp import WSMsgType, web

from tradingmcp.data import binance_recordings
from tradingmcp.server.exchanges.mexc import codec, control, encode, signing
from tradingmcp.server.exchanges.models import Trade

KEY, SECRET = "mx0-fake-key", "fake-secret-0123456789"
RECORDED = "BTCUSDT"
ZERO = Decimal(0)


def now_ms() -> int:
    return time.time_ns() // 1_000_000


# --------------------------------------------------------------------------------------------------- market


class RecordedMarket:
    """BTCUSDT from the real Binance recording, from its REST snapshot on, as MEXC pushes.

    Attributes:
        bids/asks: the current book (price → qty); version: the last diff's ``u`` (MEXC toVersion).
        last_price: the last trade price.
    """

    def __init__(self, root: Path, max_lines: int) -> None:
        self.bids: dict[Decimal, Decimal] = {}
        self.asks: dict[Decimal, Decimal] = {}
        self.version = 0
        self.last_price = Decimal("61837.63")
        self.records: list[dict[str, Any]] = []
        self.best_at: dict[int, tuple[tuple[Decimal, Decimal], tuple[Decimal, Decimal]]] = {}
        """version → (best bid, best ask) as (price, qty), for every version pushed."""
        early: list[dict[str, Any]] = []
        for rec in _lines(root, max_lines):
            if "lastUpdateId" in rec:
                self._load(rec)
                for diff in early:
                    if diff["u"] > self.version:
                        self.apply(diff)
            elif not self.version:
                if rec["stream"].endswith("@depth@100ms"):
                    early.append(rec["data"])
            else:
                self.records.append(rec)
        assert self.version, "the recording has no snapshot"

    def _load(self, snap: dict[str, Any]) -> None:
        self.bids = {Decimal(p): Decimal(q) for p, q in snap["bids"]}
        self.asks = {Decimal(p): Decimal(q) for p, q in snap["asks"]}
        self.version = int(snap["lastUpdateId"])

    def apply(self, diff: dict[str, Any]) -> None:
        for side, rows in ((self.bids, diff["b"]), (self.asks, diff["a"])):
            for p, q in rows:
                price, qty = Decimal(p), Decimal(q)
                if qty == 0:
                    side.pop(price, None)
                else:
                    side[price] = qty
        self.version = int(diff["u"])

    def top(self, n: int) -> tuple[list[tuple[Decimal, Decimal]], list[tuple[Decimal, Decimal]]]:
        bids = sorted(self.bids.items(), key=lambda kv: -kv[0])[:n]
        asks = sorted(self.asks.items())[:n]
        return bids, asks

    def pushes(self) -> Iterator[tuple[str, bytes, bool]]:
        """``(topic, frame, is_depth)`` for each record, applying depth diffs to the book as they go out."""
        for rec in self.records:
            data, stream = rec["data"], rec["stream"]
            t = int(data.get("E") or data.get("T") or now_ms())
            if stream.endswith("@depth@100ms"):
                if int(data["u"]) <= self.version:
                    continue
                self.apply(data)
                best_bid, best_ask = max(self.bids), min(self.asks)
                self.best_at[self.version] = ((best_bid, self.bids[best_bid]), (best_ask, self.asks[best_ask]))
                frame = encode.encode_aggre_depth(
                    RECORDED, bids=data["b"], asks=data["a"], from_version=int(data["U"]),
                    to_version=int(data["u"]), send_time_ms=t,
                )  # fmt: skip
                yield control.aggre_depth_topic(RECORDED), frame, True
            elif stream.endswith("@bookTicker"):
                frame = encode.encode_aggre_book_ticker(
                    RECORDED, bid=data["b"], bid_qty=data["B"], ask=data["a"], ask_qty=data["A"],
                    send_time_ms=now_ms(), version=int(data["u"]),
                )  # fmt: skip
                yield control.aggre_book_ticker_topic(RECORDED), frame, False
            elif stream.endswith("@trade"):
                self.last_price = Decimal(data["p"])
                trade = Trade(RECORDED, int(data["t"]), Decimal(data["p"]), Decimal(data["q"]), int(data["T"]),
                              bool(data["m"]))  # fmt: skip
                yield (
                    control.aggre_deals_topic(RECORDED),
                    encode.encode_aggre_deals(RECORDED, [trade], send_time_ms=t),
                    False,
                )


@functools.cache
def _lines(root: Path, max_lines: int) -> tuple[dict[str, Any], ...]:
    """The first ``max_lines`` records of the first BTCUSDT day (parsed once per test session; never mutated)."""
    with gzip.open(binance_recordings(RECORDED, root)[0], "rb") as fh:
        return tuple(orjson.loads(line.partition(b" ")[2]) for line in itertools.islice(fh, max_lines))


# --------------------------------------------------------------------------------------------------- account


@dataclass
class FakeOrder:
    order_id: str
    client_id: str
    symbol: str
    side: str
    type: str
    price: Decimal
    qty: Decimal
    quote_qty: Decimal
    time_ms: int
    executed: Decimal = ZERO
    cum_quote: Decimal = ZERO
    status: str = "NEW"
    update_ms: int = 0

    def row(self) -> dict[str, Any]:
        return {
            "symbol": self.symbol, "orderId": self.order_id, "orderListId": -1, "clientOrderId": self.client_id,
            "price": str(self.price), "origQty": str(self.qty), "executedQty": str(self.executed),
            "cummulativeQuoteQty": str(self.cum_quote), "status": self.status, "timeInForce": None,
            "type": self.type, "side": self.side, "stopPrice": None, "time": self.time_ms,
            "updateTime": self.update_ms or self.time_ms, "isWorking": True, "origQuoteOrderQty": str(self.quote_qty),
        }  # fmt: skip


_STATUS_CODES = {"NEW": 1, "FILLED": 2, "PARTIALLY_FILLED": 3, "CANCELED": 4, "PARTIALLY_CANCELED": 5}


@dataclass
class _Client:
    ws: web.WebSocketResponse
    listen_key: str | None
    topics: set[str] = field(default_factory=set)
    pings: int = 0


@dataclass
class FakeMexc:
    """The fake exchange. Tests read ``calls``, ``clients``, ``orders``; steer with ``faults``, ``cut``, ``fill``."""

    data_dir: Path
    rest_bodies: dict[str, Any]
    misc: dict[str, Any]
    symbol_entries: list[dict[str, Any]]
    max_lines: int = 8_000
    pace_s: float = 0.001
    hang_s: float = 1.0
    drop_depth: set[int] = field(default_factory=set)
    """Indices (0-based) of depth pushes not sent (lost packets: the client must see a gap)."""
    deal_first: bool = False
    url: str = ""
    calls: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    faults: dict[str, list[str]] = field(default_factory=dict)
    clients: list[_Client] = field(default_factory=list)
    orders: dict[str, FakeOrder] = field(default_factory=dict)
    balances: dict[str, list[Decimal]] = field(default_factory=dict)
    listen_keys: set[str] = field(default_factory=set)
    connections_opened: int = 0
    replay_done: asyncio.Event = field(default_factory=asyncio.Event)
    sent_depth: int = 0

    def __post_init__(self) -> None:
        self.market = RecordedMarket(self.data_dir, self.max_lines)
        self.balances = {"USDT": [Decimal(10_000), ZERO], "BTC": [Decimal(1), ZERO]}
        self._ids = itertools.count(1)
        self._replay: asyncio.Task[None] | None = None

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/ws", self.ws_handler)
        app.router.add_route("*", "/api/v3/{tail:.*}", self.rest_handler)
        return app

    # --- replay --------------------------------------------------------------------------------------------------
    async def _run_replay(self) -> None:
        for topic, frame, is_depth in self.market.pushes():
            if not (is_depth and self.sent_depth in self.drop_depth):
                await self.broadcast(topic, frame)
            if is_depth:
                self.sent_depth += 1
                await asyncio.sleep(self.pace_s)
            else:
                await asyncio.sleep(0)
        self.replay_done.set()

    async def broadcast(self, topic: str, frame: bytes) -> None:
        for client in list(self.clients):
            if topic in client.topics and not client.ws.closed:
                with contextlib.suppress(ConnectionError):
                    await client.ws.send_bytes(frame)

    async def cut(self) -> None:
        """Close every WebSocket connection (code 1001, as a server restart would)."""
        for client in list(self.clients):
            await client.ws.close(code=1001, message=b"going away")

    async def stop(self) -> None:
        if self._replay is not None:
            self._replay.cancel()

    # --- WebSocket -----------------------------------------------------------------------------------------------
    async def ws_handler(self, request: web.Request) -> web.StreamResponse:
        key = request.query.get("listenKey")
        if key is not None and key not in self.listen_keys:
            return web.json_response({"code": 730706, "msg": "listenKey not exist"}, status=401)
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.connections_opened += 1
        client = _Client(ws, key)
        self.clients.append(client)
        try:
            async for msg in ws:
                if msg.type is WSMsgType.TEXT:
                    await self._control(client, msg.data)
        finally:
            self.clients.remove(client)
        return ws

    async def _control(self, client: _Client, text: str) -> None:
        req = control.parse_request(text)
        if req.method == "PING":
            client.pings += 1
            await client.ws.send_str(control.reply("PONG"))
            return
        topics = list(req.params)
        if req.method == "UNSUBSCRIPTION":
            client.topics -= set(topics)
            await client.ws.send_str(control.reply(",".join(topics)))
            return
        private = [t for t in topics if t.startswith("spot@private.")]
        if (private and client.listen_key is None) or len(client.topics | set(topics)) > 30:
            await client.ws.send_str(
                control.reply(f"Not Subscribed successfully! [{','.join(topics)}].  Reason： Blocked! ")
            )
            return
        client.topics |= set(topics)
        await client.ws.send_str(control.reply(",".join(topics)))
        if self._replay is None and any(t.endswith("@" + RECORDED) for t in topics):
            self._replay = asyncio.get_running_loop().create_task(self._run_replay())

    async def push_private(self, frame: bytes) -> None:
        topic = codec.decode_push(frame).channel
        for client in list(self.clients):
            if client.listen_key in self.listen_keys and topic in client.topics:
                await client.ws.send_bytes(frame)

    # --- REST ----------------------------------------------------------------------------------------------------
    async def rest_handler(self, request: web.Request) -> web.StreamResponse:
        path = "/" + request.match_info["tail"]
        endpoint = f"{request.method} {path}"
        if path in PUBLIC:
            params = dict(request.query)
        else:
            result = signing.verify(
                SECRET, request.rel_url.raw_query_string, (await request.read()).decode(), server_time_ms=now_ms(),
                api_key=request.headers.get("X-MEXC-APIKEY"), expected_api_key=KEY,
            )  # fmt: skip
            if not result.ok:
                return web.json_response({"code": result.code, "msg": result.msg}, status=400)
            assert result.params is not None
            params = result.params
        self.calls.append((request.method, path, params))
        fault = self.faults.get(endpoint, [None]).pop(0) if self.faults.get(endpoint) else None
        if fault == "503_before":
            return web.json_response({"code": 503, "msg": "service busy"}, status=503)
        try:
            status, body = await self.answer(request.method, path, params)
        except KeyError as exc:
            return web.json_response({"code": 700004, "msg": f"missing {exc}"}, status=400)
        if fault == "503_after":
            return web.json_response({"code": 503, "msg": "service busy"}, status=503)
        if fault == "hang_after":
            await asyncio.sleep(self.hang_s)
        return web.json_response(body, status=status)

    async def answer(self, method: str, path: str, p: dict[str, str]) -> tuple[int, Any]:
        r, m = self.rest_bodies, self.misc
        if (method, path) == ("GET", "/ping"):
            return 200, {}
        if (method, path) == ("GET", "/time"):
            return 200, {"serverTime": now_ms()}
        if (method, path) == ("GET", "/exchangeInfo"):
            return 200, {"timezone": "CST", "serverTime": now_ms(), "symbols": self.symbol_entries}
        if (method, path) == ("GET", "/depth"):
            if p["symbol"] != RECORDED:
                return 200, {"lastUpdateId": 1, "bids": [], "asks": [], "timestamp": now_ms()}
            bids, asks = self.market.top(int(p.get("limit", 100)))
            rows = {"bids": [[str(a), str(b)] for a, b in bids], "asks": [[str(a), str(b)] for a, b in asks]}
            return 200, {"lastUpdateId": self.market.version, **rows, "timestamp": now_ms()}
        if (method, path) == ("GET", "/trades"):
            return 200, m["rest.GET /api/v3/trades?symbol=ETHUSDT"]
        if (method, path) == ("GET", "/klines"):
            return 200, r["GET /api/v3/klines?symbol=BTCUSDT&interval=60m&limit=1"]
        if (method, path) == ("GET", "/ticker/24hr"):
            return 200, r["GET /api/v3/ticker/24hr?symbol=BTCUSDT"]
        if (method, path) == ("GET", "/ticker/price"):
            return 200, {"symbol": p["symbol"], "price": str(self.market.last_price)}
        if (method, path) == ("GET", "/ticker/bookTicker"):
            (bid, bq), (ask, aq) = self.market.top(1)[0][0], self.market.top(1)[1][0]
            return 200, {"symbol": p["symbol"], "bidPrice": str(bid), "bidQty": str(bq), "askPrice": str(ask),
                         "askQty": str(aq)}  # fmt: skip
        if (method, path) == ("GET", "/account"):
            rows = [{"asset": a, "free": str(f), "locked": str(lk)} for a, (f, lk) in self.balances.items()]
            return 200, {"canTrade": True, "accountType": "SPOT", "permissions": ["SPOT"], "balances": rows}
        if path == "/userDataStream":
            return self._listen_key(method, p)
        return await self._orders(method, path, p)

    def _listen_key(self, method: str, p: dict[str, str]) -> tuple[int, Any]:
        if method == "POST":
            key = f"lk{next(self._ids)}"
            self.listen_keys.add(key)
            return 200, {"listenKey": key}
        key = p["listenKey"]
        if key not in self.listen_keys:
            return 400, {"code": 730706, "msg": "listenKey not exist"}
        if method == "DELETE":
            self.listen_keys.discard(key)
        return 200, {"listenKey": key}

    def _find(self, p: dict[str, str]) -> FakeOrder | None:
        if "orderId" in p:
            return self.orders.get(p["orderId"])
        return next((o for o in self.orders.values() if o.client_id == p.get("origClientOrderId")), None)

    async def _orders(self, method: str, path: str, p: dict[str, str]) -> tuple[int, Any]:
        unknown = (400, {"code": -2013, "msg": "Order does not exist."})
        if (method, path) == ("POST", "/order"):
            return await self._place(p)
        if (method, path) == ("POST", "/order/test"):
            return 200, {}
        if (method, path) == ("GET", "/order"):
            found = self._find(p)
            return (200, found.row()) if found else unknown
        if (method, path) == ("DELETE", "/order"):
            found = self._find(p)
            if found is None or found.status not in ("NEW", "PARTIALLY_FILLED"):
                return 400, {"code": -2011, "msg": "Unknown order sent."}
            await self._cancel(found)
            return 200, {**found.row(), "origClientOrderId": found.client_id}
        if (method, path) == ("DELETE", "/openOrders"):
            open_ = [
                o for o in self.orders.values() if o.symbol == p["symbol"] and o.status in ("NEW", "PARTIALLY_FILLED")
            ]
            for o in open_:
                await self._cancel(o)
            return 200, [o.row() for o in open_]
        if (method, path) == ("GET", "/openOrders"):
            return 200, [o.row() for o in self.orders.values() if o.status in ("NEW", "PARTIALLY_FILLED")]
        if (method, path) == ("GET", "/allOrders"):
            return 200, [o.row() for o in self.orders.values() if o.symbol == p["symbol"]]
        if (method, path) == ("GET", "/myTrades"):
            return 200, r_my_trades(self.rest_bodies)
        return 404, {"code": 404, "msg": f"no {method} {path}"}

    async def _place(self, p: dict[str, str]) -> tuple[int, Any]:
        if any(o.client_id == p["newClientOrderId"] for o in self.orders.values()):
            return 400, {"code": 30001, "msg": "Duplicate clientOrderId"}
        if p["symbol"] not in {e["symbol"] for e in self.symbol_entries}:
            return 400, {"code": 10007, "msg": "bad symbol"}
        oid = f"C02__{next(self._ids)}"
        price = Decimal(p.get("price", "0"))
        order = FakeOrder(oid, p["newClientOrderId"], p["symbol"], p["side"], p["type"], price,
                          Decimal(p.get("quantity", "0")), Decimal(p.get("quoteOrderQty", "0")), now_ms())  # fmt: skip
        self.orders[oid] = order
        body = {"symbol": order.symbol, "orderId": oid, "orderListId": -1, "price": p.get("price", "0"),
                "origQty": p.get("quantity", "0"), "type": order.type, "side": order.side, "transactTime": order.time_ms}  # fmt: skip
        if order.type == "MARKET":
            qty = order.qty or (order.quote_qty / self.market.last_price).quantize(Decimal("0.000001"))
            order.qty = order.qty or qty
            await self.fill(oid, qty, self.market.last_price)
        else:
            await self._push_order(order, None)
        return 200, body

    async def _cancel(self, order: FakeOrder) -> None:
        order.status = "PARTIALLY_CANCELED" if order.executed else "CANCELED"
        order.update_ms = now_ms()
        await self._push_order(order, None)

    async def fill(self, order_id: str, qty: Decimal, price: Decimal | None = None) -> None:
        """Fill ``qty`` of an order (at its price, or ``price``): private order + deal + account pushes."""
        order = self.orders[order_id]
        px = price if price is not None else order.price
        order.executed += qty
        order.cum_quote += qty * px
        order.status = "FILLED" if order.executed >= order.qty else "PARTIALLY_FILLED"
        order.update_ms = now_ms()
        sign = 1 if order.side == "BUY" else -1
        self.balances["BTC"][0] += sign * qty
        self.balances["USDT"][0] -= sign * qty * px
        deal = encode.encode_private_deal(
            order.symbol, price=px, quantity=qty, amount=qty * px, trade_type=1 if sign > 0 else 2, is_maker=False,
            trade_id=str(next(self._ids)), order_id=order.order_id, client_order_id=order.client_id,
            fee_amount="0", fee_currency="USDT", time_ms=now_ms(), send_time_ms=now_ms(),
        )  # fmt: skip
        if self.deal_first:
            await self.push_private(deal)
            await self._push_order(order, qty)
        else:
            await self._push_order(order, qty)
            await self.push_private(deal)
        for asset, change in (("BTC", sign * qty), ("USDT", -sign * qty * px)):
            free, locked = self.balances[asset]
            await self.push_private(
                encode.encode_private_account(
                    asset=asset,
                    balance=free,
                    balance_change=change,
                    frozen=locked,
                    frozen_change=0,
                    change_type="ENTRUST",
                    time_ms=now_ms(),
                    send_time_ms=now_ms(),
                )
            )

    async def _push_order(self, order: FakeOrder, last_qty: Decimal | None) -> None:
        type_code = codec.ORDER_TYPE_CODES[order.type]
        avg = order.cum_quote / order.executed if order.executed else ZERO
        await self.push_private(
            encode.encode_private_order(
                order.symbol, order_id=order.order_id, client_order_id=order.client_id, price=order.price,
                quantity=order.qty, amount=order.qty * order.price, avg_price=avg, order_type=type_code,
                trade_type=1 if order.side == "BUY" else 2, status=_STATUS_CODES[order.status],
                cumulative_quantity=order.executed, cumulative_amount=order.cum_quote,
                remain_quantity=order.qty - order.executed, remain_amount=ZERO, create_time_ms=order.time_ms,
                send_time_ms=now_ms(), last_deal_quantity=last_qty,
            )
        )  # fmt: skip


def r_my_trades(rest_bodies: dict[str, Any]) -> Any:
    return rest_bodies["GET /api/v3/myTrades (ATLASUSDT, private)"]


PUBLIC = {"/ping", "/time", "/exchangeInfo", "/depth", "/trades", "/aggTrades", "/klines", "/ticker/24hr",
          "/ticker/price", "/ticker/bookTicker"}  # fmt: skip
