"""The JSON bodies of the REST API, as pydantic models: the one source of both the answers (each handler builds its
model, which is what is sent) and the OpenAPI document's schemas (:mod:`tradingmcp.server.rest.openapi`).

Prices are decimal strings in the quote asset (exact, as on the exchange wire); quantities and ``volume`` in the base
asset, ``quote_volume`` in the quote asset; times in ms since the epoch (UTC). Field meanings follow
https://developers.binance.com/docs/binance-spot-api-docs/rest-api/market-data-endpoints.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Price = str
"""A decimal string (exact), e.g. ``"61234.56"``."""
Level = Annotated[list[Price], Field(min_length=2, max_length=2)]
"""A book level: ``[price, quantity]``."""


class Model(BaseModel):
    """Frozen, no unknown fields: the document says exactly what is sent."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Freshness(Model):
    """Where a read came from and how old it is."""

    cached: bool = Field(description="true when this request sent nothing to the exchange (served by the TTL cache)")
    age_ms: int = Field(ge=0, description="age of the oldest REST part of the answer (ms; 0: fetched for this request)")


class PriceResponse(Freshness):
    """``GET /v1/price``: best bid/ask (with quantities), spread and last trade price."""

    exchange: str
    symbol: str
    price: Price = Field(description="last trade price")
    bid: Price
    bid_qty: Price = Field(description="quantity at the best bid (base asset)")
    ask: Price
    ask_qty: Price = Field(description="quantity at the best ask (base asset)")
    spread: Price = Field(description="ask - bid")
    update_id: int | None = Field(description="the book update id of the quote, when the exchange gives one")
    time_ms: int = Field(description="when the quote was made (exchange time when known)")
    source: Literal["stream", "rest"] = Field(
        description="stream: bid/ask from the server's own live stream of the symbol; rest: from the exchange's REST "
        "API (cached)"
    )


class Candle(Model):
    """One candlestick (OHLCV)."""

    open_time_ms: int
    close_time_ms: int
    open: Price
    high: Price
    low: Price
    close: Price
    volume: Price = Field(description="base asset")
    quote_volume: Price = Field(description="quote asset")
    trades: int = Field(ge=0, description="number of trades")
    taker_buy_volume: Price = Field(description="base asset bought by takers")
    closed: bool = Field(description="false while the candle is still open")


class OhlcvResponse(Freshness):
    """``GET /v1/ohlcv``: candles, oldest first."""

    exchange: str
    symbol: str
    interval: str
    count: int = Field(ge=0)
    candles: list[Candle]


class IndicatorSeries(Model):
    """One indicator's series, aligned with ``close_time_ms``."""

    name: str
    params: dict[str, int | float] = Field(description="every parameter used, defaults filled in")
    unit: Literal["quote asset price", "percent 0-100", "ratio", "base volume"]
    source: str = Field(description="the TA-Lib function (or the formula) that computed it")
    outputs: dict[str, list[float | None]] = Field(
        description="series name → values, oldest first; null while the indicator's lookback fills"
    )


class IndicatorsResponse(Freshness):
    """``GET /v1/indicators``: technical indicators (TA-Lib) of the latest candles."""

    exchange: str
    symbol: str
    interval: str
    count: int = Field(ge=0, description="points per series")
    candles: int = Field(ge=0, description="candles the indicators were computed over (the latest ones)")
    last_closed: bool = Field(description="false while the latest candle is still open")
    close_time_ms: list[int] = Field(description="each point's candle close time")
    indicators: list[IndicatorSeries]


class BookResponse(Freshness):
    """``GET /v1/book``: the top levels of the order book, best first on each side."""

    exchange: str
    symbol: str
    depth: int = Field(ge=1, description="levels asked for per side")
    last_update_id: int = Field(description="the book's update id (Binance lastUpdateId, MEXC version)")
    bids: list[Level] = Field(description="[price, quantity] pairs, highest price first")
    asks: list[Level] = Field(description="[price, quantity] pairs, lowest price first")
    spread: Price | None = Field(description="best ask - best bid; null when a side is empty")
    mid: Price | None = Field(description="(best bid + best ask) / 2; null when a side is empty")
    microprice: Price | None = Field(description="size-weighted mid of the best levels; null when a side is empty")
    source: Literal["local", "rest"] = Field(
        description="local: the server's live local book of the symbol; rest: a REST depth snapshot (cached)"
    )


class TradeRow(Model):
    """One public trade."""

    id: int | str = Field(description="the exchange's trade id")
    price: Price
    qty: Price = Field(description="base asset")
    time_ms: int
    taker_side: Literal["BUY", "SELL"] = Field(description="SELL when the buyer was the maker")


class TradesResponse(Freshness):
    """``GET /v1/trades``: the latest public trades, oldest first."""

    exchange: str
    symbol: str
    count: int = Field(ge=0)
    trades: list[TradeRow]


class SymbolRow(Model):
    """One listed symbol and its main trading rules (0: no constraint)."""

    symbol: str
    status: str = Field(description="e.g. TRADING, BREAK")
    is_trading: bool
    base_asset: str
    quote_asset: str
    tick_size: Price = Field(description="price step (quote asset)")
    step_size: Price = Field(description="quantity step (base asset)")
    min_qty: Price
    max_qty: Price
    min_notional: Price = Field(description="smallest order value (quote asset)")


class SymbolsResponse(Model):
    """``GET /v1/symbols``: every symbol the exchange lists, by name."""

    exchange: str
    count: int = Field(ge=0)
    symbols: list[SymbolRow]


class ErrorBody(Model):
    """What went wrong and what to do."""

    status: int = Field(description="the HTTP status, repeated")
    code: str = Field(
        description="bad_request, unauthorized, forbidden, not_found, unknown_exchange, rate_limited, "
        "exchange_unavailable, starting or exchange_error"
    )
    message: str
    field: str | None = Field(default=None, description="the parameter at fault (bad_request)")
    retry_after_s: float | None = Field(default=None, description="when to retry (rate_limited, when known)")
    available: list[str] | None = Field(default=None, description="the configured exchanges (unknown_exchange)")


class ErrorResponse(Model):
    """An error answer of the API (4xx, 5xx)."""

    error: ErrorBody


class GuardErrorObject(Model):
    """The JSON-RPC error object of a request the port's guard refused."""

    code: int = Field(description="-32600 (unauthorized, Host/Origin refused) or -32005 (rate limited)")
    message: str
    data: dict[str, Any] | None = Field(default=None, description="retry_after_ms when rate limited")


class GuardErrorResponse(Model):
    """A request the port's guard refused before any operation read it (the same guard and the same answer as for
    the MCP endpoint: a JSON-RPC error with a null id): no or an unknown token (401), a Host or Origin not allowed
    (403), over the per-token request rate (429)."""

    jsonrpc: Literal["2.0"]
    id: None
    error: GuardErrorObject


RESPONSE_MODELS: tuple[type[Model], ...] = (
    PriceResponse,
    OhlcvResponse,
    BookResponse,
    TradesResponse,
    SymbolsResponse,
    IndicatorsResponse,
    ErrorResponse,
    GuardErrorResponse,
)
"""Every top-level body, for the document's ``components.schemas``."""
