"""Helpers for the simulator's wire tests: the real python-binance client pointed at a running simulator."""

from __future__ import annotations

from binance import AsyncClient

from tradingmcp.sim.app import Simulator


def client_class(sim: Simulator) -> type[AsyncClient]:
    """python-binance pointed at the simulator exactly as the notes describe (class attributes)."""
    return type("SimClient", (AsyncClient,), {"API_URL": sim.rest_url, "WS_API_URL": sim.ws_api_url})
