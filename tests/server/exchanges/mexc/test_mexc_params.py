"""MEXC request parameters: the order type sent for each neutral type and time in force."""

from __future__ import annotations

import pytest

from tradingmcp.server.exchanges.mexc import params
from tradingmcp.server.exchanges.models import OrderType, TimeInForce


def test_order_type_mapping() -> None:
    assert params.mexc_order_type(OrderType.LIMIT, TimeInForce.IOC) == "IMMEDIATE_OR_CANCEL"
    assert params.mexc_order_type(OrderType.LIMIT, TimeInForce.FOK) == "FILL_OR_KILL"
    assert params.mexc_order_type(OrderType.LIMIT, None) == "LIMIT"
    assert params.mexc_order_type(OrderType.LIMIT_MAKER, None) == "LIMIT_MAKER"
    with pytest.raises(ValueError, match="STOP_LOSS_LIMIT"):
        params.mexc_order_type(OrderType.STOP_LOSS_LIMIT, TimeInForce.GTC)
