"""The read-only market-data REST API (``/v1/...``) as aiohttp routes, served on the MCP server's port by the HTTP face
(or on any aiohttp application): :class:`RestApi`, whose :attr:`RestApi.operations` are the one table the handlers and
the OpenAPI document (:mod:`tradingmcp.server.rest.openapi`) are both made from.

Operations (GET, JSON; the port's guard (:mod:`tradingmcp.server.http.guard`) checks Host/Origin, the bearer token
and the per-token request rate first; an operation needs the ``read`` scope):

* ``/v1/price/{exchange}/{symbol}``: best bid/ask and last price (:class:`~.models.PriceResponse`);
* ``/v1/ohlcv/{exchange}/{symbol}?interval=&since=&limit=``: candles (:class:`~.models.OhlcvResponse`);
* ``/v1/book/{exchange}/{symbol}?depth=``: the top of the book (:class:`~.models.BookResponse`);
* ``/v1/trades/{exchange}/{symbol}?limit=``: the latest public trades (:class:`~.models.TradesResponse`);
* ``/v1/symbols/{exchange}``: the listed symbols and their rules (:class:`~.models.SymbolsResponse`);
* ``/v1/indicators/{exchange}/{symbol}?interval=&indicators=&limit=``: TA-Lib indicators of the latest candles, as the
  MCP tool ``get_indicators`` computes them (:class:`~.models.IndicatorsResponse`).

Every read goes through the server's :class:`~tradingmcp.server.market.data.MarketData` (the TTL cache the MCP market
tools share). Values that reach a venue are checked as the tools check them: the symbol by
:func:`~tradingmcp.server.tools.market.args.check_symbol` and, with the interval, by the venue's own rules through
:meth:`~tradingmcp.server.venues.Venues.for_args`.

Errors are JSON (:class:`~.models.ErrorResponse`) with the status: 400 a bad symbol, interval or parameter (or one the
exchange refuses); 403 a token without the ``read`` scope; 404 an unknown exchange or path; 429 the exchange's rate
limit (``Retry-After``, s); 502 another exchange error; 503 the exchange is down or did not answer in time, or the
server is still starting. The guard's own refusals (401 no or an unknown token, 403 Host/Origin, 429 over the
per-token rate) are its JSON-RPC errors (:class:`~.models.GuardErrorResponse`).

:class:`~tradingmcp.server.rest.face.RestFace` mounts it on the server's port; :mod:`tradingmcp.server.rest.errors`
holds the error answers.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from aiohttp import web

from tradingmcp.research.indicators import IndicatorError, parse_requests
from tradingmcp.research.indicators.specs import MAX_REQUESTS_CHARS, REQUESTS_PATTERN
from tradingmcp.server.exchanges.errors import ExchangeError
from tradingmcp.server.exchanges.wire import plain
from tradingmcp.server.http.guard import principal_of
from tradingmcp.server.market.data import BOOK_LEVELS_FETCHED, KLINES_FETCHED, TRADES_FETCHED, MarketData
from tradingmcp.server.mcp.registry import ToolError
from tradingmcp.server.rest import models
from tradingmcp.server.rest.errors import ApiError, bad_params, exchange_error, json_response
from tradingmcp.server.tools.market.args import KLINE_INTERVALS, check_symbol
from tradingmcp.server.tools.market.indicators import DEFAULT_POINTS, catalogue_text, indicators_json, refusal
from tradingmcp.server.tools.market.shapes import book_json, kline_json, ticker_json, trade_json
from tradingmcp.server.venue_args import SYMBOL_PATTERN, quoted
from tradingmcp.server.venues import Venue, Venues
from tradingmcp.transport.auth import Principal
from tradingmcp.transport.jsonrpc import JsonRpcError

log = logging.getLogger("tradingmcp.server.rest")

READ_SCOPE = "read"
REALM = 'Bearer realm="tradingmcp"'
DEFAULT_BOOK_DEPTH = 10
DEFAULT_TRADES = 20
DEFAULT_CANDLES = 100
DEFAULT_INTERVAL = "1h"
DEFAULT_INDICATORS = "rsi"
INDICATORS_SCHEMA: dict[str, Any] = {
    "type": "string",
    "minLength": 1,
    "maxLength": MAX_REQUESTS_CHARS,
    "pattern": REQUESTS_PATTERN,
    "default": DEFAULT_INDICATORS,
}
"""The ``indicators`` query parameter (:func:`~tradingmcp.research.indicators.parse_requests`)."""
MAX_SINCE_MS = 10**13 - 1
"""Largest ``since`` (ms since the epoch: the year 2286)."""
DEFAULT_TIMEOUT_S = 10.0
"""Longest wait for the exchange per request (s); then 503."""
_DIGITS = re.compile(r"[0-9]{1,16}")
OPERATION_PATHS = (
    "/v1/price/{exchange}/{symbol}",
    "/v1/ohlcv/{exchange}/{symbol}",
    "/v1/book/{exchange}/{symbol}",
    "/v1/trades/{exchange}/{symbol}",
    "/v1/symbols/{exchange}",
    "/v1/indicators/{exchange}/{symbol}",
)
"""The path of each operation, in the order of :attr:`RestApi.operations` (the routes exist before the API does)."""


@dataclass(frozen=True)
class RestConfig:
    """The REST API's settings: ``timeout_s``, the longest wait for the exchange per request; ``secured``, whether
    the port asks for bearer tokens (the OpenAPI document then declares them)."""

    timeout_s: float = DEFAULT_TIMEOUT_S
    secured: bool = True


@dataclass(frozen=True)
class Param:
    """A path or query parameter: its name, JSON Schema and description (``required`` for path parameters)."""

    name: str
    location: Literal["path", "query"]
    schema: dict[str, Any]
    description: str
    example: Any = None

    @property
    def required(self) -> bool:
        return self.location == "path"


@dataclass(frozen=True)
class ApiCall:
    """What a handler gets: the venue, the checked symbol (None for ``/v1/symbols``) and the query values (defaults
    filled in)."""

    venue: Venue
    symbol: str | None
    query: dict[str, Any] = field(default_factory=dict)

    @property
    def sym(self) -> str:
        assert self.symbol is not None
        return self.symbol


Handler = Callable[[ApiCall], Awaitable[models.Model]]


@dataclass(frozen=True)
class Operation:
    """One GET operation: ``path`` (aiohttp/OpenAPI template), ``operation_id``, ``summary``, ``description``, its
    parameters, the model of its 200 body, and the handler that makes it."""

    path: str
    operation_id: str
    summary: str
    description: str
    params: tuple[Param, ...]
    response: type[models.Model]
    handler: Handler


def _int_param(name: str, minimum: int, maximum: int, default: int | None, description: str) -> Param:
    schema: dict[str, Any] = {"type": "integer", "minimum": minimum, "maximum": maximum}
    if default is not None:
        schema["default"] = default
    return Param(name, "query", schema, description)


class RestApi:
    """The REST API over ``venues``, reading through ``market`` (see the module docstring). :meth:`routes` are its
    aiohttp routes (``app.add_routes(api.routes())``)."""

    def __init__(self, venues: Venues, market: MarketData, config: RestConfig | None = None) -> None:
        self.venues = venues
        self.market = market
        self.config = config or RestConfig()
        exchange = Param(
            "exchange",
            "path",
            {"type": "string", "enum": venues.names},
            f"an exchange this server bridges ({', '.join(venues.names)})",
            venues.default,
        )
        symbol = Param(
            "symbol",
            "path",
            {"type": "string", "minLength": 2, "maxLength": 20, "pattern": SYMBOL_PATTERN},
            "exchange symbol, e.g. BTCUSDT (case-insensitive)",
            "BTCUSDT",
        )
        interval = Param(
            "interval",
            "query",
            {"type": "string", "enum": list(KLINE_INTERVALS), "default": DEFAULT_INTERVAL},
            "candle size (1M = month); an exchange may serve fewer (MEXC: no 1s, 3m, 2h, 6h, 12h, 3d)",
        )
        self.operations: tuple[Operation, ...] = (
            Operation(
                "/v1/price/{exchange}/{symbol}",
                "getPrice",
                "Best bid/ask and last price",
                "Best bid and ask with their quantities, the spread and the last trade price. The bid/ask come from "
                "the server's live stream of the symbol when it holds one, else from the exchange's REST API, cached "
                f"{market.config.ticker_ttl_ms} ms (as is the last price).",
                (exchange, symbol),
                models.PriceResponse,
                self._price,
            ),
            Operation(
                "/v1/ohlcv/{exchange}/{symbol}",
                "getOhlcv",
                "Candles (OHLCV)",
                f"Candlesticks, oldest first: the latest ones, or the first ones from since. Cached "
                f"{market.config.klines_ttl_ms} ms.",
                (
                    exchange,
                    symbol,
                    interval,
                    _int_param("since", 0, MAX_SINCE_MS, None, "first open time (ms since the epoch, UTC)"),
                    _int_param("limit", 1, KLINES_FETCHED, DEFAULT_CANDLES, "how many candles"),
                ),
                models.OhlcvResponse,
                self._ohlcv,
            ),
            Operation(
                "/v1/book/{exchange}/{symbol}",
                "getBook",
                "Top of the order book",
                "The best levels on each side, with spread, mid and microprice: from the server's live local book "
                f"when it streams the symbol's depth, else a REST snapshot cached {market.config.book_ttl_ms} ms.",
                (
                    exchange,
                    symbol,
                    _int_param("depth", 1, BOOK_LEVELS_FETCHED, DEFAULT_BOOK_DEPTH, "levels per side"),
                ),
                models.BookResponse,
                self._book,
            ),
            Operation(
                "/v1/trades/{exchange}/{symbol}",
                "getTrades",
                "Latest public trades",
                f"The latest public trades, oldest first. Cached {market.config.trades_ttl_ms} ms.",
                (exchange, symbol, _int_param("limit", 1, TRADES_FETCHED, DEFAULT_TRADES, "how many trades")),
                models.TradesResponse,
                self._trades,
            ),
            Operation(
                "/v1/symbols/{exchange}",
                "getSymbols",
                "Listed symbols",
                "Every symbol the exchange lists, with its status and main trading rules, by name.",
                (exchange,),
                models.SymbolsResponse,
                self._symbols,
            ),
            Operation(
                "/v1/indicators/{exchange}/{symbol}",
                "getIndicators",
                "Technical indicators",
                f"Indicators (TA-Lib) over the latest {KLINES_FETCHED} candles, the latest limit points of each "
                f"series returned; null while an indicator's lookback fills. Candles cached "
                f"{market.config.klines_ttl_ms} ms. Indicators: {catalogue_text()}.",
                (
                    exchange,
                    symbol,
                    interval,
                    Param(
                        "indicators",
                        "query",
                        INDICATORS_SCHEMA,
                        "comma-separated indicators, each its name then :param=value pairs, e.g. "
                        "rsi,sma:timeperiod=20,bbands:timeperiod=20:nbdevup=2.5",
                    ),
                    _int_param("limit", 1, KLINES_FETCHED, DEFAULT_POINTS, "points per series"),
                ),
                models.IndicatorsResponse,
                self._indicators,
            ),
        )

        assert tuple(op.path for op in self.operations) == OPERATION_PATHS
        self.endpoints = {op.path: self._endpoint(op) for op in self.operations}
        """The handler of each operation, by path template."""

    # --- the request path --------------------------------------------------------------------------------------
    def _endpoint(self, op: Operation) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def endpoint(request: web.Request) -> web.StreamResponse:
            try:
                self._admit(request)
                req = self._parse(op, request)
                async with asyncio.timeout(self.config.timeout_s):
                    body = await op.handler(req)
            except ApiError as exc:
                return exc.response()
            except JsonRpcError as exc:
                return bad_params(exc).response()
            except ExchangeError as exc:
                return exchange_error(exc).response()
            except TimeoutError:
                return ApiError(
                    503, "exchange_unavailable", f"the exchange did not answer within {self.config.timeout_s:g} s"
                ).response()
            except Exception:
                log.exception("REST %s failed", request.path)
                return ApiError(500, "internal", "internal error (logged on the server)").response()
            return json_response(body)

        endpoint.__name__ = op.operation_id
        return endpoint

    def _admit(self, request: web.Request) -> Principal:
        """The caller the guard authenticated, when it may read.

        Raises:
            ApiError: 401 no caller (the routes were mounted without the guard: nobody gets in), 403 no ``read``.
        """
        principal = principal_of(request)
        if principal is None:
            raise ApiError(
                401,
                "unauthorized",
                "send Authorization: Bearer <token> with a token of this server",
                headers={"WWW-Authenticate": REALM},
            )
        if not principal.can(READ_SCOPE):
            raise ApiError(
                403,
                "forbidden",
                f"the token of {principal.name!r} lacks the {READ_SCOPE!r} scope",
                headers={"WWW-Authenticate": f'{REALM}, error="insufficient_scope", scope="{READ_SCOPE}"'},
            )
        return principal

    def _parse(self, op: Operation, request: web.Request) -> ApiCall:
        """The operation's values from ``request``, checked.

        Raises:
            ApiError: 400 a malformed parameter, 404 an unknown exchange. JsonRpcError: -32602 a value the venue
                would not accept.
        """
        name = request.match_info["exchange"]
        if name not in self.venues.by_name:
            try:
                self.venues.get(name)  # its message and the list of exchanges, as the tools say it
            except ToolError as exc:
                raise ApiError(404, "unknown_exchange", exc.message, available=self.venues.names) from None
            raise ApiError(
                404, "unknown_exchange", f"exchange {name!r}: use its lower-case name", available=self.venues.names
            )
        query: dict[str, Any] = {}
        for param in op.params:
            if param.location == "query":
                query[param.name] = _query_value(param, request)
        args: dict[str, Any] = {"exchange": name}
        symbol = None
        if "symbol" in request.match_info:
            symbol = args["symbol"] = check_symbol(request.match_info["symbol"])
        if "interval" in query:
            args["interval"] = query["interval"]
        venue = self.venues.for_args(args)
        return ApiCall(venue, symbol, query)

    # --- the operations ------------------------------------------------------------------------------------------
    async def _price(self, req: ApiCall) -> models.Model:
        q = await self.market.ticker(req.venue, req.sym)
        tick = ticker_json(q.ticker)
        return models.PriceResponse(
            exchange=req.venue.name,
            **tick,
            price=plain(q.price),
            spread=plain(q.ticker.ask - q.ticker.bid),
            source=q.source,
            cached=q.cached,
            age_ms=q.age_ms,
        )

    async def _ohlcv(self, req: ApiCall) -> models.Model:
        since, limit = req.query["since"], req.query["limit"]
        read = await self.market.klines(req.venue, req.sym, req.query["interval"], since)
        klines = read.value[:limit] if since is not None else read.value[-limit:]
        candles = []
        for k in klines:
            row = kline_json(k)
            del row["symbol"], row["interval"]
            candles.append(models.Candle(**row))
        return models.OhlcvResponse(
            exchange=req.venue.name,
            symbol=req.sym,
            interval=req.query["interval"],
            count=len(candles),
            candles=candles,
            cached=read.cached,
            age_ms=read.age_ms,
        )

    async def _book(self, req: ApiCall) -> models.Model:
        depth = req.query["depth"]
        read = await self.market.book(req.venue, req.sym, depth)
        book = book_json(read.book, depth)
        return models.BookResponse(
            exchange=req.venue.name,
            depth=depth,
            symbol=book["symbol"],
            last_update_id=book["last_update_id"],
            bids=book["bids"],
            asks=book["asks"],
            spread=book.get("spread"),
            mid=book.get("mid"),
            microprice=book.get("microprice"),
            source=read.source,
            cached=read.cached,
            age_ms=read.age_ms,
        )

    async def _trades(self, req: ApiCall) -> models.Model:
        read = await self.market.trades(req.venue, req.sym)
        rows = []
        for t in read.value[-req.query["limit"] :]:
            row = trade_json(t)
            del row["symbol"]
            rows.append(models.TradeRow(**row))
        return models.TradesResponse(
            exchange=req.venue.name,
            symbol=req.sym,
            count=len(rows),
            trades=rows,
            cached=read.cached,
            age_ms=read.age_ms,
        )

    async def _indicators(self, req: ApiCall) -> models.Model:
        try:
            asked = parse_requests(req.query["indicators"])
        except IndicatorError as exc:
            raise ApiError(400, "bad_request", str(exc), field="indicators") from None
        refused = refusal(asked)  # before the read: a bad request spends none of the exchange's rate limit
        if refused is not None:
            raise ApiError(400, "bad_request", refused[1], field="indicators")
        read = await self.market.klines(req.venue, req.sym, req.query["interval"])
        out = indicators_json(read.value, asked, req.query["limit"])
        return models.IndicatorsResponse(
            exchange=req.venue.name,
            symbol=req.sym,
            interval=req.query["interval"],
            cached=read.cached,
            age_ms=read.age_ms,
            **out,
        )

    async def _symbols(self, req: ApiCall) -> models.Model:
        listed = await self.market.symbols(req.venue)
        rows = [
            models.SymbolRow(
                symbol=r.symbol,
                status=r.status,
                is_trading=r.is_trading,
                base_asset=r.base_asset,
                quote_asset=r.quote_asset,
                tick_size=plain(r.tick_size),
                step_size=plain(r.step_size),
                min_qty=plain(r.min_qty),
                max_qty=plain(r.max_qty),
                min_notional=plain(r.min_notional),
            )
            for _, r in sorted(listed.items())
        ]
        return models.SymbolsResponse(exchange=req.venue.name, count=len(rows), symbols=rows)


def _query_value(param: Param, request: web.Request) -> Any:
    """The value of query ``param`` (its default when absent), checked against its schema.

    Raises:
        ApiError: 400 naming the parameter.
    """
    given = request.query.getall(param.name, [])
    schema = param.schema
    if not given:
        return schema.get("default")
    if len(given) > 1:
        raise ApiError(400, "bad_request", f"{param.name}: give it once, not {len(given)} times", field=param.name)
    raw = given[0]
    if schema["type"] == "integer":
        lo, hi = schema["minimum"], schema["maximum"]
        if not _DIGITS.fullmatch(raw) or not lo <= int(raw) <= hi:
            raise ApiError(
                400, "bad_request", f"{param.name}: {quoted(raw)} is not an integer {lo}..{hi}", field=param.name
            )
        return int(raw)
    return raw  # a string: the venue's rules check it (Venues.for_args)


__all__ = ["OPERATION_PATHS", "ApiCall", "Operation", "Param", "RestApi", "RestConfig"]
