"""The simulator's REST face: ``/api/v3/*`` on aiohttp, plus the endpoint bodies the WS API shares.

Follows https://developers.binance.com/docs/binance-spot-api-docs/rest-api (general info, market data, trading and
account endpoints). Every response carries ``X-MBX-USED-WEIGHT-1M``; order endpoints also carry
``X-MBX-ORDER-COUNT-10S`` / ``-1D``. Errors are Binance bodies ``{"code", "msg"}`` with Binance's HTTP status (400
request errors, 401 key errors, 404 unknown path, 409 partial cancelReplace, 429 + ``Retry-After`` rate limit, 418
ban). Weight is charged before the request is looked at, as Binance does.
"""

from __future__ import annotations

import asyncio
import logging
from bisect import bisect_left
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

import orjson
from aiohttp import web

from tradingmcp.sim.errors import (
    BinanceError,
    invalid_param_value,
    invalid_symbol,
    mandatory_param,
)
from tradingmcp.sim.exchange_info import ExchangeInfo
from tradingmcp.sim.market import INTERVAL_MS, SymbolMarket, fmt8
from tradingmcp.sim.matching import MatchingEngine
from tradingmcp.sim.signing import verify_rest
from tradingmcp.sim.weights import RateLimitedError, RateLimiter, rest_weight

__all__ = [
    "PUBLIC",
    "SIGNED",
    "UNKNOWN_ERROR",
    "Faults",
    "SimState",
    "make_rest_app",
    "param_int",
    "run_public",
    "run_signed",
    "symbol_market",
]

log = logging.getLogger(__name__)
Params = Mapping[str, str]
UNKNOWN_ERROR = {"code": -1000, "msg": "An unknown error occurred while processing the request."}
CALLS_KEPT = 10_000
"""Signed requests kept in :attr:`SimState.calls`."""


@dataclass(slots=True)
class Faults:
    """Fault injection for tests and drills (mutable; the simulator's ``state.faults``).

    The first two answer ``POST /api/v3/order`` with HTTP 503 and Binance's -1000 body, which a client must treat
    as "outcome unknown" (https://developers.binance.com/docs/binance-spot-api-docs/rest-api/general-api-information:
    5XX "the execution status is UNKNOWN and could have been a success"); the last two never answer at all (a hung
    exchange, or a client killed before the reply arrived). Each applies to REST and WS API placements alike.

    Attributes:
        lose_order_replies: the next N placements ARE executed, but their reply is lost (503).
        fail_orders_unplaced: the next N placements are NOT executed (503 before the engine sees them).
        hold_order_replies: the next N placements ARE executed (their user events go out) and never answered.
        hold_orders_unplaced: the next N placements are NOT executed and never answered.
        held: placements held so far (a test waits for it to grow before it kills the client).
        hold_positions: balance updates held back (below).
    """

    lose_order_replies: int = 0
    fail_orders_unplaced: int = 0
    hold_order_replies: int = 0
    hold_orders_unplaced: int = 0
    held: int = 0
    hold_positions: bool = False
    """While True the user streams get no ``outboundAccountPosition`` (a balance update slower than the order's
    answer); :meth:`tradingmcp.sim.app.Simulator.release_positions` sends the held ones."""

    def hold_unplaced(self) -> bool:
        """True (and counted) when this placement is to be held before the engine sees it."""
        if self.hold_orders_unplaced > 0:
            self.hold_orders_unplaced -= 1
            self.held += 1
            return True
        return False

    def hold_reply(self) -> bool:
        """True (and counted) when this executed placement's reply is to be held."""
        if self.hold_order_replies > 0:
            self.hold_order_replies -= 1
            self.held += 1
            return True
        return False


@dataclass(slots=True)
class SimState:
    """What the REST and WS API faces share (built by :class:`tradingmcp.sim.app.Simulator`).

    Attributes:
        exchange_info: the listed symbols and filters.
        markets: replayed market per served symbol.
        engine: the matching engine (accounts, orders).
        limiter: request weight and order counters.
        api_keys: ``{api_key: secret}``.
        server_ms: wall clock (epoch ms) for ``/time`` and the timestamp rule.
        market_ms: the replay's exchange clock (epoch ms) for tickers and order times.
        on_engine_events: called after every engine call to route ``engine.drain_events()`` to user streams.
        faults: fault injection (placements whose reply is lost or that fail unplaced).
        calls: the signed REST requests whose signature checked out, newest last: (method, endpoint under
            ``/api/v3``, params as decoded from the raw query string and body, without ``signature``).
    """

    exchange_info: ExchangeInfo
    markets: dict[str, SymbolMarket]
    engine: MatchingEngine
    limiter: RateLimiter
    api_keys: Mapping[str, str]
    server_ms: Callable[[], int]
    market_ms: Callable[[], int]
    on_engine_events: Callable[[], None] = field(default=lambda: None)
    faults: Faults = field(default_factory=Faults)
    calls: deque[tuple[str, str, dict[str, str]]] = field(default_factory=lambda: deque(maxlen=CALLS_KEPT))


