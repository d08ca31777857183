"""Parameter injection at the tool boundary on the Bybit venue (``serve --exchange bybit``): the same tool arguments
and hostile values as :mod:`.test_tool_param_injection` (``&``, ``=``, ``%``, ``#``, a space, a newline, non-ASCII),
each refused with JSON-RPC -32602 naming the argument before anything reaches Bybit's face; a real resting order
stays open and unchanged. Plus Bybit's own rules: values other venues take (a MEXC order id, an ``8h`` interval) are
refused naming Bybit's rule."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from ..support import ToolServer, call, ok, start_tool_server
from .test_tool_param_injection import CASE_IDS, CASES, HOSTILE, NO_EXCHANGE_ARG, Build, assert_untouched, refused

pytestmark = [pytest.mark.data, pytest.mark.asyncio(loop_scope="module")]
VENUE = "bybit"


class BybitStack:
    """The module's server and the real resting order placed before the hostile calls."""

    def __init__(self, server: ToolServer, order: dict[str, Any]) -> None:
        self.server = server
        self.order = order


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def stack(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[BybitStack]:
    async with start_tool_server(data_dir, tmp_path_factory.mktemp("inject-bybit"), exchange=VENUE) as srv:
        srv.sim.step(2000)
        async with srv.client() as c:
            bid = Decimal((await ok(c, "get_ticker", {"symbol": "BTCUSDT", "exchange": VENUE}))["bid"])
            price = str((bid * Decimal("0.99")).quantize(Decimal("0.01")))
            placed = await ok(c, "place_order", {"symbol": "BTCUSDT", "side": "BUY", "quantity": "0.001",
                                                 "price": price, "exchange": VENUE})  # fmt: skip
        yield BybitStack(srv, placed["order"])


@pytest.mark.parametrize(("tool", "path", "build"), CASES, ids=CASE_IDS)
async def test_hostile_values_are_refused_before_reaching_bybit(
    stack: BybitStack, tool: str, path: str, build: Build
) -> None:
    order = stack.order
    async with stack.server.client() as c:
        for template in HOSTILE:
            value = template.format(order_id=order["order_id"])
            args = build(value, {**order, "_venue": VENUE})
            if tool not in NO_EXCHANGE_ARG:
                args["exchange"] = VENUE
            exc = await refused(c, tool, args)
            assert exc.code == -32602, (value, exc.message)
            assert f"arguments.{path}" in exc.message, (value, exc.message)
            assert order["client_order_id"] not in exc.message
        await assert_untouched(c, VENUE, order)
    calls = stack.server.stack.bybit_face.rest.calls if stack.server.stack.bybit_face else []
    assert not any("%" in str(params) or "&" in str(params) for _, _, params in calls)


@pytest.mark.parametrize(
    ("tool", "args", "field", "rule"),
    [
        ("get_order", {"symbol": "BTCUSDT", "order_id": "C02__1"}, "order_id", "^[A-Za-z0-9-]{1,40}$"),
        ("get_klines", {"symbol": "BTCUSDT", "interval": "8h"}, "interval", "12h"),
        ("subscribe", {"stream": "klines:bybit:BTCUSDT:1s"}, "stream", "1m"),
    ],
)
async def test_bybit_is_held_to_its_own_rules(stack: BybitStack, tool: str, args: dict[str, Any], field: str,
                                              rule: str) -> None:  # fmt: skip
    async with stack.server.client() as c:
        exc = await refused(c, tool, args if tool in NO_EXCHANGE_ARG else {**args, "exchange": VENUE})
        assert exc.code == -32602 and f"arguments.{field}" in exc.message and rule in exc.message, exc.message
        assert await call(c, "get_open_orders", {"symbol": "BTCUSDT", "exchange": VENUE})
