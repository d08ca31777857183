"""Tool arguments that reach a venue, checked against that venue's own rules (:mod:`tradingmcp.server.exchanges
.paramrules`) before anything is sent: the boundary where a value like ``zz&orderId=1``, ``a\\nb`` or ``ордер`` is
refused, with JSON-RPC -32602 naming the field and the rule.

Checked wherever they appear in a tool's arguments (also inside the ``orders`` items of the batch tools):

* ``symbol`` and each of ``symbols``: the venue's symbol range, case-insensitive (tools upper-case symbols);
* ``client_order_id``, ``new_client_order_id``, ``list_client_order_id``: the venue's client order id range;
* ``order_id`` given as a string: the venue's order id range (Binance: digits; MEXC: its ``C02__…`` ids);
* ``interval``: one of the venue's kline intervals.

Enumerated arguments (``side``, ``type``, ``time_in_force``) are closed by each tool's JSON Schema ``enum``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from tradingmcp.server.exchanges.paramrules import LegalRange, ParamRules
from tradingmcp.transport.jsonrpc import MAX_QUOTED_CHARS, ErrorCode, JsonRpcError, quote

__all__ = [
    "CLIENT_ID_FIELDS",
    "CLIENT_ID_PATTERN",
    "ORDER_ID_PATTERN",
    "SYMBOL_PATTERN",
    "check_symbol_for",
    "check_venue_args",
    "invalid_field",
    "quoted",
]

CLIENT_ID_FIELDS = ("client_order_id", "new_client_order_id", "list_client_order_id")
"""Tool arguments that are client order ids (new, original, or of an order list)."""

# JSON Schema ``pattern`` s of the tool arguments: what any configured venue may accept, advertised to clients in the
# tools' input schemas and enforced by the schema check; the venue's own rule is then checked by check_venue_args.
SYMBOL_PATTERN = "^[A-Za-z0-9._-]{2,20}$"
"""A symbol: Binance's legal range (``^[A-Z0-9-_.]{1,20}$``; MEXC's is letters and digits), case-insensitive."""
CLIENT_ID_PATTERN = "^[A-Za-z0-9_-]{1,36}$"
"""A client order id: Binance's ``^[a-zA-Z0-9-_]{1,36}$`` (held for MEXC too)."""
ORDER_ID_PATTERN = "^[A-Za-z0-9_]{1,40}$"
"""An order id given as a string: Binance's are digits, MEXC's ``C02__`` followed by digits."""


def invalid_field(path: str, message: str, rule: str) -> JsonRpcError:
    """-32602 about ``arguments.<path>``, worded like the schema check's errors; ``data`` names the field and the
    rule (``{"path", "field", "rule"}``)."""
    field = path.rsplit(".", 1)[-1].split("[", 1)[0]
    return JsonRpcError(
        ErrorCode.INVALID_PARAMS,
        f"Invalid params: arguments.{path}: {message}",
        {"path": path, "field": field, "rule": rule},
    )


def quoted(value: object) -> str:
    """``value`` as JSON text (``"a\\nb"``): invisible characters shown escaped, the same in any client language.

    A string longer than :data:`~tradingmcp.transport.jsonrpc.MAX_QUOTED_CHARS` shows its first that many characters
    and its length (``"aaaa…" (100000 characters)``); any other value goes through
    :func:`~tradingmcp.transport.jsonrpc.quote`. So a message never grows with the caller's input.
    """
    if not isinstance(value, str):
        return quote(value)
    if len(value) <= MAX_QUOTED_CHARS:
        return json.dumps(value, ensure_ascii=False)
    return f"{json.dumps(value[:MAX_QUOTED_CHARS] + '…', ensure_ascii=False)} ({len(value)} characters)"


def _refuse(rules: ParamRules, path: str, what: str, value: object, rule: LegalRange) -> JsonRpcError:
    return invalid_field(
        path, f"{quoted(value)} is not a valid {rules.venue} {what}: it must match {rule.pattern}", rule.pattern
    )


def check_symbol_for(rules: ParamRules, value: object, path: str = "symbol") -> str:
    """``value`` upper-cased, when it is a legal symbol of the venue (ASCII only: ``str.upper`` would turn ``ß``
    into ``SS``).

    Raises:
        JsonRpcError: -32602 naming ``arguments.<path>`` and the venue's symbol rule.
    """
    if not isinstance(value, str) or not value.isascii() or not rules.symbol.allows(value.upper()):
        raise _refuse(rules, path, "symbol", value, rules.symbol)
    return value.upper()


def _check_client_id(rules: ParamRules, value: object, path: str) -> None:
    if not isinstance(value, str) or not rules.client_order_id.allows(value):
        raise _refuse(rules, path, "client order id", value, rules.client_order_id)


def _check_order_id(rules: ParamRules, value: object, path: str) -> None:
    if isinstance(value, str) and not rules.order_id.allows(value):
        raise _refuse(rules, path, "order id", value, rules.order_id)


def _check_interval(rules: ParamRules, value: object, path: str) -> None:
    if value not in rules.kline_intervals:
        allowed = " ".join(rules.kline_intervals)
        raise invalid_field(
            path, f"{quoted(value)} is not a {rules.venue} kline interval: use one of {allowed}", allowed
        )


def check_venue_args(rules: ParamRules, args: Mapping[str, Any], prefix: str = "") -> None:
    """Check every argument of ``args`` that reaches the venue (see the module docstring); ``None`` values are
    absent ones.

    Raises:
        JsonRpcError: -32602 naming the first offending argument (``arguments.orders[1].client_order_id``) and the
            rule it breaks.
    """
    for name, value in args.items():
        if value is None:
            continue
        path = prefix + name
        if name == "symbol":
            check_symbol_for(rules, value, path)
        elif name == "symbols" and isinstance(value, list):
            for i, item in enumerate(value):
                check_symbol_for(rules, item, f"{path}[{i}]")
        elif name in CLIENT_ID_FIELDS:
            _check_client_id(rules, value, path)
        elif name == "order_id":
            _check_order_id(rules, value, path)
        elif name == "interval":
            _check_interval(rules, value, path)
        elif name == "orders" and isinstance(value, list):
            for i, item in enumerate(value):
                if isinstance(item, Mapping):
                    check_venue_args(rules, item, f"{path}[{i}].")
