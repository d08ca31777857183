"""A CCXT venue for ``serve --exchange ccxt:<id>`` (and ``demo``): any exchange ccxt knows, by its ccxt id.

* On the embedded simulator (no ``CCXT_<ID>_API_KEY`` set), ``ccxt:binance`` is ccxt's Binance class in sandbox mode
  with every endpoint redirected to the simulator's Binance face, and ``ccxt:mexc`` ccxt's MEXC class redirected to
  the simulator's MEXC face (started here), each signing as the simulator's account.
* Otherwise the real exchange through ccxt, with credentials from ``CCXT_<ID>_API_KEY`` / ``_SECRET`` /
  ``_PASSWORD`` (none: public data only). Sandbox mode is on where the exchange has one (mode ``testnet``) unless
  ``CCXT_<ID>_SANDBOX=0``; without it the venue is ``live`` (real money, also when redirected: the other host may be
  a proxy to the exchange), and the trading desk refuses its orders unless the safety configuration's ``allow_live``
  is set. ``CCXT_<ID>_REST_URL`` / ``CCXT_<ID>_WS_URL`` redirect
  its endpoints (a proxy, a standalone ``tradingmcp sim``).

The venue is named by the ccxt id (``binance``, ``okx``): tools take ``"exchange": "okx"``.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable

from tradingmcp.app.failure import StartupError
from tradingmcp.server.exchanges.ccxt.adapter import CcxtAdapter
from tradingmcp.server.exchanges.ccxt.config import CcxtConfig, ccxt_id
from tradingmcp.server.exchanges.errors import NotSupported
from tradingmcp.server.exchanges.paramrules import ccxt_rules
from tradingmcp.server.venues import Mode, Venue, key_hint
from tradingmcp.sim.app import Simulator
from tradingmcp.sim.config import BINANCE_SIM_KEY, BINANCE_SIM_SECRET
from tradingmcp.sim.mexc import MEXC_SIM_KEY, MEXC_SIM_SECRET, MexcFace
from tradingmcp.sim.run import banner

__all__ = ["SIM_FACES", "ccxt_id", "ccxt_venue"]

SIM_FACES = ("binance", "mexc")
"""The ccxt ids the embedded simulator has a face for."""
_OFF = ("0", "false", "no", "off")


def _env(exchange_id: str, what: str) -> str:
    return os.environ.get(f"CCXT_{exchange_id.upper()}_{what}", "")


async def ccxt_venue(
    exchange_id: str, simulator: Callable[[], Awaitable[Simulator]]
) -> tuple[Venue, str, MexcFace | None, str]:
    """The venue of ccxt exchange ``exchange_id`` (see the module docstring). Returns the venue, its banner, the MEXC
    face it started (or None; the caller stops it) and the URL it reaches.

    Raises:
        StartupError: ccxt is not installed, has no such exchange (with WebSocket support), or no simulator face.
    """
    key = _env(exchange_id, "API_KEY")
    face: MexcFace | None = None
    sim: Simulator | None = None
    mode: Mode
    if not key and exchange_id in SIM_FACES:
        sim = await simulator()
        host = sim.config.host
        if exchange_id == "binance":
            config = CcxtConfig(
                exchange_id, BINANCE_SIM_KEY, BINANCE_SIM_SECRET,
                rest_url=f"http://{host}:{sim.port}", ws_url=f"ws://{host}:{sim.ws_port}",
                account_symbols=sim.config.symbols,
            )  # fmt: skip
        else:
            face = MexcFace(sim)
            await face.start()
            config = CcxtConfig(
                exchange_id, MEXC_SIM_KEY, MEXC_SIM_SECRET,
                rest_url=face.rest_url, ws_url=face.ws_url.removesuffix("/ws"), account_symbols=sim.config.symbols,
            )  # fmt: skip
        mode, account = "sim", None
    else:
        config = CcxtConfig(
            exchange_id,
            key,
            _env(exchange_id, "SECRET"),
            _env(exchange_id, "PASSWORD"),
            sandbox=_env(exchange_id, "SANDBOX").lower() not in _OFF,
            allow_live=True,  # a live venue is built; the desk's allow_live decides whether it may place orders
            rest_url=_env(exchange_id, "REST_URL") or None,
            ws_url=_env(exchange_id, "WS_URL") or None,
        )
        mode, account = "testnet", key_hint(key) if key else "no API key (public data only)"
    try:
        adapter = CcxtAdapter(config)
    except NotSupported as exc:
        if face is not None:
            await face.stop()
        raise StartupError(str(exc)) from exc
    if mode != "sim":  # redirected without a sandbox may still be the real exchange (a proxy): live
        mode = "testnet" if adapter.sandbox else "live"
    venue = Venue(exchange_id, adapter, mode, sim, account=account)
    venue.rules = ccxt_rules(exchange_id, tuple(adapter.exchange.timeframes or ()))
    where = config.rest_url or "ccxt's own endpoints"
    what = {"sim": "the SIMULATOR", "testnet": "its sandbox", "live": "LIVE: REAL FUNDS"}[mode]
    text = f"exchange: {exchange_id} through ccxt, on {what} ({where})"
    if sim is not None:
        text = f"{banner(sim)}\n{text}"
    return venue, text, face, where
