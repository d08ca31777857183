"""Every decimal argument of every tool, over the real wire against the simulator: an extreme or malformed number is
JSON-RPC ``-32602`` naming the argument (never ``-32603``), nothing reaches the exchange, and the server keeps
serving; an off-step quantity with digits far below the step is refused naming the valid quantities next to it.

The market is the real BTCUSDT recording in manual-step mode (BTC ≈ 61 824 USDT after ``step(2000)``; step size
0.00001, tick size 0.01).
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tradingmcp.client.errors import RpcError
from tradingmcp.client.session import McpClient
from tradingmcp.server.decimals import PLAIN_PATTERN, DecimalArgError, in_range, parse_decimal

from ...support import ToolServer, call, ok

LIMIT = {"symbol": "BTCUSDT", "side": "BUY", "quantity": "0.001", "price": "61000"}
MARKET_BY_QUOTE = {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quote_quantity": "50"}
STOP_LIMIT = {
    "symbol": "BTCUSDT",
    "side": "SELL",
    "type": "STOP_LOSS_LIMIT",
    "quantity": "0.001",
    "price": "60000",
    "stop_price": "60000",
}
OCO = {"symbol": "BTCUSDT", "side": "SELL", "quantity": "0.001", "price": "63000", "stop_price": "60000",
       "stop_limit_price": "59900"}  # fmt: skip
REPLACE = {"symbol": "BTCUSDT", "order_id": 999999, "quantity": "0.001", "price": "61000", "stop_price": "60000"}
WAIT = {"condition": "price_above", "symbol": "BTCUSDT", "level": "70000", "timeout_s": 1}

CASES: list[tuple[str, dict[str, Any], str]] = [
    *[(tool, args, field) for tool in ("place_order", "preview_order", "place_orders_batch")
      for args, field in ((LIMIT, "quantity"), (LIMIT, "price"), (MARKET_BY_QUOTE, "quote_quantity"),
                          (STOP_LIMIT, "stop_price"))],
    *[("place_oco", OCO, field) for field in ("quantity", "price", "stop_price", "stop_limit_price")],
    *[("replace_order", REPLACE, field) for field in ("quantity", "price", "stop_price")],
    ("wait_for_event", WAIT, "level"),
]  # fmt: skip
"""(tool, valid arguments, the decimal argument to break): every decimal argument of every tool (checked against
tools/list by :func:`test_every_decimal_argument_is_covered`)."""

BAD: list[Any] = [
    "1e999999999",
    "1e-30",
    "1e-300",
    "NaN",
    "Infinity",
    "-Infinity",
    "-1",
    "0",
    "1e5",
    "0.0010000000000000000000000000000000000001",
    "1" * 40,
    "12345678901234567890.1234567890123456789012345678901234567890",
    "0." + "0" * 39 + "1",
    "1" * 100_000,
    " 0.001",
    "+1",
    ".5",
    "",
    "0x10",
    -1,
    0,
    1e300,
    1e-300,
    0.30000000000000004,
    1.2345678901234568e29,
]
"""Refused for every decimal argument (``wait_for_event``'s ``level`` may be zero: not its ``0`` and ``"0"``)."""
ZERO_ALLOWED = {"level"}


def _with(tool: str, args: dict[str, Any], field: str, value: Any) -> tuple[dict[str, Any], str]:
    """The call's arguments with ``field`` set to ``value``, and the path the error must name. A batch carries a valid
    order first and the broken one second."""
    if tool == "place_orders_batch":
        return {"orders": [LIMIT, {**args, field: value}]}, f"arguments.orders[1].{field}"
    return {**args, field: value}, f"arguments.{field}"


async def _refused(c: McpClient, tool: str, args: dict[str, Any]) -> RpcError:
    try:
        res = await call(c, tool, args)
    except RpcError as exc:
        return exc
    raise AssertionError(f"{tool} {args} was not refused: {res['content'][0]['text'][:200]}")


@pytest.mark.parametrize(("tool", "args", "field"), CASES, ids=[f"{t}-{f}" for t, _, f in CASES])
async def test_bad_decimals_are_invalid_params_naming_the_argument(
    tool_server: ToolServer, tool: str, args: dict[str, Any], field: str
) -> None:
    tool_server.sim.step(2000)
    async with tool_server.client() as c:
        for value in BAD:
            if field in ZERO_ALLOWED and value in (0, "0"):
                continue
            sent, path = _with(tool, args, field, value)
            exc = await _refused(c, tool, sent)
            shown = repr(value)[:40]
            assert exc.code == -32602, (shown, exc.code, exc.message)
            # level is a string in the schema: a JSON number is refused by the schema check, which names the path only
            assert exc.data["path"] == path and exc.data.get("field", field) == field, (shown, exc.data)
            assert exc.message.startswith(f"Invalid params: {path}: "), (shown, exc.message)
            assert len(exc.message) < 600, shown  # a long value is cut short, not echoed whole
        assert len(tool_server.sim.engine.orders) == 0  # nothing reached the exchange
        assert (await ok(c, "get_ticker", {"symbol": "BTCUSDT"}))["symbol"] == "BTCUSDT"  # still serving


async def test_every_decimal_argument_is_covered(tool_server: ToolServer) -> None:
    """Every tool argument tools/list declares as a decimal (``format: decimal``) is one of :data:`CASES`."""
    declared: set[tuple[str, str]] = set()
    async with tool_server.client() as c:
        for tool in await c.list_tools():
            props = tool["inputSchema"].get("properties", {})
            items = props.get("orders", {}).get("items", {}).get("properties", {})
            for name, schema in {**props, **items}.items():
                if schema.get("format") == "decimal":
                    declared.add((tool["name"], name))
    assert declared == {(tool, field) for tool, _, field in CASES}


async def test_off_step_quantity_is_refused_naming_the_nearest_valid_quantities(tool_server: ToolServer) -> None:
    """A quantity a hair above a step multiple (0.001 + 1e-40 on a 0.00001 step) is never rounded onto the grid: it
    is refused naming the valid quantities on either side, and no order reaches the simulator (nor does the valid
    first item of a batch that carries it)."""
    tool_server.sim.step(2000)
    hair = "0.0010000000000000000000000000000000000001"
    async with tool_server.client() as c:
        for tool in ("place_order", "preview_order"):
            exc = await _refused(c, tool, {**LIMIT, "quantity": hair})
            assert exc.code == -32602 and exc.data["nearest_valid"] == ["0.001", "0.00101"], exc.data
            assert "nearest valid quantities on BTCUSDT (step size 0.00001): 0.001 or 0.00101" in exc.message
        batch = {"orders": [LIMIT, {**LIMIT, "quantity": hair}]}
        exc = await _refused(c, "place_orders_batch", batch)
        assert exc.data["path"] == "arguments.orders[1].quantity" and exc.data["nearest_valid"] == ["0.001", "0.00101"]
        oco = await _refused(c, "place_oco", {**OCO, "stop_limit_price": "59900.0000000000000000000000001"})
        assert oco.data["nearest_valid"] == ["59900", "59900.01"], oco.data
        assert len(tool_server.sim.engine.orders) == 0
        placed = await ok(c, "place_order", {**LIMIT, "quantity": "0.00100000000000000000"})  # 20 decimals, on step
        assert placed["order"]["orig_qty"] == "0.001"
        assert len(tool_server.sim.engine.orders) == 1


NUMBER_TEXT = st.from_regex(r"[ +-]?[0-9]{0,25}(\.[0-9]{0,45})?([eE][+-]?[0-9]{1,10})?", fullmatch=True)
"""Decimal-looking text: signs, empty parts, long digit runs, exponents."""


@settings(max_examples=1000, deadline=None)
@given(
    raw=st.one_of(
        NUMBER_TEXT,
        st.text(max_size=50),
        st.decimals().map(str),
        st.integers(),
        st.floats(),
        st.booleans(),
        st.none(),
    ),
    positive=st.booleans(),
)
def test_the_parser_returns_the_number_given_or_refuses(raw: Any, positive: bool) -> None:
    """For any JSON value: a Decimal in Binance's range that is exactly the number given (positive when it must be),
    or a DecimalArgError saying why; nothing else, ever."""
    try:
        value = parse_decimal(raw, positive=positive)
    except DecimalArgError as exc:
        assert exc.reason and len(exc.reason) < 400
        return
    assert in_range(value) and value >= 0 and (value > 0 or not positive)
    if isinstance(raw, str):
        assert re.fullmatch(PLAIN_PATTERN, raw) and value == Decimal(raw)
    elif isinstance(raw, int):
        assert type(raw) is int and value == raw
    else:
        assert isinstance(raw, float) and float(value) == raw and value == Decimal(repr(raw))
