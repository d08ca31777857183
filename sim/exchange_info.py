"""The simulator's ``GET /api/v3/exchangeInfo``: symbols, filters, precisions and rate limits.

Loaded from the real body in ``<data root>/binance/rest/exchangeInfo.json``; a built-in minimal body for BTCUSDT and
ETHUSDT serves the synthetic market when no data is present. Filter values stay Decimal (never float).

Follows https://developers.binance.com/docs/binance-spot-api-docs/rest-api/general-endpoints#exchange-information and
https://developers.binance.com/docs/binance-spot-api-docs/filters.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from tradingmcp.sim.data import DataNotFoundError, data_root
from tradingmcp.sim.errors import invalid_symbol


@dataclass(frozen=True)
class PriceFilter:
    """PRICE_FILTER (quote asset per base unit); a zero field disables its rule."""

    min_price: Decimal
    max_price: Decimal
    tick_size: Decimal


@dataclass(frozen=True)
class LotSize:
    """LOT_SIZE or MARKET_LOT_SIZE (base asset); a zero ``step_size`` disables the step rule."""

    min_qty: Decimal
    max_qty: Decimal
    step_size: Decimal


@dataclass(frozen=True)
class Notional:
    """NOTIONAL (quote asset): price × quantity bounds; market orders use the average price."""

    min_notional: Decimal
    max_notional: Decimal
    apply_min_to_market: bool
    apply_max_to_market: bool
    avg_price_mins: int


@dataclass(frozen=True)
class PercentPriceBySide:
    """PERCENT_PRICE_BY_SIDE: allowed price band around the ``avg_price_mins``-minute average price."""

    bid_multiplier_up: Decimal
    bid_multiplier_down: Decimal
    ask_multiplier_up: Decimal
    ask_multiplier_down: Decimal
    avg_price_mins: int


@dataclass(frozen=True)
class SymbolInfo:
    """One entry of ``exchangeInfo.symbols`` with typed filter access.

    Attributes:
        symbol: e.g. ``"BTCUSDT"``.
        base_asset / quote_asset: e.g. ``"BTC"`` / ``"USDT"``.
        base_asset_precision / quote_asset_precision: decimals the wire uses for base / quote amounts (8 on Binance).
        order_types: the order types the symbol accepts (``"LIMIT"``, ``"MARKET"``, ...).
        raw: the symbol's original JSON object (served as is).
    """

    symbol: str
    status: str
    base_asset: str
    quote_asset: str
    base_asset_precision: int
    quote_asset_precision: int
    base_commission_precision: int
    quote_commission_precision: int
    order_types: tuple[str, ...]
    oco_allowed: bool
    quote_order_qty_market_allowed: bool
    cancel_replace_allowed: bool
    price_filter: PriceFilter | None
    lot_size: LotSize | None
    market_lot_size: LotSize | None
    notional: Notional | None
    percent_price_by_side: PercentPriceBySide | None
    max_num_orders: int | None
    max_num_algo_orders: int | None
    default_stp_mode: str
    allowed_stp_modes: tuple[str, ...]
    raw: Mapping[str, Any]

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> SymbolInfo:
        """Parse one ``exchangeInfo.symbols`` entry (wire strings for decimals)."""
        filters = {f["filterType"]: f for f in obj.get("filters", [])}

        def dec(f: Mapping[str, Any], key: str) -> Decimal:
            return Decimal(str(f.get(key, "0")))

        def lot(name: str) -> LotSize | None:
            f = filters.get(name)
            return None if f is None else LotSize(dec(f, "minQty"), dec(f, "maxQty"), dec(f, "stepSize"))

        pf = filters.get("PRICE_FILTER")
        nf = filters.get("NOTIONAL")
        pp = filters.get("PERCENT_PRICE_BY_SIDE")
        mno = filters.get("MAX_NUM_ORDERS")
        mna = filters.get("MAX_NUM_ALGO_ORDERS")
        return cls(
            symbol=obj["symbol"],
            status=obj.get("status", "TRADING"),
            base_asset=obj["baseAsset"],
            quote_asset=obj["quoteAsset"],
            base_asset_precision=int(obj.get("baseAssetPrecision", 8)),
            quote_asset_precision=int(obj.get("quoteAssetPrecision", obj.get("quotePrecision", 8))),
            base_commission_precision=int(obj.get("baseCommissionPrecision", 8)),
            quote_commission_precision=int(obj.get("quoteCommissionPrecision", 8)),
            order_types=tuple(obj.get("orderTypes", ())),
            oco_allowed=bool(obj.get("ocoAllowed", False)),
            quote_order_qty_market_allowed=bool(obj.get("quoteOrderQtyMarketAllowed", False)),
            cancel_replace_allowed=bool(obj.get("cancelReplaceAllowed", False)),
            price_filter=None
            if pf is None
            else PriceFilter(dec(pf, "minPrice"), dec(pf, "maxPrice"), dec(pf, "tickSize")),
            lot_size=lot("LOT_SIZE"),
            market_lot_size=lot("MARKET_LOT_SIZE"),
            notional=None
            if nf is None
            else Notional(
                dec(nf, "minNotional"),
                dec(nf, "maxNotional"),
                bool(nf.get("applyMinToMarket", False)),
                bool(nf.get("applyMaxToMarket", False)),
                int(nf.get("avgPriceMins", 0)),
            ),
            percent_price_by_side=None
            if pp is None
            else PercentPriceBySide(
                dec(pp, "bidMultiplierUp"),
                dec(pp, "bidMultiplierDown"),
                dec(pp, "askMultiplierUp"),
                dec(pp, "askMultiplierDown"),
                int(pp.get("avgPriceMins", 0)),
            ),
            max_num_orders=None if mno is None else int(mno["maxNumOrders"]),
            max_num_algo_orders=None if mna is None else int(mna["maxNumAlgoOrders"]),
            default_stp_mode=obj.get("defaultSelfTradePreventionMode", "NONE"),
            allowed_stp_modes=tuple(obj.get("allowedSelfTradePreventionModes", ("NONE",))),
            raw=obj,
        )

    @property
    def avg_price_mins(self) -> int:
        """Minutes of trades behind the average price (``GET /api/v3/avgPrice``); 5 when no filter names it."""
        for f in (self.percent_price_by_side, self.notional):
            if f is not None and f.avg_price_mins:
                return f.avg_price_mins
        return 5


class ExchangeInfo:
    """The exchangeInfo body and its symbols.

    Args:
        body: a full ``/api/v3/exchangeInfo`` body (``timezone``, ``serverTime``, ``rateLimits``, ``exchangeFilters``,
            ``symbols``).
    """

    def __init__(self, body: Mapping[str, Any]) -> None:
        self._body = dict(body)
        self._symbols = {s["symbol"]: SymbolInfo.from_json(s) for s in body.get("symbols", [])}

    @classmethod
    def load(cls, path: Path | None = None) -> ExchangeInfo:
        """Load the real body (default ``<data root>/binance/rest/exchangeInfo.json``).

        Raises:
            DataNotFoundError: no data root (see :func:`tradingmcp.sim.data.data_root`) or no file there.
        """
        if path is None:
            path = data_root() / "binance" / "rest" / "exchangeInfo.json"
        if not path.is_file():
            raise DataNotFoundError(f"no exchangeInfo at {path}")
        return cls(json.loads(path.read_text()))

    @classmethod
    def load_or_builtin(cls, path: Path | None = None) -> ExchangeInfo:
        """The real body when the data is present, else :meth:`builtin` (for the synthetic market)."""
        try:
            return cls.load(path)
        except DataNotFoundError:
            return cls.builtin()

    @classmethod
    def builtin(cls) -> ExchangeInfo:
        """A minimal body with BTCUSDT and ETHUSDT and Binance's filter set (values as of 2024-2026)."""
        return cls(_builtin_body())

    @property
    def symbols(self) -> tuple[str, ...]:
        """Listed symbols in exchangeInfo order."""
        return tuple(self._symbols)

    @property
    def rate_limits(self) -> list[dict[str, Any]]:
        """``rateLimits``: ``[{"rateLimitType", "interval", "intervalNum", "limit"}, ...]``."""
        return list(self._body.get("rateLimits", []))

    def __contains__(self, symbol: object) -> bool:
        return symbol in self._symbols

    def get(self, symbol: str) -> SymbolInfo | None:
        """The symbol's info, or None when not listed."""
        return self._symbols.get(symbol)

    def symbol(self, symbol: str) -> SymbolInfo:
        """The symbol's info.

        Raises:
            BinanceError: -1121 "Invalid symbol." when not listed.
        """
        info = self._symbols.get(symbol)
        if info is None:
            raise invalid_symbol()
        return info

    def body(self, server_time_ms: int, symbols: Iterable[str] | None = None) -> dict[str, Any]:
        """The response body with ``serverTime`` filled in, optionally narrowed to ``symbols``.

        Raises:
            BinanceError: -1121 when one of ``symbols`` is not listed.
        """
        out = copy.deepcopy(self._body)
        out["serverTime"] = server_time_ms
        if symbols is not None:
            wanted = list(symbols)
            for s in wanted:
                self.symbol(s)
            out["symbols"] = [copy.deepcopy(dict(self._symbols[s].raw)) for s in wanted]
        return out