def param_int(params: Params, name: str, default: int | None = None) -> int | None:
    """An integer param, ``default`` when absent.

    Raises:
        BinanceError: -1100 when not an integer.
    """
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise BinanceError(
            -1100, f"Illegal characters found in parameter '{name}'; legal range is '^[0-9]{{1,20}}$'."
        ) from None


def _limit(params: Params, default: int, maximum: int) -> int:
    limit = param_int(params, "limit", default)
    assert limit is not None
    if limit < 1:
        raise invalid_param_value("limit")
    return min(limit, maximum)


def symbol_market(state: SimState, params: Params) -> SymbolMarket:
    """The market of the mandatory ``symbol`` param.

    Raises:
        BinanceError: -1102 missing symbol, -1121 symbol not served.
    """
    symbol = params.get("symbol")
    if not symbol:
        raise mandatory_param("symbol")
    market = state.markets.get(symbol.upper())
    if market is None:
        raise invalid_symbol()
    return market


def _symbols(state: SimState, params: Params) -> list[SymbolMarket] | None:
    """``symbol`` or ``symbols`` (JSON array) → markets; None when neither is given (all)."""
    if params.get("symbol"):
        return [symbol_market(state, params)]
    raw = params.get("symbols")
    if not raw:
        return None
    try:
        names = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise BinanceError(-1100, "Illegal characters found in parameter 'symbols'.") from None
    if not isinstance(names, list):
        raise invalid_param_value("symbols")
    return [symbol_market(state, {"symbol": str(n)}) for n in names]


# ---- public endpoint bodies (shared with the WS API) ----------------------------------------------------------------


def _exchange_info(state: SimState, params: Params) -> Any:
    markets = _symbols(state, params)
    names = [m.symbol for m in markets] if markets is not None else list(state.markets)
    return state.exchange_info.body(state.server_ms(), names)


def _depth(state: SimState, params: Params) -> Any:
    market = symbol_market(state, params)
    return market.book.depth(_limit(params, 100, 5000))


def _trades(state: SimState, params: Params) -> Any:
    market = symbol_market(state, params)
    return market.trades[-_limit(params, 500, 1000) :]


def _historical_trades(state: SimState, params: Params) -> Any:
    market = symbol_market(state, params)
    limit = _limit(params, 500, 1000)
    from_id = param_int(params, "fromId")
    if from_id is None:
        return market.trades[-limit:]
    lo = bisect_left(market.trades, from_id, key=lambda t: t["id"])
    return market.trades[lo : lo + limit]


def _agg_trades(state: SimState, params: Params) -> Any:
    market = symbol_market(state, params)
    limit = _limit(params, 500, 1000)
    rows = market.agg_trades
    from_id = param_int(params, "fromId")
    start, end = param_int(params, "startTime"), param_int(params, "endTime")
    if from_id is not None:
        rows = [r for r in rows if r["a"] >= from_id]
    if start is not None:
        rows = [r for r in rows if r["T"] >= start]
    if end is not None:
        rows = [r for r in rows if r["T"] <= end]
    return rows[:limit] if (from_id is not None or start is not None) else rows[-limit:]


def _klines(state: SimState, params: Params) -> Any:
    market = symbol_market(state, params)
    interval = params.get("interval")
    if not interval:
        raise mandatory_param("interval")
    if interval not in INTERVAL_MS:
        raise BinanceError(-1120, "Invalid interval.")
    limit = _limit(params, 500, 1000)
    start, end = param_int(params, "startTime"), param_int(params, "endTime")
    bars = market.bars(interval, start, end)
    rows = [b.rest_row() for b in (bars[:limit] if start is not None else bars[-limit:])]
    return rows


