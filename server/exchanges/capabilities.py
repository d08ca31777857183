"""What each venue offers, for ``get_server_status`` and the handshake: its order types, its market streams (by the
MCP stream families of :mod:`tradingmcp.server.tools.market.streams`: ``trades``, ``book``, ``book_ticker``,
``klines``, ``ticker_24h``) and its account streams.

An adapter that knows its own offer (the CCXT venue, from ccxt's ``has``) gives a ``capabilities`` property; the
native venues' offers are written here.
"""

from __future__ import annotations

from typing import Any

from tradingmcp.server.exchanges.models import OrderType, StreamKind

__all__ = ["NATIVE", "capabilities_of", "stream_families"]

_FAMILY = {
    StreamKind.TRADE: "trades",
    StreamKind.AGG_TRADE: "trades",
    StreamKind.DEPTH: "book",
    StreamKind.BOOK_TICKER: "book_ticker",
    StreamKind.KLINE: "klines",
    StreamKind.TICKER_24H: "ticker_24h",
}


def stream_families(kinds: set[StreamKind]) -> list[str]:
    """The MCP stream families served by these adapter stream kinds, sorted."""
    return sorted({_FAMILY[k] for k in kinds})


NATIVE: dict[str, dict[str, Any]] = {
    "binance": {
        "via": "native",
        "order_types": [t.value for t in OrderType] + ["OCO"],
        "streams": stream_families(set(StreamKind)),
        "account_streams": ["orders", "balances"],
    },
    "mexc": {
        "via": "native",
        "order_types": [OrderType.LIMIT.value, OrderType.MARKET.value, OrderType.LIMIT_MAKER.value],
        "streams": stream_families(set(StreamKind) - {StreamKind.TICKER_24H}),
        "account_streams": ["orders", "balances"],
    },
}
"""The native adapters' offers (Binance Spot: every order type and OCO, every stream; MEXC Spot: no stop orders, no
24 h ticker stream)."""


def capabilities_of(name: str, adapter: object) -> dict[str, Any] | None:
    """``adapter.capabilities`` when it has one, else the native offer of venue ``name``; None when unknown."""
    own = getattr(adapter, "capabilities", None)
    if isinstance(own, dict):
        return own
    found = NATIVE.get(name)
    return dict(found) if found is not None else None