def _builtin_symbol(symbol: str, base: str, min_qty: str, market_max_qty: str) -> dict[str, Any]:
    return {
        "symbol": symbol,
        "status": "TRADING",
        "baseAsset": base,
        "baseAssetPrecision": 8,
        "quoteAsset": "USDT",
        "quotePrecision": 8,
        "quoteAssetPrecision": 8,
        "baseCommissionPrecision": 8,
        "quoteCommissionPrecision": 8,
        "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"],
        "icebergAllowed": True,
        "ocoAllowed": True,
        "otoAllowed": True,
        "quoteOrderQtyMarketAllowed": True,
        "allowTrailingStop": True,
        "cancelReplaceAllowed": True,
        "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": False,
        "filters": [
            {
                "filterType": "PRICE_FILTER",
                "minPrice": "0.01000000",
                "maxPrice": "1000000.00000000",
                "tickSize": "0.01000000",
            },
            {"filterType": "LOT_SIZE", "minQty": min_qty, "maxQty": "9000.00000000", "stepSize": min_qty},
            {"filterType": "ICEBERG_PARTS", "limit": 10},
            {
                "filterType": "MARKET_LOT_SIZE",
                "minQty": "0.00000000",
                "maxQty": market_max_qty,
                "stepSize": "0.00000000",
            },
            {
                "filterType": "TRAILING_DELTA",
                "minTrailingAboveDelta": 10,
                "maxTrailingAboveDelta": 2000,
                "minTrailingBelowDelta": 10,
                "maxTrailingBelowDelta": 2000,
            },
            {
                "filterType": "PERCENT_PRICE_BY_SIDE",
                "bidMultiplierUp": "5",
                "bidMultiplierDown": "0.2",
                "askMultiplierUp": "5",
                "askMultiplierDown": "0.2",
                "avgPriceMins": 5,
            },
            {
                "filterType": "NOTIONAL",
                "minNotional": "5.00000000",
                "applyMinToMarket": True,
                "maxNotional": "9000000.00000000",
                "applyMaxToMarket": False,
                "avgPriceMins": 5,
            },
            {"filterType": "MAX_NUM_ORDERS", "maxNumOrders": 200},
            {"filterType": "MAX_NUM_ALGO_ORDERS", "maxNumAlgoOrders": 5},
        ],
        "permissions": [],
        "permissionSets": [["SPOT"]],
        "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
        "allowedSelfTradePreventionModes": ["EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"],
    }


def _builtin_body() -> dict[str, Any]:
    return {
        "timezone": "UTC",
        "serverTime": None,
        "rateLimits": [
            {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 6000},
            {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 100},
            {"rateLimitType": "ORDERS", "interval": "DAY", "intervalNum": 1, "limit": 200000},
            {"rateLimitType": "RAW_REQUESTS", "interval": "MINUTE", "intervalNum": 5, "limit": 61000},
        ],
        "exchangeFilters": [],
        "symbols": [
            _builtin_symbol("BTCUSDT", "BTC", "0.00001000", "128.52621715"),
            _builtin_symbol("ETHUSDT", "ETH", "0.00010000", "3277.54882761"),
        ],
    }