def _ticker_24hr(state: SimState, params: Params) -> Any:
    markets = _symbols(state, params)
    now = state.market_ms()
    bodies = [m.ticker_24hr(now) for m in (markets or state.markets.values())]
    if params.get("type", "FULL") == "MINI":
        keep = ("symbol", "openPrice", "highPrice", "lowPrice", "lastPrice", "volume", "quoteVolume", "openTime",
                "closeTime", "firstId", "lastId", "count")  # fmt: skip
        bodies = [{k: b[k] for k in keep} for b in bodies]
    return bodies[0] if params.get("symbol") else bodies


def _last_price(market: SymbolMarket) -> str:
    if market.trades:
        return str(market.trades[-1]["price"])
    mid = market.book.mid_price()
    return fmt8(mid if mid is not None else Decimal(0))


def _ticker_price(state: SimState, params: Params) -> Any:
    markets = _symbols(state, params)
    bodies = [{"symbol": m.symbol, "price": _last_price(m)} for m in (markets or state.markets.values())]
    return bodies[0] if params.get("symbol") else bodies


def _book_ticker(state: SimState, params: Params) -> Any:
    markets = _symbols(state, params)
    bodies = []
    for m in markets or state.markets.values():
        bid, ask = m.book.best_bid(), m.book.best_ask()
        zero = fmt8(Decimal(0))
        bodies.append({
            "symbol": m.symbol,
            "bidPrice": fmt8(bid[0]) if bid else zero, "bidQty": fmt8(bid[1]) if bid else zero,
            "askPrice": fmt8(ask[0]) if ask else zero, "askQty": fmt8(ask[1]) if ask else zero,
        })  # fmt: skip
    return bodies[0] if params.get("symbol") else bodies


def _avg_price(state: SimState, params: Params) -> Any:
    market = symbol_market(state, params)
    info = state.exchange_info.symbol(market.symbol)
    body = market.avg_price(state.market_ms(), info.avg_price_mins)
    engine_price = state.engine.avg_price(market.symbol)  # the price the PERCENT_PRICE_BY_SIDE filter checks against
    if engine_price is not None:
        body["price"] = fmt8(engine_price)
    return body


PUBLIC: dict[str, Callable[[SimState, Params], Any]] = {
    "ping": lambda state, params: {},
    "time": lambda state, params: {"serverTime": state.server_ms()},
    "exchangeInfo": _exchange_info,
    "depth": _depth,
    "trades": _trades,
    "historicalTrades": _historical_trades,
    "aggTrades": _agg_trades,
    "klines": _klines,
    "uiKlines": _klines,
    "ticker/24hr": _ticker_24hr,
    "ticker/price": _ticker_price,
    "ticker/bookTicker": _book_ticker,
    "avgPrice": _avg_price,
}


def run_public(state: SimState, endpoint: str, params: Params) -> Any:
    """The body of a public endpoint (``endpoint`` as in ``PUBLIC``). Raises BinanceError."""
    return PUBLIC[endpoint](state, params)


# ---- signed endpoints ----------------------------------------------------------------------------------------------

# (method, endpoint) -> (engine call, orders counted)
SIGNED: dict[tuple[str, str], tuple[Callable[[MatchingEngine, str, Params], Any], int]] = {
    ("POST", "order"): (lambda e, k, p: e.new_order(k, p), 1),
    ("POST", "order/test"): (lambda e, k, p: e.new_order(k, p, test=True), 0),
    ("GET", "order"): (lambda e, k, p: e.get_order(k, p), 0),
    ("DELETE", "order"): (lambda e, k, p: e.cancel_order(k, p), 0),
    ("GET", "openOrders"): (lambda e, k, p: e.open_orders(k, p), 0),
    ("DELETE", "openOrders"): (lambda e, k, p: e.cancel_open_orders(k, p), 0),
    ("GET", "allOrders"): (lambda e, k, p: e.all_orders(k, p), 0),
    ("GET", "myTrades"): (lambda e, k, p: e.my_trades(k, p), 0),
    ("GET", "account"): (lambda e, k, p: e.account(k, p), 0),
    ("POST", "orderList/oco"): (lambda e, k, p: e.new_oco(k, p), 2),
    ("DELETE", "orderList"): (lambda e, k, p: e.cancel_order_list(k, p), 0),
    ("GET", "orderList"): (lambda e, k, p: e.get_order_list(k, p), 0),
    ("POST", "order/cancelReplace"): (lambda e, k, p: e.cancel_replace(k, p), 1),
}
_PLACEMENTS = {("POST", "order"), ("POST", "orderList/oco")}
"""The endpoints :class:`Faults` act on (an order, an OCO list)."""
_SYMBOL_OPTIONAL = {("GET", "openOrders"), ("DELETE", "openOrders"), ("GET", "account"), ("GET", "orderList")}


