"""Ed25519 API keys (Binance's recommended key type): python-binance signs REST requests, our order channel
(``binance.signing``) signs WS API orders and the user data stream subscription, with the private key; the simulator
verifies them with the public key; a wrong key is refused with -1022 on both paths."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tradingmcp.server.exchanges.binance.adapter import BinanceAdapter
from tradingmcp.server.exchanges.errors import InvalidSignature
from tradingmcp.server.exchanges.models import OrderEvent, OrderRequest, OrderType, Side
from tradingmcp.sim.app import SimConfig, Simulator

from .conftest import sim_config

pytestmark = pytest.mark.data


def keypair() -> tuple[str, str]:
    """(private PEM, public PEM) of a fresh Ed25519 key."""
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


@pytest.fixture
async def ed_sim(data_dir: Path) -> AsyncIterator[tuple[Simulator, str]]:
    private, public = keypair()
    sim = Simulator(SimConfig(speed=5.0, data_dir=data_dir, api_keys={"ed-key": public}))
    await sim.start()
    try:
        yield sim, private
    finally:
        await sim.stop()


async def test_ed25519_key_signs_rest_and_user_stream(ed_sim: tuple[Simulator, str]) -> None:
    sim, private = ed_sim
    config = sim_config(sim, api_key="ed-key", api_secret="", private_key=private)
    assert private not in repr(config)
    async with BinanceAdapter(config) as ex:
        await ex.start_user_stream()  # WS API userDataStream.subscribe.signature, Ed25519-signed
        events = ex.user_events()
        assert any(b.asset == "USDT" and b.free > 0 for b in await ex.balances())  # signed USER_DATA
        order = await ex.place_order(
            OrderRequest("BTCUSDT", Side.BUY, OrderType.LIMIT, quantity=Decimal("0.001"), price=Decimal("50000"))
        )
        async with asyncio.timeout(10):
            async for ev in events:  # the user data stream was subscribed with an Ed25519 WS API signature
                if isinstance(ev, OrderEvent) and ev.order.order_id == order.order_id:
                    break
        await ex.cancel_order("BTCUSDT", order_id=order.order_id)
        # all Ed25519-signed on our order channel, which also carries the user data stream
        assert ex.ws.requests == {"userDataStream.subscribe.signature": 1, "order.place": 1, "order.cancel": 1}
        assert ex.client.ws_api.ws is None  # python-binance's WS API connection was never opened


async def test_wrong_ed25519_key_is_refused(ed_sim: tuple[Simulator, str]) -> None:
    sim, _ = ed_sim
    other_private, _ = keypair()
    async with BinanceAdapter(sim_config(sim, api_key="ed-key", api_secret="", private_key=other_private)) as ex:
        with pytest.raises(InvalidSignature):
            await ex.balances()
        assert ex.ws.connected
        with pytest.raises(InvalidSignature) as info:  # over the WS API order channel
            await ex.place_order(
                OrderRequest("BTCUSDT", Side.BUY, OrderType.LIMIT, quantity=Decimal("0.001"), price=Decimal("50000"))
            )
        assert info.value.code == -1022 and ex.ws.requests == {"order.place": 1}
