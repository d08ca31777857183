"""``serve --exchange both --mexc-offset-bps N``: the MEXC face runs on a simulator of its own whose prices are the
recording's moved by N bps, while the Binance face keeps the recorded prices; closing the venues stops both."""

from __future__ import annotations

from pathlib import Path

import pytest

from tradingmcp.app.cli import build_parser
from tradingmcp.app.stack import ExchangeOptions, OpenVenues

pytestmark = pytest.mark.data


async def test_the_mexc_face_gets_its_own_offset_simulator(data_dir: Path) -> None:
    args = build_parser().parse_args(["serve", "--exchange", "both", "--mexc-offset-bps", "30"])
    assert args.mexc_offset_bps == 30.0
    opts = ExchangeOptions("both", speed=0, loop=False, data_dir=data_dir, mexc_offset_bps=args.mexc_offset_bps)
    opened = await OpenVenues.open(opts)
    try:
        sim, mexc_sim, face = opened.sim, opened.mexc_sim, opened.face
        assert sim is not None and mexc_sim is not None and face is not None
        assert face.sim is mexc_sim is not sim
        assert (sim.config.price_offset_bps, mexc_sim.config.price_offset_bps) == (0.0, 30.0)
        assert opened.venues.get("mexc").sim is mexc_sim and opened.venues.get("binance").sim is sim
        assert "moved by 30 bps" in opened.banner
        sim.step(2000)
        mexc_sim.step(2000)
        bid, mexc_bid = sim.markets["BTCUSDT"].book.best_bid(), mexc_sim.markets["BTCUSDT"].book.best_bid()
        assert bid is not None and mexc_bid is not None and mexc_bid[0] > bid[0] * 1002 / 1000  # ~30 bps above
    finally:
        await opened.close()
    default = await OpenVenues.open(ExchangeOptions("both", speed=0, loop=False, data_dir=data_dir))
    try:
        assert default.mexc_sim is None and default.face is not None and default.face.sim is default.sim
    finally:
        await default.close()