def run_signed(state: SimState, method: str, endpoint: str, api_key: str, params: Params) -> Any:
    """Run a signed endpoint's engine call (signature already checked). The caller then calls
    ``state.on_engine_events()`` to route the user events it queued (after queuing its own reply).

    Raises:
        BinanceError: from the engine (-1121 for a symbol this simulator does not replay).
    """
    call, _ = SIGNED[(method, endpoint)]
    if params.get("symbol") or (method, endpoint) not in _SYMBOL_OPTIONAL:
        symbol_market(state, params)
    return call(state.engine, api_key, params)


# ---- aiohttp shell -------------------------------------------------------------------------------------------------


def _json(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> web.Response:
    return web.Response(body=orjson.dumps(body), status=status, content_type="application/json", headers=headers)


def make_rest_app(state: SimState) -> web.Application:
    """An aiohttp sub-application serving ``/api/v3/*`` (mount it at ``/api``)."""

    async def handle(request: web.Request) -> web.StreamResponse:
        endpoint = request.match_info["endpoint"].strip("/")
        method = request.method
        query = request.rel_url.raw_query_string  # as sent, still percent-encoded: what the signature covers
        body = (await request.text()) if request.can_read_body else ""
        params: dict[str, str] = dict(parse_qsl(query, keep_blank_values=True))
        params.update(parse_qsl(body, keep_blank_values=True))
        now = state.server_ms()
        ip = request.remote or "127.0.0.1"
        headers: dict[str, str] = {}
        signed = (method, endpoint) in SIGNED
        if not signed and (method != "GET" or endpoint not in PUBLIC):
            return _json({"code": -1000, "msg": f"Unknown endpoint {method} /api/v3/{endpoint}"}, 404)
        try:
            used = state.limiter.charge(ip, rest_weight(method, endpoint, params), now)
            headers["X-MBX-USED-WEIGHT-1M"] = str(used)
            if not signed:
                return _json(run_public(state, endpoint, params), headers=headers)
            api_key = verify_rest(request.headers.get("X-MBX-APIKEY"), query, body, params, state.api_keys, now)
            state.calls.append((method, endpoint, {k: v for k, v in params.items() if k != "signature"}))
            orders = SIGNED[(method, endpoint)][1]
            if orders:
                for _ in range(orders):
                    c10, c1d = state.limiter.count_order(api_key, now)
                headers["X-MBX-ORDER-COUNT-10S"], headers["X-MBX-ORDER-COUNT-1D"] = str(c10), str(c1d)
            placing = (method, endpoint) in _PLACEMENTS
            if placing and state.faults.fail_orders_unplaced > 0:
                state.faults.fail_orders_unplaced -= 1
                return _json(UNKNOWN_ERROR, 503, headers)
            if placing and state.faults.hold_unplaced():
                await asyncio.Future()  # never answered (cancelled when the client goes or the simulator stops)
            try:
                reply = run_signed(state, method, endpoint, api_key, params)
            finally:
                state.on_engine_events()
            if placing and state.faults.hold_reply():
                await asyncio.Future()
            if placing and state.faults.lose_order_replies > 0:
                state.faults.lose_order_replies -= 1
                return _json(UNKNOWN_ERROR, 503, headers)
            return _json(reply, headers=headers)
        except RateLimitedError as exc:
            headers.setdefault("X-MBX-USED-WEIGHT-1M", str(state.limiter.used_weight(ip, now)))
            headers["Retry-After"] = str(exc.retry_after_s)
            return _json(exc.body(), exc.http_status, headers)
        except BinanceError as exc:
            headers.setdefault("X-MBX-USED-WEIGHT-1M", str(state.limiter.used_weight(ip, now)))
            return _json(exc.body(), exc.http_status, headers)
        except Exception:  # a simulator bug: answer like Binance's 5xx (outcome unknown), keep serving
            log.exception("internal error on %s /api/v3/%s", method, endpoint)
            return _json(UNKNOWN_ERROR, 500, headers)

    async def unknown(request: web.Request) -> web.StreamResponse:
        return _json({"code": -1000, "msg": f"Unknown endpoint {request.method} {request.path}"}, 404)

    app = web.Application()
    app.router.add_route("*", "/v3/{endpoint:.+}", handle)
    app.router.add_route("*", "/{tail:.*}", unknown)
    return app
