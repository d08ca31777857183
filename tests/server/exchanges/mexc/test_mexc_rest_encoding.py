"""The MEXC REST request builder against the simulator's MEXC face: values holding ``&``, ``=``, ``%``, ``#``,
spaces, newlines or non-ASCII arrive exactly as given, as one parameter, under a valid signature; client order ids
outside the legal range get MEXC's own 700008, quoted as MEXC words it."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tradingmcp.server.exchanges.errors import BadParameter, UnknownOrder
from tradingmcp.server.exchanges.mexc.adapter import MexcAdapter
from tradingmcp.server.exchanges.models import OrderRequest, OrderType, Side

from .conftest import MexcSim

pytestmark = pytest.mark.data
HOSTILE = ("zz&orderId={order_id}", "a=b", "100%", "x#y", "a b", "a\nb", "ордер", "ok-id\n")


def limit_buy(price: Decimal, cid: str | None = None) -> OrderRequest:
    return OrderRequest(
        "BTCUSDT", Side.BUY, OrderType.LIMIT, quantity=Decimal("0.001"), price=price, client_order_id=cid
    )


async def test_values_arrive_exactly_and_illegal_client_ids_get_mexcs_700008(
    mexc_sim: MexcSim, adapter: MexcAdapter
) -> None:
    calls = mexc_sim.face.rest.calls
    bid = (await adapter.book_ticker("BTCUSDT")).bid
    price = (bid * Decimal("0.98")).quantize(Decimal("0.01"))
    resting = await adapter.place_order(limit_buy(price))
    for template in HOSTILE:
        value = template.format(order_id=resting.order_id)
        with pytest.raises(UnknownOrder) as missing:  # not the resting order, and not 700002: the signature held
            await adapter.get_order("BTCUSDT", client_order_id=value)
        assert "MEXC error -2013: Order does not exist." in str(missing.value)
        method, path, params = calls[-1]
        assert (method, path) == ("GET", "/order")
        assert params["origClientOrderId"] == value and "orderId" not in params

        with pytest.raises(BadParameter) as illegal:
            await adapter.place_order(limit_buy(price, value), validate=False)
        assert (illegal.value.code, illegal.value.exchange_message) == (
            700008,
            "Illegal characters found in parameter.",
        )
        assert str(illegal.value).startswith("MEXC error 700008: Illegal characters found in parameter.")
        assert "<bound method" not in str(illegal.value)
        method, path, params = calls[-1]
        assert (method, path, params["newClientOrderId"]) == ("POST", "/order", value)
    assert [o.order_id for o in await adapter.open_orders("BTCUSDT")] == [resting.order_id]
