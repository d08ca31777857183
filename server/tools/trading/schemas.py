"""JSON Schemas of the trading tools' arguments (parsed by :mod:`tradingmcp.server.trading.orders`).

Decimals are given as strings (``"0.001"``) or JSON numbers; ``quantity`` is in the base asset, ``quote_quantity``
in the quote asset (MARKET orders only), ``price``/``stop_price`` in the quote asset.
"""

from __future__ import annotations

from typing import Any

from tradingmcp.server.venue_args import CLIENT_ID_PATTERN, ORDER_ID_PATTERN, SYMBOL_PATTERN

PLACE_TYPES = ("MARKET", "LIMIT", "LIMIT_MAKER", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT")
"""Order types ``place_order`` accepts."""

DECIMAL_SCHEMA: dict[str, Any] = {
    "type": ["string", "number"],
    "format": "decimal",
    "description": 'positive decimal string, e.g. "0.001" (at most 20 digits before and 20 after the point)',
}
"""A positive decimal argument (``format: decimal``, an annotation), read by :func:`~tradingmcp.server.decimals.decimal_arg`: it enforces
:data:`~tradingmcp.server.decimals.PLAIN_PATTERN` itself (not as a schema ``pattern``), so that a refusal names the
field and, for a value off the symbol's grid, the nearest valid values; a JSON number is read through its shortest
text form."""
SYMBOL_SCHEMA: dict[str, Any] = {
    "type": "string",
    "minLength": 3,
    "maxLength": 20,
    "pattern": SYMBOL_PATTERN,
    "description": "e.g. BTCUSDT",
}
CLIENT_ID_SCHEMA: dict[str, Any] = {"type": "string", "minLength": 1, "maxLength": 36, "pattern": CLIENT_ID_PATTERN}
ORDER_ID_SCHEMA: dict[str, Any] = {
    "type": ["integer", "string"],
    "pattern": ORDER_ID_PATTERN,
    "description": "exchange order id",
}

TOKEN_SCHEMA: dict[str, Any] = {
    "type": "string",
    "maxLength": 100,
    "description": "token from preview_order; needed when the order's notional is above the confirmation threshold",
}
DRY_RUN_SCHEMA: dict[str, Any] = {
    "type": "boolean",
    "description": "validate and run every check (and the exchange's order test) but place nothing",
}

ORDER_FIELDS: dict[str, Any] = {
    "symbol": SYMBOL_SCHEMA,
    "side": {"type": "string", "enum": ["BUY", "SELL"]},
    "type": {"type": "string", "enum": list(PLACE_TYPES), "description": "default LIMIT when price is given"},
    "quantity": {**DECIMAL_SCHEMA, "description": "amount in the base asset (e.g. BTC), decimal string"},
    "quote_quantity": {**DECIMAL_SCHEMA, "description": "MARKET only: amount to spend/receive in the quote asset"},
    "price": {**DECIMAL_SCHEMA, "description": "limit price in the quote asset"},
    "stop_price": {**DECIMAL_SCHEMA, "description": "trigger price of STOP_LOSS_LIMIT/TAKE_PROFIT_LIMIT"},
    "time_in_force": {"type": "string", "enum": ["GTC", "IOC", "FOK"], "description": "default GTC"},
    "client_order_id": {
        **CLIENT_ID_SCHEMA,
        "description": "your id for the order (1-36 of [A-Za-z0-9-_]); a retry with the same id never places a "
        "second order. Generated when absent.",
    },
}
"""JSON Schema properties of one new order (shared by place_order, preview_order and the batch items)."""
